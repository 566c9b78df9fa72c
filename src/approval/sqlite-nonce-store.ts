/**
 * The replay cache on disk (`node:sqlite`, in the gateway's data directory), so single use holds
 * across a restart: with the memory store, a state redeemed before a restart could be redeemed
 * again after it, for the rest of its TTL. Processes sharing the file share the cache (the
 * upsert below is atomic in SQLite). Replicas on other hosts do not: see sealed-state.ts
 * (`replica`) for why a state is only redeemed where it was issued.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { NonceStoreFullError, type NonceStore } from './nonce-store.ts';

export interface SqliteNonceStoreOptions {
  /** Most unexpired nonces kept. Default 1,000,000 (a few tens of MB on disk). */
  maxEntries?: number;
  now?: () => number;
}

/** Expired rows are deleted at most this often. */
const PURGE_EVERY_MS = 60_000;

export class SqliteNonceStore implements NonceStore {
  readonly #db: DatabaseSync;
  readonly #claim: StatementSync;
  readonly #expiry: StatementSync;
  readonly #purge: StatementSync;
  readonly #count: StatementSync;
  readonly #max: number;
  readonly #now: () => number;
  #lastPurge = Number.NEGATIVE_INFINITY;
  #size = 0;

  constructor(path: string, opts: SqliteNonceStoreOptions = {}) {
    this.#max = opts.maxEntries ?? 1_000_000;
    this.#now = opts.now ?? Date.now;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) throw new RangeError('maxEntries must be a positive integer');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    // FULL: a nonce recorded just before a crash must survive it, or the state is good once more.
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 2000;');
    this.#db.exec('CREATE TABLE IF NOT EXISTS used_nonces (nonce TEXT PRIMARY KEY, exp INTEGER NOT NULL) STRICT; CREATE INDEX IF NOT EXISTS used_nonces_exp ON used_nonces(exp);');
    // Inserted, or taken over from an expired row: exactly one of two racing claims changes a row.
    this.#claim = this.#db.prepare('INSERT INTO used_nonces (nonce, exp) VALUES (?, ?) ON CONFLICT(nonce) DO UPDATE SET exp = excluded.exp WHERE used_nonces.exp <= ?');
    this.#expiry = this.#db.prepare('SELECT exp FROM used_nonces WHERE nonce = ?');
    this.#purge = this.#db.prepare('DELETE FROM used_nonces WHERE exp <= ?');
    this.#count = this.#db.prepare('SELECT count(*) AS n FROM used_nonces');
    this.#size = (this.#count.get() as { n: number }).n;
  }

  get size(): number {
    return this.#size;
  }

  async markUsed(nonce: string, expiresAtMs: number): Promise<boolean> {
    if (typeof nonce !== 'string' || nonce === '') throw new TypeError('nonce must be a non-empty string');
    const now = this.#now();
    if (expiresAtMs <= now) {
      // Nothing to remember for an already-expired state (its `exp` check refuses any replay),
      // but a nonce still on record is still used.
      const row = this.#expiry.get(nonce) as { exp: number } | undefined;
      return row === undefined || row.exp <= now;
    }
    if (this.#size >= this.#max || now - this.#lastPurge >= PURGE_EVERY_MS) this.#collect(now);
    if (this.#size >= this.#max) {
      // Full: a replay is still a replay (false); only a fresh nonce finds no room.
      const row = this.#expiry.get(nonce) as { exp: number } | undefined;
      if (row !== undefined && row.exp > now) return false;
      throw new NonceStoreFullError(this.#max);
    }
    const fresh = this.#claim.run(nonce, expiresAtMs, now).changes === 1;
    // An approximation between purges (a claim taking over an expired row counts twice).
    if (fresh) this.#size++;
    return fresh;
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #collect(now: number): void {
    this.#lastPurge = now;
    this.#purge.run(now);
    this.#size = (this.#count.get() as { n: number }).n;
  }
}
