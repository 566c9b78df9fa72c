/**
 * The SSE encoder: event and comment blocks as the parser in sse.ts (WHATWG HTML §9.2.6) reads
 * them back, refusing values that would break the framing.
 */

const LF = 0x0a;
const CR = 0x0d;

function hasLineBreak(s: string): boolean {
  return s.indexOf('\n') !== -1 || s.indexOf('\r') !== -1;
}

/**
 * One event block, LF line ends, ending in a blank line. `data` is split on CRLF/CR/LF into
 * several `data:` lines (the parser joins them back with LF), so every encoded event dispatches,
 * even with empty data (`data:` → ""). Throws TypeError on values that would break the framing.
 */
export function encodeSseEvent(ev: { data: string; event?: string; id?: string; retry?: number }): string {
  let out = '';
  if (ev.event !== undefined) {
    if (hasLineBreak(ev.event)) throw new TypeError('SSE event type must not contain CR or LF');
    out += ev.event === '' ? 'event:\n' : 'event: ' + ev.event + '\n';
  }
  if (ev.id !== undefined) {
    // A parser ignores an id containing NULL (§9.2.6), so refuse to write one.
    if (hasLineBreak(ev.id) || ev.id.indexOf('\0') !== -1) {
      throw new TypeError('SSE id must not contain CR, LF or NULL');
    }
    out += ev.id === '' ? 'id:\n' : 'id: ' + ev.id + '\n';
  }
  if (ev.retry !== undefined) {
    if (!Number.isSafeInteger(ev.retry) || ev.retry < 0) {
      throw new TypeError('SSE retry must be a non-negative integer');
    }
    out += 'retry: ' + ev.retry + '\n';
  }
  const data = ev.data;
  if (!hasLineBreak(data)) {
    // The common case (compact JSON never contains a raw line break): one line, no split.
    return out + (data === '' ? 'data:\n\n' : 'data: ' + data + '\n\n');
  }
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    const c = i < data.length ? data.charCodeAt(i) : LF;
    if (c !== LF && c !== CR) continue;
    out += i === start ? 'data:\n' : 'data: ' + data.slice(start, i) + '\n';
    if (c === CR && data.charCodeAt(i + 1) === LF) i++;
    start = i + 1;
  }
  return out + '\n';
}

/** A comment block (`: text`), e.g. a keep-alive. Parsers ignore it; it dispatches nothing. */
export function encodeSseComment(text = ''): string {
  if (hasLineBreak(text)) throw new TypeError('SSE comment must not contain CR or LF');
  return text === '' ? ':\n\n' : ': ' + text + '\n\n';
}
