/**
 * Turn any value into plain JSON the chain can hash and every sink can store, within a size
 * budget, without ever throwing.
 *
 * Why each rule:
 * - Lone UTF-16 surrogates become U+FFFD (`toWellFormed`): PostgreSQL's json type and many
 *   syslog receivers reject them, and one unstorable record would stall a sink forever.
 * - NaN/Infinity become null and bigints strings: canonical JSON (RFC 8785) refuses them.
 * - Cycles, functions, symbols and depth past 64 become short markers.
 * - Past `maxBytes` (approximate UTF-8 size of the JSON) the whole value is replaced by a
 *   `{ truncated: true }` marker rather than cut mid-structure, which could change its meaning.
 */
const MAX_DEPTH = 64;

export function boundedJson(value: unknown, maxBytes: number): unknown {
  const budget = { left: maxBytes };
  const out = walk(value, 0, new Set(), budget);
  if (budget.left < 0) return { truncated: true, limit_bytes: maxBytes };
  return out;
}

/**
 * `value` with every string made well-formed (no size limit): for whole records. Returns the
 * value itself when nothing needs fixing (the common case), a sanitized copy otherwise.
 */
export function wellFormed<T>(value: T): T {
  if (isClean(value, 0)) return value;
  return walk(value, 0, new Set(), { left: Number.POSITIVE_INFINITY }) as T;
}

/** Plain JSON already: well-formed strings, finite numbers, plain objects, shallow enough. */
function isClean(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed();
    case 'number':
      return Number.isFinite(v);
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    for (const item of v) if (!isClean(item, depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !k.isWellFormed() || !isClean((v as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

function walk(v: unknown, depth: number, stack: Set<object>, budget: { left: number }): unknown {
  if (budget.left < 0) return null;
  switch (typeof v) {
    case 'string':
      budget.left -= v.length + 2;
      return v.isWellFormed() ? v : v.toWellFormed();
    case 'number':
      budget.left -= 8;
      return Number.isFinite(v) ? v : null;
    case 'boolean':
      budget.left -= 5;
      return v;
    case 'bigint':
      budget.left -= 20;
      return v.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (v === null) {
    budget.left -= 4;
    return null;
  }
  const obj = v as object;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (stack.has(obj)) return '[cycle]';
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    try {
      return walk((obj as { toJSON(): unknown }).toJSON(), depth + 1, stack, budget);
    } catch {
      return '[unserializable]';
    }
  }
  stack.add(obj);
  try {
    if (Array.isArray(obj)) {
      budget.left -= 2;
      const arr: unknown[] = [];
      for (const item of obj) {
        const w = walk(item, depth + 1, stack, budget);
        arr.push(w === undefined ? null : w);
        budget.left -= 1;
        if (budget.left < 0) break;
      }
      return arr;
    }
    budget.left -= 2;
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(obj)) {
      const w = walk(item, depth + 1, stack, budget);
      if (w === undefined) continue;
      const key = k.isWellFormed() ? k : k.toWellFormed();
      budget.left -= key.length + 4;
      // defineProperty: a "__proto__" key from a client must stay data, not set a prototype.
      Object.defineProperty(out, key, { value: w, enumerable: true, writable: true, configurable: true });
      if (budget.left < 0) break;
    }
    return out;
  } finally {
    stack.delete(obj);
  }
}
