/**
 * The SSE chunk path: an upstream event whose data outgrows `limits.maxBufferedMessageBytes` is
 * relayed as it arrives instead of being held whole (SseParser `streamDataOver` hands its data
 * over piece by piece; RelayStream.beginEvent writes it out the same way). Memory stays at a
 * chunk plus the inspectors' hold-back windows whatever the event's size, and the client starts
 * reading a large result while the upstream is still sending it.
 *
 * Only the answer to the exchange's own request streams, and only when a JSON answer to that
 * method could take the chunk path too (relay.ts): every inspector that reads it has onChunk,
 * and the gateway itself needs nothing from the whole message (initialize, tools/list, task
 * bindings, approvals, batches). What the message is shows in its top-level member names, read
 * by a TopLevelScanner as the data comes: `result` or `error` first makes it an answer;
 * `method` or `params` first a notification or server request, which the gateway must read whole
 * (task status filtering, server-request bookkeeping, per-method inspection). Until the scanner
 * can tell (normally within the first bytes) nothing goes out; if it is not an answer that may
 * stream, the event is collected and handed back to the ordinary, whole-message path, which keeps
 * its own bound (`maxEventBytes`).
 *
 * Once bytes have gone out, anything wrong found later ends the stream: the event is given up
 * (RelayStream ABANDONED_EVENT_TYPE: dispatched as a named event no MCP client reads, its data
 * made unparseable), so no client takes part of it for a message, and the request's JSON-RPC error
 * follows on the same stream, so the client stops waiting. That covers a block by an inspector, a
 * top-level `method` after all, an `id` that is not the request's, invalid JSON, and an upstream
 * that stops mid-event.
 *
 * The exchange record digests the answer's data as the client got it (`result_bytes`, keyed
 * HMAC made as it passes: audit/body-digest.ts).
 *
 * Events held back before this one for a match split across events wait for the answer's first
 * running text to be joined to them (inspectors/dlp-stream-lead.ts), with the answer's first bytes
 * behind them (`#pending`, bounded); then they go out, amended, and the event begins.
 *
 * Not covered, and documented in docs/content-security.md: a streamed answer is not checked for
 * ambiguous member names below the top level.
 */
import { JsonStreamError } from '../codec/json-stream.ts';
import { TopLevelError } from '../codec/json-top-level.ts';
import type { BodyDigest } from '../audit/body-digest.ts';
import type { HeldAmend } from '../pipeline/types.ts';
import { GatewayError } from '../core/errors.ts';
import type { RelayStream, StreamedEvent } from '../session/relay-stream.ts';
import type { Exchange } from './context.ts';
import { blockedError, type RelayOutcome } from './inspect-s2c.ts';
import { errorMessage } from './respond.ts';
import { AnswerCheck, answerMayStream, chunkInspection, type ChunkInspection } from './streamed-answer.ts';

/** Where a streamed event stands once its blank line came. */
export type StreamedEnd =
  /** Relayed whole (it answered the request when `answered`). */
  | { kind: 'sent' }
  /** Not an answer that may stream: its data, collected, for the whole-message path. */
  | { kind: 'collected'; data: string }
  /** Cut: the stream is over (the gateway's decision or the client gone). */
  | { kind: 'cut' };

/** The SSE events held back before a streamed answer (relay-sse.ts HeldEvents), as the answer needs them. */
export interface HeldBefore {
  readonly size: number;
  /** Applies amendments an inspector of the answer made to them. */
  amend(amendHeld: readonly HeldAmend[]): void;
  /** Sends them, amended so far; `unsettled`: no inspector of the answer let them go (noted). */
  release(unsettled: boolean): Promise<void>;
}

/**
 * Output of a streamed answer that may wait for the events held before it, at most: the answer's
 * first text is normally joined to them within its first couple of kilobytes (the DLP hold-back
 * window); an answer whose running text comes later (or never) lets them go unsettled past this.
 */
const PENDING_MAX_CHARS = 64 * 1024;

export class StreamedSseEvent {
  readonly #ex: Exchange;
  readonly #stream: RelayStream;
  readonly #out: RelayOutcome;
  readonly #before: HeldBefore;
  readonly #check: AnswerCheck;
  /** The event type when its data started ('message' unless an `event:` line came first). */
  readonly #type: string;
  /** Pieces read before the kind was known (nothing sent yet), or all of a collected event. */
  #held: string[] | undefined = [];
  #writer: StreamedEvent | undefined;
  #inspection: ChunkInspection | undefined;
  #body: BodyDigest | undefined;
  readonly #decoder = new TextDecoder();
  /** Decided: not an answer that may stream; everything is collected for the whole path. */
  #collect = false;
  #cut = false;
  /**
   * Output made while events held before the answer wait for its first text to be joined to them
   * (inspectors/dlp-stream-lead.ts): it goes out after them. Undefined once the event has begun.
   */
  #pending: string[] | undefined;
  #pendingChars = 0;
  /** An inspector of the answer let the held events go (ChunkVerdict `settlesHeld`). */
  #settled = false;

  constructor(ex: Exchange, stream: RelayStream, out: RelayOutcome, type: string, before: HeldBefore) {
    this.#ex = ex;
    this.#stream = stream;
    this.#out = out;
    this.#type = type;
    this.#before = before;
    this.#check = new AnswerCheck(ex);
  }

  /** The next piece of the event's data. */
  async piece(text: string): Promise<void> {
    if (this.#cut) return;
    if (this.#held !== undefined) {
      this.#held.push(text);
      if (this.#collect) return;
      try {
        this.#check.push(text);
      } catch {
        // Not JSON as far as it goes: the whole-message path says so, as it would for any event.
        this.#collect = true;
        return;
      }
      if (this.#check.kind === undefined) return;
      if (this.#collecting()) this.#collect = true;
      else {
        try {
          await this.#start();
        } catch (err) {
          await this.#fail(err);
        }
      }
      return;
    }
    try {
      this.#check.push(text);
      await this.#send(text);
    } catch (err) {
      await this.#fail(err);
    }
  }

  /** The event's blank line: finish it, or hand its data back. */
  async end(ev: { type: string }): Promise<StreamedEnd> {
    if (this.#cut) return { kind: 'cut' };
    if (this.#held !== undefined) {
      // Never started: collected whole (or too short to tell, which a whole-message read settles).
      return { kind: 'collected', data: this.#held.join('') };
    }
    try {
      if (this.#inspection) await this.#write(await this.#inspection.rewriter.end());
      await this.#write(this.#decoder.decode());
      if (ev.type !== this.#type) throw new GatewayError('upstream_protocol', 'the event type changed after its data began');
      this.#check.end();
      this.#inspection?.chain.finish();
      if (this.#pending !== undefined && !(await this.#begin())) return { kind: 'cut' };
      this.#writer!.end();
      this.#out.responded = true;
      return { kind: 'sent' };
    } catch (err) {
      await this.#fail(err);
      return { kind: 'cut' };
    }
  }

  /**
   * The upstream stream stopped or failed mid-event (`cause`: why): what went out of it must not
   * be completed. True when the event had begun on the client's stream, which is now over (the
   * request's error sent, #fail).
   */
  async abandon(cause: unknown = new GatewayError('upstream_protocol', 'the upstream stopped in the middle of a streamed event')): Promise<boolean> {
    if (this.#writer === undefined) return false;
    await this.#fail(cause);
    return true;
  }

  /** Not an answer that may stream (or a dropped named event's data): keep collecting. */
  #collecting(): boolean {
    return this.#check.kind === 'message' || this.#type !== 'message' || !answerMayStream(this.#ex);
  }

  async #start(): Promise<void> {
    const ex = this.#ex;
    const held = this.#held!;
    this.#held = undefined;
    // Answers no inspector reads (buffering 'none') stream as they came.
    if (ex.route.plan.plan('s2c', false, ex.request!.method).buffering === 'chunks') this.#inspection = chunkInspection(ex, ex.request!.method);
    // What the answer's inspectors say of events held before it (amendments of one already sent
    // are counted there: relay-sse.ts notes dlp_split_sent).
    if (this.#inspection) {
      this.#inspection.onHeld = (amendHeld, settles) => {
        if (amendHeld.length > 0) this.#before.amend(amendHeld);
        if (settles) this.#settled = true;
      };
    }
    // Events held back for a match split across events wait for the answer's first text to be
    // joined to them, and its first bytes wait behind them (bounded: PENDING_MAX_CHARS).
    if (this.#inspection && this.#before.size > 0) this.#pending = [];
    else if (!(await this.#begin())) return;
    for (const text of held) await this.#send(text);
  }

  /**
   * The held events go out (amended as the answer's inspectors asked), then the event begins on
   * the client's stream with what waited. False when the stream closed first (the event is cut).
   */
  async #begin(): Promise<boolean> {
    const ex = this.#ex;
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    await this.#before.release(!this.#settled);
    this.#writer = await this.#stream.beginEvent();
    if (this.#writer === undefined) {
      this.#cut = true;
      return false;
    }
    ex.notes['sse_streamed'] = true;
    // The record's `result_bytes`: the digest of the event's data as the client got it.
    if (ex.services.audit) this.#body = ex.responseBody = ex.services.audit.responseBody();
    for (const text of pending) await this.#write(text);
    return true;
  }

  async #send(text: string): Promise<void> {
    if (!this.#inspection) return this.#write(text);
    await this.#write(await this.#inspection.rewriter.push(Buffer.from(text, 'utf8')));
    if (this.#pending !== undefined && (this.#settled || this.#pendingChars > PENDING_MAX_CHARS)) await this.#begin();
  }

  #write(bytesOrText: Uint8Array | string): Promise<void> {
    const text = typeof bytesOrText === 'string' ? bytesOrText : this.#decoder.decode(bytesOrText, { stream: true });
    if (this.#pending !== undefined) {
      this.#pending.push(text);
      this.#pendingChars += text.length;
      return Promise.resolve();
    }
    if (this.#stream.state === 'closed') throw new GatewayError('client_closed', 'the client left mid-event');
    this.#body?.addText(text);
    return this.#writer!.write(text);
  }

  /**
   * Ends the stream at the gateway's decision: nothing more of this event reaches the client.
   * The event is given up (RelayStream ABANDONED_EVENT_TYPE: no client reads it as a message),
   * then the request gets its JSON-RPC error on the same stream and the stream ends, so the
   * client learns at once instead of waiting out its request timeout. Before any byte went out
   * there is nothing to give up: with output waiting behind held events, those go out (a block's
   * parts cut from them) and then the same error; with nothing begun, the error surfaces as the
   * pump's own.
   */
  async #fail(err: unknown): Promise<void> {
    const writer = this.#writer;
    // Nothing begun and nothing waiting: the error surfaces as the pump's own.
    if (writer === undefined && this.#pending === undefined) throw err;
    if (this.#cut) return;
    this.#cut = true;
    this.#inspection?.chain.finish();
    if (writer === undefined) {
      // Its first bytes were waiting behind held events: none went out. A block's parts are cut
      // from the held events, which go out before the request's error, as after a cut.
      const amendHeld = this.#inspection?.blocked?.amendHeld;
      if (amendHeld !== undefined) {
        this.#before.amend(amendHeld);
        // The block came with its join: what the held events needed is in them.
        this.#settled = true;
      }
      this.#pending = undefined;
    }
    // The client left (its stream closed, the upstream with it): nothing to tell.
    if (this.#stream.state === 'closed') return;
    // The stream gave the event up itself (a credential expired and its error went out): over.
    if (writer?.abandoned) {
      this.#stream.abortUpstream?.();
      return;
    }
    if (writer === undefined) await this.#before.release(!this.#settled);
    const ex = this.#ex;
    const id = ex.request!.rpcId!;
    const blocked = this.#inspection?.blocked;
    let answer: Record<string, unknown>;
    if (blocked) {
      ex.errorCode = 'blocked';
      ex.notes['cut'] = { reasons: blocked.reasons };
      this.#stream.end('cut', 'blocked');
      answer = blockedError(id, undefined, blocked.reasons);
    } else {
      const ge = err instanceof GatewayError ? err : new GatewayError(err instanceof JsonStreamError || err instanceof TopLevelError ? 'upstream_protocol' : 'internal');
      ex.errorCode = ge.code;
      ex.notes['cut'] = { reason: err instanceof JsonStreamError ? err.code : err instanceof TopLevelError ? 'json_syntax' : ge.code };
      this.#stream.end('cut', ge.code);
      answer = errorMessage(id, ge);
    }
    writer?.abandon();
    this.#stream.abortUpstream?.();
    await this.#stream.emit(JSON.stringify(answer));
    this.#out.responded = true;
    this.#stream.complete();
  }
}
