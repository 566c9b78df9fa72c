/**
 * Applies the configured limits and quotas to one call.
 *
 * Every limit and quota whose scope and `match` fit the call is evaluated together in ONE
 * all-or-nothing `store.consume`: if any denies, none is charged. So a caller hammering a
 * per-tool limit does not also drain its per-principal budget with calls that were refused
 * anyway, and a denied call never costs quota. (The alternative, taking bucket by bucket and
 * refunding on a later denial, is racy across replicas; the store interface makes the batch
 * atomic instead — see `store.ts`.)
 *
 * On denial the answer names the entry with the LONGEST retry time, since retrying any sooner is
 * guaranteed to be denied again by it.
 */
import { createHash } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';
import type { RateLimitConfig, RateMatch, RateScope } from './config.ts';
import type { RateLimitStore, RateOp } from './store.ts';

/** What the limiter needs to know about a call. */
export interface RateFacts {
  /**
   * Who is calling, as `callerKey` (session/sessions.ts) names them: issuer + subject when
   * authenticated, subject + client address when anonymous, so the `principal` scopes give each
   * anonymous client its own bucket instead of one shared by every caller of an open route.
   */
  readonly principal: string;
  /** Tool name for `tools/call` (params.name), absent for other methods. */
  readonly tool?: string | undefined;
  /** JSON-RPC method. */
  readonly method: string;
  /** The route's upstream URL (or any stable upstream id). */
  readonly upstream: string;
  /** Route name. */
  readonly route: string;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly limit: string; readonly retryAfterMs: number };

export interface RateLimiterOptions {
  /** Clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
  /** Prefix of every store key, to share one store between deployments. Default `rl`. */
  keyPrefix?: string;
}

interface Entry {
  readonly name: string;
  readonly scope: RateScope;
  readonly methods: RegExp | undefined;
  readonly tools: RegExp | undefined;
  readonly toOp: (key: string) => RateOp;
}

export class RateLimiter {
  readonly #entries: readonly Entry[];
  readonly #store: RateLimitStore;
  readonly #now: () => number;
  readonly #prefix: string;

  /** `config` must be the parsed (`RateLimitSchema.parse`) form: defaults filled, costs checked. */
  constructor(config: RateLimitConfig, store: RateLimitStore, opts: RateLimiterOptions = {}) {
    this.#store = store;
    this.#now = opts.now ?? Date.now;
    this.#prefix = opts.keyPrefix ?? 'rl';
    this.#entries = [
      ...config.limits.map(
        (l): Entry => ({
          ...compileMatch(l.match),
          name: l.name,
          scope: l.scope,
          toOp: (key) => ({ kind: 'bucket', key, capacity: l.capacity, refillPerSec: l.refillPerSecond, cost: l.cost }),
        }),
      ),
      ...config.quotas.map(
        (q): Entry => ({
          ...compileMatch(q.match),
          name: q.name,
          scope: q.scope,
          toOp: (key) => ({ kind: 'window', key, windowMs: q.windowMs, limit: q.limit, cost: q.cost }),
        }),
      ),
    ];
  }

  /** True when no limit or quota is configured (the integrator can skip the inspector). */
  get empty(): boolean {
    return this.#entries.length === 0;
  }

  /**
   * Charge the call against every matching entry, or none of them. Rejects only if the store
   * fails (e.g. Redis unreachable); the caller decides whether that fails open or closed.
   */
  async check(facts: RateFacts): Promise<RateDecision> {
    const ops: RateOp[] = [];
    const names: string[] = [];
    for (const e of this.#entries) {
      if (!applies(e, facts)) continue;
      const key = scopeKey(e.scope, facts);
      if (key === undefined) continue;
      ops.push(e.toOp(`${this.#prefix}:${e.name}:${key}`));
      names.push(e.name);
    }
    if (ops.length === 0) return { allowed: true };
    const { allowed, results } = await this.#store.consume(ops, this.#now());
    if (allowed) return { allowed: true };
    let worst = -1;
    results.forEach((r, i) => {
      if (!r.allowed && (worst < 0 || r.retryAfterMs > results[worst]!.retryAfterMs)) worst = i;
    });
    return { allowed: false, limit: names[worst]!, retryAfterMs: results[worst]!.retryAfterMs };
  }
}

function applies(e: Entry, facts: RateFacts): boolean {
  if (e.methods && !e.methods.test(facts.method)) return false;
  if (e.tools && (facts.tool === undefined || !e.tools.test(facts.tool))) return false;
  return true;
}

/** Longest value kept as itself in a bucket key; longer ones are keyed by their digest. */
const MAX_KEY_PART = 64;

/**
 * One part of a bucket key: percent-encoded, so separators inside values cannot make two
 * different (principal, tool) pairs collide on one key; a long value (a tool name is the
 * client's choice, up to the body limit) by its SHA-256, so each bucket costs the store a few
 * dozen bytes however long the name. `#` never appears in an encoded value: no collision.
 */
function enc(value: string): string {
  return value.length <= MAX_KEY_PART ? encodeURIComponent(value) : `#${createHash('sha256').update(value).digest('base64url')}`;
}

/**
 * The bucket identity for a scope, or undefined when the call lacks the fact the scope needs
 * (a per-tool limit does not count `resources/read`).
 */
function scopeKey(scope: RateScope, f: RateFacts): string | undefined {
  switch (scope) {
    case 'principal':
      return `p=${enc(f.principal)}`;
    case 'tool':
      return f.tool === undefined ? undefined : `t=${enc(f.tool)}`;
    case 'principal-tool':
      return f.tool === undefined ? undefined : `p=${enc(f.principal)}&t=${enc(f.tool)}`;
    case 'upstream':
      return `u=${enc(f.upstream)}`;
    case 'route':
      return `r=${enc(f.route)}`;
  }
}

function compileMatch(match: RateMatch | undefined): { methods: RegExp | undefined; tools: RegExp | undefined } {
  return { methods: globsToRegExp(match?.methods), tools: globsToRegExp(match?.tools) };
}

/** `*` matches any run of characters (including `/`); everything else is literal. */
export function globsToRegExp(globs: readonly string[] | undefined): RegExp | undefined {
  if (!globs || globs.length === 0) return undefined;
  const alternatives = globs.map((g) => g.split('*').map(escapeRegExp).join('.*'));
  return new RegExp(`^(?:${alternatives.join('|')})$`, 's');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The error to answer a denied call with: 429 / JSON-RPC -31044, `data.retryAfterMs`, `data.limit`. */
export function rateLimitedError(decision: { limit: string; retryAfterMs: number }): GatewayError {
  return new GatewayError('rate_limited', `limit "${decision.limit}", retry after ${retryAfterSeconds(decision.retryAfterMs)} s`, {
    limit: decision.limit,
    retryAfterMs: decision.retryAfterMs,
  });
}

/**
 * The `Retry-After` header value for a wait in ms. RFC 9110 §10.2.3: delay-seconds is a
 * non-negative integer number of seconds, so round UP — a client retrying after a rounded-down
 * value would be denied again. At least 1, since "0" invites an immediate retry that is certain
 * to fail.
 */
export function retryAfterSeconds(retryAfterMs: number): string {
  if (!Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return '1';
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}
