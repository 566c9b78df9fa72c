/**
 * Validation of opaque (or foreign) access tokens by asking the authorization server
 * (RFC 7662 token introspection).
 *
 * The gateway authenticates to the introspection endpoint as a confidential client (§2.1 "the
 * protected resource MUST authenticate"), here with client_secret_basic. Answers are cached under
 * the token's SHA-256 — never the token — for `cacheTtlMs` and never past the token's `exp`
 * (§4: caching trades revocation latency for load). Inactive answers are cached too: a revoked
 * token does not become active again, and re-asking for it on every retry is pure load.
 * Concurrent requests with the same uncached token share one call.
 */
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import type { Principal } from '../pipeline/types.ts';
import type { IntrospectionConfig } from './config.ts';
import { credentialIdOf } from './digest.ts';
import { principalFromClaims } from './jwt.ts';
import { TtlLru } from './lru.ts';
import { postForm } from './oauth-http.ts';

export interface IntrospectorOptions {
  /** Accepted `aud` values. An answer without `aud` is refused unless `allowMissingAudience` (config). */
  audiences: readonly string[];
  credentialIdSecret: Uint8Array | undefined;
  now: () => number;
  /** Allowed clock skew for `nbf`, seconds. */
  clockToleranceSec?: number;
}

type Answer = { ok: true; principal: Principal } | { ok: false; reason: string };

/** RFC 7662 §2.2: `active` is REQUIRED; the rest are optional and type-checked when present. */
const IntrospectionResponse = z.looseObject({
  active: z.boolean(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  sub: z.string().optional(),
  iss: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  exp: z.number().optional(),
  nbf: z.number().optional(),
});

export class Introspector {
  private readonly cfg: IntrospectionConfig;
  private readonly opts: IntrospectorOptions;
  private readonly cache: TtlLru<string, Answer>;
  private readonly inflight = new Map<string, Promise<Answer>>();

  constructor(cfg: IntrospectionConfig, opts: IntrospectorOptions) {
    this.cfg = cfg;
    this.opts = opts;
    this.cache = new TtlLru(cfg.maxCacheEntries, opts.now);
  }

  /**
   * The Principal for an active token; throws invalid_token for an inactive or unacceptable one.
   * `fresh` skips the cache (continuous validation must see a revocation now) and refreshes it.
   */
  async verify(token: string, digest: string, fresh = false): Promise<Principal> {
    let answer = fresh ? undefined : this.cache.get(digest);
    if (answer === undefined) {
      let pending = fresh ? undefined : this.inflight.get(digest);
      if (pending === undefined) {
        pending = this.introspect(token, digest).finally(() => {
          if (this.inflight.get(digest) === pending) this.inflight.delete(digest);
        });
        this.inflight.set(digest, pending);
      }
      answer = await pending;
    }
    if (!answer.ok) throw new GatewayError('invalid_token', answer.reason);
    return answer.principal;
  }

  private async introspect(token: string, digest: string): Promise<Answer> {
    let result;
    try {
      result = await postForm(
        this.cfg.url,
        // §2.1: the hint lets the server look in the right table first.
        { token, token_type_hint: 'access_token' },
        { clientId: this.cfg.clientId, clientSecret: this.cfg.clientSecret, method: 'client_secret_basic' },
        this.cfg.timeoutMs,
      );
    } catch (err) {
      throw new GatewayError('internal', 'token introspection unavailable', undefined, { cause: err });
    }
    if (!result.ok) {
      // Not the caller's fault (our credentials, their outage): never reported as invalid_token.
      throw new GatewayError('internal', `token introspection failed (${result.error ?? result.reason})`);
    }
    const parsed = IntrospectionResponse.safeParse(result.body);
    if (!parsed.success) throw new GatewayError('internal', 'token introspection returned an invalid answer');
    const now = this.opts.now();
    const answer = this.judge(parsed.data, digest, now);
    const expMs = answer.ok ? answer.principal.expiresAt : undefined;
    this.cache.set(digest, answer, Math.min(expMs ?? Infinity, now + this.cfg.cacheTtlMs));
    return answer;
  }

  private judge(r: z.infer<typeof IntrospectionResponse>, digest: string, now: number): Answer {
    if (r.active !== true) return { ok: false, reason: 'token is not active' };
    // The server said active, but a stale or sloppy server is not trusted past the token's own limits.
    if (r.exp !== undefined && r.exp * 1000 <= now) return { ok: false, reason: 'token expired' };
    const skewMs = (this.opts.clockToleranceSec ?? 30) * 1000;
    if (r.nbf !== undefined && r.nbf * 1000 > now + skewMs) return { ok: false, reason: 'token not yet valid' };
    if (this.cfg.issuer !== undefined && r.iss !== undefined && r.iss !== this.cfg.issuer) {
      return { ok: false, reason: 'unexpected issuer' };
    }
    // RFC 8707 §2 / MCP authorization "Token Audience Binding": the resource server MUST check the
    // token was issued for it. RFC 7662 §2.2 makes `aud` optional in the answer, but an answer
    // without it says nothing about which resource the token is for: a token minted for any other
    // API of the same authorization server would pass. So a missing `aud` is refused like a wrong
    // one (as the JWT path does: jose requires `aud` once an audience is configured), unless the
    // operator vouches that this AS never sets `aud` and issues tokens for this resource alone.
    if (r.aud === undefined) {
      if (!this.cfg.allowMissingAudience) return { ok: false, reason: 'token not issued for this resource (no aud)' };
    } else {
      const auds = Array.isArray(r.aud) ? r.aud : [r.aud];
      if (!auds.some((a) => this.opts.audiences.includes(a))) return { ok: false, reason: 'token not issued for this resource' };
    }
    try {
      // An answer without `iss` still comes from one authorization server: the configured issuer,
      // else the endpoint that answered. Without one, the same `sub` from two routes' servers
      // would be one caller (session/sessions.ts principalKey).
      const issued = r.iss !== undefined ? r : { ...r, iss: this.cfg.issuer ?? this.cfg.url };
      return { ok: true, principal: principalFromClaims(issued, 'introspection', credentialIdOf(digest, this.opts.credentialIdSecret)) };
    } catch (err) {
      return { ok: false, reason: err instanceof GatewayError && err.detail ? err.detail : 'unusable token' };
    }
  }
}
