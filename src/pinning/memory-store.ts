/**
 * Pins in process memory: for tests and for gateways that accept re-learning every tool after a
 * restart (under trust-on-first-use that re-trusts whatever the server lists then, which is why
 * the configured default is the SQLite store).
 *
 * Records are copied in and out (structuredClone), so a caller mutating what it got cannot change
 * a pin behind the store's back, just as with a database.
 */
import {
  approveTransition,
  compactDraft,
  holdTransition,
  PinStoreError,
  type ApproveInput,
  type PinDraft,
  type PinRecord,
  type PinStore,
} from './store.ts';

export class MemoryPinStore implements PinStore {
  readonly #pins = new Map<string, PinRecord>();
  #closed = false;

  async get(upstream: string, tool: string): Promise<PinRecord | undefined> {
    this.#open();
    const rec = this.#pins.get(key(upstream, tool));
    return rec && structuredClone(rec);
  }

  async list(upstream?: string): Promise<PinRecord[]> {
    this.#open();
    const out = [...this.#pins.values()].filter((r) => upstream === undefined || r.upstream === upstream);
    out.sort((a, b) => compare(a.upstream, b.upstream) || compare(a.tool, b.tool));
    return out.map((r) => structuredClone(r));
  }

  async put(draft: PinDraft, expectedRevision: number | undefined): Promise<PinRecord | undefined> {
    this.#open();
    return this.#write(draft, expectedRevision);
  }

  async approve(input: ApproveInput): Promise<PinRecord> {
    this.#open();
    const rec = this.#pins.get(key(input.upstream, input.tool));
    const next = approveTransition(rec, input);
    return next === 'unchanged' ? structuredClone(rec!) : this.#write(next, rec!.revision)!;
  }

  async quarantine(upstream: string, tool: string, at: number): Promise<PinRecord> {
    this.#open();
    const rec = this.#pins.get(key(upstream, tool));
    const next = holdTransition(rec, upstream, tool, at);
    return next === 'unchanged' ? structuredClone(rec!) : this.#write(next, rec!.revision)!;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Synchronous read-check-write: nothing can interleave, so the compare-and-set is exact. */
  #write(draft: PinDraft, expectedRevision: number | undefined): PinRecord | undefined {
    const k = key(draft.upstream, draft.tool);
    const current = this.#pins.get(k);
    if (current?.revision !== expectedRevision) return undefined;
    const stored: PinRecord = structuredClone({ ...compactDraft(draft), revision: (expectedRevision ?? 0) + 1 });
    this.#pins.set(k, stored);
    return structuredClone(stored);
  }

  #open(): void {
    if (this.#closed) throw new PinStoreError('closed', 'pin store is closed');
  }
}

/** Unambiguous for any two strings (a separator character could occur in a name). */
function key(upstream: string, tool: string): string {
  return JSON.stringify([upstream, tool]);
}

/** UTF-8 byte order, like SQLite's BINARY collation, so both stores list alike. */
function compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
