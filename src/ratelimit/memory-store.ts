/**
 * In-process RateLimitStore: one replica's view only. Behind a load balancer each replica
 * enforces the full limit on its own, so N replicas admit up to N× the configured rate; use a
 * shared store (Redis) when that matters.
 *
 * Atomicity: every operation runs synchronously to completion inside one call (no `await` between
 * reading and writing state), so concurrent callers on the event loop cannot interleave.
 *
 * Bounded memory: state is deleted as soon as it carries no information — a bucket that has
 * refilled to capacity behaves exactly like a missing one, and a window that has ended is as good
 * as empty — so forgetting it never changes a decision. An incremental sweep visits a few entries
 * per operation to find those. If live state still exceeds `maxKeys` (e.g. a caller spraying tool
 * names into a per-tool limit), the least recently used entry is evicted; that resets one bucket
 * (it may admit a short extra burst for that key) rather than refusing everyone, and is counted
 * in `evictions` so it can be alerted on.
 */
import { validateNow, validateOp } from './store.ts';
import type { ConsumeResult, RateLimitStore, RateOp, TakeResult } from './store.ts';

export interface MemoryRateLimitStoreOptions {
  /** Most keys kept; beyond it the least recently used is evicted. Default 100 000. */
  maxKeys?: number;
  /** Entries examined for idleness per operation (amortized sweep). Default 4. */
  sweepPerOp?: number;
}

interface BucketState {
  readonly kind: 'bucket';
  tokens: number;
  /** When `tokens` was computed (ms). */
  at: number;
  capacity: number;
  refillPerSec: number;
}

interface WindowState {
  readonly kind: 'window';
  start: number;
  windowMs: number;
  count: number;
}

type State = BucketState | WindowState;

/**
 * Float tolerance for token comparisons: `retryAfterMs` is rounded up to whole ms, and without
 * this, 0.7 + 0.3 computed as 0.9999999999999999 would deny a caller who waited exactly as told.
 */
const EPSILON = 1e-9;
/** Entries examined for idleness before evicting a live one. */
const FULL_SWEEP_BUDGET = 32;

interface Evaluation {
  readonly result: TakeResult;
  /** The state to store if the batch is admitted. */
  readonly next: State;
}

export class MemoryRateLimitStore implements RateLimitStore {
  readonly #maxKeys: number;
  readonly #sweepPerOp: number;
  /** Map order doubles as recency order: entries are re-inserted when written. */
  readonly #state = new Map<string, State>();
  #cursor: Iterator<[string, State]> | undefined;
  #lastNow = 0;
  #evictions = 0;
  #closed = false;

  constructor(opts: MemoryRateLimitStoreOptions = {}) {
    this.#maxKeys = opts.maxKeys ?? 100_000;
    this.#sweepPerOp = opts.sweepPerOp ?? 4;
    if (!Number.isSafeInteger(this.#maxKeys) || this.#maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
    if (!Number.isSafeInteger(this.#sweepPerOp) || this.#sweepPerOp < 0) throw new RangeError('sweepPerOp must be a non-negative integer');
  }

  /** Keys currently held (for metrics and tests). */
  get size(): number {
    return this.#state.size;
  }

  /** Live entries dropped because `maxKeys` was reached. */
  get evictions(): number {
    return this.#evictions;
  }

  async take(key: string, capacity: number, refillPerSec: number, cost: number, nowMs: number): Promise<TakeResult> {
    const { results } = this.#consume([{ kind: 'bucket', key, capacity, refillPerSec, cost }], nowMs);
    return results[0]!;
  }

  async incrementWindow(key: string, windowMs: number, limit: number, cost: number, nowMs: number): Promise<TakeResult> {
    const { results } = this.#consume([{ kind: 'window', key, windowMs, limit, cost }], nowMs);
    return results[0]!;
  }

  async consume(ops: readonly RateOp[], nowMs: number): Promise<ConsumeResult> {
    return this.#consume(ops, nowMs);
  }

  /** Delete every entry that no longer affects a decision at `nowMs` (default: the latest clock seen). */
  sweep(nowMs: number = this.#lastNow): number {
    let removed = 0;
    for (const [key, state] of this.#state) {
      if (isIdle(state, nowMs)) {
        this.#state.delete(key);
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#state.clear();
    this.#cursor = undefined;
  }

  #consume(ops: readonly RateOp[], nowMs: number): ConsumeResult {
    if (this.#closed) throw new Error('rate limit store is closed');
    validateNow(nowMs);
    for (const op of ops) validateOp(op);
    if (nowMs > this.#lastNow) this.#lastNow = nowMs;

    // Evaluate against a scratch overlay so two ops on one key in a batch see each other.
    const overlay = new Map<string, State>();
    const results: TakeResult[] = [];
    let allowed = true;
    for (const op of ops) {
      const id = `${op.kind}:${op.key}`;
      const current = overlay.get(id) ?? this.#state.get(id);
      const { result, next } = op.kind === 'bucket' ? evalBucket(current, op, nowMs) : evalWindow(current, op, nowMs);
      results.push(result);
      if (result.allowed) overlay.set(id, next);
      else allowed = false;
    }
    if (allowed) {
      for (const [id, next] of overlay) this.#write(id, next);
    }
    this.#sweepSome(nowMs);
    return { allowed, results };
  }

  #write(id: string, next: State): void {
    // Delete first so the entry moves to the end of the Map (most recently used).
    this.#state.delete(id);
    if (this.#state.size >= this.#maxKeys) {
      // A bounded look for idle entries first, so a full store costs O(1) per write, not O(maxKeys).
      this.#sweepSome(this.#lastNow, FULL_SWEEP_BUDGET);
      const oldest = this.#state.keys().next();
      if (this.#state.size >= this.#maxKeys && !oldest.done) {
        this.#state.delete(oldest.value);
        this.#evictions++;
      }
    }
    this.#state.set(id, next);
  }

  /** Visit up to `budget` entries from a persistent cursor, deleting idle ones. */
  #sweepSome(nowMs: number, budget: number = this.#sweepPerOp): void {
    for (let i = 0; i < budget && this.#state.size > 0; i++) {
      this.#cursor ??= this.#state.entries();
      const step = this.#cursor.next();
      if (step.done) {
        this.#cursor = undefined;
        continue;
      }
      const [key, state] = step.value;
      // Map iterators tolerate deletion of the current entry.
      if (isIdle(state, nowMs)) this.#state.delete(key);
    }
  }
}

function level(state: State | undefined, op: Extract<RateOp, { kind: 'bucket' }>, nowMs: number): { tokens: number; at: number } {
  if (state?.kind !== 'bucket') return { tokens: op.capacity, at: nowMs };
  // A clock that went backwards (another replica's, or NTP) refills nothing rather than draining.
  const elapsed = Math.max(0, nowMs - state.at);
  return { tokens: Math.min(op.capacity, state.tokens + (elapsed * op.refillPerSec) / 1000), at: Math.max(nowMs, state.at) };
}

function evalBucket(state: State | undefined, op: Extract<RateOp, { kind: 'bucket' }>, nowMs: number): Evaluation {
  const { tokens, at } = level(state, op, nowMs);
  if (admits(tokens, op.cost)) {
    const left = Math.max(0, tokens - op.cost);
    return {
      result: { allowed: true, remaining: Math.floor(left + EPSILON), retryAfterMs: 0 },
      next: { kind: 'bucket', tokens: left, at, capacity: op.capacity, refillPerSec: op.refillPerSec },
    };
  }
  return {
    result: { allowed: false, remaining: Math.floor(tokens + EPSILON), retryAfterMs: waitFor(tokens, op) },
    next: state ?? { kind: 'bucket', tokens, at, capacity: op.capacity, refillPerSec: op.refillPerSec },
  };
}

/**
 * The smallest whole number of ms after which `admits` holds. Derived from the closed form, then
 * nudged by the very predicate the take uses, so float rounding can never make the advertised
 * wait one ms too short (the caller would be denied again) or too long.
 */
function waitFor(tokens: number, op: Extract<RateOp, { kind: 'bucket' }>): number {
  const after = (ms: number) => admits(tokens + (ms * op.refillPerSec) / 1000, op.cost);
  let ms = Math.max(1, Math.ceil(((op.cost - tokens) * 1000) / op.refillPerSec));
  while (ms > 1 && after(ms - 1)) ms--;
  while (!after(ms)) ms++;
  return ms;
}

function admits(tokens: number, cost: number): boolean {
  return tokens + EPSILON >= cost;
}

function evalWindow(state: State | undefined, op: Extract<RateOp, { kind: 'window' }>, nowMs: number): Evaluation {
  let start = Math.floor(nowMs / op.windowMs) * op.windowMs;
  let count = 0;
  if (state?.kind === 'window' && state.windowMs === op.windowMs && state.start >= start) {
    // Same window (or a later one, if this caller's clock lags): keep counting in it.
    start = state.start;
    count = state.count;
  }
  const end = start + op.windowMs;
  if (count + op.cost <= op.limit) {
    return {
      result: { allowed: true, remaining: op.limit - count - op.cost, retryAfterMs: 0 },
      next: { kind: 'window', start, windowMs: op.windowMs, count: count + op.cost },
    };
  }
  return {
    result: { allowed: false, remaining: op.limit - count, retryAfterMs: Math.max(1, Math.ceil(end - nowMs)) },
    next: state ?? { kind: 'window', start, windowMs: op.windowMs, count },
  };
}

function isIdle(state: State, nowMs: number): boolean {
  if (state.kind === 'window') return state.start + state.windowMs <= nowMs;
  const elapsed = Math.max(0, nowMs - state.at);
  return state.tokens + (elapsed * state.refillPerSec) / 1000 + EPSILON >= state.capacity;
}
