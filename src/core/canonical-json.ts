/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme): "the same value" serializes the same
 * whatever the key order, for every hash the gateway keeps — the audit chain and digests, approval
 * argument hashes, tool pinning, policy and config versions.
 *
 * Members sorted by UTF-16 code units (§3.2.3); strings and numbers as ECMAScript serializes them
 * (§3.2.2.2-3); undefined members omitted. Built by plain string concatenation (the audit chain
 * hashes every record with it) without a cycle-tracking Set: a cycle runs into the depth limit. Non-JSON values (non-finite numbers, bigints, functions, class instances such as
 * Date, whose JSON form differs from their fields) throw, so two different inputs never
 * canonicalize alike and callers can fall back to a sanitized copy.
 */
/** Nesting beyond this is refused (a hostile body could otherwise exhaust the stack). */
export const MAX_CANONICAL_DEPTH = 256;

/** Printable ASCII without '"' and '\\': JSON.stringify would return it quoted and unchanged. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Quoted member names with their colon. Records repeat the same few dozen names, so caching
 * them saves most of the serialization time; the bound keeps client-chosen names (notes,
 * redacted content) from growing it without limit.
 */
const names = new Map<string, string>();

function member(k: string): string {
  let q = names.get(k);
  if (q === undefined) {
    q = JSON.stringify(k) + ':';
    if (names.size < 4096) names.set(k, q);
  }
  return q;
}

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'string':
      return v.length <= 64 && PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError('canonical JSON: non-finite number');
      // For finite numbers String() is the ECMAScript Number::toString JCS §3.2.2.3 requires.
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new TypeError(`canonical JSON: ${typeof v} is not a JSON value`);
  }
  if (v === null) return 'null';
  if (depth >= MAX_CANONICAL_DEPTH) throw new RangeError(`canonical JSON: nesting deeper than ${MAX_CANONICAL_DEPTH} (or a cyclic structure)`);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i === 0 ? '' : ',') + write(v[i], depth + 1);
    return s + ']';
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw new TypeError('canonical JSON: not a plain object');
  const obj = v as Record<string, unknown>;
  // Default sort compares UTF-16 code units, as JCS §3.2.3 requires.
  const keys = Object.keys(obj);
  if (keys.length > 1) keys.sort();
  let s = '{';
  let first = true;
  for (const k of keys) {
    const item = obj[k];
    if (item === undefined) continue;
    s += (first ? '' : ',') + member(k) + write(item, depth + 1);
    first = false;
  }
  return s + '}';
}
