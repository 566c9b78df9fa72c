/**
 * One request to an OAuth token endpoint, answered with a usable bearer token or an
 * `upstream_auth_failed` GatewayError.
 *
 * Error details name the endpoint's RFC 6749 §5.2 error code at most: never the client secret,
 * the caller's subject token, or the response body (which could echo either).
 */
import { GatewayError } from '../../core/errors.ts';
import { postForm } from '../../identity/oauth-http.ts';
import type { ClientAuthMethod } from '../../identity/oauth-http.ts';

/** Lifetime assumed when the response has no `expires_in` (RFC 6749 §5.1 only RECOMMENDS it). */
const DEFAULT_LIFETIME_SEC = 60;
/** Visible ASCII: what a token must be to go into a header value unchanged (RFC 9110 §5.5). */
const HEADER_SAFE = /^[\x21-\x7E]+$/;

export interface TokenClient {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  authMethod: ClientAuthMethod;
  timeoutMs: number;
}

export interface IssuedToken {
  accessToken: string;
  /** ms since epoch. */
  expiresAt: number;
}

export async function requestToken(
  client: TokenClient,
  form: Record<string, string | undefined>,
  now: number,
  expect?: { issuedTokenType?: string },
): Promise<IssuedToken> {
  let result;
  try {
    result = await postForm(
      client.tokenUrl,
      form,
      { clientId: client.clientId, clientSecret: client.clientSecret, method: client.authMethod },
      client.timeoutMs,
    );
  } catch (err) {
    throw new GatewayError('upstream_auth_failed', 'token endpoint unreachable', undefined, { cause: err });
  }
  if (!result.ok) {
    throw new GatewayError('upstream_auth_failed', `token endpoint refused the request (${result.error ?? result.reason})`);
  }
  const { access_token, token_type, expires_in, issued_token_type } = result.body;
  if (typeof access_token !== 'string' || !HEADER_SAFE.test(access_token)) {
    throw new GatewayError('upstream_auth_failed', 'token endpoint returned no usable access_token');
  }
  // RFC 6749 §7.1 / RFC 8693 §2.2.1: only a Bearer token can be sent as `Authorization: Bearer`
  // (a DPoP-bound or "N_A" token would need a proof or is not an access token at all).
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer') {
    throw new GatewayError('upstream_auth_failed', 'token endpoint returned a non-Bearer token');
  }
  if (expect?.issuedTokenType !== undefined && issued_token_type !== undefined && issued_token_type !== expect.issuedTokenType) {
    throw new GatewayError('upstream_auth_failed', 'token endpoint issued a different token type than requested');
  }
  const lifetime = typeof expires_in === 'number' && Number.isFinite(expires_in) && expires_in >= 0 ? expires_in : DEFAULT_LIFETIME_SEC;
  return { accessToken: access_token, expiresAt: now + lifetime * 1000 };
}
