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
 * `{`) and at each arrow (`) =>`, `) ->`, found from the `>` by indexOf); CODE_START is run,
 * sticky, only at segment starts whose first word can begin one of its alternatives (a call
 * statement also needs a `)` before some `$` of the line). Why: a multiline `^` pass makes
 * irregexp try every position; on the 4 MB bench text (no code line at all) the CODE_START pass
 * alone took ~3.7 ms, and on 1.5 MB of real code all passes took ~25 ms.
 *
 * Every `charCodeAt` here stays inside the text (bounds checked first, never relying on NaN past
 * either end): one out-of-range read per text made V8 fall back to a slower `charCodeAt` in the
 * optimized loop, and skipping line indentation alone cost ~1.4 ms more per 3.2 MB of the real
 * text of eval/benign.ts.
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

/**
 * The words CODE_START's keyword alternatives begin with, by first letter. Each alternative is
 * such a word followed by a non-word character (`[ \t]`, `\b`, `(`, `{`), except `function`,
 * which `\w*` may continue; the others begin with `#` or `}`, or are the call statement.
 */
const WORDS = [
  'import', 'if', 'elif', 'for', 'while', 'with', 'try', 'except', 'finally', 'else', 'from', 'package', 'using', 'export', 'async',
  'def', 'class', 'pub', 'fn', 'func', 'public', 'private', 'protected', 'static', 'final', 'override', 'const', 'let', 'var', 'return',
  'switch', 'catch', 'throw',
];
const WORDS_BY_FIRST: (string[] | undefined)[] = [];
for (const w of WORDS) (WORDS_BY_FIRST[w.charCodeAt(0)] ??= []).push(w);
/** `\w` */
const WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) WORD[c] = /\w/.test(String.fromCharCode(c)) ? 1 : 0;
/** `[\w.]`: the first character of a call statement (`name.method(…)`), which ends in `)`. */
const CALL_FIRST = new Uint8Array(128);
for (let c = 0; c < 128; c++) CALL_FIRST[c] = /[\w.]/.test(String.fromCharCode(c)) ? 1 : 0;

/** `\w` for any code unit (`WORD` only covers ASCII: reading past it would be out of bounds). */
function isWordChar(c: number): boolean {
  return c < 128 && WORD[c] === 1;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** The last non-blank character before `q`, not before `start` (-1 if none). */
function lastNonBlank(text: string, start: number, q: number): number {
  let k = q - 1;
  while (k >= start && isBlank(text.charCodeAt(k))) k--;
  return k >= start ? text.charCodeAt(k) : -1;
}

/** The first character at or after `p` that is not a blank (the segment's indentation skipped). */
function firstNonBlank(text: string, p: number): number {
  const n = text.length;
  let k = p;
  while (k < n && isBlank(text.charCodeAt(k))) k++;
  return k;
}

/** CODE_START at segment start `p`, whose first non-blank character is at `k`. */
function startsCode(text: string, p: number, k: number, parenEnd: boolean): boolean {
  if (k - p > 40 || k >= text.length) return false;
  const c = text.charCodeAt(k);
  if (c >= 128) return false;
  // Every alternative begins with a non-blank character, so it starts at `k`. Those beginning
  // with `}` or `#` are settled here without the regex: `}[ \t]*(?:else|catch)?` matches any
  // `}`, and `#` can only begin `#include[ \t]*[<"]` or `#!\/` (on the real text of
  // eval/benign.ts, 7.2 K lines open with `}` and 2.6 K with a Markdown `#` heading).
  if (c === 125) return true;
  if (c === 35) {
    if (text.startsWith('#!/', k)) return true;
    if (!text.startsWith('#include', k)) return false;
  } else if (!((CALL_FIRST[c] === 1 && parenEnd) || startsWithWord(text, k, c))) return false;
  CODE_START.lastIndex = p;
  return CODE_START.test(text);
}

/**
 * Whether the word at `k` (first character `c`) is one of WORDS, or begins with `function`: the
 * regex can only match then. Why: on prose most lines begin with a letter some keyword begins
 * with, and each CODE_START call costs ~45 ns; run on every line of the 3.2 MB real text of
 * eval/benign.ts (96 K lines) the regex took 5.8 ms, most of the source-code heuristic.
 */
function startsWithWord(text: string, k: number, c: number): boolean {
  const words = WORDS_BY_FIRST[c];
  if (words === undefined) return false;
  let e = k + 1;
  const end = Math.min(text.length, k + 10);
  while (e < end && isWordChar(text.charCodeAt(e))) e++;
  for (const w of words) if (w.length === e - k && text.startsWith(w, k)) return true;
  return c === 102 && text.startsWith('function', k);
}

/** DATA_LINE at segment start `p` (first non-blank at `k`); it needs `"`, `-`, `*` or a digit there. */
function isDataAt(text: string, p: number, k: number): boolean {
  if (k >= text.length) return false;
  const c = text.charCodeAt(k);
  if (c !== 34 && c !== 45 && c !== 42 && !(c >= 48 && c <= 57)) return false;
  DATA_LINE.lastIndex = p;
  return DATA_LINE.test(text);
}

/**
 * Past every string offset (V8 strings hold < 2^29 units), as "no more occurrences". A small
 * integer rather than `Infinity`, so the positions compared per line stay small integers.
 */
const NONE = 0x3fffffff;

/** Next occurrence of `needle` at or after `from`, or `NONE`. */
function next(text: string, needle: string, from: number): number {
  const i = text.indexOf(needle, from);
  return i < 0 ? NONE : i;
}

/** Starts of the code lines that are not data lines, increasing; undefined under MIN_LINES code lines. */
export function codeLineStarts(text: string): number[] | undefined {
  return codeLines(text)?.starts;
}

/** The code lines that are not data lines, and what the source-code heuristic needs about them. */
export interface CodeLines {
  /** Line starts, increasing. */
  readonly starts: number[];
  /** Line ends (the `\n`, or the text's end), one per start. */
  readonly ends: number[];
  /**
   * Per line: how many non-blank lines (JS whitespace only counts as blank) lie between the
   * previous line of `starts` at most `maxLine` long and this one, not counting the first line
   * after that previous one; counted up to 4 (the heuristic breaks a run above 3), and 0 when
   * there is no such previous line. This is exactly what `scanSourceCode` (markers.ts) counted
   * by scanning those lines again; here each line is read once.
   */
  readonly gaps: number[];
}

/** The code lines of `text` (see `CodeLines`); undefined under MIN_LINES code lines. */
export function codeLines(text: string, maxLine = Infinity): CodeLines | undefined {
  const n = text.length;
  const starts: number[] = [];
  const ends: number[] = [];
  const gaps: number[] = [];
  let codeCount = 0;
  /** Line index of the last kept line at most `maxLine` long (-2: none yet), and the gap since. */
  let lastShort = -2;
  let gap = 0;
  // Next occurrence of each needle (each search resumes where the last stopped: linear).
  // Arrows (`=>`, `->`) are found from their `>`: V8 searches a one-character needle natively
  // fast, a two-character one much slower (0.13 ms for every `>` of the 3.2 MB real text of
  // eval/benign.ts, 0.86 ms for every `=>` and `->`).
  let gt = next(text, '>', 0);
  let cr = next(text, '\r', 0);
  let ls = next(text, '\u2028', 0);
  let ps = next(text, '\u2029', 0);
  /** The first of `cr`, `ls`, `ps` (kept, not recomputed per line: most texts have none). */
  let brk = Math.min(cr, ls, ps);
  /** Segment breaks inside the current line (positions of `\r`, U+2028, U+2029), increasing. */
  const inner: number[] = [];
  let breaks = 0;
  for (let start = 0, line = 0; ; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    breaks = 0;
    for (; brk < end; brk = Math.min(cr, ls, ps)) {
      inner[breaks++] = brk;
      if (brk === cr) cr = next(text, '\r', brk + 1);
      else if (brk === ls) ls = next(text, '\u2028', brk + 1);
      else ps = next(text, '\u2029', brk + 1);
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
    for (; gt < end; gt = next(text, '>', gt + 1)) {
      // An arrow at `gt − 1` (never before `start`: the character there is a `\n`, or none).
      const a = gt > start ? text.charCodeAt(gt - 1) : -1;
      if (!isCode && (a === 61 || a === 45) && lastNonBlank(text, start, gt - 1) === 41) isCode = true;
    }
    // The line's indentation is skipped once, for both CODE_START and DATA_LINE.
    const k0 = firstNonBlank(text, start);
    for (let i = -1; !isCode && i < breaks; i++) {
      const p = i < 0 ? start : inner[i]! + 1;
      isCode = startsCode(text, p, i < 0 ? k0 : firstNonBlank(text, p), parenEnd);
    }
    let kept = false;
    if (isCode) {
      codeCount++;
      let data = false;
      for (let i = -1; !data && i < breaks; i++) {
        const p = i < 0 ? start : inner[i]! + 1;
        data = isDataAt(text, p, i < 0 ? k0 : firstNonBlank(text, p));
      }
      kept = !data;
    }
    if (kept) {
      starts.push(start);
      ends.push(end);
      gaps.push(lastShort < 0 ? 0 : gap);
    }
    if (kept && end - start <= maxLine) {
      lastShort = line;
      gap = 0;
    } else if (lastShort >= 0 && line >= lastShort + 2 && gap <= 3 && (kept || !isBlankText(text, start, end))) {
      gap++;
    }
    if (end >= n) break;
    start = end + 1;
  }
  return codeCount < MIN_LINES ? undefined : { starts, ends, gaps };
}

/** `text.slice(from, to).trim() === ''` without the copies: JS whitespace (`\s`) only. */
function isBlankText(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) continue;
    if (c < 128 || !/\s/.test(text[i]!)) return false;
  }
  return true;
}
