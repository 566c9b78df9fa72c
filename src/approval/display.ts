/**
 * Client-chosen text shown to a person deciding on a call: the operator's terminal (the CLI), the
 * user's client (the elicitation prompt), the queue's previews.
 */

/**
 * Replace characters that can drive a terminal or make text read differently than it is: C0/C1
 * controls (ESC starts ANSI sequences, a newline forges a line), DEL, and the Unicode bidi
 * controls (the "Trojan Source" class, CVE-2021-42574).
 */
export function clean(text: string): string {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

/** `s` up to about `end`, never ending between the halves of a surrogate pair (invalid UTF-16). */
export function headOf(s: string, end: number): string {
  const c = s.charCodeAt(end - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? end - 1 : end);
}

/** `s` from about `start`, never starting between the halves of a surrogate pair. */
export function tailOf(s: string, start: number): string {
  const c = s.charCodeAt(start);
  return s.slice(c >= 0xdc00 && c <= 0xdfff ? start + 1 : start);
}
