/**
 * The `WWW-Authenticate` challenge of a 401/403 (RFC 6750 §3, RFC 9728 §5.1).
 *
 *   Bearer resource_metadata="https://gw/.well-known/oauth-protected-resource/mcp", scope="a b"
 *   Bearer error="invalid_token", error_description="token expired", resource_metadata="…"
 *
 * - No credential at all: no `error` attribute (RFC 6750 §3.1, "SHOULD NOT include an error code").
 * - `resource_metadata` tells an MCP client where to discover the authorization server
 *   (RFC 9728 §5.1; MCP authorization "Protected Resource Metadata Discovery Requirements").
 * - `scope` lists the scopes needed (RFC 6750 §3; MCP "Scope Selection Strategy").
 *
 * Every value is reduced to the characters its grammar allows before quoting (RFC 6750 §3:
 * error_description and scope exclude `"` and `\`; RFC 9110 §5.5: no CR, LF or NUL in a field
 * value), so no input can end the quoted string or the header early.
 */
import type { GatewayError } from '../core/errors.ts';

export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export interface ChallengeParams {
  /** The RFC 9728 metadata URL of the protected resource. */
  resourceMetadataUrl?: string;
  scopes?: readonly string[];
  error?: BearerError;
  errorDescription?: string;
  realm?: string;
}

/** RFC 6750 §3: error_description and realm values are %x20-21 / %x23-5B / %x5D-7E. */
const NQSCHAR_OUT = /[^\x20\x21\x23-\x5B\x5D-\x7E]/g;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** A URI in a quoted-string: visible ASCII without `"` and `\` (URL serializers percent-encode the rest). */
const URI_OUT = /[^\x21\x23-\x5B\x5D-\x7E]/g;

const MAX_DESCRIPTION = 200;

function quoted(value: string): string {
  return `"${value}"`;
}

/** The challenge header value for `params`. */
export function buildChallenge(params: ChallengeParams): string {
  const attrs: string[] = [];
  if (params.realm !== undefined) attrs.push(`realm=${quoted(params.realm.replace(NQSCHAR_OUT, ''))}`);
  if (params.error !== undefined) {
    attrs.push(`error=${quoted(params.error)}`);
    if (params.errorDescription !== undefined) {
      const d = params.errorDescription.replace(NQSCHAR_OUT, '').slice(0, MAX_DESCRIPTION);
      if (d !== '') attrs.push(`error_description=${quoted(d)}`);
    }
  }
  if (params.resourceMetadataUrl !== undefined) {
    attrs.push(`resource_metadata=${quoted(params.resourceMetadataUrl.replace(URI_OUT, ''))}`);
  }
  const scopes = (params.scopes ?? []).filter((s) => SCOPE_TOKEN.test(s));
  if (scopes.length > 0) attrs.push(`scope=${quoted(scopes.join(' '))}`);
  return attrs.length > 0 ? `Bearer ${attrs.join(', ')}` : 'Bearer';
}

/**
 * The challenge for a failed authentication, or undefined for errors that are not about the
 * credential (those carry no WWW-Authenticate). `requiredScopes` are the route's; an
 * insufficient_scope error's own `data.requiredScopes` wins when present.
 */
export function challengeFor(
  err: GatewayError,
  ctx: { resourceMetadataUrl?: string; requiredScopes?: readonly string[] },
): string | undefined {
  const base = { resourceMetadataUrl: ctx.resourceMetadataUrl, scopes: ctx.requiredScopes };
  switch (err.code) {
    case 'unauthenticated':
      return buildChallenge(base);
    case 'invalid_token':
    case 'credential_expired':
      return buildChallenge({ ...base, error: 'invalid_token', errorDescription: err.detail });
    case 'insufficient_scope': {
      const fromErr = err.data?.requiredScopes;
      const scopes = Array.isArray(fromErr) ? fromErr.filter((s): s is string => typeof s === 'string') : ctx.requiredScopes;
      return buildChallenge({ ...base, scopes, error: 'insufficient_scope', errorDescription: err.detail });
    }
    default:
      return undefined;
  }
}
