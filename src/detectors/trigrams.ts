/**
 * Building blocks of the keyword prefilter (`prefilter.ts`): trigram bit sets, the byte copy of
 * the text it scans, the scan loop itself, and the choice of which 4 characters of a long
 * keyword it looks for.
 */

/** ASCII case folding; every non-ASCII code unit folds to 0, which no keyword contains. */
export const FOLD = new Uint8Array(65536);
for (let c = 0; c < 128; c++) FOLD[c] = c >= 65 && c <= 90 ? c + 32 : c;
/** The same folding for the latin1 byte copy (its own small array: hot loops read it). */
export const FOLD8 = FOLD.slice(0, 256);

/** A set of trigrams of 7-bit characters: 2^21 bits. */
export type TrigramSet = Int32Array;

export function newTrigramSet(): TrigramSet {
  return new Int32Array(1 << 16);
}

export function trigramKey(a: number, b: number, c: number): number {
  return ((a & 0x7f) << 14) | ((b & 0x7f) << 7) | (c & 0x7f);
}

export function addTrigram(set: TrigramSet, t: string): void {
  const k = trigramKey(t.charCodeAt(0), t.charCodeAt(1), t.charCodeAt(2));
  set[k >>> 5]! |= 1 << (k & 31);
}

export function hasTrigram(set: TrigramSet, k: number): boolean {
  return (set[k >>> 5]! & (1 << (k & 31))) !== 0;
}

/** Adds every upper/lower-case spelling of the ASCII trigram `t` (the scan compares raw bytes). */
export function addCaseVariants(set: TrigramSet, t: string): void {
  const spell = (c: number): number[] => (c >= 97 && c <= 122 ? [c, c - 32] : c >= 65 && c <= 90 ? [c, c + 32] : [c]);
  for (const a of spell(t.charCodeAt(0))) {
    for (const b of spell(t.charCodeAt(1))) {
      for (const c of spell(t.charCodeAt(2))) {
        const k = trigramKey(a, b, c);
        set[k >>> 5]! |= 1 << (k & 31);
      }
    }
  }
}

/**
 * One byte buffer reused by every scan (scans are synchronous and do not nest), so a 4 MB text
 * does not allocate 4 MB each time: a fresh buffer costs ~12 ms of page faults, a rewrite 0.1 ms.
 * latin1 writes one byte per UTF-16 unit (keeping offsets); units above 0xFF are truncated, which
 * can only add candidates (the scanners verify on the text). Texts above the cap get a temporary
 * buffer instead of growing the retained one. Every buffer has 4 spare bytes past the text, so
 * `trigramHits` can read it four bytes at a time. `normalize` (normalize.ts) also borrows it, for
 * its ASCII test, before the scan: anyone holding the bytes must not call either meanwhile.
 */
export const SCRATCH_MAX = 1 << 24;
let scratch: Buffer | undefined;
/** `scratch` as 32-bit words (`undefined` until first needed, or on a big-endian machine). */
let scratchWords: Uint32Array | undefined;

export function bytesOf(text: string): Uint8Array {
  const n = text.length;
  let buf: Buffer;
  if (n >= SCRATCH_MAX) buf = Buffer.allocUnsafeSlow(n + 4);
  else {
    // Grown in 1 MB steps to what the text needs (its pages are faulted in once, on first use).
    if (scratch === undefined || scratch.length < n + 4) {
      scratch = Buffer.allocUnsafeSlow(Math.max(1 << 16, Math.ceil((n + 4) / (1 << 20)) * (1 << 20)));
      scratchWords = undefined;
    }
    buf = scratch;
  }
  if (n > 0) buf.write(text, 0, n, 'latin1');
  return buf;
}

/** Whether a 32-bit load puts the byte at the lowest address in the low bits (x86, ARM). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * `b` (from `bytesOf`, holding a text of `n` characters) as 32-bit words, or undefined where that
 * view is not possible (then `trigramHits` reads bytes).
 */
export function wordsOf(b: Uint8Array, n: number): Uint32Array | undefined {
  if (!LITTLE_ENDIAN || (b.byteOffset & 3) !== 0 || b.length < n + 4) return undefined;
  if (b === scratch) return (scratchWords ??= new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2));
  return new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/** Even offsets whose trigram is in the set, filled by `trigramHits` (reused between scans). */
export const candidates = new Int32Array(4096);
/** Text offsets per `trigramHits` call: at most one candidate per two of them fits `candidates`. */
export const BLOCK = 2 * candidates.length;

/**
 * Fills `candidates` with the even offsets in `[from, from + BLOCK)` whose trigram (7-bit
 * characters, case kept) is in `set`; returns how many. `from` is a multiple of BLOCK; `b` comes
 * from `bytesOf`, `w` from `wordsOf` (the same bytes as words, or undefined to read bytes).
 *
 * Shaped for V8, as measured on the 4 MB bench text: the loop only records offsets (with the
 * verification inlined around it: 9–12 ms instead of ~3), it has no early exit (a `break` when the
 * buffer fills doubled its time, 6.3 vs 3.1 ms), and one call per block (rather than one per
 * candidate) lets it be optimized within the first scan. It reads the text as 16-bit words, one
 * load per step instead of two: 3.1 → 2.7 ms per 3.2 MB of the real text of eval/benign.ts; now
 * as 32-bit words, two steps per load (the whole keyword scan of that text: ~7.0 → ~6.7 ms).
 * And it has no branch on the test: every step writes its offset at `count` and adds the tested
 * bit to `count` (a hit keeps its offset, a miss has it overwritten), because hits come
 * irregularly (~1 step in 19 on that text) and each mispredicted branch cost more than the
 * store: ~4.0 → ~3.0 ms for the loop over that text (one core, best of 40 rounds). A block has
 * at most `candidates.length` steps, and a step writes at the number of hits before it, so never
 * past the array.
 */
export function trigramHits(b: Uint8Array, n: number, set: TrigramSet, from: number, w: Uint32Array | undefined): number {
  return w !== undefined ? trigramHitsWords(w, n, set, from) : trigramHitsBytes(b, n, set, from);
}

/**
 * Word `i` holds bytes 4i … 4i + 3 (lowest in the low bits): the trigram at `e = 4i` is its bytes
 * 0–2, the one at `e = 4i + 2` its bytes 2–3 and the low byte of word `i + 1`.
 */
function trigramHitsWords(w: Uint32Array, n: number, set: TrigramSet, from: number): number {
  const out = candidates;
  const to = Math.min(n, from + BLOCK + 2);
  // Steps at even e with e + 2 < to. `from` is a multiple of BLOCK, so of 4.
  const lastE = to - 3;
  let count = 0;
  let i = from >>> 2;
  let cur = w[i]!;
  // Word i + 1 starts at 4i + 4 ≤ lastE + 2 < n: inside the buffer (4 spare bytes, see bytesOf).
  for (; 4 * i + 2 <= lastE; i++) {
    const next = w[i + 1]!;
    const t0 = ((cur & 0x7f) << 14) | ((cur >>> 1) & 0x3f80) | ((cur >>> 16) & 0x7f);
    const t1 = ((cur >>> 2) & 0x1fc000) | ((cur >>> 17) & 0x3f80) | (next & 0x7f);
    cur = next;
    out[count] = 4 * i;
    count += (set[t0 >>> 5]! >>> (t0 & 31)) & 1;
    out[count] = 4 * i + 2;
    count += (set[t1 >>> 5]! >>> (t1 & 31)) & 1;
  }
  if (4 * i <= lastE) {
    const t0 = ((cur & 0x7f) << 14) | ((cur >>> 1) & 0x3f80) | ((cur >>> 16) & 0x7f);
    out[count] = 4 * i;
    count += (set[t0 >>> 5]! >>> (t0 & 31)) & 1;
  }
  return count;
}

function trigramHitsBytes(b: Uint8Array, n: number, set: TrigramSet, from: number): number {
  const out = candidates;
  const to = Math.min(n, from + BLOCK + 2);
  let count = 0;
  let a = b[from]! & 0x7f;
  for (let e = from; e + 2 < to; e += 2) {
    const y = b[e + 2]! & 0x7f;
    const t = (a << 14) | ((b[e + 1]! & 0x7f) << 7) | y;
    a = y;
    out[count] = e;
    count += (set[t >>> 5]! >>> (t & 31)) & 1;
  }
  return count;
}

/**
 * Rough share of each ASCII character in mixed prose, code and JSON (English letter frequencies
 * scaled to ~75 % letters, plus spaces, digits and punctuation), and the trigrams that ordinary
 * text is full of. Only used to pick which 4 characters of a long keyword the scan looks for:
 * a wrong guess costs speed, never a miss.
 */
const FREQ = new Float64Array(128).fill(0.001);
'etaoinshrdlcumwfgypbvkjxqz'.split('').forEach((ch, i) => {
  FREQ[ch.charCodeAt(0)] = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07][i]! * 0.0075;
});
FREQ[32] = 0.15;
for (let c = 48; c <= 57; c++) FREQ[c] = 0.005;
for (const ch of '.,":_-/=()') FREQ[ch.charCodeAt(0)] = 0.008;
const COMMON_TRIGRAMS = new Set(
  ('the and ing ion tio ent ati for her ter hat tha ere con res ver all ons nce men ith ted ers pro thi wit are ess not ive was ect rea com eve per int est sta cti ica ist ear ain one our iti rat ' +
    'ret urn tur fun unc nct str tri rin con ons nst let var imp mpo por ort exp xpo rts ype typ tex ext ent ont nte sul ult lts res eso sou our ser use sed rro err rre ror ode tra ran ans nsp spo def ' +
    'ale ele oke ken tok ass cla las ase ace ate art set get val lue alu ata dat nam ame red ore').split(' '),
);

function trigramCost(k: string, o: number): number {
  const f = FREQ[k.charCodeAt(o)]! * FREQ[k.charCodeAt(o + 1)]! * FREQ[k.charCodeAt(o + 2)]!;
  return COMMON_TRIGRAMS.has(k.slice(o, o + 3)) ? f * 20 : f;
}

/**
 * Offset of the 4-character window of `k` whose trigrams ordinary text contains least often.
 * Windows at keyword prefixes made English trigrams (`con`, `res`, `int` from `confidential`,
 * `restricted//`, `internal use only`) hit ~100 K times per 4 MB of the bench text and doubled
 * the scan time; rare windows keep hits near real keyword occurrences.
 */
export function windowOf(k: string): number {
  let best = 0;
  let bestCost = Infinity;
  for (let o = 0; o + 4 <= k.length; o++) {
    const cost = trigramCost(k, o) + trigramCost(k, o + 1);
    if (cost < bestCost) {
      bestCost = cost;
      best = o;
    }
  }
  return best;
}
