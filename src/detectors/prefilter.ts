/**
 * The keyword prefilter: one pass over the text finds every occurrence of every rule keyword
 * (ASCII case-insensitive), so a rule only runs near its keywords and a text with none of them
 * costs one scan however many rules the pack holds.
 *
 * Algorithm: Wu–Manber (1994) with 2-character blocks. Every keyword's first `m` characters
 * (m = shortest keyword) form a window; a table of 2-character blocks says how far the window can
 * slide when its last block is not the end of any keyword prefix. On ordinary text most blocks
 * are not, so the scan reads about one character in `m − 1` — which is why keywords should be
 * ≥ 3–4 characters. Verification compares the whole keyword, so hits are exact. Worst case
 * (every window a candidate) is O(n · k · L) for k keywords sharing a block of length ≤ L: linear.
 */

/** ASCII case folding; every non-ASCII code unit folds to 0, which no keyword contains. */
const FOLD = new Uint8Array(65536);
for (let c = 0; c < 128; c++) FOLD[c] = c >= 65 && c <= 90 ? c + 32 : c;

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
  /** For blocks that end a keyword prefix: the keywords to verify. */
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
    this.shift = new Uint8Array(16384).fill(Math.max(1, Math.min(255, m - 1)));
    const lists = new Map<number, number[]>();
    if (m >= 2) {
      this.keywords.forEach((k, ki) => {
        for (let j = 1; j < m; j++) {
          const h = (k.charCodeAt(j - 1) << 7) | k.charCodeAt(j);
          const s = m - 1 - j;
          if (s < this.shift[h]!) this.shift[h] = s;
          if (s === 0) {
            const l = lists.get(h) ?? [];
            l.push(ki);
            lists.set(h, l);
          }
        }
      });
    }
    this.candidates = new Array<Int32Array | undefined>(16384);
    for (const [h, l] of lists) this.candidates[h] = Int32Array.from(l);
  }

  /** All keyword occurrences, ordered by start offset. */
  scan(text: string): KeywordHits {
    let keyword = new Int32Array(16);
    let start = new Int32Array(16);
    let count = 0;
    const push = (ki: number, at: number): void => {
      if (count === keyword.length) {
        const k2 = new Int32Array(count * 2);
        k2.set(keyword);
        keyword = k2;
        const s2 = new Int32Array(count * 2);
        s2.set(start);
        start = s2;
      }
      keyword[count] = ki;
      start[count] = at;
      count++;
    };
    const kws = this.keywords;
    const n = text.length;
    if (kws.length === 0) return { count: 0, keyword, start };
    if (this.m < 2) {
      // One-character keywords: no block to slide on; check every position.
      for (let i = 0; i < n; i++) for (let ki = 0; ki < kws.length; ki++) if (matchesAt(text, i, kws[ki]!)) push(ki, i);
      return { count, keyword, start };
    }
    const m = this.m;
    const shift = this.shift;
    const cands = this.candidates;
    let i = m - 1;
    while (i < n) {
      const h = (FOLD[text.charCodeAt(i - 1)]! << 7) | FOLD[text.charCodeAt(i)]!;
      const s = shift[h]!;
      if (s !== 0) {
        i += s;
        continue;
      }
      const list = cands[h]!;
      const at = i - m + 1;
      for (let t = 0; t < list.length; t++) {
        const ki = list[t]!;
        if (matchesAt(text, at, kws[ki]!)) push(ki, at);
      }
      i++;
    }
    return { count, keyword, start };
  }
}

function matchesAt(text: string, at: number, kw: string): boolean {
  if (at + kw.length > text.length) return false;
  for (let q = 0; q < kw.length; q++) if (FOLD[text.charCodeAt(at + q)] !== kw.charCodeAt(q)) return false;
  return true;
}
