/**
 * Text normalization before matching, with a map back to the original offsets.
 *
 * Attackers hide secrets and instructions from pattern matching with characters a human (and a
 * model) does not see or reads as something else: zero-width characters inside a token
 * (`AKIA\u200bIOSF…`), fullwidth letters (`ＡＫＩＡ`), Unicode tag characters carrying a whole
 * invisible ASCII message (U+E0000 block), bidi controls, soft hyphens, variation selectors. We
 * remove the invisible ones, apply NFKC (UAX #15) to fold compatibility forms, and keep, for every
 * normalized character, the original `[start, end)` it came from, so a match found in the
 * normalized text redacts the right UTF-16 range of the original — hidden characters inside the
 * match included.
 *
 * NFKC is applied per segment (a starter plus the combining marks / conjoining jamo that follow
 * it), which is exactly where composition can happen; that keeps the map exact and the work
 * linear. Removed characters are transparent: they belong to the segment they sit in.
 */

import { isAscii } from 'node:buffer';
import { bytesOf, SCRATCH_MAX } from './trigrams.ts';

export type HiddenClass = 'zeroWidth' | 'bidi' | 'tag' | 'softHyphen' | 'variationSelector';

export interface HiddenCounts {
  zeroWidth: number;
  bidi: number;
  tag: number;
  softHyphen: number;
  variationSelector: number;
}

/** A run of removed characters of one class, in original offsets. */
export interface HiddenRun {
  readonly cls: HiddenClass;
  readonly start: number;
  readonly end: number;
}

export interface Normalized {
  /** The text patterns run on. */
  readonly text: string;
  /** The input, unchanged. */
  readonly original: string;
  /** True when `text === original` and offsets map to themselves (the common ASCII case). */
  readonly identity: boolean;
  readonly hidden: HiddenCounts;
  readonly hiddenRuns: readonly HiddenRun[];
  /**
   * ASCII decoded from Unicode tag characters (U+E0020–U+E007E mirror ASCII 0x20–0x7E): the
   * "ASCII smuggling" payload, which injection and poisoning detectors scan like visible text.
   */
  readonly tagText: string;
  /** Original offset where normalized character `i` starts (its segment's start). */
  originalStart(i: number): number;
  /** Original offset just past normalized character `i - 1` (its segment's end). */
  originalEnd(i: number): number;
  /** Maps a normalized `[start, end)` to the original `[start, end)` covering it. */
  toOriginal(start: number, end: number): [number, number];
}

const ZERO_COUNTS: HiddenCounts = Object.freeze({ zeroWidth: 0, bidi: 0, tag: 0, softHyphen: 0, variationSelector: 0 });
const NON_ASCII_RUNS = /[^\x00-\x7f]+/g;
/**
 * Any removable character: Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties;
 * rendered as nothing), as BMP ranges and the surrogate pairs of the astral ones (U+1BCA0–3,
 * U+1D173–A, U+E0000–E0FFF). The whole set, not a list of favourites: a Hangul filler (U+3164)
 * or a combining grapheme joiner (U+034F) inside a key hides it as well as a zero-width space.
 */
const HIDDEN_ANY =
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]|\ud82f[\udca0-\udca3]|\ud834[\udd73-\udd7a]|[\udb40-\udb43][\udc00-\udfff]/;
const COMBINING = /^[\p{M}]$/u;

/** Classifies a code point as removable, or returns undefined to keep it. */
export function hiddenClass(cp: number): HiddenClass | undefined {
  if (cp < 0xad) return undefined;
  if (cp === 0xad) return 'softHyphen';
  if (cp === 0x200e || cp === 0x200f || cp === 0x061c || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 'bidi';
  if (cp >= 0xe0000 && cp <= 0xe007f) return 'tag';
  if ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef) || (cp >= 0x180b && cp <= 0x180d) || cp === 0x180f) return 'variationSelector';
  // The rest of Default_Ignorable_Code_Point (see HIDDEN_ANY): invisible, counted as zero-width.
  if (
    (cp >= 0x200b && cp <= 0x200d) ||
    (cp >= 0x2060 && cp <= 0x206f) ||
    cp === 0xfeff ||
    cp === 0x180e ||
    cp === 0x034f ||
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x17b4 ||
    cp === 0x17b5 ||
    cp === 0x3164 ||
    cp === 0xffa0 ||
    (cp >= 0xfff0 && cp <= 0xfff8) ||
    (cp >= 0x1bca0 && cp <= 0x1bca3) ||
    (cp >= 0x1d173 && cp <= 0x1d17a) ||
    (cp >= 0xe0080 && cp <= 0xe0fff)
  ) {
    return 'zeroWidth';
  }
  return undefined;
}

/** Code points that continue the current NFKC segment instead of starting a new one. */
function continuesSegment(cp: number, ch: string): boolean {
  if (cp < 0x300) return false;
  // Conjoining Hangul vowels and trailing consonants compose with the preceding jamo.
  if ((cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff)) return true;
  return COMBINING.test(ch);
}

const NO_RUNS: readonly HiddenRun[] = Object.freeze([]);

/**
 * The result for a text that normalizes to itself: one object, its offset maps on the prototype
 * (an object literal made three fresh closures per call). Every string of every message comes
 * through here; with the short-text test below, `normalize('echo')` ~0.21 → ~0.04 µs.
 */
class Identity implements Normalized {
  readonly text: string;
  readonly original: string;
  readonly identity = true;
  readonly hidden = ZERO_COUNTS;
  readonly hiddenRuns = NO_RUNS;
  readonly tagText = '';
  constructor(text: string) {
    this.text = text;
    this.original = text;
  }
  originalStart(i: number): number {
    return i;
  }
  originalEnd(i: number): number {
    return i;
  }
  toOriginal(s: number, e: number): [number, number] {
    return [s, e];
  }
}

function identityOf(text: string): Normalized {
  return new Identity(text);
}

export function normalize(text: string): Normalized {
  // Fast path: pure ASCII maps to itself (NFKC-stable, nothing invisible).
  if (isAsciiText(text)) return identityOf(text);
  return slowNormalize(text);
}

const utf8 = new TextEncoder();
const SHORT_TEXT = 512;

/**
 * Whether every character is ASCII, by native passes only (a regex test was ~2× slower than
 * `Buffer.byteLength(text) === text.length`: 0.6 vs 1.4 ms on the 4 MB bench text). This is
 * faster still: on the 3.2 MB real text of eval/benign.ts, 1.27 → 0.6 ms. `byteLength` is quick
 * on ASCII but slow on the other texts (0.98 ms for their 1.3 MB), which this mostly rules out
 * first:
 * 1. The text's latin1 copy (`bytesOf`: the prefilter's reused buffer, borrowed; normalization
 *    is synchronous and the scan rewrites it) has a byte ≥ 0x80 only for a character ≥ 0x80:
 *    then it is not ASCII (`isAscii` is a SIMD pass: 0.1 ms for those 1.3 MB; 73 of their 104
 *    texts stop here).
 * 2. Otherwise characters above 0xFF may hide behind an ASCII low byte (U+2019 → 0x19): encode
 *    the text as UTF-8 into the same bytes; it is ASCII exactly when every character took one
 *    byte, i.e. the whole text fit in `length` bytes (0.10 ms for the 2 MB of ASCII texts,
 *    against 0.29 ms for `byteLength`).
 */
function isAsciiText(text: string): boolean {
  const n = text.length;
  // A short text (a protocol string, a tool name, a typical argument) by one native count: the
  // three calls below cost ~150–250 ns however short the text. Measured (node 24, this machine,
  // ns, below vs `byteLength`): ASCII 64 chars 259 vs 66, 230: 216 vs 127, 512: 230 vs 111,
  // 1023: 250 vs 256; with a `é` 230: 135 vs 69; with a `’` (two-byte) 230: 538 vs 257.
  if (n < SHORT_TEXT) return Buffer.byteLength(text, 'utf8') === n;
  // Past the prefilter's reusable buffer a copy would be allocated: count natively instead.
  if (n >= SCRATCH_MAX) return Buffer.byteLength(text, 'utf8') === n;
  const bytes = bytesOf(text).subarray(0, n);
  if (!isAscii(bytes)) return false;
  const r = utf8.encodeInto(text, bytes);
  return r.read === n && r.written === n;
}

/**
 * The offset map is piecewise: an identity piece maps character for character, a segment piece
 * maps every normalized character to its whole original segment. Memory grows with the number
 * of CHANGED segments, not with the text.
 */
class PieceMap {
  readonly nStart: number[] = [];
  readonly oStart: number[] = [];
  readonly oEnd: number[] = [];
  readonly ident: boolean[] = [];
  add(n: number, os: number, oe: number, ident: boolean): void {
    const last = this.nStart.length - 1;
    // Merge consecutive identity pieces.
    if (ident && last >= 0 && this.ident[last] && this.oEnd[last] === os) {
      this.oEnd[last] = oe;
      return;
    }
    this.nStart.push(n);
    this.oStart.push(os);
    this.oEnd.push(oe);
    this.ident.push(ident);
  }
  /** Index of the piece holding normalized character `k` (binary search). */
  find(k: number): number {
    let lo = 0;
    let hi = this.nStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.nStart[mid]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  startOf(k: number): number {
    const p = this.find(k);
    return this.ident[p] ? this.oStart[p]! + (k - this.nStart[p]!) : this.oStart[p]!;
  }
  endOf(k: number): number {
    const p = this.find(k);
    return this.ident[p] ? this.oStart[p]! + (k - this.nStart[p]!) + 1 : this.oEnd[p]!;
  }
}

function slowNormalize(text: string): Normalized {
  const hidden: HiddenCounts = { zeroWidth: 0, bidi: 0, tag: 0, softHyphen: 0, variationSelector: 0 };
  const runs: HiddenRun[] = [];
  let tagText = '';
  const out: string[] = [];
  const map = new PieceMap();
  let outLen = 0;
  let changed = false;

  /** Copies `[from, to)` unchanged: each character maps to itself. */
  const copy = (from: number, to: number): void => {
    if (to <= from) return;
    map.add(outLen, from, to, true);
    outLen += to - from;
    out.push(text.slice(from, to));
  };

  let segStart = 0;
  let segText = '';
  const flush = (segEnd: number): void => {
    if (segText.length === 0) return;
    const n = segText.normalize('NFKC');
    if (n === segText && segEnd - segStart === n.length) map.add(outLen, segStart, segEnd, true);
    else {
      changed = true;
      if (n.length > 0) map.add(outLen, segStart, segEnd, false);
    }
    outLen += n.length;
    out.push(n);
    segText = '';
  };

  /** Segment-by-segment NFKC with invisible characters removed, over `[from, to)`. */
  const process = (from: number, to: number): void => {
    segStart = from;
    let i = from;
    while (i < to) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const cls = hiddenClass(cp);
      if (cls !== undefined) {
        changed = true;
        hidden[cls]++;
        const last = runs[runs.length - 1];
        if (last !== undefined && last.cls === cls && last.end === i) runs[runs.length - 1] = { cls, start: last.start, end: i + width };
        else runs.push({ cls, start: i, end: i + width });
        if (cls === 'tag' && cp >= 0xe0020 && cp <= 0xe007e) tagText += String.fromCharCode(cp - 0xe0000);
        // Transparent: the removed character stays inside the current segment's original range.
        if (segText.length === 0) segStart = i + width;
        i += width;
        continue;
      }
      const ch = width === 2 ? text.slice(i, i + 2) : text[i]!;
      // A new starter closes the current segment; removed characters seen since its last kept
      // character stay inside it (transparent), so its original range covers them.
      if (segText.length > 0 && !continuesSegment(cp, ch)) {
        flush(i);
        segStart = i;
      }
      segText += ch;
      i += width;
    }
    flush(to);
  };

  // ASCII is NFKC-stable and never removed; so is most non-ASCII text. Only runs that change
  // (with the character before them, which a combining mark may compose with) are processed.
  let done = 0;
  NON_ASCII_RUNS.lastIndex = 0;
  for (let m = NON_ASCII_RUNS.exec(text); m !== null; m = NON_ASCII_RUNS.exec(text)) {
    const from = Math.max(done, m.index - 1);
    const to = m.index + m[0].length;
    copy(done, from);
    const piece = text.slice(from, to);
    if (!HIDDEN_ANY.test(piece) && piece.normalize('NFKC') === piece) copy(from, to);
    else process(from, to);
    done = to;
  }
  copy(done, text.length);
  if (!changed) return identityOf(text);

  const normText = out.join('');
  const total = text.length;
  return {
    text: normText,
    original: text,
    identity: false,
    hidden,
    hiddenRuns: runs,
    tagText,
    originalStart: (k) => (k >= outLen ? total : map.startOf(Math.max(0, k))),
    originalEnd: (k) => (k <= 0 ? 0 : map.endOf(Math.min(k, outLen) - 1)),
    toOriginal(s, e) {
      const os = s >= outLen ? total : map.startOf(Math.max(0, s));
      if (e <= s) return [os, os];
      return [os, e <= 0 ? 0 : map.endOf(Math.min(e, outLen) - 1)];
    },
  };
}

/** True when the text contains any character `normalize` would remove. Cheap (one regex test). */
export function hasHidden(text: string): boolean {
  return HIDDEN_ANY.test(text);
}
