/**
 * Scopes: reading them from verified claims and enforcing a route's required set.
 */
import { GatewayError } from '../core/errors.ts';

/**
 * Granted scopes from token claims. `scope` is the standard form, a space-delimited string
 * (RFC 6749 §3.3, RFC 9068 §2.2.3, RFC 7662 §2.2, RFC 8693 §4.2); `scp` as an array is a common
 * vendor form (Azure AD, Okta) accepted as well. Anything else grants nothing.
 */
export function scopesFromClaims(claims: Readonly<Record<string, unknown>>): string[] {
  const out = new Set<string>();
  const { scope, scp } = claims;
  const add = (s: unknown): void => {
    if (typeof s === 'string' && s !== '') out.add(s);
  };
  if (typeof scope === 'string') scope.split(' ').forEach(add);
  if (Array.isArray(scp)) scp.forEach(add);
  else if (typeof scp === 'string') scp.split(' ').forEach(add);
  return [...out];
}

/**
 * Every required scope must be granted. The refusal carries the required set so the challenge
 * can tell the client what to ask for (RFC 6750 §3.1 insufficient_scope; MCP authorization
 * "Runtime insufficient scope errors": the `scope` parameter lists the scopes needed).
 */
export function requireScopes(granted: readonly string[] | undefined, required: readonly string[]): void {
  if (required.length === 0) return;
  const have = new Set(granted ?? []);
  const missing = required.filter((s) => !have.has(s));
  if (missing.length > 0) {
    throw new GatewayError('insufficient_scope', `missing scope: ${missing.join(' ')}`, { requiredScopes: [...required] });
  }
}
