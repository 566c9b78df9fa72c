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

/**
 * Statement-shaped lines, found by a few whole-text passes in multiline mode (native regex
 * scanning, no per-line JavaScript): a keyword that starts a declaration or control statement,
 * a call statement, or a typical ending (`;`, `{`, an arrow head). `[ \t]` rather than `\s`, so no
 * pattern crosses a line break; gaps are bounded, so each pass is linear.
 */
const CODE_START = /^[ \t]{0,40}(?:import[ \t]+[\w{*"'(]|(?:if|elif|for|while|with|try|except|finally|else)\b[^\n]{0,200}:[ \t]*$|[\w.]{1,80}\([^()\n]{0,200}\)[ \t]*$|from[ \t]+[\w.]+[ \t]+import\b|#include[ \t]*[<"]|package[ \t]+[\w.]+;?$|using[ \t]+[\w.]+;|(?:export[ \t]+)?(?:async[ \t]+)?function[ \t]*\*?[ \t]*\w*[ \t]*\(|def[ \t]+\w+[ \t]*\(|class[ \t]+\w+|(?:pub[ \t]+)?fn[ \t]+\w+|func[ \t]+\w+|(?:public|private|protected|static|final|override)[ \t]+\w|(?:const|let|var)[ \t]+[\w{[]|return\b|if[ \t]*\(|else\b|for[ \t]*\(|while[ \t]*\(|switch[ \t]*\(|try[ \t]*\{|catch[ \t]*\(|throw[ \t]+|elif[ \t]|except\b|#!\/|}[ \t]*(?:else|catch)?)/gm;
const CODE_END = /[;{][ \t]*$|\)[ \t]*(?:=>|->)/gm;
/** Data lines that end like code but are not (JSON members, list items). */
const DATA_LINE = /^[ \t]*(?:"[^"\n]{0,200}"[ \t]*:|[-*][ \t]|\d+[.)][ \t])/gm;
const FENCE = /^[ \t]*(?:```|~~~)/gm;
/** Longest code finding; longer blocks are reported as several findings. */
export const CODE_BLOCK_MAX = 4096;
const MIN_LINES = 3;
/** Lines longer than this (minified code, base64) are not judged. */
const MAX_LINE = 400;

function lineStartsOf(re: RegExp, text: string, out: Set<number>): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.add(text.lastIndexOf('\n', m.index - 1) + 1);
    if (m[0].length === 0) re.lastIndex++;
  }
}

export function scanSourceCode(text: string, out: RawMatch[] = []): RawMatch[] {
  if (text.length < 40 || text.indexOf('\n') < 0) return out;
  const code = new Set<number>();
  lineStartsOf(CODE_START, text, code);
  lineStartsOf(CODE_END, text, code);
  if (code.size < MIN_LINES) return out;
  const data = new Set<number>();
  lineStartsOf(DATA_LINE, text, data);
  const fences: number[] = [];
  FENCE.lastIndex = 0;
  for (let m = FENCE.exec(text); m !== null; m = FENCE.exec(text)) fences.push(m.index);
  const starts = [...code].filter((s) => !data.has(s)).sort((a, b) => a - b);

  let runStart = -1;
  let runEnd = -1;
  let codeLines = 0;
  let otherLines = 0;
  const flush = (): void => {
    if (runStart >= 0 && codeLines >= MIN_LINES && codeLines >= 2 * otherLines) {
      const fenced = fences.some((f) => f >= runStart - 200 && f <= runEnd + 1);
      const confidence = Math.min(0.95, (fenced ? 0.55 : 0.4) + 0.08 * Math.min(codeLines, 6));
      for (let s = runStart; s < runEnd; s += CODE_BLOCK_MAX) {
        out.push({ detector: 'marker', type: 'source-code', start: s, end: Math.min(runEnd, s + CODE_BLOCK_MAX), confidence, severity: 'low' });
      }
    }
    runStart = -1;
    codeLines = 0;
    otherLines = 0;
  };
  for (const s of starts) {
    let e = text.indexOf('\n', s);
    if (e < 0) e = text.length;
    if (e - s > MAX_LINE) continue;
    if (runStart >= 0) {
      // Non-blank lines between the previous code line and this one.
      let gap = 0;
      for (let p = text.indexOf('\n', runEnd + 1); p >= 0 && p < s; p = text.indexOf('\n', p + 1)) {
        const next = text.indexOf('\n', p + 1);
        const line = text.slice(p + 1, next < 0 || next > s ? s : next);
        if (line.trim().length > 0 && p + 1 < s) gap++;
        if (gap > 3) break;
      }
      otherLines += gap;
      if (gap > 3 || otherLines > codeLines) flush();
    }
    if (runStart < 0) runStart = s;
    codeLines++;
    runEnd = e;
  }
  flush();
  return out;
}
