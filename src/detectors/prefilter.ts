/**
 * The keyword prefilter: one pass over the text finds every occurrence of every rule keyword
 * (ASCII case-insensitive), so a rule only runs near its keywords and a text with none of them
 * costs one scan however many rules the pack holds.
 *
 * Algorithm: Wu–Manber (1994) with 3-character blocks hashed into a 64 K table. The first `m`
 * characters of every keyword (m = shortest keyword) form a window; the table says how far the
 * window may slide when its last block ends no keyword prefix. With ~300 keywords, 2-character
 * blocks match ordinary text too often to skip; 3-character blocks rarely do, so the scan reads
 * about one window in `m − 2` characters. Hash collisions only make shifts smaller (never skip a
 * keyword), and verification compares the whole keyword, so hits are exact.
 *
 * Measured on this project's bench machine (see eval/results.md), keywords of ≥ 4 characters
 * keep the scan near 200 MB/s; a 3-character keyword halves it, which is why built-in rules use
 * ≥ 4-character keywords. Worst case (every window a candidate) is O(n · k · L): linear.
 */

/** ASCII case folding; every non-ASCII code unit folds to 0, which no keyword contains. */
const FOLD = new Uint8Array(65536);
for (let c = 0; c < 128; c++) FOLD[c] = c >= 65 && c <= 90 ? c + 32 : c;

function hash3(a: number, b: number, c: number): number {
  return (a * 1021 + b * 31 + c) & 0xffff;
}

export interface KeywordHits {
  /** Number of hits. */
  readonly count: number;
  /** Keyword index of hit `i`. */
  readonly keyword: Int32Array;
  /** Start offset of hit `i` (non-decreasing). */
  readonly start: Int32Array;
}

export class KeywordScanner {
  readonly keywords: readonly string[];
  private readonly m: number;
  private readonly shift: Uint8Array;
  /** For blocks that end some keyword's first-m window: the keywords to verify there. */
  private readonly candidates: (Int32Array | undefined)[];

  constructor(keywords: readonly string[]) {
    for (const k of keywords) {
      if (k.length === 0) throw new Error('empty keyword');
      if (!/^[\x01-\x7f]+$/.test(k)) throw new Error(`keyword ${JSON.stringify(k)} must be ASCII`);
      if (k !== k.toLowerCase()) throw new Error(`keyword ${JSON.stringify(k)} must be lowercase`);
    }
    this.keywords = [...new Set(keywords)];
    this.m = this.keywords.length === 0 ? 1 : Math.min(...this.keywords.map((k) => k.length));
    const m = this.m;
    this.shift = new Uint8Array(65536).fill(Math.max(1, Math.min(255, m - 2)));
    this.candidates = new Array<Int32Array | undefined>(65536);
    if (m < 3) return;
    const lists = new Map<number, number[]>();
    this.keywords.forEach((k, ki) => {
      for (let j = 2; j < m; j++) {
        const h = hash3(k.charCodeAt(j - 2), k.charCodeAt(j - 1), k.charCodeAt(j));
        const s = m - 1 - j;
        if (s < this.shift[h]!) this.shift[h] = s;
        if (s === 0) {
          const l = lists.get(h) ?? [];
          l.push(ki);
          lists.set(h, l);
        }
      }
    });
    for (const [h, l] of lists) this.candidates[h] = Int32Array.from(l);
  }

  /** Shortest keyword length: below 4 the scan cannot skip and gets slower. */
  get windowLength(): number {
    return this.m;
  }

  /** All keyword occurrences, ordered by start offset. */
  scan(text: string): KeywordHits {
    const hits = new HitList();
    const kws = this.keywords;
    const n = text.length;
    if (kws.length === 0) return hits.done();
    if (this.m < 3) {
      // One- or two-character keywords: no block to slide on; check every position.
      for (let i = 0; i < n; i++) for (let ki = 0; ki < kws.length; ki++) if (matchesAt(text, i, kws[ki]!)) hits.push(ki, i);
      return hits.done();
    }
    const m = this.m;
    const shift = this.shift;
    const cands = this.candidates;
    const F = FOLD;
    let i = m - 1;
    while (i < n) {
      const h = (F[text.charCodeAt(i - 2)]! * 1021 + F[text.charCodeAt(i - 1)]! * 31 + F[text.charCodeAt(i)]!) & 0xffff;
      const s = shift[h]!;
      if (s !== 0) {
        i += s;
        continue;
      }
      const list = cands[h];
      if (list !== undefined) {
        const at = i - m + 1;
        for (let t = 0; t < list.length; t++) {
          const ki = list[t]!;
          if (matchesAt(text, at, kws[ki]!)) hits.push(ki, at);
        }
      }
      i++;
    }
    return hits.done();
  }
}

class HitList {
  keyword = new Int32Array(16);
  start = new Int32Array(16);
  count = 0;
  push(ki: number, at: number): void {
    if (this.count === this.keyword.length) {
      const k2 = new Int32Array(this.count * 2);
      k2.set(this.keyword);
      this.keyword = k2;
      const s2 = new Int32Array(this.count * 2);
      s2.set(this.start);
      this.start = s2;
    }
    this.keyword[this.count] = ki;
    this.start[this.count] = at;
    this.count++;
  }
  done(): KeywordHits {
    return { count: this.count, keyword: this.keyword, start: this.start };
  }
}

function matchesAt(text: string, at: number, kw: string): boolean {
  if (at + kw.length > text.length) return false;
  for (let q = 0; q < kw.length; q++) if (FOLD[text.charCodeAt(at + q)] !== kw.charCodeAt(q)) return false;
  return true;
}
