/**
 * Cached upstream tokens with single-flight refresh.
 *
 * A token is reused until `skew` before it expires, so it never reaches the upstream in its last
 * seconds (clock drift, request latency). While one fetch for a key is under way, every other
 * request for that key waits for it instead of starting its own: a burst of N requests after
 * expiry costs one token request, not N. Failures are not cached; the next request retries.
 */
import { TtlLru } from '../../identity/lru.ts';
import type { IssuedToken } from './token-endpoint.ts';

export class TokenCache {
  private readonly tokens: TtlLru<string, string>;
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly skewMs: number;

  constructor(opts: { maxEntries: number; skewMs: number; now: () => number }) {
    this.tokens = new TtlLru(opts.maxEntries, opts.now);
    this.skewMs = opts.skewMs;
  }

  /**
   * The cached token for `key`, or the result of `fetch` (shared with concurrent callers).
   * `notAfter` (ms) caps how long the fetched token is reused, e.g. the caller's own expiry.
   */
  get(key: string, fetch: () => Promise<IssuedToken>, notAfter = Infinity): Promise<string> {
    const hit = this.tokens.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending;
    const started = fetch()
      .then((t) => {
        // A token already inside its skew window is still handed to this burst's waiters, just not kept.
        this.tokens.set(key, t.accessToken, Math.min(t.expiresAt, notAfter) - this.skewMs);
        return t.accessToken;
      })
      .finally(() => {
        if (this.inflight.get(key) === started) this.inflight.delete(key);
      });
    this.inflight.set(key, started);
    return started;
  }

  /** Forget `key`'s token, e.g. after the upstream rejected it with 401. */
  invalidate(key: string): void {
    this.tokens.delete(key);
  }

  get size(): number {
    return this.tokens.size;
  }
}
