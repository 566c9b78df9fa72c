/**
 * One route's inbound authentication: request in, verified Principal (or a refusal) out.
 *
 * Order of credentials: a Bearer token in Authorization (when the route accepts tokens), else an
 * API key in its header, else a verified client certificate. A presented credential is never
 * skipped: a bad bearer token fails even if a good certificate is also present, so a client
 * always learns that its token is wrong (RFC 6750 §3.1). Bearer tokens that are JWTs from
 * `jwt.issuer` are verified locally; any other token goes to introspection when configured.
 *
 * Failures are GatewayErrors: `unauthenticated` (nothing presented, route requires a
 * credential), `invalid_token` (presented and bad), `insufficient_scope` (data.requiredScopes).
 * Outages of the authorization server surface as `internal`, never as a bad token.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../core/errors.ts';
import type { Principal } from '../pipeline/types.ts';
import { ApiKeyStore } from './api-keys.ts';
import { challengeFor } from './challenge.ts';
import type { AuthConfig } from './config.ts';
import { credentialIdOf, tokenDigest } from './digest.ts';
import { extractCredential } from './extract.ts';
import { Introspector } from './introspection.ts';
import { JwtVerifier } from './jwt.ts';
import { metadataForRoute, wellKnownMetadataUrl } from './metadata.ts';
import type { ProtectedResourceMetadata } from './metadata.ts';
import { certificateAllowed, checkCertificateBinding, mtlsPrincipal, verifiedCertificate } from './mtls.ts';
import { requireScopes } from './scopes.ts';

export const ANONYMOUS: Principal = Object.freeze({ subject: 'anonymous', method: 'none' });

export interface AuthRequest {
  headers: IncomingHttpHeaders;
  /** The connection; a `tls.TLSSocket` enables mTLS and certificate-bound tokens. */
  socket?: unknown;
}

export interface AuthenticatorOptions {
  /** The route's resource identifier when `config.resource` is unset: publicUrl + route path. */
  resource?: string;
  /** HMAC key for `credentialId`; default a random per-process key. Set it for ids stable across replicas. */
  credentialIdSecret?: Uint8Array;
  /** Clock, ms since epoch (tests). */
  now?: () => number;
}

export type RevalidateResult = { ok: true } | { ok: false; reason: string };

/**
 * Raw tokens of introspected principals, so `revalidate(principal)` can ask the authorization
 * server again. Keyed by the Principal object (never by the token), weakly: the token lives
 * exactly as long as some session or cache entry still holds that Principal. Module-level so an
 * Authenticator rebuilt by a config reload can still revalidate streams opened under the old one.
 */
const introspectedTokens = new WeakMap<Principal, string>();

/** RFC 8707 resource URIs compare as strings; tolerate only the trailing-slash variant. */
function audiencesFor(resource: string, extra: readonly string[]): string[] {
  const alt = resource.endsWith('/') ? resource.slice(0, -1) : `${resource}/`;
  return [...new Set([...extra, resource, alt])];
}

export class Authenticator {
  readonly config: AuthConfig;
  /** The route's resource identifier (RFC 8707 / RFC 9728 `resource`). */
  readonly resource: string;
  /** Where the RFC 9728 metadata is served (the `resource_metadata` of challenges). */
  readonly metadataUrl: string;
  readonly metadata: ProtectedResourceMetadata;
  private readonly now: () => number;
  private readonly secret: Uint8Array | undefined;
  private readonly jwt: JwtVerifier | undefined;
  private readonly introspector: Introspector | undefined;
  private readonly apiKeys: ApiKeyStore | undefined;

  constructor(config: AuthConfig, opts: AuthenticatorOptions = {}) {
    const resource = config.resource ?? opts.resource;
    if (resource === undefined) throw new TypeError('auth: the route needs a resource URL (auth.resource or server.publicUrl)');
    this.config = config;
    this.resource = resource;
    this.metadataUrl = wellKnownMetadataUrl(resource);
    this.metadata = metadataForRoute(config, resource);
    this.now = opts.now ?? Date.now;
    this.secret = opts.credentialIdSecret;
    const common = { credentialIdSecret: this.secret, now: this.now };
    if (config.jwt) {
      this.jwt = new JwtVerifier(config.jwt, { ...common, audiences: audiencesFor(resource, config.jwt.audiences) });
    }
    if (config.introspection) {
      this.introspector = new Introspector(config.introspection, {
        ...common,
        audiences: audiencesFor(resource, config.jwt?.audiences ?? []),
        clockToleranceSec: config.jwt?.clockToleranceSec ?? 30,
      });
    }
    if (config.apiKeys) this.apiKeys = new ApiKeyStore(config.apiKeys, this.secret);
  }

  /** The request header API keys come in, when the route accepts them. */
  get apiKeyHeader(): string | undefined {
    return this.apiKeys?.header;
  }

  /** The verified Principal for `req`, or a GatewayError (see the file comment). */
  async authenticate(req: AuthRequest): Promise<Principal> {
    const cred = extractCredential(req.headers, {
      bearer: this.jwt !== undefined || this.introspector !== undefined,
      apiKeyHeader: this.apiKeys?.header,
    });
    let principal: Principal;
    if (cred.kind === 'bearer') {
      principal = await this.verifyBearer(cred.token);
      checkCertificateBinding(principal, req.socket);
    } else if (cred.kind === 'api-key') {
      principal = this.apiKeys!.authenticate(tokenDigest(cred.key));
    } else {
      const cert = this.config.mtls ? verifiedCertificate(req.socket) : undefined;
      if (cert) principal = mtlsPrincipal(cert, this.config.mtls!, this.secret);
      else if (this.config.required) throw new GatewayError('unauthenticated');
      else return ANONYMOUS;
    }
    requireScopes(principal.scopes, this.config.requiredScopes);
    return principal;
  }

  private async verifyBearer(token: string): Promise<Principal> {
    const digest = tokenDigest(token);
    if (this.jwt && (this.introspector === undefined || this.jwt.claims(token))) return this.jwt.verify(token, digest);
    if (this.introspector) {
      const principal = await this.introspector.verify(token, digest);
      introspectedTokens.set(principal, token);
      return principal;
    }
    throw new GatewayError('invalid_token', 'bearer tokens are not accepted on this route');
  }

  /**
   * Continuous validation for long-lived streams: is `principal` (as returned by `authenticate`,
   * possibly by an earlier Authenticator of this route) still acceptable now? Checks expiry,
   * asks the introspection endpoint afresh (bypassing the cache) for introspected tokens, and
   * re-applies this Authenticator's config (a removed API key, pinned certificate or method, or a
   * newly required scope ends the stream). JWTs cannot be revoked without introspection; they
   * end at `exp`. `token` may be given when the caller still has the raw bearer token.
   * An unreachable introspection endpoint fails closed.
   */
  async revalidate(principal: Principal, token?: string): Promise<RevalidateResult> {
    if (principal.expiresAt !== undefined && principal.expiresAt <= this.now()) return { ok: false, reason: 'credential expired' };
    switch (principal.method) {
      case 'none':
        return this.config.required ? { ok: false, reason: 'authentication is now required' } : { ok: true };
      case 'jwt':
        if (!this.jwt) return { ok: false, reason: 'JWT access tokens are no longer accepted' };
        break;
      case 'introspection': {
        if (!this.introspector) return { ok: false, reason: 'introspected tokens are no longer accepted' };
        const raw = token ?? introspectedTokens.get(principal);
        if (raw === undefined) return { ok: false, reason: 'token unavailable for re-introspection' };
        const digest = tokenDigest(raw);
        if (credentialIdOf(digest, this.secret) !== principal.credentialId) return { ok: false, reason: 'token does not match the principal' };
        try {
          await this.introspector.verify(raw, digest, true);
        } catch (err) {
          return { ok: false, reason: err instanceof GatewayError && err.detail ? err.detail : 'token introspection failed' };
        }
        break;
      }
      case 'api-key':
        if (!this.apiKeys || principal.credentialId === undefined || !this.apiKeys.has(principal.credentialId)) {
          return { ok: false, reason: 'API key no longer configured' };
        }
        break;
      case 'mtls': {
        const fp = principal.claims?.fingerprint;
        if (!this.config.mtls || typeof fp !== 'string' || !certificateAllowed(this.config.mtls, fp, principal.subject)) {
          return { ok: false, reason: 'client certificate no longer allowed' };
        }
        break;
      }
      default:
        return { ok: false, reason: `unknown authentication method ${principal.method}` };
    }
    try {
      requireScopes(principal.scopes, this.config.requiredScopes);
    } catch {
      return { ok: false, reason: 'insufficient scope' };
    }
    return { ok: true };
  }

  /** The WWW-Authenticate value for an error from `authenticate`/`revalidate`, or undefined. */
  challenge(err: GatewayError): string | undefined {
    return challengeFor(err, { resourceMetadataUrl: this.metadataUrl, requiredScopes: this.config.requiredScopes });
  }
}
