/**
 * Which lines of a text look like source code, for the source-code heuristic (`markers.ts`).
 *
 * A line is code when CODE_START matches at the start of one of its segments, or CODE_END
 * matches in it, and it is not DATA_LINE (JSON members and list items end like code). The
 * patterns are multiline: `^`/`$` work at `\n`, `\r`, U+2028 and U+2029, so a "line" here runs
 * from one `\n` to the next and its segments are split by the other three.
 *
 * Computed one line at a time instead of by whole-text passes of these patterns, with the same
 * result: CODE_END is checked at each `$` position of the line (last non-blank character `;` or
 * `{`) and at each arrow (`) =>`, `) ->`, found by indexOf); CODE_START is run, sticky, only at
 * segment starts whose first character after up to 40 blanks can begin one of its alternatives
 * (a call statement also needs a `)` before some `$` of the line). Why: a multiline `^` pass makes
 * irregexp try every position; on the 4 MB bench text (no code line at all) the CODE_START pass
 * alone took ~3.7 ms, and on 1.5 MB of real code all passes took ~25 ms.
 */

/**
 * Statement-shaped line starts: a keyword that starts a declaration or control statement, or a
 * call statement. `[ \t]` rather than `\s`, so nothing crosses a line break; gaps are bounded.
 */
const CODE_START = /^[ \t]{0,40}(?:import[ \t]+[\w{*"'(]|(?:if|elif|for|while|with|try|except|finally|else)\b[^\n]{0,200}:[ \t]*$|[\w.]{1,80}\([^()\n]{0,200}\)[ \t]*$|from[ \t]+[\w.]+[ \t]+import\b|#include[ \t]*[<"]|package[ \t]+[\w.]+;?$|using[ \t]+[\w.]+;|(?:export[ \t]+)?(?:async[ \t]+)?function[ \t]*\*?[ \t]*\w*[ \t]*\(|def[ \t]+\w+[ \t]*\(|class[ \t]+\w+|(?:pub[ \t]+)?fn[ \t]+\w+|func[ \t]+\w+|(?:public|private|protected|static|final|override)[ \t]+\w|(?:const|let|var)[ \t]+[\w{[]|return\b|if[ \t]*\(|else\b|for[ \t]*\(|while[ \t]*\(|switch[ \t]*\(|try[ \t]*\{|catch[ \t]*\(|throw[ \t]+|elif[ \t]|except\b|#!\/|}[ \t]*(?:else|catch)?)/my;
// CODE_END, checked by hand below: /[;{][ \t]*$|\)[ \t]*(?:=>|->)/m
/** Data lines that end like code but are not (JSON members, list items). */
const DATA_LINE = /^[ \t]*(?:"[^"\n]{0,200}"[ \t]*:|[-*][ \t]|\d+[.)][ \t])/my;
const MIN_LINES = 3;

/** Characters (after indentation) that can begin a CODE_START alternative other than a call. */
const KEYWORD_FIRST = new Uint8Array(128);
for (const ch of 'iefwt#puadcsolvr}') KEYWORD_FIRST[ch.charCodeAt(0)] = 1;
/** `[\w.]`: the first character of a call statement (`name.method(…)`), which ends in `)`. */
const CALL_FIRST = new Uint8Array(128);
for (let c = 0; c < 128; c++) CALL_FIRST[c] = /[\w.]/.test(String.fromCharCode(c)) ? 1 : 0;

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** The last non-blank character before `q`, not before `start` (-1 if none). */
function lastNonBlank(text: string, start: number, q: number): number {
  let k = q - 1;
  while (k >= start && isBlank(text.charCodeAt(k))) k--;
  return k >= start ? text.charCodeAt(k) : -1;
}

function startsCode(text: string, p: number, parenEnd: boolean): boolean {
  let k = p;
  while (k - p <= 40 && isBlank(text.charCodeAt(k))) k++;
  const c = text.charCodeAt(k);
  if (k - p > 40 || !(c < 128) || (KEYWORD_FIRST[c] !== 1 && !(CALL_FIRST[c] === 1 && parenEnd))) return false;
  CODE_START.lastIndex = p;
  return CODE_START.test(text);
}

/** DATA_LINE at segment start `p`; it needs `"`, `-`, `*` or a digit after the blanks. */
function isDataAt(text: string, p: number): boolean {
  let k = p;
  while (isBlank(text.charCodeAt(k))) k++;
  const c = text.charCodeAt(k);
  if (c !== 34 && c !== 45 && c !== 42 && !(c >= 48 && c <= 57)) return false;
  DATA_LINE.lastIndex = p;
  return DATA_LINE.test(text);
}

/** Next occurrence of `needle` at or after `from`, or `Infinity`. */
function next(text: string, needle: string, from: number): number {
  const i = text.indexOf(needle, from);
  return i < 0 ? Infinity : i;
}

/** Starts of the code lines that are not data lines, increasing; undefined under MIN_LINES code lines. */
export function codeLineStarts(text: string): number[] | undefined {
  const n = text.length;
  const kept: number[] = [];
  let codeCount = 0;
  // Next occurrence of each needle (each search resumes where the last stopped: linear).
  let fat = next(text, '=>', 0);
  let thin = next(text, '->', 0);
  let cr = next(text, '\r', 0);
  let ls = next(text, '\u2028', 0);
  let ps = next(text, '\u2029', 0);
  /** Segment breaks inside the current line (positions of `\r`, U+2028, U+2029), increasing. */
  const inner: number[] = [];
  let breaks = 0;
  for (let start = 0; ; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    breaks = 0;
    for (let b = Math.min(cr, ls, ps); b < end; b = Math.min(cr, ls, ps)) {
      inner[breaks++] = b;
      if (b === cr) cr = next(text, '\r', b + 1);
      else if (b === ls) ls = next(text, '\u2028', b + 1);
      else ps = next(text, '\u2029', b + 1);
    }
    // `$` positions: each inner break, and the line end.
    let c = lastNonBlank(text, start, end);
    let isCode = c === 59 || c === 123;
    let parenEnd = c === 41;
    for (let i = 0; i < breaks; i++) {
      c = lastNonBlank(text, start, inner[i]!);
      if (c === 59 || c === 123) isCode = true;
      if (c === 41) parenEnd = true;
    }
    for (; fat < end; fat = next(text, '=>', fat + 1)) if (!isCode && lastNonBlank(text, start, fat) === 41) isCode = true;
    for (; thin < end; thin = next(text, '->', thin + 1)) if (!isCode && lastNonBlank(text, start, thin) === 41) isCode = true;
    for (let i = -1; !isCode && i < breaks; i++) isCode = startsCode(text, i < 0 ? start : inner[i]! + 1, parenEnd);
    if (isCode) {
      codeCount++;
      let data = false;
      for (let i = -1; !data && i < breaks; i++) data = isDataAt(text, i < 0 ? start : inner[i]! + 1);
      if (!data) kept.push(start);
    }
    if (end >= n) break;
    start = end + 1;
  }
  return codeCount < MIN_LINES ? undefined : kept;
}
