/**
 * Running a PII pattern over the whole text, or only over windows where the keyword prefilter's
 * pass saw the shape it needs (see `PII_TRIGGERS` in ./index.ts), with the same results.
 *
 * A whole-text regex pass costs ~0.5 ns per character even when nothing matches (irregexp tries
 * every position unless the pattern starts with a short fixed sequence): ~2 ms per 4 MB for each
 * of the IPv6 and codice fiscale patterns on the bench text of bench/lib/micro.ts. Their windows
 * cost next to nothing on ordinary text.
 *
 * Same results: the caller's windows hold every match the whole-text scan could see (accepted or
 * not), and the scan position carries over from one window to the next in ORIGINAL offsets, so a
 * match or skip that ran past a window's end still hides what the whole-text scan would not see.
 */
import { codeAt } from '../code-at.ts';

/** Flat `[start, end, start, end, …]`, merged and increasing. */
export type Windows = readonly number[];

export function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Whether a pattern runs at all: over the whole text (no windows) or over some window. Checked
 * before `each` (index.ts) so that a text with digits but no candidate (`41 s on node 24`) does
 * not make its callbacks: eight closures per scan, for nothing (scanPii on the 230-character
 * bench argument: ~450 → ~255 ns, with the shared empty windows of digits.ts).
 */
export function any(windows: Windows | undefined): boolean {
  return windows === undefined || windows.length > 0;
}

/**
 * Runs `re` over `text` (or only over `windows`), skipping matches glued to a letter or digit on
 * either side. `fn` gets the start and matched text and may return where to resume (for patterns
 * that over-match and are trimmed by their classifier).
 */
export function each(
  re: RegExp, text: string, fn: (start: number, value: string) => number | void, edge: (c: number) => boolean = isAlnum, windows?: Windows,
): void {
  const all = windows === undefined;
  const count = all ? 1 : windows.length / 2;
  let next = 0;
  for (let w = 0; w < count; w++) {
    const ws = all ? 0 : windows[2 * w]!;
    const we = all ? text.length : windows[2 * w + 1]!;
    if (next >= we) continue;
    const slice = all ? text : text.slice(ws, we);
    re.lastIndex = Math.max(0, next - ws);
    for (let m = re.exec(slice); m !== null; m = re.exec(slice)) {
      const s = ws + m.index;
      const e = s + m[0].length;
      next = ws + re.lastIndex;
      if (edge(codeAt(text, s - 1)) || edge(codeAt(text, e))) {
        // Inside a longer token: resume after the run so the scan stays linear.
        let k = s;
        while (k < text.length && (edge(text.charCodeAt(k)) || text[k] === ' ' || text[k] === '-' || text[k] === '.')) k++;
        next = Math.max(k, s + 1);
      } else {
        const resume = fn(s, m[0]);
        if (typeof resume === 'number') next = Math.max(resume, s + 1);
      }
      if (next - ws > slice.length) break;
      re.lastIndex = next - ws;
    }
  }
}
