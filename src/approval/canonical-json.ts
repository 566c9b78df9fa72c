/**
 * Canonical JSON, so "the same arguments" hash the same however a client orders its keys.
 *
 * Follows the JSON Canonicalization Scheme (RFC 8785) for JSON values: object members sorted by
 * the UTF-16 code units of their names (§3.2.3), no whitespace, strings and numbers serialized as
 * ECMAScript's JSON.stringify does (§3.2.2.2, §3.2.2.3). Values that are not JSON (functions,
 * symbols, bigints, non-finite numbers, cycles) are rejected rather than silently coerced, since
 * two different inputs must never canonicalize alike.
 */
import { createHash } from 'node:crypto';

/** Nesting beyond this is refused (a hostile body could otherwise exhaust the stack). */
export const MAX_CANONICAL_DEPTH = 256;

export function canonicalJson(value: unknown): string {
  return write(value, 0, new Set());
}

/**
 * SHA-256 of the canonical JSON of a tool call's arguments, base64url (RFC 4648 §5).
 * Absent arguments hash like `{}`: MCP `tools/call` makes `arguments` optional and a server sees
 * no difference between the two.
 */
export function argsHash(args: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(args ?? {}), 'utf8')
    .digest('base64url');
}

function write(value: unknown, depth: number, stack: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonical JSON: ${typeof value} is not a JSON value`);
  }
  if (depth >= MAX_CANONICAL_DEPTH) throw new RangeError(`canonical JSON: nesting deeper than ${MAX_CANONICAL_DEPTH}`);
  if (stack.has(value)) throw new TypeError('canonical JSON: cyclic structure');
  stack.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((v) => write(v, depth + 1, stack)).join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new TypeError('canonical JSON: not a plain object');
    const obj = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks for.
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k], depth + 1, stack)}`).join(',')}}`;
  } finally {
    stack.delete(value);
  }
}
