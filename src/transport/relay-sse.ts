/**
 * Upstream SSE → client: each event parsed as bytes arrive, inspected as one message, re-emitted
 * on the client's RelayStream (gateway event ids, replay, keep-alives) — never buffered whole.
 * Inspectors may hold events back until later ones are inspected (StreamHints, `HeldEvents`).
 */
import type { JsonRpcId } from '../codec/jsonrpc.ts';
import { SseLimitError, SseParser, type SseEvent } from '../codec/sse.ts';
import { GatewayError } from '../core/errors.ts';
import { HeldQueue, heldText, type Held, latestRelease } from '../pipeline/held-events.ts';
import type { JsonRpcMessage, StreamHints } from '../pipeline/types.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import { mapUpstreamError, type UpstreamResponse } from '../upstream/client.ts';
import type { Exchange } from './context.ts';
import { inspectS2c, needsParse, type RelayOutcome } from './inspect-s2c.ts';
import { StreamedSseEvent } from './relay-sse-streamed.ts';
import { answerMayStream } from './streamed-answer.ts';
import { withoutForeignTaskStatus } from './tasks.ts';
import { errorMessage } from './respond.ts';

export interface SseRelayHooks {
  /** Answer an upstream server→client request the gateway dropped (2025 era). */
  answerDropped?: (id: JsonRpcId) => void;
}

/**
 * Reads an upstream SSE body into a RelayStream. Resolves when the upstream body ends, fails or
 * the stream is closed; never throws.
 */
export async function pumpSse(ex: Exchange, body: UpstreamResponse['body'], stream: RelayStream, hooks: SseRelayHooks = {}): Promise<RelayOutcome> {
  const out: RelayOutcome = { responded: false, result: undefined };
  // Events, and the data pieces of an event too large to hold (relay-sse-streamed.ts), each such
  // event's pieces after a marker with its type as it stood when its data began.
  const queue: Array<SseEvent | string | { streamedType: string }> = [];
  const limits = ex.services.config.limits;
  let piecesQueued = false;
  const parser = new SseParser(
    (ev) => {
      if (ev.streamed) piecesQueued = false;
      queue.push(ev);
    },
    {
    maxEventBytes: limits.maxEventBytes,
    onIdOnly: (id) => {
      stream.upstreamLastEventId = id;
    },
      ...(answerMayStream(ex)
        ? {
            streamDataOver: limits.maxBufferedMessageBytes,
            onData: (piece: string, type: string) => {
              if (!piecesQueued) queue.push({ streamedType: type });
              piecesQueued = true;
              queue.push(piece);
            },
          }
        : {}),
    },
  );
  const parse = needsParse(ex);
  const metrics = ex.services.metrics;
  const held = new HeldEvents(stream, () => metrics.sseEvent(ex.route.name, 's2c'));
  let streamed: StreamedSseEvent | undefined;
  let ended = false;
  try {
    for await (const chunk of body) {
      if (stream.state === 'closed' || ended) break;
      parser.push(chunk as Buffer);
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        if (typeof item === 'string') {
          // One piece per upstream read, not per `data:` line: an event of many short lines would
          // otherwise cost a rewriter and inspector pass per line (~11x the whole-event CPU).
          let piece = item;
          while (typeof queue[0] === 'string') piece += queue.shift() as string;
          await streamed!.piece(piece);
          continue;
        }
        if (!('data' in item)) {
          streamed = new StreamedSseEvent(ex, stream, out, item.streamedType, {
            get size() {
              return held.size;
            },
            amend: (amendHeld) => amendHeldEvents(ex, held, { amendHeld: [...amendHeld] }),
            release: (unsettled) => {
              // Held for a match split across events, and no inspector of the answer joined them
              // to it (its running text came too late, or never): out unamended, and recorded.
              if (unsettled && held.size > 0) ex.notes['sse_held_released_unamended'] = held.size;
              return held.release();
            },
          });
          continue;
        }
        const ev = item;
        if (ev.hasId) stream.upstreamLastEventId = ev.lastEventId;
        if (ev.streamed) {
          const r = await streamed!.end(ev);
          streamed = undefined;
          if (r.kind === 'cut') {
            ended = true;
            break;
          }
          if (r.kind === 'sent') {
            metrics.sseEvent(ex.route.name, 's2c');
            continue;
          }
          // Not an answer that may stream: read whole, like any event of its size.
          ev.data = r.data;
        }
        if (parse && ev.type !== 'message') {
          // MCP sends JSON-RPC messages as `message` events only, and clients (the SDKs) ignore
          // any other type. Its name is upstream text no inspector reads: relayed, it would be a
          // channel around them (`event: AKIA…`). Not relayed; the record counts them.
          ex.notes['sse_named_events_dropped'] = ((ex.notes['sse_named_events_dropped'] as number | undefined) ?? 0) + 1;
          continue;
        }
        const opts = { ...(ev.type !== 'message' ? { event: ev.type } : {}), ...(ev.retry !== undefined ? { retry: ev.retry } : {}) };
        // Empty data is the 2025-11-25 priming event; not a JSON-RPC message.
        if (parse && ev.data !== '') {
          held.nextArrived();
          const r = await inspectS2c(ex, ev.data, 'sse', out);
          if (r.droppedRequest !== undefined) hooks.answerDropped?.(r.droppedRequest);
          amendHeldEvents(ex, held, r);
          // Held events go out first, amended (a block verdict amends them too: the parts of what
          // was blocked are cut out), except those this event's hints keep held with it.
          const holdThis = r.holdMs !== undefined && r.message !== undefined && r.text !== undefined && r.endStream === undefined;
          if (r.text === undefined && r.endStream === undefined) {
            held.keep();
            continue;
          }
          await held.settle(r.keepHeld, holdThis);
          if (r.endStream !== undefined) {
            await held.emit(r.text!, {});
            stream.end('cut', r.endStream);
            out.responded = true;
            ended = true;
            break;
          }
          if (r.text === undefined) continue;
          if (holdThis) await held.hold({ frame: r.frameId, message: r.message!, text: r.text, opts }, r.holdMs!);
          else await held.emit(r.text, opts);
          continue;
        }
        const filtered = ev.data === '' ? undefined : withoutForeignTaskStatus(ex, ev.data);
        if (filtered === null) {
          ex.notes['task_status_dropped'] = ((ex.notes['task_status_dropped'] as number | undefined) ?? 0) + 1;
          continue;
        }
        if (filtered !== undefined) ev.data = filtered;
        if (!out.responded && ex.request && ev.data.includes('"id"')) {
          // Cheap completion detection without a parse, for resumption bookkeeping.
          out.responded = ev.data.includes('"result"') || ev.data.includes('"error"');
          // The answer's bytes, for the audit record's result digest (the stream is not parsed).
          if (out.responded && ex.services.audit) (ex.responseBody = ex.services.audit.responseBody()).addText(ev.data);
        }
        await held.follow(ev.data, opts);
      }
    }
    // The upstream ended mid-event: the event is given up and the request gets its error.
    if (parser.streaming && (await streamed?.abandon())) ended = true;
    if (ended) {
      // Cut by the gateway: stop reading the upstream and finish the client's stream here.
      stream.abortUpstream?.();
      body.destroy();
      stream.complete();
      return out;
    }
    parser.end();
    await held.release();
    const resumable = ex.session !== undefined && stream.upstreamLastEventId !== undefined;
    if (!out.responded && resumable) {
      stream.upstreamClosed();
    } else {
      if (!out.responded && ex.request?.rpcId !== undefined && stream.state !== 'closed') {
        // The upstream ended the stream without answering, and it cannot be resumed (2026, or
        // no upstream event ids): the client would wait for an answer that never comes and the
        // record would say it completed. Its request fails with a table error instead.
        const ge = new GatewayError('upstream_protocol', 'the upstream ended the stream without answering');
        ex.errorCode = ge.code;
        ex.services.metrics.countError(ge.code);
        stream.end('failed', ge.code);
        await stream.emit(JSON.stringify(errorMessage(ex.request.rpcId, ge)));
        out.responded = true;
      }
      stream.complete();
    }
  } catch (err) {
    if (stream.state === 'closed') {
      held.drop();
      return out;
    }
    // What was already inspected and cleared still goes out, before whatever error ends it.
    await held.release();
    const reason: unknown = ex.abort.signal.aborted ? ex.abort.signal.reason : undefined;
    // Aborted without a gateway reason: the client left (2026 cancellation); nothing to tell.
    if (ex.abort.signal.aborted && !(reason instanceof GatewayError)) return out;
    // An idle timeout is the gateway's decision, not a dropped connection to resume from.
    const mapped = mapUpstreamError(err);
    const e = reason instanceof GatewayError ? reason : err instanceof SseLimitError ? new GatewayError('upstream_event_too_large') : err instanceof GatewayError ? err : mapped.code === 'idle_timeout' ? mapped : undefined;
    metrics.countError(e?.code ?? mapped.code);
    ex.services.logger.warn({ route: ex.route.name, err: e?.code ?? String(err) }, 'upstream stream failed');
    // In the middle of a streamed event: it is given up, and the request gets this cause as its error.
    if (await streamed?.abandon(e ?? mapped)) return out;
    if (ex.session && stream.upstreamLastEventId !== undefined && !e) {
      // Connection-level failure in the 2025 era: resumable through the upstream's event ids.
      stream.upstreamClosed();
      return out;
    }
    stream.end(e?.code === 'upstream_event_too_large' || e?.code === 'idle_timeout' || e?.code === 'upstream_timeout' ? 'cut' : 'failed', e?.code ?? mapped.code);
    if (!out.responded && ex.request?.rpcId !== undefined) {
      // Connection-level failures keep `e` undefined (resumable above); say which one it was.
      const ge = e ?? mapped;
      ex.errorCode ??= ge.code;
      await stream.emit(JSON.stringify(errorMessage(ex.request.rpcId, ge)));
      out.responded = true;
    }
    stream.complete();
  }
  return out;
}

/**
 * Relays an upstream answer onto a client stream that is already open (the 2025 approval prompt
 * opened it): SSE events pass one by one, a JSON body becomes one event, an error status becomes
 * a JSON-RPC error for the request.
 */
export async function relayIntoStream(ex: Exchange, up: UpstreamResponse, stream: RelayStream, hooks: SseRelayHooks = {}): Promise<void> {
  const ct = String(up.headers['content-type'] ?? '');
  const id = ex.request?.rpcId ?? null;
  if (up.statusCode < 300 && ct.startsWith('text/event-stream')) {
    await pumpSse(ex, up.body, stream, hooks);
    return;
  }
  try {
    if (up.statusCode >= 300 || !ct.startsWith('application/json')) {
      await up.body.dump();
      throw new GatewayError('upstream_unavailable', `upstream answered ${up.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of up.body) {
      size += (chunk as Buffer).length;
      if (size > ex.services.config.limits.maxEventBytes) {
        up.body.destroy();
        throw new GatewayError('upstream_event_too_large');
      }
      chunks.push(chunk as Buffer);
    }
    const out: RelayOutcome = { responded: false, result: undefined };
    const r = await inspectS2c(ex, Buffer.concat(chunks, size).toString('utf8'), 'json', out);
    if (r.text !== undefined) await stream.emit(r.text);
  } catch (err) {
    const ge = err instanceof GatewayError ? err : mapUpstreamError(err);
    await stream.emit(JSON.stringify(errorMessage(id, ge)));
  }
  stream.complete();
}

type EmitOptions = { event?: string; retry?: number };

/**
 * Applies an inspection's amendments to the held events. One naming an event that went out
 * before it came (its hold expired, or the queue was full) means part of a match split across
 * events was sent: the rest is masked (or the stream cut), and the audit record says so.
 */
function amendHeldEvents(ex: Exchange, held: HeldEvents, hints: Pick<StreamHints, 'amendHeld' | 'amendPrevious'>): void {
  if (held.amend(hints) === 0) return;
  ex.notes['dlp_split_sent'] = ((ex.notes['dlp_split_sent'] as number | undefined) ?? 0) + 1;
  ex.services.logger.warn({ route: ex.route.name }, 'a match split across SSE events: an earlier part had already been sent');
}

/**
 * The SSE events kept back at the request of inspectors that look across events (StreamHints):
 * a bounded queue (pipeline/held-events.ts keeps the books, shared with the in-process model the
 * DLP tests and the eval use). An event goes out when the inspection of a later one lets it go
 * (amended if need be), when its own hold time passes on a quiet stream (every event before it
 * first), when the queue's caps push it out, or when the stream ends. Emissions are chained so a
 * timer release can never overtake or interleave with the reader's own.
 */
class HeldEvents {
  readonly #stream: RelayStream;
  readonly #count: () => void;
  readonly #queue = new HeldQueue<EmitOptions>();
  #timer: NodeJS.Timeout | undefined;
  /** Since when the deadlines are paused: a later event arrived and is being inspected. */
  #pausedAt: number | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(stream: RelayStream, count: () => void) {
    this.#stream = stream;
    this.#count = count;
  }

  /**
   * The next event has arrived: the held ones now wait for that event's inspection (bounded by
   * the inspectors' time budget), which releases them, amended if need be, or keeps them. The
   * hold bounds how long the upstream may take to send the next event, not how long the gateway
   * takes to inspect it: a slow inspector (a classifier over HTTP) used to let the timer send a
   * held event, unamended, while the event that completes a secret split across them was being
   * inspected. The time spent inspecting is added to every held event's deadline (`hold`).
   */
  nextArrived(): void {
    if (this.#queue.size === 0) return;
    clearTimeout(this.#timer);
    this.#pausedAt ??= performance.now();
  }

  /** Applies a verdict's amendments to the held events; how many named an event already sent. */
  amend(hints: Pick<StreamHints, 'amendHeld' | 'amendPrevious'>): number {
    return this.#queue.amend(hints);
  }

  /** Events held now. */
  get size(): number {
    return this.#queue.size;
  }

  /** Sends the held events the current event's hints do not keep (all, when it is not held). */
  settle(keepHeld: readonly string[] | undefined, holdingCurrent: boolean): Promise<void> {
    return this.#send(this.#queue.settle(keepHeld, holdingCurrent));
  }

  hold(e: { frame: string | undefined; message: JsonRpcMessage; text: string; opts: EmitOptions }, ms: number): Promise<void> {
    const now = performance.now();
    if (this.#pausedAt !== undefined) this.#queue.postpone(now - this.#pausedAt);
    this.#pausedAt = undefined;
    const capped = this.#queue.push({ frame: e.frame, message: e.message, text: e.text, amend: [], deadline: now + ms, latest: latestRelease(now, ms), extra: e.opts });
    // The events this one kept are its run: their hold now runs to its deadline (bounded).
    this.#queue.refresh(now + ms);
    const sent = this.#send(capped);
    this.#arm();
    return sent;
  }

  /**
   * The event just inspected is not sent (dropped): the held ones stay held, amended as it asked,
   * and their timer runs on. Flushing them here let a dropped message between two pieces of a
   * secret send the first piece before the second came.
   */
  keep(): void {
    if (this.#pausedAt !== undefined) this.#queue.postpone(performance.now() - this.#pausedAt);
    this.#pausedAt = undefined;
    this.#arm();
  }

  /**
   * An event no inspector reads (empty data: a priming event, a retry hint): queued behind the
   * held ones, released with the newest of them, never ahead of them and never their trigger.
   */
  follow(text: string, opts: EmitOptions): Promise<void> {
    const newest = this.#queue.newest;
    if (!newest) return this.emit(text, opts);
    const capped = this.#queue.push({ frame: undefined, message: newest.message, text, amend: [], deadline: newest.deadline, latest: newest.latest, extra: opts });
    return this.#send(capped);
  }

  /** Sends every held event, amended as asked so far (the stream ends or goes on unheld). */
  release(): Promise<void> {
    return this.#send(this.#queue.drain());
  }

  emit(text: string, opts: EmitOptions): Promise<void> {
    this.#chain = this.#chain.then(() => {
      this.#count();
      return this.#stream.emit(text, opts);
    });
    return this.#chain;
  }

  /** The stream failed: held events are not sent after whatever error ends it. */
  drop(): void {
    clearTimeout(this.#timer);
    this.#pausedAt = undefined;
    this.#queue.drain();
  }

  #send(events: ReadonlyArray<Held<EmitOptions>>): Promise<void> {
    if (this.#queue.size === 0) {
      clearTimeout(this.#timer);
      this.#pausedAt = undefined;
    }
    for (const h of events) void this.emit(heldText(h), h.extra);
    return this.#chain;
  }

  /** One timer, for the earliest deadline: it sends that event and every one before it. */
  #arm(): void {
    clearTimeout(this.#timer);
    const at = this.#queue.nextDeadline();
    if (at === undefined) return;
    this.#timer = setTimeout(() => {
      void this.#send(this.#queue.expire(performance.now()));
      this.#arm();
    }, Math.max(0, at - performance.now()));
    this.#timer.unref();
  }
}
