/**
 * Single-use enforcement for sealed approval states.
 *
 * MCP 2026-07-28 (basic/patterns/mrtr, Server Requirements 5) notes that binding requestState to
 * principal, expiry and request "bound[s] the replay window … but do[es] not by themselves
 * guarantee single-use"; servers needing at-most-once "MUST enforce that invariant server-side".
 * An approval is exactly that: one approval, one call. So the gateway records each redeemed nonce
 * until its state would have expired anyway.
 *
 * Authenticity needs no shared state (any replica holding the key verifies a token), but
 * single-use does: a token redeemed on replica A could be replayed once on replica B, and once
 * more after a restart with the memory store below. The gateway uses the on-disk store
 * (sqlite-nonce-store.ts) and binds each state to the replica that issued it (replica.ts); a
 * shared NonceStore (Redis `SET nonce 1 NX PXAT expiresAtMs` implements `markUsed` atomically)
 * would let any replica redeem.
 */

export interface NonceStore {
  /**
   * Record `nonce` as used until `expiresAtMs`. Resolves true if it was fresh, false if it was
   * already recorded (a replay). Must be atomic: of two concurrent calls with one nonce, exactly
   * one resolves true.
   */
  markUsed(nonce: string, expiresAtMs: number): Promise<boolean>;
}

export interface MemoryNonceStoreOptions {
  /** Most nonces remembered at once. Default 100 000. */
  maxEntries?: number;
  /** Clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
}

/** Thrown when the store is full of unexpired nonces: refusing is the only replay-safe answer. */
export class NonceStoreFullError extends Error {
  constructor(maxEntries: number) {
    super(`nonce store full (${maxEntries} unexpired entries)`);
    this.name = 'NonceStoreFullError';
  }
}

/**
 * One process's replay cache. Bounded: expired nonces are dropped (a replayed expired token is
 * refused by its `exp` anyway), and when every slot holds an unexpired nonce `markUsed` rejects
 * with NonceStoreFullError instead of forgetting one — forgetting would reopen a replay.
 */
export class MemoryNonceStore implements NonceStore {
  readonly #max: number;
  readonly #now: () => number;
  /** nonce → expiresAtMs. Insertion order ≈ expiry order when TTLs are similar. */
  readonly #used = new Map<string, number>();
  #lastPurge = Number.NEGATIVE_INFINITY;

  constructor(opts: MemoryNonceStoreOptions = {}) {
    this.#max = opts.maxEntries ?? 100_000;
    this.#now = opts.now ?? Date.now;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.#used.size;
  }

  async markUsed(nonce: string, expiresAtMs: number): Promise<boolean> {
    if (typeof nonce !== 'string' || nonce === '') throw new TypeError('nonce must be a non-empty string');
    const now = this.#now();
    const seen = this.#used.get(nonce);
    if (seen !== undefined && seen > now) return false;
    if (seen !== undefined) this.#used.delete(nonce);
    // Nothing to remember for an already-expired state: its `exp` check refuses any replay.
    if (expiresAtMs <= now) return true;
    if (this.#used.size >= this.#max) this.#purge(now);
    if (this.#used.size >= this.#max) throw new NonceStoreFullError(this.#max);
    this.#used.set(nonce, expiresAtMs);
    return true;
  }

  /** Drop every expired entry; at most once per clock tick, so a full store costs O(n) per ms, not per call. */
  #purge(now: number): void {
    if (now === this.#lastPurge) return;
    this.#lastPurge = now;
    for (const [nonce, exp] of this.#used) if (exp <= now) this.#used.delete(nonce);
  }
}
