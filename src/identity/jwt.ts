/**
 * Local verification of JWT access tokens (RFC 9068) against the authorization server's JWKS.
 *
 * - Keys come from `createRemoteJWKSet`: fetched once, reused, refetched after `cacheMaxAge`, and
 *   refetched early when a token names an unknown `kid` (key rotation) — but at most once per
 *   cooldown, so forged kids cannot turn the gateway into a JWKS flood.
 * - The `alg` allow-list is checked before any key is looked up (RFC 8725 §3.1), so `none` and
 *   HS256-signed-with-the-public-key tokens fail without touching the JWKS.
 * - `iss` exact match (RFC 9068 §4), `aud` must include this resource (RFC 8707 §2, MCP
 *   authorization "Token Audience Binding"), `exp` required, `nbf`/`exp` with clock tolerance.
 * - A token bound to a key the gateway cannot verify (`cnf` other than `x5t#S256`, e.g. a DPoP
 *   `jkt`) is refused rather than accepted as a bearer token (confirmation.ts).
 * - A verified token's Principal is cached under the token's SHA-256 until min(exp, TTL).
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { GatewayError } from '../core/errors.ts';
import type { Principal } from '../pipeline/types.ts';
import type { JwtConfig } from './config.ts';
import { requireVerifiableConfirmation } from './confirmation.ts';
import { credentialIdOf } from './digest.ts';
import { TtlLru } from './lru.ts';
import { scopesFromClaims } from './scopes.ts';

export interface JwtVerifierOptions {
  /** Accepted `aud` values (config audiences + the route's resource). */
  audiences: readonly string[];
  credentialIdSecret: Uint8Array | undefined;
  now: () => number;
}

/** Thrown from the key resolver when keys could not be obtained (an outage, not a bad token). */
class KeysUnavailable extends Error {}

const KEY_SELECTION_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED']);

/** A compact JWS has three base64url segments; an opaque token usually does not. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function isCompactJwt(token: string): boolean {
  return COMPACT_JWS.test(token);
}

/** The unverified `iss` of a JWT-shaped token, used only to pick a verification method. */
export function unverifiedIssuer(token: string): string | undefined {
  if (!isCompactJwt(token)) return undefined;
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** Client-visible description of why a token failed (RFC 6750 §3 `error_description`). */
function describe(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (err as { claim?: unknown }).claim;
      if (claim === 'iss') return 'unexpected issuer';
      if (claim === 'aud') return 'token not issued for this resource';
      if (claim === 'nbf') return 'token not yet valid';
      if (claim === 'iat') return 'token issued in the future';
      if (claim === 'typ') return 'unexpected token type';
      if (claim === 'exp') return 'token has no valid exp';
      return `claim ${claim} invalid`;
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'signing algorithm not allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature verification failed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no matching signing key (unknown kid)';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'ambiguous signing key';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'unsupported token algorithm or key';
    default:
      return 'malformed token';
  }
}

export class JwtVerifier {
  private readonly cfg: JwtConfig;
  private readonly opts: JwtVerifierOptions;
  private readonly getKey: JWTVerifyGetKey;
  private readonly cache: TtlLru<string, Principal>;

  constructor(cfg: JwtConfig, opts: JwtVerifierOptions) {
    this.cfg = cfg;
    this.opts = opts;
    const jwks = createRemoteJWKSet(new URL(cfg.jwksUrl), {
      cacheMaxAge: cfg.jwksCacheMaxAgeMs,
      cooldownDuration: cfg.jwksCooldownMs,
      timeoutDuration: cfg.jwksTimeoutMs,
    });
    // Separate "this token names no key we have" (invalid token) from "we could not fetch keys"
    // (our outage): a client must not be told its token is bad because the JWKS was down.
    this.getKey = async (header, token) => {
      try {
        return await jwks(header, token);
      } catch (err) {
        const code = (err as { code?: unknown })?.code;
        if (typeof code === 'string' && KEY_SELECTION_ERRORS.has(code)) throw err;
        throw new KeysUnavailable('JWKS unavailable', { cause: err });
      }
    };
    this.cache = new TtlLru(cfg.maxCacheEntries, opts.now);
  }

  /** Whether this verifier, rather than introspection, should handle `token`. */
  claims(token: string): boolean {
    return unverifiedIssuer(token) === this.cfg.issuer;
  }

  /** The Principal for a valid token; `digest` is the token's SHA-256 hex (the cache key). */
  async verify(token: string, digest: string): Promise<Principal> {
    const cached = this.cache.get(digest);
    if (cached) return cached;
    const now = this.opts.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        issuer: this.cfg.issuer,
        audience: [...this.opts.audiences],
        algorithms: [...this.cfg.algorithms],
        clockTolerance: this.cfg.clockToleranceSec,
        // RFC 9068 §2.2: exp is REQUIRED; a token that never expires is refused.
        requiredClaims: ['exp'],
        currentDate: new Date(now),
        ...(this.cfg.typ !== undefined ? { typ: this.cfg.typ } : {}),
      }));
    } catch (err) {
      if (err instanceof KeysUnavailable) {
        throw new GatewayError('internal', 'authorization server keys unavailable', undefined, { cause: err.cause });
      }
      throw new GatewayError('invalid_token', describe(err), undefined, { cause: err });
    }
    const principal = principalFromClaims(payload, 'jwt', credentialIdOf(digest, this.opts.credentialIdSecret));
    this.cache.set(digest, principal, Math.min(principal.expiresAt ?? Infinity, now + this.cfg.cacheTtlMs));
    return principal;
  }
}

/**
 * The subject prefix of a token that names a client but no `sub` (see `principalFromClaims`).
 * Policy rules for such callers match `principal.subject == "client:<client_id>"`.
 */
export const CLIENT_SUBJECT_PREFIX = 'client:';

/**
 * A Principal from verified claims (a JWT payload or an introspection answer).
 *
 * Subject: `sub`. RFC 9068 §2.2 makes `sub` REQUIRED in JWT access tokens (for a
 * client-credentials grant it is the client's own id, in the AS's subject namespace); RFC 7662
 * §2.2 leaves it optional in introspection answers. A token without `sub` but naming its client
 * (`client_id`, RFC 9068 §2.2 / RFC 7662 §2.2, else OIDC `azp`) is a client acting for itself, and
 * its subject is `client:<client_id>`: client ids and user subjects are separate namespaces, so a
 * client registered as "alice" must never pass rules, share sessions or spend rate limits
 * written for the user "alice". A token naming neither identifies no one and is refused.
 *
 * A token bound to a key the gateway cannot verify (`cnf`, see confirmation.ts) is refused here,
 * before any caller caches the Principal.
 */
export function principalFromClaims(claims: Readonly<Record<string, unknown>>, method: string, credentialId: string): Principal {
  requireVerifiableConfirmation(claims);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const clientId = str(claims.client_id) ?? str(claims.azp);
  // RFC 7519 §4.1.2: `sub` is a StringOrURI. A present but non-string `sub` is not "no sub":
  // falling back to the client there would let a malformed token pick its namespace.
  if (claims.sub !== undefined && typeof claims.sub !== 'string') throw new GatewayError('invalid_token', 'token sub is not a string');
  const sub = str(claims.sub);
  // The prefix is the gateway's namespace for clients: a user whose `sub` reads `client:x` would
  // be the client x to policy, sessions and rate limits.
  if (sub?.startsWith(CLIENT_SUBJECT_PREFIX)) throw new GatewayError('invalid_token', `token sub uses the prefix "${CLIENT_SUBJECT_PREFIX}" the gateway keeps for clients`);
  const subject = sub ?? (clientId !== undefined ? `${CLIENT_SUBJECT_PREFIX}${clientId}` : undefined);
  if (subject === undefined) throw new GatewayError('invalid_token', 'token has no subject (neither sub nor client_id)');
  const exp = claims.exp;
  const principal: Principal = {
    subject,
    method,
    issuer: str(claims.iss),
    clientId,
    scopes: Object.freeze(scopesFromClaims(claims)),
    claims: deepFreeze(structuredClone(claims)) as Readonly<Record<string, unknown>>,
    expiresAt: typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined,
    credentialId,
  };
  return Object.freeze(principal);
}

/** Claims are shared by every request using the token (cache): nested objects must not be mutable either. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
