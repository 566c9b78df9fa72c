/**
 * One client-facing SSE stream, decoupled from the client connection that reads it.
 *
 * 2025 era (2025-11-25 transports, "Resumability and Redelivery"): a disconnect is not a
 * cancellation, and the client may resume with GET + `Last-Event-ID`. So the gateway keeps
 * reading the upstream after the client goes away, keeps the last N events it re-issued, and
 * replays them to whoever resumes with one of its ids. Event ids are the gateway's own
 * (`<stream>.<seq>`): globally unique within the session and naming the stream they belong to,
 * as the spec asks, and never the upstream's.
 *
 * Memory is bounded: while no client is attached and the replay buffer is full, the reader is
 * paused (the upstream socket backs up) instead of buffering more.
 */
import type { ServerResponse } from 'node:http';
import { encodeSseComment, encodeSseEvent } from '../codec/sse-encode.ts';
import type { JsonRpcId } from '../codec/jsonrpc.ts';
import type { Frame } from '../pipeline/types.ts';
import { MemoryEventStore, type EventStore, type ReplayBudget } from './event-store.ts';

const KEEP_ALIVE = encodeSseComment();

/** The event type a streamed event given up part-way is dispatched as: one no MCP client reads. */
export const ABANDONED_EVENT_TYPE = 'portcullis-abandoned';
/**
 * What ends a streamed event given up part-way. WHATWG HTML §9.2.6: the blank line dispatches the
 * event, with the type its `event:` field gave, wherever in the event that field came. Named, it
 * reaches only listeners of that name: the MCP SDKs read `message` events only, so none takes it
 * for a message, and the stream can go on to carry an error for the request. Its last data line
 * makes sure no reader that ignores the type could parse it as JSON either: the data ends in
 * LF + text that is no JSON token (a complete JSON text followed by it is invalid; so is a raw LF
 * inside a string).
 */
const ABANDONED_TAIL = `\ndata: portcullis: abandoned\nevent: ${ABANDONED_EVENT_TYPE}\n\n`;

export type RelayState = 'live' | 'upstream-closed' | 'complete' | 'closed';

/** How a stream ended, for audit: normally, the client left, the gateway cut it, upstream broke. */
export type StreamEnding = 'completed' | 'cancelled' | 'cut' | 'failed';

export interface RelayStreamOptions {
  id: string;
  /** Re-issue event ids (2025 era). Modern streams are not resumable and carry none. */
  resumable: boolean;
  capacity: number;
  /** Bytes of event text kept for replay, at most (see event-store.ts). */
  capacityBytes?: number;
  keepAliveMs: number;
  /** How long a detached stream waits for a client to resume before it is dropped. */
  detachedTtlMs: number;
  onClose?: () => void;
  /** Every event as it is emitted (audit segments); must not throw. */
  onEmit?: (text: string, seq: number) => void;
  /** A streamed event (beginEvent) finished: its seq and the UTF-8 bytes of its data; must not throw. */
  onEmitStreamed?: (seq: number, bytes: number) => void;
  /** Where re-issued events are kept for replay (default: in memory, `capacity` events). */
  store?: EventStore;
  /** The gateway-wide bound on replay text, shared by every stream's store (event-store.ts). */
  budget?: ReplayBudget;
  /** Whose share of the budget the stream's events count against (sessions.ts callerKey). */
  caller?: string;
}

/** One event written as its data arrives (RelayStream.beginEvent). */
export interface StreamedEvent {
  /**
   * More of the event's data. A line break in it becomes a new `data:` line, which every reader
   * joins back with LF, so the data read is the data written. Resolves when the writer may go
   * on (client backpressure). Pieces for a client other than the one that got the event's
   * beginning (it left, another resumed) are dropped: nobody gets half an event.
   */
  write(piece: string): Promise<void>;
  /** The blank line that dispatches the event. */
  end(): void;
  /**
   * Gives the event up part-way: it is ended as an ABANDONED_EVENT_TYPE event no client reads as
   * a message, and the stream can carry more events (an error for the request). Later writes
   * reject, and end does nothing.
   */
  abandon(): void;
  /** Given up (by its writer, or by the stream: an event emitted while it was open). */
  readonly abandoned: boolean;
}

export class RelayStream {
  readonly id: string;
  private readonly opts: RelayStreamOptions;
  /** Re-issued events kept for `Last-Event-ID` replay (resumable streams only). */
  private readonly store: EventStore;
  private seq = 0;
  private subscriber: ServerResponse | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private detachedTimer: NodeJS.Timeout | undefined;
  private roomWaiters: Array<() => void> = [];
  /** Set by every write; the keep-alive tick sends a comment only on a quiet interval. */
  private wroteSinceTick = false;
  /** The client an unfinished streamed event is being written to: no keep-alive may cut into it. */
  private openEventFor: ServerResponse | undefined;
  /** Gives that event up (StreamedEvent.abandon). */
  private abandonOpenEvent: (() => void) | undefined;
  state: RelayState = 'live';
  /** Last event id the upstream sent on this stream (for resuming the upstream itself). */
  upstreamLastEventId: string | undefined;
  /** The client request this stream answers (inspecting a re-opened upstream leg needs it). */
  origin: Frame | undefined;
  /** For a 2025-03-26 batch's stream: its request ids and methods (what its answers may be). */
  originBatch: ReadonlyMap<JsonRpcId, string> | undefined;
  /**
   * How the originating exchange read its answers beyond the route's inspectors: approved by a
   * person (its input_required rounds are sealed), or bound to tasks (transport/tasks.ts). A
   * re-opened leg is read the same way, or it would pass unread on a route without inspectors.
   */
  originReads: { approved: boolean; tracksTasks: boolean } | undefined;
  /** Abort the upstream read (set by whoever owns the upstream request). */
  abortUpstream: (() => void) | undefined;
  /** Events emitted on the stream (relayed from the upstream or the gateway's own). */
  eventsSent = 0;
  /** UTF-8 bytes of the SSE encoding of the events emitted. */
  bytesSent = 0;
  /**
   * Events written to a client connection, each counted once however often it was replayed, and
   * their bytes: in the 2025 era a client may leave and never resume, so what the upstream
   * produced (eventsSent) is not what the client received. Audit records the difference.
   */
  eventsDelivered = 0;
  bytesDelivered = 0;
  /** Highest seq written to a client connection (-1: none). */
  private deliveredThrough = -1;
  /** Set once, by whatever ended the stream first (see StreamEnding). */
  ending: StreamEnding | undefined;
  /** Why it ended early: 'client-disconnect', 'credential_expired', an error code, … */
  endCause: string | undefined;

  constructor(opts: RelayStreamOptions) {
    this.id = opts.id;
    this.opts = opts;
    this.store = opts.store ?? new MemoryEventStore(opts.resumable ? opts.capacity : 0, opts.capacityBytes, opts.budget, opts.caller);
  }

  get attached(): boolean {
    return this.subscriber !== undefined;
  }

  /** Attach a client response (headers already written) and replay events after `afterSeq`. */
  attach(res: ServerResponse, afterSeq = -1): void {
    this.detachCurrent();
    clearTimeout(this.detachedTimer);
    if (res.destroyed) {
      // The client left while the upstream was still opening: its 'close' has already fired.
      this.onClientGone();
      return;
    }
    this.subscriber = res;
    for (const b of this.store.after(afterSeq)) {
      res.write(b.text);
      this.delivered(b.seq, Buffer.byteLength(b.text));
    }
    res.on('close', () => {
      if (this.subscriber === res) this.onClientGone();
    });
    this.armKeepAlive();
    this.wakeReaders();
    if (this.state === 'complete' || this.state === 'closed') this.endSubscriber();
  }

  /** Parse `<stream>.<seq>`; returns undefined for ids that are not ours. */
  static parseEventId(eventId: string): { stream: string; seq: number } | undefined {
    const dot = eventId.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const seq = Number(eventId.slice(dot + 1));
    if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
    return { stream: eventId.slice(0, dot), seq };
  }

  /** True when events after `seq` are still in the store (or none were dropped). */
  canReplayFrom(seq: number): boolean {
    return this.store.canReplayFrom(seq, this.seq);
  }

  /**
   * Emit one event. Resolves when the reader may continue: at once while a client keeps up,
   * later under client backpressure or while detached with a full buffer.
   */
  async emit(data: string, opts: { event?: string; retry?: number } = {}): Promise<void> {
    if (this.state === 'closed') return;
    if (this.openEventFor !== undefined && this.openEventFor === this.subscriber) {
      // Only a stream being ended emits while a streamed event is open (a credential that
      // expired, shutdown): written now, its text would join the open data line and the client
      // would dispatch part of a message. The open event is given up first, so this one (the
      // request's error) reaches the client as a message of its own.
      this.abandonOpenEvent?.();
    }
    const seq = this.seq++;
    const text = encodeSseEvent({
      data,
      ...(opts.event !== undefined && opts.event !== 'message' ? { event: opts.event } : {}),
      ...(this.opts.resumable ? { id: `${this.id}.${seq}` } : {}),
      ...(opts.retry !== undefined ? { retry: opts.retry } : {}),
    });
    const bytes = Buffer.byteLength(text);
    this.eventsSent++;
    this.bytesSent += bytes;
    this.opts.onEmit?.(data, seq);
    if (this.opts.resumable) {
      // Detached: wait for the client before this event would push out one it has not seen
      // (events or bytes bound), or be dropped as it is kept because the caller's share of the
      // gateway-wide budget is taken (even with nothing of its own kept yet). An event that
      // alone exceeds a bound goes in anyway and is dropped from replay at once: sent live if a
      // client is there, else lost to replay.
      if (this.subscriber === undefined && !this.store.fits(text) && (this.store.size > 0 || this.store.couldFit(text))) {
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
        // Dropped while waiting (no client came back within detachedTtlMs).
        if ((this.state as string) === 'closed') return;
      }
      this.store.append({ seq, text });
    }
    const res = this.subscriber;
    if (res) {
      this.wroteSinceTick = true;
      this.delivered(seq, bytes);
      if (!res.write(text) && !res.destroyed) await new Promise<void>((resolve) => {
        const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
      return;
    }
    // Detached with the buffer at its count: pause the reader here, before it parses another.
    if (this.opts.resumable && this.store.size >= this.store.capacity) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /**
   * Starts an event whose data will come in pieces (an upstream event too large to hold, relayed
   * through the chunk path: transport/relay-sse-streamed.ts); undefined when the stream closed
   * first. It is written live only, so it waits for a client to be attached (a detached stream's
   * upstream read pauses meanwhile). It cannot be replayed: the replay buffer is emptied, so a
   * client resuming from before it is refused (canReplayFrom) instead of getting a stream with a
   * hole, while one that got it whole may resume after it.
   */
  async beginEvent(): Promise<StreamedEvent | undefined> {
    while (this.subscriber === undefined && this.state !== 'closed') await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    const res = this.subscriber;
    if (res === undefined || this.state === 'closed') return undefined;
    const seq = this.seq++;
    // The framing of encodeSseEvent, up to the data: the value follows as it arrives. (Only
    // `message` events stream: a named one is read whole, relay-sse-streamed.ts.)
    const head = encodeSseEvent({ data: '', ...(this.opts.resumable ? { id: `${this.id}.${seq}` } : {}) });
    const open = head.slice(0, -'data:\n\n'.length) + 'data: ';
    this.store.clear();
    this.eventsSent++;
    this.openEventFor = res;
    let dataBytes = 0;
    let state: 'open' | 'ended' | 'abandoned' = 'open';
    const send = async (text: string): Promise<void> => {
      const n = Buffer.byteLength(text);
      this.bytesSent += n;
      if (this.subscriber !== res || res.destroyed) return;
      this.wroteSinceTick = true;
      // What reached the client, even of an event then cut: the record's `sent` says so.
      this.bytesDelivered += n;
      if (!res.write(text)) await new Promise<void>((resolve) => {
        const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
    };
    const finish = (tail: string): void => {
      if (this.openEventFor === res) this.openEventFor = undefined;
      this.abandonOpenEvent = undefined;
      void send(tail);
      // Counted only now (its bytes were counted as they went).
      if (this.subscriber === res && !res.destroyed) this.delivered(seq, 0);
      this.opts.onEmitStreamed?.(seq, dataBytes);
    };
    const abandon = (): void => {
      if (state !== 'open') return;
      state = 'abandoned';
      finish(ABANDONED_TAIL);
    };
    this.abandonOpenEvent = abandon;
    await send(open);
    return {
      write: async (piece) => {
        // Past its end, a piece would start data lines of an event nobody began.
        if (state !== 'open') throw new Error(`RelayStream: write to a streamed event already ${state}`);
        if (piece.length === 0) return;
        dataBytes += Buffer.byteLength(piece);
        await send(piece.replace(/\r\n|\r|\n/g, '\ndata: '));
      },
      end: () => {
        if (state !== 'open') return;
        state = 'ended';
        finish('\n\n');
      },
      abandon,
      get abandoned() {
        return state === 'abandoned';
      },
    };
  }

  private delivered(seq: number, bytes: number): void {
    if (seq <= this.deliveredThrough) return;
    this.deliveredThrough = seq;
    this.eventsDelivered++;
    this.bytesDelivered += bytes;
  }

  /** Records how the stream is ending, unless something already did. */
  end(ending: StreamEnding, cause?: string): void {
    if (this.ending !== undefined) return;
    this.ending = ending;
    this.endCause = cause;
  }

  /** The upstream finished this stream normally. */
  complete(): void {
    if (this.state === 'closed') return;
    this.end('completed');
    const delivered = this.attached;
    this.state = 'complete';
    this.endSubscriber();
    // Delivered whole to a live client: nothing is left to resume, free the replay buffer now.
    if (delivered) this.close();
    else this.scheduleDrop();
  }

  /** The upstream connection closed before the stream was complete (2025-11-25 polling). */
  upstreamClosed(): void {
    if (this.state !== 'live') return;
    this.state = 'upstream-closed';
    this.endSubscriber();
    this.scheduleDrop();
  }

  close(): void {
    if (this.state === 'closed') return;
    // Closed before it completed (nobody resumed it, the gateway is shutting down, …).
    this.end('cancelled', this.attached ? 'closed' : 'client-disconnect');
    this.state = 'closed';
    this.endSubscriber();
    this.abortUpstream?.();
    this.teardown();
  }

  private teardown(): void {
    // Over: nobody can resume it now, and its text leaves the gateway-wide budget.
    this.store.clear();
    clearInterval(this.keepAlive);
    clearTimeout(this.detachedTimer);
    this.wakeReaders();
    this.opts.onClose?.();
  }

  private endSubscriber(): void {
    const res = this.subscriber;
    this.subscriber = undefined;
    clearInterval(this.keepAlive);
    if (res && !res.writableEnded) res.end();
  }

  /**
   * The client attached again elsewhere (it resumed): the old response ends. One still holding
   * unsent output is destroyed instead: a client resumes because its connection went dead, and a
   * dead connection never drains, so ending it would leave the relay waiting on it (emit, and a
   * streamed event's writes, wait for 'drain' or 'close') and the resumed stream stalled until
   * the kernel gave the socket up, minutes later (found by helper-61). Nothing is lost: what it
   * held unsent the client gets again by replay, after its Last-Event-ID.
   */
  private detachCurrent(): void {
    const res = this.subscriber;
    this.subscriber = undefined;
    if (!res || res.writableEnded) return;
    if (res.writableNeedDrain || res.writableLength > 0) res.destroy();
    else res.end();
  }

  private onClientGone(): void {
    this.subscriber = undefined;
    clearInterval(this.keepAlive);
    if (!this.opts.resumable) {
      // Modern era: closing the stream IS the cancellation (2026-07-28 streamable-http).
      if (this.state === 'live') this.end('cancelled', 'client-disconnect');
      this.close();
      return;
    }
    this.scheduleDrop();
  }

  private scheduleDrop(): void {
    clearTimeout(this.detachedTimer);
    this.detachedTimer = setTimeout(() => this.close(), this.opts.detachedTtlMs);
    this.detachedTimer.unref();
  }

  private wakeReaders(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private armKeepAlive(): void {
    if (this.opts.keepAliveMs <= 0) return;
    clearInterval(this.keepAlive);
    this.keepAlive = setInterval(() => {
      if (!this.wroteSinceTick && this.openEventFor !== this.subscriber) this.subscriber?.write(KEEP_ALIVE);
      this.wroteSinceTick = false;
    }, this.opts.keepAliveMs);
    this.keepAlive.unref();
  }
}
