/**
 * Markers: text that labels itself sensitive (classification banners, "CONFIDENTIAL", TLP:RED,
 * privilege notices), private-key headers, and code-shaped text (source code leaving through a
 * tool result or a prompt).
 *
 * Labels are pattern rules run by the same engine as secrets. Source code is a line heuristic:
 * a run of ≥ 3 lines where most lines look like statements (keywords, trailing `;`/`{`, arrows,
 * indentation-heavy control flow) becomes one finding. It is advisory (alert, not redaction), so
 * on the streaming path it is judged per window and a block longer than the window is reported
 * in pieces.
 */
import { codeLines } from './code-lines.ts';
import type { RawMatch } from './engine.ts';
import type { PatternRule } from './types.ts';

const raw = String.raw;

function marker(r: Omit<PatternRule, 'family' | 'severity' | 'boundary'> & Partial<Pick<PatternRule, 'severity' | 'boundary'>>): PatternRule {
  return { family: 'marker', severity: 'medium', boundary: 'alnum', ...r };
}

export const MARKER_RULES: readonly PatternRule[] = [
  marker({
    id: 'classification-banner',
    description: 'Government / corporate classification banner (SECRET//NOFORN, CONFIDENTIAL//REL TO …)',
    keywords: ['secret//', 'confidential//', 'restricted//', 'unclassified//', 'cui//'],
    pattern: raw`(?:TOP SECRET|SECRET|CONFIDENTIAL|RESTRICTED|UNCLASSIFIED|CUI)//[A-Z0-9][A-Z0-9 /,-]{0,60}`,
    confidence: 0.95,
    severity: 'high',
  }),
  marker({
    id: 'confidential-label',
    description: 'CONFIDENTIAL label (upper case, as stamped on documents)',
    keywords: ['confidential'],
    pattern: raw`(?:STRICTLY |COMPANY |HIGHLY |BUSINESS )?CONFIDENTIAL(?: INFORMATION| - DO NOT [A-Z]{4,10})?`,
    confidence: 0.85,
  }),
  marker({
    id: 'classification-field',
    description: 'Classification / sensitivity field set to a restricted level',
    keywords: ['classification', 'sensitivity'],
    pattern: raw`(?:data )?(?:classification|sensitivity)( label)?[ \t]{0,4}[:=][ \t]{0,4}["']?(?:highly confidential|confidential|restricted|secret|internal|private)`,
    flags: 'i',
    confidence: 0.9,
  }),
  marker({
    id: 'internal-only',
    description: '"Internal use only" notices',
    keywords: ['internal use only', 'internal only', 'for internal use'],
    pattern: raw`(?:for )?internal (?:use )?only|for internal use`,
    flags: 'i',
    confidence: 0.75,
  }),
  marker({
    id: 'do-not-distribute',
    description: 'Distribution restrictions',
    keywords: ['do not distribute', 'not for distribution', 'do not forward', 'not for public release', 'need to know basis'],
    pattern: raw`do not (?:distribute|forward)|not for (?:distribution|public release)|need to know basis`,
    flags: 'i',
    confidence: 0.7,
  }),
  marker({
    id: 'proprietary-notice',
    description: 'Proprietary / trade secret notices',
    keywords: ['proprietary and confidential', 'proprietary information', 'trade secret'],
    pattern: raw`proprietary and confidential|proprietary information|trade secrets?`,
    flags: 'i',
    confidence: 0.75,
  }),
  marker({
    id: 'privileged-notice',
    description: 'Legal privilege notices',
    keywords: ['attorney-client', 'attorney client', 'privileged and confidential', 'attorney work product'],
    pattern: raw`attorney[- ]client privileged?|privileged and confidential|attorney work product`,
    flags: 'i',
    confidence: 0.85,
    severity: 'high',
  }),
  marker({
    id: 'tlp-restricted',
    description: 'Traffic Light Protocol RED / AMBER (FIRST TLP 2.0)',
    keywords: ['tlp:', 'tlp: '],
    pattern: raw`TLP: ?(?:RED|AMBER(?:\+STRICT)?)`,
    flags: 'i',
    confidence: 0.9,
  }),
  marker({
    id: 'official-use-only',
    description: 'FOUO / Controlled Unclassified Information',
    keywords: ['for official use only', 'controlled unclassified information'],
    pattern: raw`for official use only|controlled unclassified information`,
    flags: 'i',
    confidence: 0.9,
  }),
  marker({
    id: 'embargo-notice',
    description: 'Embargo notices',
    keywords: ['embargoed', 'under embargo'],
    pattern: raw`embargoed until|under embargo`,
    flags: 'i',
    confidence: 0.7,
  }),
  marker({
    id: 'nda-notice',
    description: 'Material covered by a non-disclosure agreement',
    keywords: ['under nda', 'subject to nda', 'covered by nda', 'subject to the nda'],
    pattern: raw`(?:under|subject to|covered by) (?:the |an |our )?nda`,
    flags: 'i',
    confidence: 0.6,
  }),
  marker({
    id: 'private-key-header',
    description: 'Private key header line (PEM / PGP)',
    keywords: ['private key'],
    pattern: raw`-----BEGIN [A-Z0-9 ]{0,24}PRIVATE KEY(?: BLOCK)?-----`,
    boundary: 'none',
    confidence: 0.99,
    severity: 'critical',
  }),
];

// ---------- source code ----------

/** Longest code finding; longer blocks are reported as several findings. */
export const CODE_BLOCK_MAX = 4096;
const MIN_LINES = 3;
/** Lines longer than this (minified code, base64) are not judged. */
const MAX_LINE = 400;

/** Shortest text the source-code heuristic judges (index.ts skips shorter texts altogether). */
export const SOURCE_CODE_MIN_LENGTH = 40;

export function scanSourceCode(text: string, out: RawMatch[] = []): RawMatch[] {
  if (text.length < SOURCE_CODE_MIN_LENGTH || text.indexOf('\n') < 0) return out;
  // Statement-shaped lines (see code-lines.ts), in order, with their ends and the non-blank
  // lines between them (counted there, while every line is read anyway: reading them again here
  // took ~1.4 ms per 3.2 MB of the real text of eval/benign.ts).
  const lines = codeLines(text, MAX_LINE);
  if (lines === undefined) return out;
  const { starts, ends, gaps } = lines;
  // Only needed when a run is reported (most texts have none).
  let fences: number[] | undefined;

  let runStart = -1;
  let runEnd = -1;
  let codeLineCount = 0;
  let otherLines = 0;
  const flush = (): void => {
    if (runStart >= 0 && codeLineCount >= MIN_LINES && codeLineCount >= 2 * otherLines) {
      fences ??= fenceStarts(text);
      const fenced = anyWithin(fences, runStart - 200, runEnd + 1);
      const confidence = Math.min(0.95, (fenced ? 0.55 : 0.4) + 0.08 * Math.min(codeLineCount, 6));
      for (let s = runStart; s < runEnd; s += CODE_BLOCK_MAX) {
        out.push({ detector: 'marker', type: 'source-code', start: s, end: Math.min(runEnd, s + CODE_BLOCK_MAX), confidence, severity: 'low' });
      }
    }
    runStart = -1;
    codeLineCount = 0;
    otherLines = 0;
  };
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i]!;
    const e = ends[i]!;
    if (e - s > MAX_LINE) continue;
    if (runStart >= 0) {
      // Non-blank lines between the previous code line and this one (see `CodeLines#gaps`).
      const gap = gaps[i]!;
      otherLines += gap;
      if (gap > 3 || otherLines > codeLineCount) flush();
    }
    if (runStart < 0) runStart = s;
    codeLineCount++;
    runEnd = e;
  }
  flush();
  return out;
}

/**
 * Where `^[ \t]*(?:```|~~~)` (multiline) matches: the segment start before each fence. Found
 * from indexOf hits instead of a multiline `^` pass (~1 ms per 1.5 MB of code), sorted.
 */
function fenceStarts(text: string): number[] {
  const out: number[] = [];
  for (const fence of ['```', '~~~']) {
    for (let a = text.indexOf(fence); a >= 0; a = text.indexOf(fence, a + 1)) {
      let p = a;
      while (p > 0 && (text.charCodeAt(p - 1) === 32 || text.charCodeAt(p - 1) === 9)) p--;
      // No read before the text (see code-lines.ts on out-of-range `charCodeAt`).
      const before = p === 0 ? -1 : text.charCodeAt(p - 1);
      if (p === 0 || before === 10 || before === 13 || before === 0x2028 || before === 0x2029) out.push(p);
    }
  }
  return out.sort((a, b) => a - b);
}

/** Whether a sorted list holds a value in `[lo, hi]` (binary search: one check per run). */
function anyWithin(sorted: readonly number[], lo: number, hi: number): boolean {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (sorted[mid]! < lo) a = mid + 1;
    else b = mid;
  }
  return a < sorted.length && sorted[a]! <= hi;
}
