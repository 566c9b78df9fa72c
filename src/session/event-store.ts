/**
 * Where a resumable stream keeps the events it re-issued, for `Last-Event-ID` replay (2025-11-25
 * transports, "Resumability and Redelivery": the server MAY replay the messages that would have
 * been sent after the last event ID, on the stream that was disconnected).
 *
 * One store per stream; sequence numbers are the stream's own (`<stream>.<seq>` event ids, see
 * relay-stream.ts). The store is bounded twice: it keeps the newest `capacity` events and at most
 * `maxBytes` of their text, since one event may be as large as `limits.maxEventBytes` (16 MiB by
 * default) and a count alone would let an upstream park gigabytes per stream in the gateway. Its
 * owner pauses the upstream read while a detached stream's store is full rather than lose events;
 * an event larger than `maxBytes` on its own is sent live but cannot be replayed.
 * In memory now; a shared store (Redis) lets another replica resume the stream later.
 */

export interface StoredEvent {
  readonly seq: number;
  /** The event as encoded for the wire (SSE text, id included). */
  readonly text: string;
}

export interface EventStore {
  /** Keeps one event; the oldest goes when over capacity. */
  append(event: StoredEvent): void;
  /** The kept events after `seq`, oldest first. */
  after(seq: number): Iterable<StoredEvent>;
  /**
   * Can a client that last saw `seq` get everything after it? (`next` is the seq the stream
   * will issue next.) False once an event it missed was dropped for capacity.
   */
  canReplayFrom(seq: number, next: number): boolean;
  /** Events kept now. */
  readonly size: number;
  readonly capacity: number;
  /** Would appending an event of this text keep every event kept now (no bound passed)? */
  fits(text: string): boolean;
  /**
   * Could an event of this text be kept at all, once room is made (the store emptied, the
   * budget given back)? False for one larger than a bound on its own: waiting would not help.
   */
  couldFit(text: string): boolean;
  /** Forget everything (the stream is over). */
  clear(): void;
}

/** A caller's streams keep at most this share of the whole budget together. */
const CALLER_SHARES = 8;

/**
 * The replay text every stream of one gateway may keep together (`streams.replayBudgetBytes`):
 * the per-stream bounds times the streams a client can open is no bound at all. A store that
 * would take the total over it drops its own oldest events (their replay is lost, the stream goes
 * on), and a detached stream finds no room (`fits`), so its owner pauses its upstream read.
 *
 * Past half of it, each caller (sessions.ts callerKey) may keep an eighth: with the whole budget
 * open to every caller, one could fill it (streams left detached with large answers) and every
 * other caller's events were then dropped as they were kept, so no one else could resume (found
 * by helper-61). Past its share then, a caller's own stores drop and pause, as past the whole.
 * Below half there is room for everyone, and a single caller (one service account; every
 * anonymous client behind one proxy) may use it all.
 */
export class ReplayBudget {
  used = 0;
  max: number;
  readonly #byCaller = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** What one caller's streams may keep together. */
  get perCaller(): number {
    return Math.floor(this.max / CALLER_SHARES);
  }

  usedBy(caller: string): number {
    return this.#byCaller.get(caller) ?? 0;
  }

  /** Counts `n` more (or, negative, fewer) characters kept for `caller`'s stream. */
  add(caller: string | undefined, n: number): void {
    this.used += n;
    if (caller === undefined) return;
    const v = this.usedBy(caller) + n;
    // Callers keeping nothing leave no entry behind (anonymous callers come and go by address).
    if (v <= 0) this.#byCaller.delete(caller);
    else this.#byCaller.set(caller, v);
  }

  /** Past the whole budget, or, past half of it, past `caller`'s share? */
  over(caller: string | undefined): boolean {
    return this.used > this.max || (caller !== undefined && this.used > this.max / 2 && this.usedBy(caller) > this.perCaller);
  }

  /** Room for `n` more characters of `caller`'s? */
  room(caller: string | undefined, n: number): boolean {
    if (this.used + n > this.max) return false;
    return caller === undefined || this.used + n <= this.max / 2 || this.usedBy(caller) + n <= this.perCaller;
  }

  /** Could `n` characters of `caller`'s ever be kept (with nothing else kept)? */
  couldHold(caller: string | undefined, n: number): boolean {
    return n <= this.max && (caller === undefined || n <= this.perCaller);
  }
}

/** The in-process store: an array bounded at `capacity` (0: keep nothing, no replay). */
export class MemoryEventStore implements EventStore {
  readonly capacity: number;
  readonly maxBytes: number;
  readonly #budget: ReplayBudget | undefined;
  /** Whose share of the budget this store's events count against (undefined: the whole only). */
  readonly #caller: string | undefined;
  #events: StoredEvent[] = [];
  /** Index of the oldest kept event in #events (dropped ones are cut off in batches). */
  #head = 0;
  /** UTF-16 code units of the kept events' text (~bytes for the ASCII-heavy JSON of MCP). */
  #bytes = 0;

  constructor(capacity: number, maxBytes = Number.POSITIVE_INFINITY, budget?: ReplayBudget, caller?: string) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.maxBytes = Math.max(0, maxBytes);
    this.#budget = budget;
    this.#caller = caller;
  }

  append(event: StoredEvent): void {
    if (this.capacity === 0) return;
    this.#events.push(event);
    this.#bytes += event.text.length;
    const budget = this.#budget;
    budget?.add(this.#caller, event.text.length);
    while (this.size > this.capacity || (this.size > 0 && (this.#bytes > this.maxBytes || (budget !== undefined && budget.over(this.#caller))))) {
      const dropped = this.#events[this.#head]!.text.length;
      this.#bytes -= dropped;
      budget?.add(this.#caller, -dropped);
      this.#head++;
    }
    // Cut the dropped prefix off now and then, not per event (shift is O(n)).
    if (this.#head > 64 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
  }

  *after(seq: number): Iterable<StoredEvent> {
    for (let i = this.#head; i < this.#events.length; i++) if (this.#events[i]!.seq > seq) yield this.#events[i]!;
  }

  canReplayFrom(seq: number, next: number): boolean {
    const first = this.#events[this.#head];
    // Nothing kept: only a client that already saw the last event issued (or none was issued).
    if (first === undefined) return seq >= next - 1 || next === 0;
    return first.seq <= seq + 1;
  }

  get size(): number {
    return this.#events.length - this.#head;
  }

  fits(text: string): boolean {
    const budget = this.#budget;
    return this.size < this.capacity && this.#bytes + text.length <= this.maxBytes && (budget === undefined || budget.room(this.#caller, text.length));
  }

  couldFit(text: string): boolean {
    return this.capacity > 0 && text.length <= this.maxBytes && (this.#budget === undefined || this.#budget.couldHold(this.#caller, text.length));
  }

  clear(): void {
    this.#budget?.add(this.#caller, -this.#bytes);
    this.#events = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
