/**
 * Where a resumable stream keeps the events it re-issued, for `Last-Event-ID` replay (2025-11-25
 * transports, "Resumability and Redelivery": the server MAY replay the messages that would have
 * been sent after the last event ID, on the stream that was disconnected).
 *
 * One store per stream; sequence numbers are the stream's own (`<stream>.<seq>` event ids, see
 * relay-stream.ts). The store is bounded: it keeps the newest `capacity` events, and its owner
 * pauses the upstream read while a detached stream's store is full rather than lose events.
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
  /** Forget everything (the stream is over). */
  clear(): void;
}

/** The in-process store: an array bounded at `capacity` (0: keep nothing, no replay). */
export class MemoryEventStore implements EventStore {
  readonly capacity: number;
  #events: StoredEvent[] = [];

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
  }

  append(event: StoredEvent): void {
    if (this.capacity === 0) return;
    this.#events.push(event);
    if (this.#events.length > this.capacity) this.#events.shift();
  }

  *after(seq: number): Iterable<StoredEvent> {
    for (const e of this.#events) if (e.seq > seq) yield e;
  }

  canReplayFrom(seq: number, next: number): boolean {
    const first = this.#events[0];
    // Nothing kept: only a client that already saw the last event issued (or none was issued).
    if (first === undefined) return seq >= next - 1 || next === 0;
    return first.seq <= seq + 1;
  }

  get size(): number {
    return this.#events.length;
  }

  clear(): void {
    this.#events = [];
  }
}
