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
 * Where a finding in an object *key* is reported: the object's pointer plus this segment. A "~"
 * must be followed by "0" or "1" in RFC 6901, so `/~key` can never name a real member (a key
 * "~key" is written "~0key"), and the key itself, which may be the secret, never appears.
 */
export const KEY_SEGMENT = '~key';

/** `<object pointer>/~key`: the location of the keys of the object at `objectPointer`. */
export function keyPointer(objectPointer: string): string {
  return `${objectPointer}/${KEY_SEGMENT}`;
}

/** Is `pointer` a key location (see KEY_SEGMENT)? */
export function isKeyPointer(pointer: string): boolean {
  return pointer.endsWith(`/${KEY_SEGMENT}`);
}

/** The pointer of the object whose keys `keyLocation` (a key pointer) stands for. */
export function keyObject(keyLocation: string): string {
  return keyLocation.slice(0, -KEY_SEGMENT.length - 1);
}

/**
 * Every string value of a parsed JSON value with its pointer, in document order. With `onKey`,
 * also every object key (not array index), with the pointer of its object, before its value. With
 * `onNumber`, every number value, with its pointer and its member name (or array index).
 * Iterative, so deeply nested input cannot overflow the call stack. `value` must be acyclic
 * (anything JSON.parse returns is).
 */
export function collectStringLeaves(
  value: unknown,
  onKey?: (objectPointer: string, key: string) => void,
  onNumber?: (pointer: string, value: number, key: string) => void,
): Array<{ pointer: string; text: string }> {
  if (typeof value === 'string') return [{ pointer: '', text: value }];
  const out: Array<{ pointer: string; text: string }> = [];
  if (value === null || typeof value !== 'object') return out;
  // Object.keys lists an array's indexes in order, so arrays and objects walk alike.
  type Frame = { node: Record<string, unknown>; keys: string[]; next: number; pointer: string; object: boolean };
  const frame = (node: object, pointer: string): Frame => ({ node: node as Record<string, unknown>, keys: Object.keys(node), next: 0, pointer, object: onKey !== undefined && !Array.isArray(node) });
  const stack: Frame[] = [frame(value, '')];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.keys.length) {
      stack.pop();
      continue;
    }
    const key = f.keys[f.next++]!;
    if (f.object) onKey!(f.pointer, key);
    const child = f.node[key];
    if (typeof child === 'string') out.push({ pointer: `${f.pointer}/${escapePointerSegment(key)}`, text: child });
    else if (typeof child === 'number') onNumber?.(`${f.pointer}/${escapePointerSegment(key)}`, child, key);
    else if (child !== null && typeof child === 'object') stack.push(frame(child, `${f.pointer}/${escapePointerSegment(key)}`));
  }
  return out;
}

/**
 * `value` with object keys renamed, copying only the objects on the way (the input is not
 * changed). `renames` maps an object's pointer (in `value`) to its key → new key map. Member order
 * is kept; a new name must not collide with another key of its object (the caller makes it
 * unique, so no member is lost).
 */
export function renameKeys(value: unknown, renames: ReadonlyMap<string, ReadonlyMap<string, string>>): unknown {
  // Deepest objects first: their pointers go through keys that an ancestor's rename changes.
  const order = [...renames.keys()].map((p) => ({ p, segs: pointerSegments(p) })).sort((a, b) => b.segs.length - a.segs.length);
  let out = value;
  for (const { p, segs } of order) out = updateAt(out, segs, 0, (node) => renamed(node, renames.get(p)!));
  return out;
}

function renamed(node: unknown, names: ReadonlyMap<string, string>): unknown {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  // fromEntries defines own properties: a "__proto__" member stays a member.
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [names.get(k) ?? k, v]));
}

/**
 * `fn` applied to the node at `segs[i..]` below `node`, copying only the objects and arrays on
 * the way (copy-on-write); a path that does not exist leaves `node` as it is.
 */
export function updateAt(node: unknown, segs: readonly string[], i: number, fn: (node: unknown) => unknown): unknown {
  if (i === segs.length) return fn(node);
  if (node === null || typeof node !== 'object') return node;
  const seg = segs[i]!;
  if (Array.isArray(node)) {
    const at = Number(seg);
    if (!Number.isInteger(at) || at < 0 || at >= node.length) return node;
    const copy = node.slice();
    copy[at] = updateAt(node[at], segs, i + 1, fn);
    return copy;
  }
  const obj = node as Record<string, unknown>;
  if (!Object.hasOwn(obj, seg)) return node;
  // A computed key defines an own property, also for "__proto__".
  return { ...obj, [seg]: updateAt(obj[seg], segs, i + 1, fn) };
}
