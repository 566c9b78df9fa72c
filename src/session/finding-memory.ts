/**
 * Session memory: what the inspectors found, counted per caller over time, so policy can act
 * on accumulation ("block after the third PII finding this hour") rather than on one message.
 *
 * Counts are kept per caller, under the key `callerKey` (session/sessions.ts) gives: issuer +
 * subject for an authenticated principal, subject + client address for an anonymous one (else
 * one anonymous caller's findings would count against every caller of an open route). One-minute
 * buckets over the last hour, plus a running total. That covers both eras: a 2026-07-28 caller
 * has no session, and a 2025 caller opening a fresh session must not reset its history. Policy reads them as
 * `session.counters["<kind>"]` (total) and `session.counters["<kind>_1h"]` (last 60 minutes).
 *
 * Memory is bounded: at most `maxPrincipals` callers (least recently active evicted), 60 buckets
 * per kind, and only the kinds inspectors record.
 */
const BUCKET_MS = 60_000;
const BUCKETS = 60;

interface KindCounts {
  total: number;
  /** Minute index (ms / 60 000) → count; at most BUCKETS entries. */
  minutes: Map<number, number>;
}

export class FindingMemory {
  readonly #byPrincipal = new Map<string, Map<string, KindCounts>>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(opts: { maxPrincipals?: number; now?: () => number } = {}) {
    this.#max = opts.maxPrincipals ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Adds `n` occurrences of `kind` (e.g. `dlp_findings`, `pii_findings`) for `caller` (a callerKey). */
  record(caller: string, kind: string, n = 1): void {
    if (!(n > 0)) return;
    let kinds = this.#byPrincipal.get(caller);
    if (kinds) {
      // Re-insert: Map order is the LRU order.
      this.#byPrincipal.delete(caller);
    } else {
      kinds = new Map();
      if (this.#byPrincipal.size >= this.#max) {
        const oldest = this.#byPrincipal.keys().next();
        if (!oldest.done) this.#byPrincipal.delete(oldest.value);
      }
    }
    this.#byPrincipal.set(caller, kinds);
    let c = kinds.get(kind);
    if (!c) {
      c = { total: 0, minutes: new Map() };
      kinds.set(kind, c);
    }
    const minute = Math.floor(this.#now() / BUCKET_MS);
    c.total += n;
    c.minutes.set(minute, (c.minutes.get(minute) ?? 0) + n);
    for (const m of c.minutes.keys()) if (m <= minute - BUCKETS) c.minutes.delete(m);
  }

  /** `{ kind: total, kind_1h: last hour }` for every kind recorded for `caller` (a callerKey). */
  counters(caller: string): Record<string, number> {
    const kinds = this.#byPrincipal.get(caller);
    if (!kinds) return {};
    const minute = Math.floor(this.#now() / BUCKET_MS);
    const out: Record<string, number> = {};
    for (const [kind, c] of kinds) {
      let hour = 0;
      for (const [m, n] of c.minutes) if (m > minute - BUCKETS) hour += n;
      out[kind] = c.total;
      out[`${kind}_1h`] = hour;
    }
    return out;
  }

  get size(): number {
    return this.#byPrincipal.size;
  }
}
