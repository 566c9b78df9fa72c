/**
 * The keyword prefilter: one pass over the text finds every occurrence of every rule keyword
 * (ASCII case-insensitive), so a rule only runs near its keywords and a text with none of them
 * costs one scan however many rules the pack holds. The same pass can report other text shapes
 * (`TrigramTrigger`: e.g. where an IPv6 address may start) for scanners that would otherwise
 * need a whole-text regex pass of their own.
 *
 * Algorithm: the text is copied once into a reused byte buffer (a native copy, ~0.1 ms per 4 MB)
 * and read two bytes per step. Every keyword of ≥ 4 characters is represented by one 4-character
 * window of it (made of rare characters, see `windowOf`). At every even offset `e` the trigram
 * `e..e+2` is tested in a 2^21-bit set holding characters 0–2 and 1–3 of every window, in every
 * case spelling: a window at `w` shows one of them at the even offset `w` or `w + 1`, so no
 * occurrence is skipped. Offsets that pass go through a hashed bit set and a table of windows,
 * and each candidate keyword is compared with the original text.
 *
 * Why this shape (measured on the bench text of bench/lib/micro.ts, 4 MB, one core): the previous
 * Wu–Manber scan could only slide 2 characters (the shortest built-in keywords have 4) and read
 * three characters per window through `charCodeAt`: ~21 ms. One bit test per two bytes from a
 * typed array: ~3.3 ms (~1.2 GB/s). Keywords of 1–3 characters (custom dictionaries) use a
 * per-position loop instead: linear, slower.
 */
import {
  addCaseVariants, addTrigram, BLOCK, bytesOf, candidates, FOLD, FOLD8, hasTrigram, newTrigramSet, trigramHits, trigramKey, windowOf, wordsOf, type TrigramSet,
} from './trigrams.ts';

/** Offsets (increasing) where a trigger's trigrams occur, at even offsets only. */
export interface Positions {
  readonly count: number;
  readonly at: Int32Array;
}

export interface KeywordHits {
  /** Number of hits. */
  readonly count: number;
  /** Keyword index of hit `i`. */
  readonly keyword: Int32Array;
  /** Start offset of hit `i` (non-decreasing). */
  readonly start: Int32Array;
  /** Per trigger given to the scanner, the even offsets whose trigram it lists. */
  readonly triggered: readonly Positions[];
}

/**
 * A text shape the pass reports: every EVEN offset whose trigram (7-bit characters, case kept) is
 * listed. So when both trigrams of 4 consecutive characters at `p` are listed, `p` or `p + 1` is
 * reported (whichever is even).
 */
export interface TrigramTrigger {
  readonly trigrams: Iterable<string>;
}

function quadKey(b: Uint8Array, s: number): number {
  return (FOLD8[b[s]!]! << 21) | (FOLD8[b[s + 1]!]! << 14) | (FOLD8[b[s + 2]!]! << 7) | FOLD8[b[s + 3]!]!;
}

function quadHash(q: number, bits: number): number {
  return Math.imul(q, 0x9e3779b1) >>> (32 - bits);
}

/** Hashed bit set of windows: most trigram hits stop here, before the table. */
const QUAD_BITS = 18;

/** Open-addressing map from a folded 4-gram (28 bits) to the (keyword, window offset) pairs. */
class QuadTable {
  private readonly keys: Int32Array;
  private readonly vals: (Int32Array | undefined)[];
  private readonly bits: number;

  constructor(entries: Map<number, number[]>) {
    let bits = 4;
    while (1 << bits < entries.size * 4) bits++;
    this.bits = bits;
    this.keys = new Int32Array(1 << bits);
    this.vals = new Array<Int32Array | undefined>(1 << bits).fill(undefined);
    const mask = (1 << bits) - 1;
    for (const [q, list] of entries) {
      let h = quadHash(q, bits);
      while (this.keys[h] !== 0) h = (h + 1) & mask;
      this.keys[h] = q + 1;
      this.vals[h] = Int32Array.from(list);
    }
  }

  /** Flat pairs `[keyword, offset, keyword, offset, …]` whose window is `q`. */
  get(q: number): Int32Array | undefined {
    const mask = this.keys.length - 1;
    for (let h = quadHash(q, this.bits); ; h = (h + 1) & mask) {
      const k = this.keys[h]!;
      if (k === 0) return undefined;
      if (k === q + 1) return this.vals[h];
    }
  }
}

/** Bit sets of triggers, built once per trigger (several scanners share the PII ones). */
const triggerSets = new WeakMap<TrigramTrigger, TrigramSet>();
function triggerSet(t: TrigramTrigger): TrigramSet {
  let set = triggerSets.get(t);
  if (set === undefined) {
    set = newTrigramSet();
    for (const tg of t.trigrams) addTrigram(set, tg);
    triggerSets.set(t, set);
  }
  return set;
}

export class KeywordScanner {
  readonly keywords: readonly string[];
  private readonly m: number;
  /** Characters 0–2 and 1–3 of every window, every case spelling. */
  private readonly windowTri: TrigramSet = newTrigramSet();
  /** Per trigger, its trigrams; and the union the scan loop tests (windows included). */
  private readonly triggerTri: TrigramSet[];
  private readonly scanTri: TrigramSet;
  private readonly quadBits = new Int32Array(1 << (QUAD_BITS - 5));
  private readonly quads: QuadTable;
  /** Longest offset of a window inside its keyword: hits may arrive this far out of order. */
  private readonly maxOffset: number;
  /** Keywords of 1–3 characters by their folded key, per length (index 1..3). */
  private readonly short: (Map<number, number[]> | undefined)[] = [];

  constructor(keywords: readonly string[], triggers: readonly TrigramTrigger[] = []) {
    for (const k of keywords) {
      if (k.length === 0) throw new Error('empty keyword');
      if (!/^[\x01-\x7f]+$/.test(k)) throw new Error(`keyword ${JSON.stringify(k)} must be ASCII`);
      if (k !== k.toLowerCase()) throw new Error(`keyword ${JSON.stringify(k)} must be lowercase`);
    }
    this.keywords = [...new Set(keywords)];
    this.m = this.keywords.length === 0 ? 0 : Math.min(...this.keywords.map((k) => k.length));
    const quads = new Map<number, number[]>();
    let maxOffset = 0;
    this.keywords.forEach((k, ki) => {
      const c = (j: number): number => k.charCodeAt(j);
      if (k.length < 4) {
        let key = 0;
        for (let j = 0; j < k.length; j++) key = (key << 7) | c(j);
        const map = (this.short[k.length] ??= new Map());
        map.set(key, [...(map.get(key) ?? []), ki]);
        return;
      }
      const o = windowOf(k);
      maxOffset = Math.max(maxOffset, o);
      for (const j of [o, o + 1]) addCaseVariants(this.windowTri, k.slice(j, j + 3));
      const q = (c(o) << 21) | (c(o + 1) << 14) | (c(o + 2) << 7) | c(o + 3);
      const h = quadHash(q, QUAD_BITS);
      this.quadBits[h >>> 5]! |= 1 << (h & 31);
      quads.set(q, [...(quads.get(q) ?? []), ki, o]);
    });
    this.maxOffset = maxOffset;
    this.quads = new QuadTable(quads);
    this.triggerTri = triggers.map((t) => triggerSet(t));
    if (this.triggerTri.length === 0) this.scanTri = this.windowTri;
    else {
      this.scanTri = Int32Array.from(this.windowTri);
      for (const set of this.triggerTri) for (let i = 0; i < set.length; i++) this.scanTri[i]! |= set[i]!;
    }
  }

  /** Shortest keyword length (0 without keywords): below 4 the scan checks every position. */
  get windowLength(): number {
    return this.m;
  }

  /** All keyword occurrences, ordered by start offset, and the offsets of each trigger. */
  scan(text: string): KeywordHits {
    const hits = new HitList();
    const triggered = this.triggerTri.map(() => new PositionList());
    const fast = this.m >= 4;
    if (this.keywords.length === 0 && triggered.length === 0) return hits.done(triggered);
    const b = bytesOf(text);
    if (!fast && this.keywords.length > 0) this.scanEveryPosition(text, b, hits);
    if (fast || triggered.length > 0) this.scanPairs(text, b, fast ? hits : undefined, triggered);
    return hits.done(triggered);
  }

  /** One trigram test per two bytes; keywords (when `hits` is given, all ≥ 4 chars) and triggers. */
  private scanPairs(text: string, b: Uint8Array, hits: HitList | undefined, triggered: PositionList[]): void {
    const n = text.length;
    const set = hits === undefined ? this.triggersOnly() : this.scanTri;
    const w = wordsOf(b, n);
    // Most candidates are keyword windows only: one test of all triggers at once rules them out.
    const anyTrigger = triggered.length > 0 ? this.triggersOnly() : undefined;
    for (let from = 0; from + 2 < n; from += BLOCK) {
      const count = trigramHits(b, n, set, from, w);
      for (let h = 0; h < count; h++) {
        const e = candidates[h]!;
        const t = trigramKey(b[e]!, b[e + 1]!, b[e + 2]!);
        if (anyTrigger !== undefined && hasTrigram(anyTrigger, t)) {
          for (let k = 0; k < triggered.length; k++) if (hasTrigram(this.triggerTri[k]!, t)) triggered[k]!.push(e);
        }
        if (hits === undefined || !hasTrigram(this.windowTri, t)) continue;
        // A window at an odd offset w shows its characters 1–3 here (e = w + 1); at an even one,
        // characters 0–2 (e = w). Each window position is checked from exactly one e.
        // Characters e − 1 … e + 3 folded once: the windows at e − 1 and e share three of them
        // (kw scan of the 3.2 MB real text of eval/benign.ts: ~8.0 → 7.8 ms).
        const mid = (FOLD8[b[e]!]! << 14) | (FOLD8[b[e + 1]!]! << 7) | FOLD8[b[e + 2]!]!;
        if (e >= 1 && e + 3 <= n) this.verifyQuad(text, (FOLD8[b[e - 1]!]! << 21) | mid, e - 1, hits);
        if (e + 4 <= n) this.verifyQuad(text, (mid << 7) | FOLD8[b[e + 3]!]!, e, hits);
      }
    }
  }

  private triggersOnlyTri: TrigramSet | undefined;
  private triggersOnly(): TrigramSet {
    if (this.triggersOnlyTri === undefined) {
      this.triggersOnlyTri = newTrigramSet();
      for (const s of this.triggerTri) for (let i = 0; i < s.length; i++) this.triggersOnlyTri[i]! |= s[i]!;
    }
    return this.triggersOnlyTri;
  }

  /** Candidates whose window sits at `w`. */
  private verify(text: string, b: Uint8Array, w: number, hits: HitList): void {
    this.verifyQuad(text, quadKey(b, w), w, hits);
  }

  /** Candidates whose window, `q` (folded as by `quadKey`), sits at `w`. */
  private verifyQuad(text: string, q: number, w: number, hits: HitList): void {
    const h = quadHash(q, QUAD_BITS);
    if ((this.quadBits[h >>> 5]! & (1 << (h & 31))) === 0) return;
    const list = this.quads.get(q);
    if (list === undefined) return;
    const kws = this.keywords;
    for (let t = 0; t < list.length; t += 2) {
      const at = w - list[t + 1]!;
      if (at >= 0 && matchesAt(text, at, kws[list[t]!]!)) hits.insert(list[t]!, at, this.maxOffset);
    }
  }

  /** Keywords shorter than 4: every start position is looked up (1-, 2-, 3- and 4-char keys). */
  private scanEveryPosition(text: string, b: Uint8Array, hits: HitList): void {
    const n = text.length;
    const kws = this.keywords;
    for (let i = 0; i < n; i++) {
      let key = 0;
      for (let len = 1; len <= 3 && i + len <= n; len++) {
        key = (key << 7) | FOLD8[b[i + len - 1]!]!;
        const list = this.short[len]?.get(key);
        if (list !== undefined) for (const ki of list) if (matchesAt(text, i, kws[ki]!)) hits.insert(ki, i, this.maxOffset);
      }
      if (i + 4 <= n) this.verify(text, b, i, hits);
    }
  }
}

/**
 * Shared by every empty list: a list's arrays are allocated on its first entry. Why: most scans
 * (the short strings of a message) record no hit and no trigger, and the four 16-entry typed
 * arrays made per scan were ~0.1 µs of its fixed cost.
 */
const NONE = new Int32Array(0);

class PositionList {
  at = NONE;
  count = 0;
  push(p: number): void {
    if (this.count === this.at.length) {
      const a2 = new Int32Array(Math.max(16, this.count * 2));
      a2.set(this.at);
      this.at = a2;
    }
    this.at[this.count++] = p;
  }
}

class HitList {
  keyword = NONE;
  start = NONE;
  count = 0;

  /**
   * Appends a hit, keeping starts non-decreasing. Windows are found in order and a keyword starts
   * at most `maxOffset` before its window, so an insertion only moves past hits that start within
   * `maxOffset` characters of it (bounded work per hit).
   */
  insert(ki: number, at: number, maxOffset: number): void {
    if (this.count === this.keyword.length) {
      const k2 = new Int32Array(Math.max(16, this.count * 2));
      k2.set(this.keyword);
      this.keyword = k2;
      const s2 = new Int32Array(Math.max(16, this.count * 2));
      s2.set(this.start);
      this.start = s2;
    }
    let i = this.count++;
    if (maxOffset > 0) {
      while (i > 0 && this.start[i - 1]! > at) {
        this.start[i] = this.start[i - 1]!;
        this.keyword[i] = this.keyword[i - 1]!;
        i--;
      }
    }
    this.keyword[i] = ki;
    this.start[i] = at;
  }

  done(triggered: readonly Positions[]): KeywordHits {
    return { count: this.count, keyword: this.keyword, start: this.start, triggered };
  }
}

function matchesAt(text: string, at: number, kw: string): boolean {
  if (at + kw.length > text.length) return false;
  for (let q = 0; q < kw.length; q++) if (FOLD[text.charCodeAt(at + q)] !== kw.charCodeAt(q)) return false;
  return true;
}
