/**
 * The streaming scheme: scan text that arrives in pieces (chunks of one oversized string, or the
 * texts of consecutive SSE events of one stream) with bounded memory, and still find a match
 * split across pieces.
 *
 * Each step scans `carry + chunk`. Text is released ("safe") up to `window` characters before
 * the end, where `window` ≥ the longest match plus the right context validators read: a match
 * that is not complete yet ends after the buffer, so it starts after `end − longest match`, i.e.
 * after `safe`, and is found whole by a later step. A finding that straddles `safe` moves `safe`
 * back to its start (held back whole). Findings are reported once, when they end before `safe`;
 * a later step ignores anything starting before the previous `safe`, which is the dedup.
 * The carry keeps `leftContext` released characters too, so boundaries and context words before a
 * match still read correctly.
 *
 * Invisible characters do not count toward the window (it is measured on normalized text), so
 * padding a key with zero-width spaces cannot push it out of the window; a hard cap of 8× the
 * window bounds memory under a flood of such characters.
 *
 * Blocks longer than any window (a PEM body after its header line, the rest of a long token) are
 * "open": reported up to the end of the buffer and carried as state, so the following text is
 * reported as part of the block until its end (the END line, or the first character outside the
 * token alphabet) arrives.
 */
import { holdBackWindow, LEFT_CONTEXT, scanNormalized, type DetailedFinding, type ScanOptions } from './index.ts';
import { normalize } from './normalize.ts';
import type { BlockEnd, Finding } from './types.ts';

export interface OpenBlock {
  readonly detector: Finding['detector'];
  readonly type: string;
  readonly confidence: number;
  readonly severity: Finding['severity'];
  readonly end: BlockEnd;
}

export interface StreamState {
  /** Retained text: absolute offsets `[carryStart, carryStart + carry.length)`. */
  readonly carry: string;
  readonly carryStart: number;
  /** Absolute offset up to which text was released; findings before it are already reported. */
  readonly released: number;
  readonly open?: OpenBlock;
}

export interface StreamOptions extends ScanOptions {
  /** Hold-back window; default `holdBackWindow(options)`. */
  readonly window?: number;
  /** Released characters kept for context; default `LEFT_CONTEXT`. */
  readonly leftContext?: number;
}

export interface StreamStep {
  /** New findings, absolute offsets in the stream (all inside `[previous released, released)`). */
  readonly findings: Finding[];
  /** Text before this absolute offset may be forwarded now (with the findings applied). */
  readonly released: number;
  readonly state: StreamState;
}

export const INITIAL_STREAM_STATE: StreamState = Object.freeze({ carry: '', carryStart: 0, released: 0 });

/** Hard cap on held-back text, as a multiple of the window (see the file comment). */
const HIDDEN_CAP = 8;

const B64 = /[A-Za-z0-9+/=\r\n\\]/;
const TOKEN = /[A-Za-z0-9_.-]/;

/** Where an open block ends inside `buf` (searching from `from`), or -1 if it runs past the end. */
function blockEnd(buf: string, from: number, end: BlockEnd): number {
  if ('until' in end) {
    // The terminator may straddle the previous chunk boundary.
    const at = buf.indexOf(end.until, Math.max(0, from - (end.until.length - 1)));
    if (at < 0) return -1;
    // Cover the rest of the END line (`… PRIVATE KEY-----`), at most 40 characters of it.
    let e = at + end.until.length;
    const limit = Math.min(buf.length, e + 40);
    while (e < limit && /[A-Z0-9 -]/.test(buf[e]!)) e++;
    return e;
  }
  const re = end.whileIn === 'base64' ? B64 : TOKEN;
  let e = from;
  while (e < buf.length && re.test(buf[e]!)) e++;
  return e < buf.length ? e : -1;
}

export function scanChunk(state: StreamState, chunk: string, final: boolean, options: StreamOptions = {}): StreamStep {
  const window = options.window ?? holdBackWindow(options);
  const leftContext = options.leftContext ?? LEFT_CONTEXT;
  const buf = state.carry + chunk;
  const base = state.carryStart;
  const bufEnd = base + buf.length;
  const findings: Finding[] = [];
  let decided = state.released; // absolute

  // 1. An open block continues into the new text.
  if (state.open !== undefined) {
    const open = state.open;
    const rel = blockEnd(buf, decided - base, open.end);
    const stop = rel < 0 ? bufEnd : base + rel;
    if (stop > decided) findings.push({ detector: open.detector, type: open.type, start: decided, end: stop, confidence: open.confidence, severity: open.severity });
    decided = stop;
    if (rel < 0 && !final) {
      // Still inside the block: everything so far is covered; keep only left context.
      const keep = Math.max(base, bufEnd - leftContext);
      return { findings, released: bufEnd, state: { carry: buf.slice(keep - base), carryStart: keep, released: bufEnd, open } };
    }
  }

  // 2. Scan the buffer and decide how far text can be released.
  const n = normalize(buf);
  const all: DetailedFinding[] = scanNormalized(n, options);
  let safe: number;
  if (final) safe = bufEnd;
  else {
    // `window` normalized characters stay behind, however many invisible ones they contain.
    const normKeep = n.text.length - window;
    const byNormalized = normKeep <= 0 ? base : base + n.originalStart(normKeep);
    safe = Math.max(decided, Math.min(bufEnd, byNormalized), bufEnd - window * HIDDEN_CAP);
  }
  // A block still open at the end of the buffer: reported up to the end and carried as state.
  const openHit = final ? undefined : all.find((f) => f.open !== undefined && base + f.start >= decided && base + f.end >= bufEnd);
  if (openHit !== undefined) safe = Math.min(safe, base + openHit.start);
  // Never cut through a match: hold it back whole.
  for (const f of all) {
    const s = base + f.start;
    if (s >= decided && s < safe && base + f.end > safe) safe = s;
  }
  for (const f of all) {
    const s = base + f.start;
    const e = base + f.end;
    if (s >= decided && e <= safe && f !== openHit) findings.push({ detector: f.detector, type: f.type, start: s, end: e, confidence: f.confidence, severity: f.severity });
  }
  if (openHit !== undefined && base + openHit.start === safe) {
    findings.push({ detector: openHit.detector, type: openHit.type, start: safe, end: bufEnd, confidence: openHit.confidence, severity: openHit.severity });
    const keep = Math.max(base, bufEnd - leftContext);
    const open: OpenBlock = { detector: openHit.detector, type: openHit.type, confidence: openHit.confidence, severity: openHit.severity, end: openHit.open! };
    return { findings, released: bufEnd, state: { carry: buf.slice(keep - base), carryStart: keep, released: bufEnd, open } };
  }
  const keep = Math.max(base, safe - leftContext);
  return { findings, released: safe, state: { carry: buf.slice(keep - base), carryStart: keep, released: safe } };
}
