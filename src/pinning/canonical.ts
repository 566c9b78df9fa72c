/**
 * The identity of a tool definition: a SHA-256 over its canonical JSON, `sha256:<hex>`.
 *
 * What is hashed: the *whole* tool object exactly as the upstream listed it — `name`, `title`,
 * `description`, `inputSchema`, `outputSchema`, `annotations`, and also `_meta`, `icons`,
 * `execution` and any member a later protocol revision adds. The gateway relays the object as it
 * is, so every member of it can reach the client and, through the client, the model (schema
 * property descriptions and enum values are read by models as much as the top-level description;
 * `_meta` can point a client at UI resources). A member left out of the hash would be a place to
 * hide a rug pull. The cost of this choice: a server that puts volatile data in a tool definition
 * (a timestamp in `_meta`) gets quarantined on every change, which is loud and safe.
 *
 * Canonical form: RFC 8785 (JCS) via the project's one implementation, so key order and
 * insignificant whitespace do not matter, and anything that is not plain JSON (or nests deeper
 * than the canonicalizer allows) throws rather than hashing ambiguously. Strings are compared as
 * sent: no Unicode normalization, because two spellings that render alike are exactly what a
 * poisoning attempt would exploit.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';

export { canonicalJson };

export type ToolHash = `sha256:${string}`;

/** `sha256:<64 hex>`: the pin of one definition. Throws on values that are not plain JSON. */
export function toolHash(definition: unknown): ToolHash {
  return `sha256:${createHash('sha256').update(canonicalJson(definition), 'utf8').digest('hex')}`;
}

export function isToolHash(text: string): text is ToolHash {
  return /^sha256:[0-9a-f]{64}$/.test(text);
}

/**
 * The canonical value re-indented for people: members sorted as in the hash input (UTF-16 code
 * units, RFC 8785 §3.2.3), two spaces, one member per line, so a line diff of two definitions
 * shows what changed. Written by hand because `JSON.stringify` would put integer-like keys
 * ("10", "9") first in numeric order, whatever order they were inserted in.
 */
export function canonicalPretty(definition: unknown): string {
  return pretty(JSON.parse(canonicalJson(definition)) as unknown, '');
}

function pretty(value: unknown, indent: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + pretty(v, inner)).join(',\n')}\n${indent}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${pretty(obj[k], inner)}`).join(',\n')}\n${indent}}`;
}
