/**
 * Configuration of one route's inbound authentication.
 *
 * The gateway is an OAuth 2.1 resource server (MCP authorization, 2025-11-25): it accepts bearer
 * tokens (RFC 6750 §2.1, header only), verifies them locally as JWTs (RFC 9068) or remotely by
 * introspection (RFC 7662), and advertises where to get them with RFC 9728 metadata. API keys and
 * mTLS client certificates are alternatives for machine callers.
 *
 * Style follows `src/config/schema.ts`: every object `.strict()` (a typo fails the load instead
 * of silently leaving a control at its default), `.prefault({})` for nested defaults, and every
 * field `.describe()`d because the published JSON Schema is generated from these descriptions.
 *
 * Secrets (`introspection.clientSecret`) arrive already `${ENV}`-substituted by the loader.
 */
import { z } from 'zod';
import { always, httpUrl, positiveInt } from '../config/primitives.ts';

/** RFC 9728 §1.2: a resource identifier is an https (here: http too, for local use) URL without a fragment. */
const resourceUrl = httpUrl.refine((s) => !s.includes('#'), { error: 'must not contain a fragment (RFC 9728 §1.2)' });

/** RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E. Also what makes it safe inside a quoted challenge. */
export const scopeToken = z
  .string()
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scope tokens are printable ASCII without spaces, " or \\ (RFC 6749 §3.3)');

/**
 * Asymmetric JWS algorithms only. `none` is never acceptable, and HS* would let anyone holding
 * the (public!) JWKS forge tokens through algorithm confusion (RFC 8725 §2.1, §3.1).
 */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** RFC 9110 §5.6.2 token. */
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid HTTP header name');

/** Headers an API key must not be read from: they carry other protocols' credentials or routing. */
const FORBIDDEN_KEY_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'host', 'origin']);

export const JwtSchema = z
  .object({
    issuer: z.string().min(1).describe('Exact `iss` value required (RFC 9068 §4: MUST match the authorization server issuer).'),
    audiences: z
      .array(z.string().min(1))
      .default([])
      .describe('Extra accepted `aud` values. The route resource URL is always accepted (RFC 8707 audience restriction).'),
    jwksUrl: httpUrl.describe('JWKS of the authorization server (RFC 8414 `jwks_uri`).'),
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .default(['RS256', 'ES256', 'EdDSA', 'PS256'])
      .describe('Accepted JWS `alg` values. Asymmetric only: `none` and HS* are refused (RFC 8725 §3.1).'),
    typ: z
      .string()
      .min(1)
      .optional()
      .describe('Require this JOSE `typ` header, e.g. "at+jwt" (RFC 9068 §2.1), to refuse ID tokens and other JWT kinds.'),
    clockToleranceSec: z.number().int().min(0).max(300).default(30).describe('Allowed clock skew for `exp`/`nbf`/`iat`.'),
    jwksCacheMaxAgeMs: positiveInt.default(10 * 60_000).describe('Refetch the JWKS at least this often.'),
    jwksCooldownMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('After a fetch, an unknown `kid` refetches the JWKS (key rotation) only once this has passed; bounds JWKS traffic a forged kid can cause.'),
    jwksTimeoutMs: positiveInt.default(5000).describe('Timeout of one JWKS fetch.'),
    cacheTtlMs: positiveInt
      .default(5 * 60_000)
      .describe('A verified token is remembered for at most this long (and never past its `exp`).'),
    maxCacheEntries: positiveInt.default(10_000).describe('Verified tokens remembered (least recently used evicted).'),
  })
  .strict()
  .describe('Local verification of JWT access tokens (RFC 9068).');

export const IntrospectionSchema = z
  .object({
    url: httpUrl.describe('RFC 7662 introspection endpoint.'),
    clientId: z.string().min(1).describe("The gateway's client id at the authorization server (client_secret_basic)."),
    clientSecret: z.string().min(1).describe('Client secret; use ${ENV} substitution, never a literal in a committed file.'),
    issuer: z.string().min(1).optional().describe('When set, a response whose `iss` differs is refused.'),
    allowMissingAudience: z
      .boolean()
      .default(false)
      .describe('Accept an introspection answer without `aud` (by default it is refused as not issued for this resource, RFC 8707 audience binding). Only for authorization servers that never set `aud` and issue tokens for this resource alone.'),
    cacheTtlMs: positiveInt
      .default(60_000)
      .describe('How long an introspection answer is reused (RFC 7662 §4: trades revocation latency for load); never past `exp`.'),
    maxCacheEntries: positiveInt.default(10_000).describe('Introspection answers remembered (least recently used evicted).'),
    timeoutMs: positiveInt.default(5000).describe('Timeout of one introspection call.'),
  })
  .strict()
  .describe('Remote validation of opaque tokens (RFC 7662). JWTs whose `iss` is `jwt.issuer` are verified locally instead.');

const ApiKeySchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must match [A-Za-z0-9._-]+').describe('Key name for audit; not secret.'),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters: the SHA-256 of the key')
      .transform((s) => s.toLowerCase())
      .describe('SHA-256 (hex) of the key; the key itself is never configured. `printf %s "$KEY" | sha256sum`.'),
    subject: z.string().min(1).describe('Principal subject for callers using this key.'),
    scopes: z.array(scopeToken).default([]).describe('Scopes the key grants.'),
  })
  .strict();

export const ApiKeysSchema = z
  .object({
    header: headerName
      .default('x-api-key')
      .refine((h) => !FORBIDDEN_KEY_HEADERS.has(h.toLowerCase()), {
        error: 'must be a dedicated header; Authorization is reserved for Bearer tokens (RFC 6750)',
      })
      .describe('Request header carrying the key. `Authorization: ApiKey …` is deliberately not accepted.'),
    keys: z
      .array(ApiKeySchema)
      .min(1)
      .superRefine((keys, ctx) => {
        if (!Array.isArray(keys)) return;
        for (const field of ['id', 'sha256'] as const) {
          const seen = new Map<string, number>();
          keys.forEach((k, i) => {
            const v = typeof k?.[field] === 'string' ? k[field].toLowerCase() : undefined;
            if (v === undefined) return;
            const prev = seen.get(v);
            if (prev === undefined) seen.set(v, i);
            else ctx.addIssue({ code: 'custom', path: [i, field], message: `duplicate ${field} (also at [${prev}])` });
          });
        }
      }, always)
      .describe('Accepted keys.'),
  })
  .strict()
  .describe('Static API keys for machine callers.');

const fingerprint = z
  .string()
  .regex(/^(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/, 'must be a SHA-256 fingerprint (64 hex digits, colons optional)')
  .transform((s) => s.replaceAll(':', '').toLowerCase());

export const MtlsSchema = z
  .object({
    subjectFrom: z
      .enum(['cn', 'san-uri', 'san-email', 'san-dns'])
      .default('cn')
      .describe('Certificate field that becomes the principal subject (first matching SAN entry for san-*).'),
    allowedFingerprints: z
      .array(fingerprint)
      .optional()
      .describe('When set, only certificates with one of these SHA-256 fingerprints are accepted (pinning).'),
    allowedSubjects: z.array(z.string().min(1)).optional().describe('When set, only these subjects are accepted.'),
    scopes: z.array(scopeToken).default([]).describe('Scopes granted to certificate-authenticated callers.'),
  })
  .strict()
  .describe('Client certificates verified by the TLS listener (requestCert + ca) become principals.');

export const AuthSchema = z
  .object({
    required: z
      .boolean()
      .default(false)
      .describe('Refuse requests without a valid credential. When false, callers without one are "anonymous"; a presented but invalid credential is still refused.'),
    resource: resourceUrl
      .optional()
      .describe("This route's resource identifier: the gateway's public URL of the route (RFC 8707, RFC 9728 `resource`). Default: server.publicUrl + route path."),
    resourceName: z.string().min(1).optional().describe('Human-readable name in the RFC 9728 metadata (`resource_name`).'),
    authorizationServers: z
      .array(httpUrl)
      .default([])
      .describe('Issuer URLs of authorization servers clients may use (RFC 9728 `authorization_servers`). Default: [jwt.issuer].'),
    scopesSupported: z.array(scopeToken).default([]).describe('Scopes advertised in the metadata (`scopes_supported`). Default: requiredScopes.'),
    requiredScopes: z
      .array(scopeToken)
      .default([])
      .describe('Every one of these must be granted, else 403 insufficient_scope (RFC 6750 §3.1). Needs required: true.'),
    jwt: JwtSchema.optional(),
    introspection: IntrospectionSchema.optional(),
    apiKeys: ApiKeysSchema.optional(),
    mtls: MtlsSchema.optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a === null || typeof a !== 'object') return;
    const hasMethod = a.jwt !== undefined || a.introspection !== undefined || a.apiKeys !== undefined || a.mtls !== undefined;
    if (a.required === true && !hasMethod) {
      ctx.addIssue({ code: 'custom', path: ['required'], message: 'needs at least one of jwt, introspection, apiKeys, mtls' });
    }
    // An optional route with required scopes would let a caller gain access by dropping its token.
    if (a.required !== true && Array.isArray(a.requiredScopes) && a.requiredScopes.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['requiredScopes'], message: 'requires required: true (anonymous callers have no scopes)' });
    }
    // MCP authorization: protected resource metadata MUST list at least one authorization server.
    const bearer = a.jwt !== undefined || a.introspection !== undefined;
    if (bearer && a.jwt === undefined && Array.isArray(a.authorizationServers) && a.authorizationServers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['authorizationServers'],
        message: 'must list at least one authorization server when introspection is configured without jwt',
      });
    }
  }, always)
  .describe("A route's inbound authentication (OAuth 2.1 resource server, API keys, mTLS).");

export type AuthConfig = z.infer<typeof AuthSchema>;
export type AuthConfigInput = z.input<typeof AuthSchema>;
export type JwtConfig = z.infer<typeof JwtSchema>;
export type IntrospectionConfig = z.infer<typeof IntrospectionSchema>;
export type ApiKeysConfig = z.infer<typeof ApiKeysSchema>;
export type MtlsConfig = z.infer<typeof MtlsSchema>;

/** The authorization servers to advertise: configured ones, else the JWT issuer. */
export function authorizationServersOf(cfg: AuthConfig): string[] {
  if (cfg.authorizationServers.length > 0) return cfg.authorizationServers;
  return cfg.jwt ? [cfg.jwt.issuer] : [];
}

/** The scopes to advertise: configured ones, else the required ones. */
export function scopesSupportedOf(cfg: AuthConfig): string[] {
  return cfg.scopesSupported.length > 0 ? cfg.scopesSupported : cfg.requiredScopes;
}
