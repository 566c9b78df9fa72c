/**
 * Applies redaction patches to string leaves of a JSON-RPC message without mutating it.
 * Only the objects on the paths to patched leaves are copied (copy-on-write).
 *
 * Overlapping patches on one string (a confidential-marker finding on a private key's header
 * line and the secret finding over the whole key block, both starting at the key's first
 * character; a cut and a mask from a cross-event amend) mask the UNION of their ranges: no
 * character of any patched range survives, whatever the order the patches came in. The union
 * becomes the distinct replacements of its patches, in order (start, then the longer first), so
 * the text is the same however the list was ordered.
 */
import { pointerSegments, updateAt } from '../codec/json-pointer.ts';
import type { JsonRpcMessage, Patch } from './types.ts';

/** One edit of a string after merging: `[start, end)` becomes `replacement`. Disjoint, sorted. */
export interface MergedEdit {
  start: number;
  end: number;
  replacement: string;
}

/**
 * The patches of one string (of `length` characters) as disjoint edits sorted by start: ranges
 * that overlap are merged into their union. Ranges are clamped to the string (an empty or
 * inverted range is an insertion at its start). Touching ranges stay separate edits.
 */
export function mergePatches(patches: ReadonlyArray<Pick<Patch, 'start' | 'end' | 'replacement'>>, length: number): MergedEdit[] {
  const clamped = patches.map((p) => {
    const start = Math.max(0, Math.min(p.start, length));
    return { start, end: Math.max(start, Math.min(p.end, length)), replacement: p.replacement };
  });
  // A total order: the result cannot depend on the order the patches were listed in.
  clamped.sort((a, b) => a.start - b.start || b.end - a.end || (a.replacement < b.replacement ? -1 : a.replacement > b.replacement ? 1 : 0));
  const out: MergedEdit[] = [];
  let group: { start: number; end: number; parts: string[] } | undefined;
  const close = () => {
    if (group) out.push({ start: group.start, end: group.end, replacement: group.parts.join('') });
  };
  for (const p of clamped) {
    if (group && p.start < group.end) {
      group.end = Math.max(group.end, p.end);
      if (!group.parts.includes(p.replacement)) group.parts.push(p.replacement);
      continue;
    }
    close();
    group = { start: p.start, end: p.end, parts: [p.replacement] };
  }
  close();
  return out;
}

/** `text` with `patches` applied (overlaps merged, see the file comment). */
export function patchString(text: string, patches: ReadonlyArray<Pick<Patch, 'start' | 'end' | 'replacement'>>): string {
  let out = '';
  let at = 0;
  for (const e of mergePatches(patches, text.length)) {
    out += text.slice(at, e.start) + e.replacement;
    at = e.end;
  }
  return out + text.slice(at);
}

/**
 * Where offset `pos` of the original string lies in the string as `edits` (mergePatches) left
 * it. An offset inside an edited range maps to that edit's start (`side` 'start') or the end of
 * its replacement ('end'), so a range mapped this way covers everything that replaced any part
 * of it: patching the edited string with it leaves no trace of the original range.
 */
export function mapThroughEdits(edits: readonly MergedEdit[], pos: number, side: 'start' | 'end'): number {
  let delta = 0;
  for (const e of edits) {
    if (e.end <= pos && e.start < pos) {
      delta += e.replacement.length - (e.end - e.start);
      continue;
    }
    if (pos <= e.start) break;
    // e.start < pos < e.end: inside an edited range.
    return side === 'start' ? e.start + delta : e.start + delta + e.replacement.length;
  }
  return pos + delta;
}

export function applyPatches(message: Readonly<JsonRpcMessage>, patches: readonly Patch[]): JsonRpcMessage {
  const byPointer = new Map<string, Patch[]>();
  for (const p of patches) {
    const list = byPointer.get(p.pointer);
    if (list) list.push(p);
    else byPointer.set(p.pointer, [p]);
  }
  let out: unknown = message;
  for (const [pointer, list] of byPointer) out = updateAt(out, pointerSegments(pointer), 0, (node) =>
      // A number a content inspector found something in (a card number as a JSON number) is
      // patched as its decimal text and so becomes a string: the value must not go out as it was.
      typeof node === 'string' ? patchString(node, list) : typeof node === 'number' ? patchString(String(node), list) : node,
    );
  return out as JsonRpcMessage;
}
