/**
 * The hash that binds an approval to "the same arguments", however a client orders its keys.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';

/**
 * SHA-256 of the canonical JSON (RFC 8785) of a tool call's arguments, base64url (RFC 4648 §5).
 * Absent arguments hash like `{}`: MCP `tools/call` makes `arguments` optional and a server sees
 * no difference between the two.
 */
export function argsHash(args: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(args ?? {}), 'utf8')
    .digest('base64url');
}
