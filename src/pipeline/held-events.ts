/**
 * The SSE relay's queue of held events (StreamHints), as pure bookkeeping: which events go out
 * now, in order, given an inspected event's hints, each held event's own deadline, and the caps.
 * The relay (transport/relay-sse.ts) drives it with real timers and its emission chain; the
 * in-process model that the DLP unit tests and the eval use (inspectors/dlp-two-events.ts) drives
 * it with a simulated clock, so both hold, amend and release exactly alike.
 *
 * Why a queue and not one event: a secret streamed token by token (a tool relaying model output,
 * a few characters per progress or log event) spans many events; with only the last one held,
 * every piece before it had already gone out when the piece completing the match arrived.
 *
 * Invariants: events leave in arrival order, so the queue is always the last events of the stream
 * before the one being inspected; releasing one releases every earlier one first. Bounded by
 * HELD_EVENTS_MAX events and HELD_CHARS_MAX characters (the newest event always fits), and in
 * time by each event's deadline: its own hold, extended while later pieces of its run keep coming
 * within theirs (`refresh`), never past HELD_RUN_MAX_MS after its arrival (`postpone` only adds
 * the time the gateway itself spent inspecting a later event, see relay-sse.ts `nextArrived`).
 */
import { applyPatches } from './patch.ts';
import { HELD_CHARS_MAX, HELD_EVENTS_MAX, HELD_RUN_MAX_MS, type JsonRpcMessage, type Patch, type StreamHints } from './types.ts';

/** The latest an event arriving at `now` with a hold of `ms` may be held (Held.latest). */
export function latestRelease(now: number, ms: number): number {
  return now + Math.max(ms, HELD_RUN_MAX_MS);
}

export interface Held<T> {
  /** Its frame id: how hints name it (undefined: no inspector can amend or keep it). */
  readonly frame: string | undefined;
  /** The message as forwarded (after its own inspection's patches) and its text. */
  readonly message: JsonRpcMessage;
  readonly text: string;
  /** Patches later events asked for, in the offsets of `message`: applied together on release. */
  readonly amend: Patch[];
  /** When its hold ends, on the driver's clock (ms). */
  deadline: number;
  /** The latest its hold may be extended to (`refresh`), on the same clock. */
  readonly latest: number;
  /** The driver's own data (the relay: the event's SSE fields). */
  readonly extra: T;
}

export class HeldQueue<T> {
  readonly #queue: Held<T>[] = [];
  #chars = 0;

  get size(): number {
    return this.#queue.length;
  }

  /** The newest held event. */
  get newest(): Held<T> | undefined {
    return this.#queue.at(-1);
  }

  /** The earliest deadline, for the driver's timer. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const h of this.#queue) if (min === undefined || h.deadline < min) min = h.deadline;
    return min;
  }

  /**
   * A later event's amendments, kept with the events they patch. Returns how many named no held
   * event: their event already went out (its hold expired, or a cap pushed it out), so part of a
   * match did too.
   */
  amend(hints: Pick<StreamHints, 'amendHeld' | 'amendPrevious'>): number {
    let missed = 0;
    if (hints.amendPrevious?.length) {
      // The last inspected event: an event queued behind it unread (the relay's `follow`, no
      // frame) is not the one the patches were computed for.
      const last = this.#queue.findLast((e) => e.frame !== undefined);
      if (last) last.amend.push(...hints.amendPrevious);
      else missed++;
    }
    for (const a of hints.amendHeld ?? []) {
      if (a.patches.length === 0) continue;
      const h = this.#queue.find((e) => e.frame === a.frame);
      if (h) h.amend.push(...a.patches);
      else missed++;
    }
    return missed;
  }

  /**
   * What goes out before the current event: every held event before the oldest one `keepHeld`
   * names when the current event is held too, else all of them (an event sent now cannot overtake
   * a held one).
   */
  settle(keepHeld: readonly string[] | undefined, holdingCurrent: boolean): Held<T>[] {
    if (!holdingCurrent || !keepHeld?.length) return this.drain();
    const keep = new Set(keepHeld);
    const oldest = this.#queue.findIndex((h) => h.frame !== undefined && keep.has(h.frame));
    return this.#take(oldest < 0 ? this.#queue.length : oldest);
  }

  /** Holds an event; returns the oldest events the caps push out (to send before anything else). */
  push(h: Held<T>): Held<T>[] {
    this.#queue.push(h);
    this.#chars += h.text.length;
    let n = 0;
    let chars = this.#chars;
    while (this.#queue.length - n > HELD_EVENTS_MAX || (chars > HELD_CHARS_MAX && this.#queue.length - n > 1)) chars -= this.#queue[n++]!.text.length;
    return this.#take(n);
  }

  /** Events whose hold ended by `now`, and every event before them. */
  expire(now: number): Held<T>[] {
    let last = -1;
    this.#queue.forEach((h, i) => {
      if (h.deadline <= now) last = i;
    });
    return this.#take(last + 1);
  }

  /**
   * A held event that kept earlier ones (they belong to one run) moves their deadlines to its own:
   * the hold bounds each gap between the pieces of a run, not the whole run — a token streamed at
   * a few characters per event would otherwise have its first pieces go out before the last came.
   * Each event stays bounded by its `latest` (HELD_RUN_MAX_MS after its arrival).
   */
  refresh(deadline: number): void {
    for (const h of this.#queue) if (h.deadline < deadline) h.deadline = Math.max(h.deadline, Math.min(deadline, h.latest));
  }

  /** Every deadline moves `ms` later (time the gateway spent inspecting, not the upstream's). */
  postpone(ms: number): void {
    if (ms > 0) for (const h of this.#queue) h.deadline += ms;
  }

  drain(): Held<T>[] {
    return this.#take(this.#queue.length);
  }

  #take(n: number): Held<T>[] {
    const out = this.#queue.splice(0, n);
    for (const h of out) this.#chars -= h.text.length;
    return out;
  }
}

/** A held event as it goes out: its message with every amendment applied. */
export function heldMessage(h: Held<unknown>): JsonRpcMessage {
  return h.amend.length > 0 ? applyPatches(h.message, h.amend) : h.message;
}

/** The same as text: the text it was held with when nothing amended it. */
export function heldText(h: Held<unknown>): string {
  return h.amend.length > 0 ? JSON.stringify(heldMessage(h)) : h.text;
}
