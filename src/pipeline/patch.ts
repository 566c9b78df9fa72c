/**
 * Applies redaction patches to string leaves of a JSON-RPC message without mutating it.
 * Only the objects on the paths to patched leaves are copied (copy-on-write).
 */
import { pointerSegments, updateAt } from '../codec/json-pointer.ts';
import type { JsonRpcMessage, Patch } from './types.ts';

function patchString(text: string, patches: Patch[]): string {
  // Apply from the end so earlier offsets stay valid; overlapping patches are merged by
  // clamping each to what the previous (later-starting) one left untouched.
  const sorted = [...patches].sort((a, b) => b.start - a.start);
  let out = text;
  let limit = text.length;
  for (const p of sorted) {
    const start = Math.max(0, Math.min(p.start, limit));
    const end = Math.max(start, Math.min(p.end, limit));
    out = out.slice(0, start) + p.replacement + out.slice(end);
    limit = start;
  }
  return out;
}

export function applyPatches(message: Readonly<JsonRpcMessage>, patches: readonly Patch[]): JsonRpcMessage {
  const byPointer = new Map<string, Patch[]>();
  for (const p of patches) {
    const list = byPointer.get(p.pointer);
    if (list) list.push(p);
    else byPointer.set(p.pointer, [p]);
  }
  let out: unknown = message;
  for (const [pointer, list] of byPointer) out = updateAt(out, pointerSegments(pointer), 0, (node) => (typeof node === 'string' ? patchString(node, list) : node));
  return out as JsonRpcMessage;
}
