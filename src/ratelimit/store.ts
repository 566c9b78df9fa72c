/**
 * Where rate-limit state lives. The interface is shaped so a shared store (Redis) can implement
 * every operation atomically on the server side — one `EVALSHA` of a Lua script per call — which
 * is what makes a limit hold across gateway replicas without over-admitting under concurrency:
 *
 * - Operations take the caller's clock (`nowMs`) instead of reading one, so the algorithm is a
 *   pure function of (stored state, arguments) and a script can run it unchanged. A Redis
 *   implementation may substitute the server's `TIME` to avoid replica clock skew.
 * - Every operation both checks and updates in one step; there is no separate "read then write"
 *   the caller could interleave with another replica.
 * - `consume` is all-or-nothing across several keys, so a call denied by one limit does not burn
 *   tokens from the others. (In Redis Cluster the keys of one script must share a hash slot; an
 *   implementation can wrap its key prefix in a hash tag, e.g. `{portcullis-rl}`, at the cost of
 *   putting all rate-limit keys on one shard.)
 *
 * Algorithms (implementations must agree, `contract.ts` checks it):
 * - Token bucket: a bucket starts full at `capacity`, gains `refillPerSec` tokens per second
 *   (continuously, capped at capacity). A take of `cost` succeeds iff at least `cost` tokens are
 *   present, and then removes them. `retryAfterMs` on denial is the time until `cost` tokens will be
 *   present, rounded up to a whole millisecond.
 * - Fixed window: windows are `[k·windowMs, (k+1)·windowMs)` on the caller's clock. An increment of
 *   `cost` succeeds iff the window's count plus `cost` stays ≤ `limit`. `retryAfterMs` on denial is
 *   the time until the window ends.
 * A denied operation changes no state.
 */

export interface TakeResult {
  readonly allowed: boolean;
  /** Whole units left after this operation (after the take when allowed). */
  readonly remaining: number;
  /** 0 when allowed; otherwise ms until the same operation would succeed, absent other traffic. */
  readonly retryAfterMs: number;
}

export type RateOp =
  | { readonly kind: 'bucket'; readonly key: string; readonly capacity: number; readonly refillPerSec: number; readonly cost: number }
  | { readonly kind: 'window'; readonly key: string; readonly windowMs: number; readonly limit: number; readonly cost: number };

export interface ConsumeResult {
  /** True iff every op was admitted (and therefore applied). */
  readonly allowed: boolean;
  /** One result per op, in order. When `allowed` is false, no op was applied. */
  readonly results: readonly TakeResult[];
}

export interface RateLimitStore {
  /** Token bucket take (see the file comment). */
  take(key: string, capacity: number, refillPerSec: number, cost: number, nowMs: number): Promise<TakeResult>;
  /** Fixed-window increment (see the file comment). */
  incrementWindow(key: string, windowMs: number, limit: number, cost: number, nowMs: number): Promise<TakeResult>;
  /**
   * Evaluate every op against the state at `nowMs`; apply all of them only if all are admitted.
   * The results of denied ops carry their own `retryAfterMs`; admitted ops in a denied batch
   * report what they would have left.
   */
  consume(ops: readonly RateOp[], nowMs: number): Promise<ConsumeResult>;
  /** Release resources (timers, connections). */
  close(): Promise<void>;
}

/**
 * Argument checks shared by implementations: a bad argument is a programming or config error,
 * and answering it with "allowed" or "denied" would hide it.
 */
export function validateOp(op: RateOp): void {
  if (typeof op.key !== 'string' || op.key === '') throw new TypeError('rate limit key must be a non-empty string');
  if (!Number.isSafeInteger(op.cost) || op.cost < 1) throw new RangeError(`cost must be a positive integer, got ${String(op.cost)}`);
  if (op.kind === 'bucket') {
    if (!Number.isSafeInteger(op.capacity) || op.capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${String(op.capacity)}`);
    if (!(op.refillPerSec > 0) || !Number.isFinite(op.refillPerSec)) throw new RangeError(`refillPerSec must be a positive finite number, got ${String(op.refillPerSec)}`);
    if (op.cost > op.capacity) throw new RangeError(`cost ${op.cost} exceeds capacity ${op.capacity}: it could never be admitted`);
  } else {
    if (!Number.isSafeInteger(op.windowMs) || op.windowMs < 1) throw new RangeError(`windowMs must be a positive integer, got ${String(op.windowMs)}`);
    if (!Number.isSafeInteger(op.limit) || op.limit < 1) throw new RangeError(`limit must be a positive integer, got ${String(op.limit)}`);
    if (op.cost > op.limit) throw new RangeError(`cost ${op.cost} exceeds limit ${op.limit}: it could never be admitted`);
  }
}

export function validateNow(nowMs: number): void {
  if (!Number.isFinite(nowMs) || nowMs < 0) throw new RangeError(`nowMs must be a finite, non-negative number, got ${String(nowMs)}`);
}
