/**
 * Configuration of the credential the gateway presents to an upstream MCP server.
 *
 * The client's own token is never forwarded (MCP authorization, "Token Passthrough": servers
 * MUST NOT pass through the token they received). The gateway instead uses
 * - `static`: a fixed header (an API key or a long-lived token), inline or from a file;
 * - `client-credentials`: its own OAuth token (RFC 6749 §4.4), one shared by all callers;
 * - `token-exchange`: a token for the upstream obtained *on behalf of* the caller
 *   (RFC 8693), so the upstream sees the user and the gateway as actor.
 *
 * Secrets arrive `${ENV}`-substituted by the config loader. Style as in `src/config/schema.ts`.
 */
import { z } from 'zod';
import { always, GATEWAY_OWNED_HEADERS, HEADER_NAME, HEADER_VALUE, httpUrl, positiveInt } from '../../config/primitives.ts';
import { scopeToken } from '../../identity/config.ts';


export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
const tokenTypeUri = z.enum([TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt]);

export const StaticAuthSchema = z
  .object({
    type: z.literal('static'),
    header: z
      .string()
      .regex(HEADER_NAME, 'must be a valid HTTP header name')
      .refine((h) => !GATEWAY_OWNED_HEADERS.has(h.toLowerCase()), { error: 'is set by the gateway and cannot be configured' })
      .default('authorization')
      .describe('Header to send.'),
    value: z.string().min(1).regex(HEADER_VALUE, 'must not contain CR, LF or NUL').optional().describe('The credential (use ${ENV}).'),
    valueFile: z
      .string()
      .min(1)
      .optional()
      .describe('Read the credential from this file at startup (e.g. a mounted secret); one trailing newline is ignored.'),
    scheme: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an auth-scheme token, e.g. Bearer')
      .optional()
      .describe('Prefix the value with this scheme and a space, e.g. "Bearer".'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s === null || typeof s !== 'object') return;
    if ((s.value === undefined) === (s.valueFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'set exactly one of value and valueFile' });
    }
  }, always)
  .describe('A fixed credential header.');

const oauthClientFields = {
  tokenUrl: httpUrl.describe('Token endpoint of the authorization server that protects the upstream.'),
  clientId: z.string().min(1).describe("The gateway's client id there."),
  clientSecret: z.string().min(1).describe('Client secret (use ${ENV}).'),
  authMethod: z
    .enum(['client_secret_basic', 'client_secret_post'])
    .default('client_secret_basic')
    .describe('Client authentication at the token endpoint (RFC 6749 §2.3.1).'),
  scope: z.array(scopeToken).optional().describe('Scopes requested (sent space-delimited, RFC 6749 §3.3).'),
  audience: z.string().min(1).optional().describe('`audience` parameter: logical name of the upstream (RFC 8693 §2.1; many servers also take it for client credentials).'),
  resource: httpUrl.optional().describe('`resource` parameter: the upstream URL the token is for (RFC 8707 §2).'),
  refreshSkewSec: z
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(30)
    .describe('Fetch a new token this long before the cached one expires.'),
  timeoutMs: positiveInt.default(5000).describe('Timeout of one token request.'),
};

export const ClientCredentialsAuthSchema = z
  .object({ type: z.literal('client-credentials'), ...oauthClientFields })
  .strict()
  .describe("The gateway's own token (RFC 6749 §4.4), shared by all callers of the route.");

export const TokenExchangeAuthSchema = z
  .object({
    type: z.literal('token-exchange'),
    ...oauthClientFields,
    subjectTokenType: tokenTypeUri.default(TOKEN_TYPE.accessToken).describe('`subject_token_type` of the caller\'s token.'),
    requestedTokenType: tokenTypeUri.default(TOKEN_TYPE.accessToken).describe('`requested_token_type` (RFC 8693 §2.1).'),
    actorToken: z.string().min(1).optional().describe("A token identifying the gateway as actor (`actor_token`, RFC 8693 §2.1), e.g. from ${ENV}."),
    actorTokenType: tokenTypeUri.default(TOKEN_TYPE.accessToken).describe('`actor_token_type` when actorToken is set.'),
    maxCacheEntries: positiveInt.default(10_000).describe('Exchanged tokens kept (one per caller token, least recently used evicted).'),
  })
  .strict()
  .describe("A token for the upstream obtained on behalf of the caller (RFC 8693): the caller's verified token is the subject_token.");

export const UpstreamAuthSchema = z
  .discriminatedUnion('type', [StaticAuthSchema, ClientCredentialsAuthSchema, TokenExchangeAuthSchema])
  .describe('How the gateway authenticates to the upstream. The client credential is never passed through.');

export type UpstreamAuth = z.infer<typeof UpstreamAuthSchema>;
export type UpstreamAuthInput = z.input<typeof UpstreamAuthSchema>;
export type StaticAuth = z.infer<typeof StaticAuthSchema>;
export type ClientCredentialsAuth = z.infer<typeof ClientCredentialsAuthSchema>;
export type TokenExchangeAuth = z.infer<typeof TokenExchangeAuthSchema>;
