/**
 * Checksums and value statistics used by validators. Each one turns "looks like a format" into
 * "is one": a random 16-digit number passes Luhn one time in ten, a mistyped IBAN fails mod 97,
 * a placeholder like `xxxxxxxx` has no entropy.
 */

/** Luhn mod 10 (ISO/IEC 7812-1 annex B), over a string of digits. */
export function luhn(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 7064 MOD 97-10 over an alphanumeric string (letters count A=10 … Z=35), as IBAN uses. */
export function mod97(s: string): number {
  let r = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) r = (r * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) r = (r * 100 + (c - 55)) % 97;
    else return -1;
  }
  return r;
}

// Verhoeff (1969) dihedral-group check digit, used by Aadhaar.
const V_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const V_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 8, 5],
];
export function verhoeff(digits: string): boolean {
  let c = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    c = V_D[c]![V_P[i % 8]![d]!]!;
  }
  return c === 0;
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE 802.3, as zlib) over the Latin-1 code units of `s`. */
export function crc32(s: string): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < s.length; i++) crc = crcTable[(crc ^ s.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Base62 (0-9A-Za-z) of a non-negative integer, left-padded with '0' to `width`. */
export function base62(n: number, width: number): string {
  let out = '';
  do {
    out = B62[n % 62]! + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, '0');
}

/**
 * GitHub / npm token checksum: the last 6 characters are the base62 CRC-32 of the 30 random
 * characters between the `xxx_` prefix and the checksum (github.blog, 2021-04-05 "Behind GitHub's
 * new authentication token formats"; npm adopted the same format on 2021-09-23).
 */
export function githubChecksumOk(token: string): boolean {
  const us = token.indexOf('_');
  if (us < 0) return false;
  const body = token.slice(us + 1);
  if (body.length !== 36) return false;
  return base62(crc32(body.slice(0, 30)), 6) === body.slice(30);
}

/** Per-scan scratch for ASCII character counts (validators run one at a time). */
const COUNTS = new Int32Array(128);
const ORDER = new Int32Array(128);

/**
 * Shannon entropy in bits per character. ASCII strings are counted in a reused array rather than
 * a Map (validators run for every candidate; the Map version was the largest validator cost in
 * the first scans of the bench, before V8 optimizes it), summing in first-occurrence order as the
 * Map did, so results are identical to the last bit.
 */
export function entropy(s: string): number {
  if (s.length === 0) return 0;
  let distinct = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) break;
    const k = COUNTS[c]!;
    if (k === 0) ORDER[distinct++] = c;
    COUNTS[c] = k + 1;
  }
  if (i < s.length) {
    for (let k = 0; k < distinct; k++) COUNTS[ORDER[k]!] = 0;
    return entropyOf(s);
  }
  let h = 0;
  for (let k = 0; k < distinct; k++) {
    const c = ORDER[k]!;
    const p = COUNTS[c]! / s.length;
    COUNTS[c] = 0;
    h -= p * Math.log2(p);
  }
  return h;
}

function entropyOf(s: string): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Entropy a truly random string of this length and alphabet size would typically show. Short
 * strings cannot reach log2(alphabet), so thresholds are relative to this, not absolute.
 */
export function expectedEntropy(length: number, alphabet: number): number {
  // Expected distinct symbols drawn; entropy is close to log2 of that for uniform draws.
  const distinct = alphabet * (1 - Math.pow(1 - 1 / alphabet, length));
  return Math.log2(Math.max(1, distinct)) * 0.92;
}

const PLACEHOLDER_WORDS = /example|sample|dummy|placeholder|your[_-]|yourkey|yourtoken|redacted|changeme|change[_-]me|insert[_-]|replace[_-]?me|fake[_-]|\*\*\*|\.\.\.|<|>|\{\{|\$\{|todo|secret[_-]?here|token[_-]?here|key[_-]?here|abcdefgh|12345678|qwerty|lorem|foobar/i;
/** Case-sensitive: a mixed-case random string contains `xXxX` by chance, a template `xxxx`. */
const PLACEHOLDER_CASED = /xxxx|XXXX|%s(?![A-Za-z0-9])/;

/**
 * True for values that are obviously not real credentials: documented example keys
 * (AKIAIOSFODNN7EXAMPLE), template holes, masked values, long runs of one character, or
 * ascending sequences.
 */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_WORDS.test(value) || PLACEHOLDER_CASED.test(value)) return true;
  // A quarter of the value one repeated character ("aaaaaaaa", "00000000") is not random.
  let run = 1;
  let maxRun = 1;
  for (let i = 1; i < value.length; i++) {
    run = value[i] === value[i - 1] ? run + 1 : 1;
    if (run > maxRun) maxRun = run;
  }
  if (value.length >= 8 && maxRun >= Math.max(6, value.length / 4)) return true;
  return value.length >= 12 && distinctCodePoints(value, 4) <= 3;
}

/**
 * Distinct code points of `s` (as `new Set(s).size` counts them), counting stops at `cap`. A plain
 * index loop: string iterators stay slow until V8 optimizes the caller, and this runs per candidate.
 */
function distinctCodePoints(s: string, cap: number): number {
  const seen: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    if (!seen.includes(cp)) {
      seen.push(cp);
      if (seen.length >= cap) return seen.length;
    }
  }
  return seen.length;
}

/** Character classes present, for "random-looking" checks (mixed case + digits). */
export function classCount(s: string): number {
  let lower = 0, upper = 0, digit = 0, other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}

/** Decodes standard or URL-safe base64 (padding optional); undefined if it is not base64. */
export function decodeBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s) || s.length % 4 === 1) return undefined;
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Fraction of bytes that are printable ASCII or common whitespace. */
export function printableRatio(b: Uint8Array): number {
  if (b.length === 0) return 0;
  let ok = 0;
  for (const x of b) if ((x >= 32 && x < 127) || x === 9 || x === 10 || x === 13) ok++;
  return ok / b.length;
}
