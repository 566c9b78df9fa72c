/**
 * A bounded least-recently-used map whose entries also expire.
 *
 * Used for verified-credential caches (keyed by a SHA-256 digest of the credential, never the
 * credential itself) and for upstream token caches. Bounded so a flood of distinct tokens cannot
 * grow memory without limit: the least recently used entry is evicted first. Expiry is per entry
 * because a cached verification must never outlive the token it vouches for (its `exp`).
 *
 * A JavaScript `Map` iterates in insertion order, so re-inserting on every hit keeps the least
 * recently used entry first: `get` and `set` are O(1).
 */
export class TtlLru<K, V> {
  readonly maxEntries: number;
  private readonly now: () => number;
  private readonly map = new Map<K, { value: V; expiresAt: number }>();

  constructor(maxEntries: number, now: () => number = Date.now) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
    this.now = now;
  }

  get size(): number {
    return this.map.size;
  }

  /** The live value for `key`, refreshing its recency; undefined when absent or expired. */
  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    this.map.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.map.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAt` (ms since epoch); an already-expired entry is not stored. */
  set(key: K, value: V, expiresAt: number): void {
    this.map.delete(key);
    if (!(expiresAt > this.now())) return;
    this.map.set(key, { value, expiresAt });
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
