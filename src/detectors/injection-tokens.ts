/**
 * Passes over a text that find (a) every word token from a fixed dictionary
 * and (b) the stretches that can hold a base64 run of 40+ characters. The injection patterns
 * all need some dictionary word at a bounded distance from where they start (see
 * injection-fast.ts), so one cheap pass replaces ~17 regex scans.
 *
 * Tokens are what `\b` delimits: maximal runs of [A-Za-z0-9_] (code units ≥ 0x80 are never word
 * characters to a non-unicode regex). Words are compared ASCII-case-insensitively.
 */

/** Character classes (bits of CLS). */
export const WORD = 1;
/** A character of a base64 run or a word: [A-Za-z0-9+/_]. */
export const STRETCH = 2;
/** What `\s` matches (ECMAScript WhiteSpace and LineTerminator). */
export const SPACE = 4;

export const CLS = new Uint8Array(65536);
for (let c = 0; c < 65536; c++) {
  const ch = String.fromCharCode(c);
  if (/\w/.test(ch)) CLS[c]! |= WORD | STRETCH;
  if (/[A-Za-z0-9+/]/.test(ch)) CLS[c]! |= STRETCH;
  if (/\s/.test(ch)) CLS[c]! |= SPACE;
}

/** The code unit at `i`, ASCII upper case folded to lower case. */
export function fold(t: string, i: number): number {
  const c = t.charCodeAt(i);
  return c >= 65 && c <= 90 ? c + 32 : c;
}

const MAX_WORD = 15;

/** -1 for word characters, 0 for others: masks the rolling hash without a branch. */
const WORD_MASK = new Int8Array(65536);
for (let c = 0; c < 128; c++) WORD_MASK[c] = (CLS[c]! & WORD) !== 0 ? -1 : 0;

/**
 * Rolling hash of a token's characters, case-folded with `| 32` (which maps A-Z to a-z and
 * keeps digits and `_` distinct). Shift-xor keeps the loop-carried dependency to three cheap
 * operations; the low 16 bits (the bucket) hash the last five or six characters, which is
 * enough for a filter. findWords inlines it (a call there, even inlined, measured slower).
 */
function roll(h: number, c: number): number {
  return (h << 3) ^ (c | 32);
}

/** Bloom key of a token for exact lookup: length, first two and last character. */
function keyOf(len: number, c0: number, c1: number, cl: number): number {
  return (len << 15) | ((c0 & 31) << 10) | ((c1 & 31) << 5) | (cl & 31);
}

export class WordDictionary {
  readonly words: readonly string[];
  /** 1 for the rolling-hash buckets of dictionary words. */
  readonly buckets = new Uint8Array(65536);
  private readonly bits = new Int32Array(1 << 14);
  private readonly byKey = new Map<number, number[]>();

  constructor(words: readonly string[]) {
    this.words = words;
    words.forEach((w, id) => {
      if (w.length < 2 || w.length > MAX_WORD || !/^[a-z0-9_]+$/.test(w)) throw new Error(`dictionary word ${w}`);
      let h = 0;
      for (let j = 0; j < w.length; j++) h = roll(h, w.charCodeAt(j));
      this.buckets[h & 0xffff] = 1;
      const k = keyOf(w.length, w.charCodeAt(0), w.charCodeAt(1), w.charCodeAt(w.length - 1));
      this.bits[k >>> 5]! |= 1 << (k & 31);
      const ids = this.byKey.get(k) ?? [];
      ids.push(id);
      this.byKey.set(k, ids);
    });
  }

  /** Id of the dictionary word equal to `t[s, e)` (ASCII case folded), or -1. */
  lookup(t: string, s: number, e: number): number {
    const len = e - s;
    if (len < 2 || len > MAX_WORD) return -1;
    const k = keyOf(len, fold(t, s), fold(t, s + 1), fold(t, e - 1));
    if ((this.bits[k >>> 5]! & (1 << (k & 31))) === 0) return -1;
    for (const id of this.byKey.get(k) ?? []) {
      const w = this.words[id]!;
      let j = 0;
      while (j < len && fold(t, s + j) === w.charCodeAt(j)) j++;
      if (j === len) return id;
    }
    return -1;
  }
}

/** Dictionary hits in text order: word id, start, end. */
export interface WordHits {
  readonly ids: number[];
  readonly starts: number[];
  readonly ends: number[];
}

/** Characters copied and scanned at a time (bounds the scratch arrays). */
const BLOCK = 1 << 15;
const blockUnits = new Uint16Array(BLOCK);
const blockBytes = Buffer.from(blockUnits.buffer);
/** At most one token ends per two characters, plus one at the end of the text. */
const blockEnds = new Int32Array(BLOCK / 2 + 2);

/**
 * Finds the dictionary words in `t`. The text is copied a block at a time into a typed array
 * (a memcpy; indexing it is about twice as fast as `charCodeAt`). Branch-light per character (a
 * token boundary every few characters would mispredict): the hash resets on non-word
 * characters, and at each character the previous token's bucket is looked up; only bucket hits
 * branch, and they only note the position (anything more in the loop slows every character).
 */
export function findWords(t: string, dict: WordDictionary): WordHits {
  const n = t.length;
  const hits: WordHits = { ids: [], starts: [], ends: [] };
  const buckets = dict.buckets;
  const a = blockUnits;
  const ends = blockEnds;
  let h = 0;
  let inWord = 0;
  for (let from = 0; from < n; from += BLOCK) {
    const len = Math.min(BLOCK, n - from);
    blockBytes.write(from === 0 && len === n ? t : t.slice(from, from + len), 0, len * 2, 'utf16le');
    let count = 0;
    for (let i = 0; i < len; i++) {
      const c = a[i]!;
      const m = WORD_MASK[c]!;
      if ((inWord & ~m & buckets[h & 0xffff]!) !== 0) ends[count++] = from + i;
      h = ((h << 3) ^ (c | 32)) & m;
      inWord = m;
    }
    if (from + len === n && inWord !== 0 && buckets[h & 0xffff] !== 0) ends[count++] = n;
    for (let k = 0; k < count; k++) addHit(t, ends[k]!, dict, hits);
  }
  return hits;
}

/** Records the token ending at `e` if it is a dictionary word. */
function addHit(t: string, e: number, dict: WordDictionary, hits: WordHits): void {
  let s = e - 1;
  while (s > 0 && isWord(t.charCodeAt(s - 1))) s--;
  const id = dict.lookup(t, s, e);
  if (id < 0) return;
  hits.ids.push(id);
  hits.starts.push(s);
  hits.ends.push(e);
}

export function isWord(c: number): boolean {
  return (CLS[c]! & WORD) !== 0;
}

/**
 * [start, end) pairs of the maximal runs of [A-Za-z0-9+/_] at least 40 long: every base64 run
 * of 40+ lies inside one. Probes every 40th character: a run of 40 starting in the 40
 * characters up to a probe covers the probe, so a probe outside any run skips 40 at once. A
 * probe inside a run finds the run's start `s`; unless `s + 39` is in the run too it is short.
 */
export function longStretches(t: string): number[] {
  const n = t.length;
  const out: number[] = [];
  const inRun = (i: number): boolean => (CLS[t.charCodeAt(i)]! & STRETCH) !== 0;
  // Invariant: every run starting before `lo` is done, and t[lo - 1] is not in a run.
  let lo = 0;
  while (lo + 39 < n) {
    const p = lo + 39;
    if (!inRun(p)) {
      lo = p + 1;
      continue;
    }
    let s = p;
    while (s > lo && inRun(s - 1)) s--;
    if (s + 39 < n && !inRun(s + 39)) {
      // Runs starting in [s, s + 39] would cover s + 39.
      lo = s + 40;
      continue;
    }
    let e = p + 1;
    while (e < n && inRun(e)) e++;
    if (e - s >= 40) out.push(s, e);
    lo = e + 1;
  }
  return out;
}
