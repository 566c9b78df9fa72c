/**
 * Where the digit-shaped PII patterns can match, from one pass over the text, so they run only
 * there (`each` with windows, same results as the whole-text scan).
 *
 * Why: each of the number, IPv4, NINO, DNI, NIE and IBAN patterns cost a whole-text regex pass
 * (irregexp tries every position): 2.6 + 0.5 + 1.4 + 0.3 + 0.4 + 1.2 = 6.4 ms per 3.2 MB of the
 * real text of eval/benign.ts (dependency code, docs, JSON), a fifth of the whole scan. The pass
 * below finds the runs of `[0-9 ().\-]` that can hold a match with one regex pass (~1.8 ms); each
 * pattern then reads only the windows of the runs its matches need (a few KB).
 *
 * A "run" is a maximal run of C = `[0-9 ().\-]`, `[rs, re)`. Every match of these patterns lies
 * in `[rs − 2, re + 1)` of one run with:
 * - number `\+?\(?[0-9][0-9 ().\-]{5,24}[0-9]`: all of it in the run (a `+` is not in C, so it
 *   can only sit at `rs − 1`), two digits ≥ 6 apart: last digit − first ≥ 6.
 * - ipv4: digits and dots only (in C), ≥ 7 long with a digit at both ends: as number, and a dot.
 * - nino `[A-Z]{2} ?dd ?dd ?dd ?[A-D]`: the run is its middle (letters are not in C): 6 digits,
 *   upper-case letters at `rs − 2` and `rs − 1`, and one of A–D at `re`.
 * - dni `[0-9]{8}-?[A-Z]`: 8 consecutive digits, an upper-case letter at `re`.
 * - nie `[XYZ]-?[0-9]{7}-?[A-Z]`: 7 consecutive digits, X/Y/Z at `rs − 1`, a letter at `re`.
 * - Corsican NIR `[12] ?dd ?dd ?2[AB] ?ddd ?ddd ?dd`: two runs, 6 digits up to the letter (at
 *   `re` of the first) and 8 after it (the second starts at `re + 1`); their windows (those of
 *   every run with digits ≥ 5 apart) both hold the letter, so they merge into one holding it.
 * Each pattern's windows are those of its runs, merged. A match starting inside one of them
 * belongs to such a run, whose window is part of it: so a window cuts no match, and a slice of
 * it matches exactly as the whole text does there.
 *
 * IBAN `[A-Za-z]{2}[0-9]{2}[A-Za-z0-9 ]{11,45}` starts with two letters and two digits; the
 * digits begin a run (a letter before them is not in C), so each candidate start is found at a
 * run's first digit. Its window is the longest match from there (49 characters).
 */
import { assertLinear } from '../linear.ts';
import { codeAt } from '../code-at.ts';
import type { Windows } from './windows.ts';

/**
 * Two digits with up to 24 separators (C without digits) between them. Every run that holds a
 * match of the patterns above has such a pair: consecutive digits of a number match are at most
 * 25 apart (its middle is ≤ 24 characters), and the others hold two adjacent digits. Runs with a
 * single digit (`x1`, `[0]`, `utf8`), the most common kind in code, are skipped natively:
 * 1.8 ms per 3.2 MB instead of 2.6 for a pass that stops at every digit.
 */
const PAIR_SOURCE = String.raw`[0-9][ ().\-]{0,24}[0-9]`;
assertLinear(PAIR_SOURCE, '', 'pii-digit-pair');
const PAIR = new RegExp(PAIR_SOURCE, 'g');

/** Longest IBAN pattern match: 2 + 2 + 45 (index.ts checks it against the pattern). */
export const IBAN_SPAN = 49;

/** 1 = in C (`[0-9 ().\-]`), 2 = digit (also in C). */
const CLASS = new Uint8Array(128);
for (const ch of ' ().-') CLASS[ch.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) CLASS[c] = 2;

function cls(c: number): number {
  return c < 128 ? CLASS[c]! : 0;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export interface DigitWindows {
  /** Per pattern (see above); `digits` is for the Corsican NIR. */
  readonly number: Windows;
  readonly ipv4: Windows;
  readonly nino: Windows;
  readonly dni: Windows;
  readonly nie: Windows;
  readonly digits: Windows;
  readonly iban: Windows;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

type Mutable = { -readonly [K in keyof DigitWindows]: number[] };
const NO_WINDOWS: readonly number[] = Object.freeze([]);
/**
 * No window for any pattern: shared, so that a text whose digits hold no candidate run (most:
 * `41 s on node 24`) allocates nothing. Its lists are frozen: callers only read them.
 */
const NONE: DigitWindows = Object.freeze({ number: NO_WINDOWS, ipv4: NO_WINDOWS, nino: NO_WINDOWS, dni: NO_WINDOWS, nie: NO_WINDOWS, digits: NO_WINDOWS, iban: NO_WINDOWS });
const fresh = (): Mutable => ({ number: [], ipv4: [], nino: [], dni: [], nie: [], digits: [], iban: [] });

export function digitWindows(text: string): DigitWindows {
  const n = text.length;
  // Made on the first window (see NONE).
  let w: Mutable | undefined;
  /** End of the previous run (a character not in C, or n): runs found later start after it. */
  let prevEnd = 0;
  PAIR.lastIndex = 0;
  // `test` rather than `exec`: no match array per run; the pair's end is enough to find its run.
  while (PAIR.test(text)) {
    let rs = PAIR.lastIndex - 1;
    while (rs > prevEnd && cls(text.charCodeAt(rs - 1)) !== 0) rs--;
    let end = PAIR.lastIndex;
    while (end < n && cls(text.charCodeAt(end)) !== 0) end++;
    let first = rs;
    while (cls(text.charCodeAt(first)) !== 2) first++;
    let last = end - 1;
    while (cls(text.charCodeAt(last)) !== 2) last--;
    const before = codeAt(text, rs - 1);
    if (last - first >= 5) {
      // How many digits, the longest stretch of consecutive ones, and whether there is a dot.
      let count = 0;
      let stretch = 0;
      let longest = 0;
      let dot = false;
      for (let k = first; k <= last; k++) {
        const c = text.charCodeAt(k);
        if (c >= 48 && c <= 57) {
          count++;
          if (++stretch > longest) longest = stretch;
        } else {
          stretch = 0;
          if (c === 46) dot = true;
        }
      }
      const s = Math.max(0, rs - 2);
      const e = Math.min(n, end + 1);
      const after = codeAt(text, end);
      w ??= fresh();
      add(w.digits, s, e);
      if (last - first >= 6) {
        add(w.number, s, e);
        if (dot) add(w.ipv4, s, e);
      }
      if (count >= 6 && isUpper(before) && isUpper(codeAt(text, rs - 2)) && after >= 65 && after <= 68) add(w.nino, s, e);
      if (longest >= 8 && isUpper(after)) add(w.dni, s, e);
      if (longest >= 7 && before >= 88 && before <= 90 && isUpper(after)) add(w.nie, s, e);
    }
    // IBAN: two letters, then two digits starting the run.
    if (first === rs && rs >= 2 && cls(text.charCodeAt(rs + 1)) === 2 && isLetter(before) && isLetter(text.charCodeAt(rs - 2))) {
      add((w ??= fresh()).iban, rs - 2, Math.min(n, rs - 2 + IBAN_SPAN));
    }
    prevEnd = end;
    PAIR.lastIndex = end;
  }
  return w ?? NONE;
}

/** Appends `[s, e)`, merged with the last window when they touch (starts come in order). */
function add(out: number[], s: number, e: number): void {
  if (out.length > 0 && s <= out[out.length - 1]!) out[out.length - 1] = Math.max(out[out.length - 1]!, e);
  else out.push(s, e);
}
