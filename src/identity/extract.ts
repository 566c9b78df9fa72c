/**
 * Finding the credential in a request, before anything is verified.
 *
 * Bearer tokens are read only from the Authorization header (RFC 6750 §2.1). The form-body and
 * query-string methods (§2.2, §2.3) are not supported: OAuth 2.1 §5.2 forbids the query method
 * and the MCP authorization spec requires the header ("MUST use the Authorization request
 * header field"). API keys come from their own configured header, never from Authorization, so
 * a challenge is always unambiguous about which scheme was meant.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../core/errors.ts';

/** RFC 6750 §2.1 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export type ExtractedCredential = { kind: 'bearer'; token: string } | { kind: 'api-key'; key: string } | { kind: 'none' };

function single(value: string | string[] | undefined): string | undefined {
  // Node joins most repeated headers; a repeated custom header arrives as a list. Two different
  // credentials in one request are ambiguous: refuse rather than pick one.
  if (Array.isArray(value)) {
    if (value.length > 1) throw new GatewayError('invalid_token', 'more than one credential header');
    return value[0];
  }
  return value;
}

/**
 * The bearer token in `Authorization`, or undefined when the header is absent or uses another
 * scheme (RFC 6750 §3.1: an unsupported method is "lacking authentication", answered without an
 * error code). A Bearer header with a malformed token is an invalid token.
 */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = single(headers.authorization);
  if (auth === undefined) return undefined;
  // RFC 9110 §11.1: the auth-scheme is case-insensitive; one or more spaces before the token.
  const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?: +(.*))?$/s.exec(auth.trim());
  if (!m || m[1]!.toLowerCase() !== 'bearer') return undefined;
  const token = m[2] ?? '';
  if (!B64TOKEN.test(token)) throw new GatewayError('invalid_token', 'malformed bearer token');
  return token;
}

/** The API key in `header` (lowercase), or undefined. */
export function apiKey(headers: IncomingHttpHeaders, header: string): string | undefined {
  const raw = single(headers[header.toLowerCase()]);
  if (raw === undefined) return undefined;
  const key = raw.trim();
  if (key === '') throw new GatewayError('invalid_token', 'empty API key');
  return key;
}

/**
 * The credential a request presents: a bearer token when the route accepts them (a route
 * without jwt/introspection ignores Authorization entirely), else an API key when configured.
 */
export function extractCredential(
  headers: IncomingHttpHeaders,
  accept: { bearer: boolean; apiKeyHeader: string | undefined },
): ExtractedCredential {
  if (accept.bearer) {
    const token = bearerToken(headers);
    if (token !== undefined) return { kind: 'bearer', token };
  }
  if (accept.apiKeyHeader !== undefined) {
    const key = apiKey(headers, accept.apiKeyHeader);
    if (key !== undefined) return { kind: 'api-key', key };
  }
  return { kind: 'none' };
}
