/**
 * JSON Pointer helpers (RFC 6901), shared by the chunk path (json-stream.ts) and the
 * whole-message path.
 */

/** RFC 6901 §3: "~" is written "~0" and "/" is written "~1". */
export function escapePointerSegment(seg: string): string {
  if (seg.indexOf('~') === -1 && seg.indexOf('/') === -1) return seg;
  return seg.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Splits a JSON Pointer into unescaped reference tokens. Throws TypeError on invalid syntax. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  if (pointer.charCodeAt(0) !== 0x2f) throw new TypeError('invalid JSON Pointer: must be empty or start with "/"');
  const parts = pointer.slice(1).split('/');
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k]!;
    if (part.indexOf('~') === -1) continue;
    if (/~(?![01])/.test(part)) throw new TypeError('invalid JSON Pointer: "~" must be followed by "0" or "1"');
    // RFC 6901 §4: transform "~1" before "~0", so "~01" becomes "~1" and not "/".
    parts[k] = part.replaceAll('~1', '/').replaceAll('~0', '~');
  }
  return parts;
}

/**
 * Every string value (not key) of a parsed JSON value with its pointer, in document order.
 * Iterative, so deeply nested input cannot overflow the call stack. `value` must be acyclic
 * (anything JSON.parse returns is).
 */
export function collectStringLeaves(value: unknown): Array<{ pointer: string; text: string }> {
  if (typeof value === 'string') return [{ pointer: '', text: value }];
  const out: Array<{ pointer: string; text: string }> = [];
  if (value === null || typeof value !== 'object') return out;
  // Object.keys lists an array's indexes in order, so arrays and objects walk alike.
  type Frame = { node: Record<string, unknown>; keys: string[]; next: number; pointer: string };
  const frame = (node: object, pointer: string): Frame => ({ node: node as Record<string, unknown>, keys: Object.keys(node), next: 0, pointer });
  const stack: Frame[] = [frame(value, '')];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.keys.length) {
      stack.pop();
      continue;
    }
    const key = f.keys[f.next++]!;
    const child = f.node[key];
    if (typeof child === 'string') out.push({ pointer: `${f.pointer}/${escapePointerSegment(key)}`, text: child });
    else if (child !== null && typeof child === 'object') stack.push(frame(child, `${f.pointer}/${escapePointerSegment(key)}`));
  }
  return out;
}
