/**
 * Rewrites a regex source so V8's engine (irregexp) can search it faster, without changing what
 * it matches: the fixed part of a counted repetition at the start of the pattern is written out,
 * `[0-9]{8}` as `[0-9][0-9]…` and `X{3,40}` as `XXX X{0,37}`.
 *
 * Why: irregexp only unrolls repetitions of at most 3, and a loop hides the positions after it
 * from its Boyer–Moore lookahead and its multi-character quick check, so `[0-9]{8}-?[A-Z]` is
 * tried at every digit. Written out, it skips through text that cannot match. Measured on the
 * 4 MB bench text of bench/lib/micro.ts: `[0-9]{8}-?[A-Z]` 2.4 → 0.23 ms, the PII number pattern
 * 1.34 → 0.39 ms. Greedy `X{m,n}` and `X…X X{0,n-m}` try the same lengths in the same order,
 * so matches (and capture groups, which are never unrolled) are identical; the linear-time
 * analysis (`linear.ts`) runs on the original source.
 */

/** How many copies to write out in total: irregexp looks at most a few characters ahead. */
const UNROLL_BUDGET = 12;

/** Length of the atom (literal, escape or class) at `i`, or 0 for a group / anything else. */
function atomLength(src: string, i: number): number {
  const c = src[i];
  if (c === undefined || '()|^$*+?{}'.includes(c)) return 0;
  if (c === '\\') {
    const e = src[i + 1];
    if (e === undefined) return 0;
    if (e === 'x') return 4;
    // Class and control escapes; anything else alphanumeric (\b, \1, \u, \c…) ends the prefix.
    if (/[A-Za-z0-9]/.test(e) && !'dDwWsSnrtfv'.includes(e)) return 0;
    return 2;
  }
  if (c === '[') {
    let j = i + 1;
    if (src[j] === '^') j++;
    if (src[j] === ']') j++;
    for (; j < src.length; j++) {
      if (src[j] === '\\') j++;
      else if (src[j] === ']') return j + 1 - i;
    }
    return 0;
  }
  return 1;
}

/** `source` with the leading counted repetitions written out (see above); top-level only. */
export function unrollForSearch(source: string): string {
  if (hasTopLevelAlternation(source)) return source;
  let out = '';
  let budget = UNROLL_BUDGET;
  let i = 0;
  while (i < source.length && budget > 0) {
    const len = atomLength(source, i);
    if (len === 0) break;
    const atom = source.slice(i, i + len);
    const q = /^\{(\d+)(?:,(\d+))?\}(?![?+])/.exec(source.slice(i + len));
    if (q === null) {
      // `X?` keeps its place; a plain atom is one fixed position.
      if (source[i + len] === '?') {
        if (source[i + len + 1] === '?' || source[i + len + 1] === '+') break;
        out += atom + '?';
        i += len + 1;
      } else {
        out += atom;
        i += len;
        budget--;
      }
      continue;
    }
    const min = Number(q[1]);
    const max = q[2] === undefined ? min : Number(q[2]);
    const k = Math.min(min, budget);
    out += atom.repeat(k);
    budget -= k;
    if (max > k) out += min === max ? (min - k === 1 ? atom : `${atom}{${min - k}}`) : `${atom}{${Math.max(0, min - k)},${max - k}}`;
    i += len + q[0].length;
  }
  return out + source.slice(i);
}

function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '[') i += Math.max(0, atomLength(src, i) - 1);
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}
