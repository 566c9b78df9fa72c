/**
 * Reading a code unit that may lie outside the text, without `charCodeAt` going out of range.
 *
 * Why: `text.charCodeAt(i)` past either end returns NaN, and the scanners' edge checks
 * (`isAlnum(text.charCodeAt(start - 1))`) used to rely on that. But one such read in an
 * optimized loop makes V8 replace its fast in-range `charCodeAt` with a slower general one for
 * every later call (measured on a line loop over the 3.2 MB real text of eval/benign.ts: 3.7 ms
 * with one out-of-range read per text, 2.3 ms with none). For the same reason the 128-entry
 * tables the scanners use are only indexed with c < 128.
 */

/** No character: outside the text. Negative, so it is in no character range or table. */
export const OUTSIDE = -1;

/** The code unit at `i`, or `OUTSIDE` when `i` is not inside `text`. */
export function codeAt(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : OUTSIDE;
}
