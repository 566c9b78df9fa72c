/**
 * What the DLP inspector reads of a buffered message, in one walk: its string leaves, the object
 * keys not known clean, and the numbers that may hold an identifier; each with its RFC 6901
 * pointer, in document order, those at a protocol-opaque location (`OPAQUE`, redact.ts) left out.
 *
 * The same lists as `collectStringLeaves` (codec/json-pointer.ts) with a key and a number
 * callback and OPAQUE tested on every leaf, number and flagged key's object after it, which this
 * replaced on the inspector's hot path. Why: for the two messages of the 2026-07-28
 * `tools/call echo` benchmark that took ~3.7 µs (this: ~1.8), about as much as scanning their
 * strings. Most of it was per key: OPAQUE on each concatenated pointer (V8 flattens it for the
 * regex: ~85 ns a leaf; here decided by zones, below) and re-escaping the `io.modelcontextprotocol/…`
 * `_meta` keys of every message (two `replaceAll`: ~0.45 µs a key; here remembered with the
 * clean keys, dlp-keys.ts), plus two closures and a filtered copy per message.
 *
 * Iterative, so deeply nested input cannot overflow the call stack. `message` must be acyclic
 * (anything JSON.parse returns is).
 */
import { escapePointerSegment } from '../codec/json-pointer.ts';
import { mayHoldIdentifier, type NumberLeaf } from './dlp-numbers.ts';
import { OPAQUE } from './redact.ts';

export interface StringLeaf {
  pointer: string;
  text: string;
  /** Its member name (array index), the pointer's last segment unescaped ('' for a root string). */
  key: string;
}

export interface Leaves {
  /** String values, in document order. */
  readonly strings: StringLeaf[];
  /** Keys not known clean (`known`), with their object's pointer, in document order. */
  readonly suspects: Array<{ object: string; key: string }>;
  /** Numbers that may hold an identifier (dlp-numbers.ts). */
  readonly numbers: NumberLeaf[];
}

/**
 * Where a node is, as far as OPAQUE tells locations apart (its members' pointers are opaque or
 * not by their zone and key alone; see `opaqueMember`):
 * - ROOT: the message; a member is opaque when named `jsonrpc`, `id` or `method`;
 * - BODY: `/params` or `/result`; one of the protocol's cursor, state and token names;
 * - META: `/params/_meta` or `/result/_meta`; `progressToken` or `io.modelcontextprotocol/…`;
 * - TREE: below such a `_meta` entry: a member is opaque unless a name on the way from the entry
 *   to it has a line terminator (OPAQUE's `(?:\/.*)?$`: `.` matches none);
 * - NONE: nothing below is opaque.
 * Exactly OPAQUE's answer for the pointer (dlp-leaves.test.ts checks them against each other).
 */
const NONE = 0;
const ROOT = 1;
const BODY = 2;
const META = 3;
const TREE = 4;
type Zone = typeof NONE | typeof ROOT | typeof BODY | typeof META | typeof TREE;

/**
 * The zones describe this exact OPAQUE (redact.ts). With another, every location is tested with
 * the regex instead (correct, slower), and dlp-leaves.test.ts fails until they are updated.
 */
const OPAQUE_ANALYZED = String.raw`^\/(?:jsonrpc|id|method)$|^\/(?:params|result)\/(?:requestState|cursor|nextCursor|resultType|progressToken|requestId)$|^\/(?:params|result)\/_meta\/(?:progressToken|io\.modelcontextprotocol~1[^/]*)(?:\/.*)?$`;
export const ZONES_APPLY = OPAQUE.source === OPAQUE_ANALYZED && OPAQUE.flags === '';

const ROOT_OPAQUE = new Set(['jsonrpc', 'id', 'method']);
const BODY_OPAQUE = new Set(['requestState', 'cursor', 'nextCursor', 'resultType', 'progressToken', 'requestId']);
/** `io.modelcontextprotocol~1` in an escaped segment is `io.modelcontextprotocol/` in the name. */
const MCP_PREFIX = 'io.modelcontextprotocol/';

/** Any of the characters `.` does not match (ECMA-262 LineTerminator). */
function hasLineTerminator(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/** Is the member `key` of a node in `zone` at an opaque location (OPAQUE.test of its pointer)? */
export function opaqueMember(zone: Zone, key: string): boolean {
  switch (zone) {
    case ROOT:
      return ROOT_OPAQUE.has(key);
    case BODY:
      return BODY_OPAQUE.has(key);
    case META:
      return key === 'progressToken' || key.startsWith(MCP_PREFIX);
    case TREE:
      return !hasLineTerminator(key);
    default:
      return false;
  }
}

/** The zone of the member `key` of a node in `zone`, when it is an object or array. */
function memberZone(zone: Zone, key: string): Zone {
  switch (zone) {
    case ROOT:
      return key === 'params' || key === 'result' ? BODY : NONE;
    case BODY:
      return key === '_meta' ? META : NONE;
    case META:
    case TREE:
      return opaqueMember(zone, key) ? TREE : NONE;
    default:
      return NONE;
  }
}

/** An open node of the walk: its keys and the next one, its pointer, its zone. */
interface Open {
  readonly node: Record<string, unknown>;
  readonly keys: string[];
  next: number;
  readonly pointer: string;
  /** Its keys are reported: an object (not an array) at a location that is not opaque. */
  readonly keyed: boolean;
  readonly zone: Zone;
}

/** The keys known clean (dlp-keys.ts CleanKeys), with their pointer segments. */
export interface KnownKeys {
  /** The pointer segment of a key known clean; undefined for any other key. */
  segmentOf(key: string): string | undefined;
}

export function leavesOf(message: unknown, known: KnownKeys): Leaves {
  const strings: StringLeaf[] = [];
  const suspects: Array<{ object: string; key: string }> = [];
  const numbers: NumberLeaf[] = [];
  const out = { strings, suspects, numbers };
  if (typeof message === 'string') {
    if (!OPAQUE.test('')) strings.push({ pointer: '', text: message, key: '' });
    return out;
  }
  if (message === null || typeof message !== 'object') return out;
  const zones = ZONES_APPLY;
  const stack: Open[] = [{ node: message as Record<string, unknown>, keys: Object.keys(message), next: 0, pointer: '', keyed: !Array.isArray(message) && !OPAQUE.test(''), zone: ROOT }];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.keys.length) {
      stack.pop();
      continue;
    }
    const key = f.keys[f.next++]!;
    const seg = known.segmentOf(key);
    if (f.keyed && seg === undefined) suspects.push({ object: f.pointer, key });
    const child = f.node[key];
    const leaf = typeof child === 'string' || (typeof child === 'number' && mayHoldIdentifier(child));
    if (!leaf && (child === null || typeof child !== 'object')) continue;
    const pointer = `${f.pointer}/${seg ?? segment(key)}`;
    const opaque = zones ? opaqueMember(f.zone, key) : OPAQUE.test(pointer);
    if (typeof child === 'string') {
      if (!opaque) strings.push({ pointer, text: child, key });
    } else if (typeof child === 'number') {
      if (!opaque) numbers.push({ pointer, value: child, key });
    } else {
      const node = child as Record<string, unknown>;
      stack.push({ node, keys: Object.keys(node), next: 0, pointer, keyed: !Array.isArray(node) && !opaque, zone: memberZone(f.zone, key) });
    }
  }
  return out;
}

/**
 * `escapePointerSegment(key)`, with the common case (no `~` or `/`) decided by a loop over the
 * key's characters rather than two `indexOf` calls: those were a quarter of the walk.
 */
function segment(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x7e || c === 0x2f) return escapePointerSegment(key);
  }
  return key;
}
