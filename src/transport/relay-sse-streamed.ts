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
import { foldName } from '../codec/ambiguous-member.ts';
import { JsonStreamError, JsonStreamRewriter, type NumberToken } from '../codec/json-stream.ts';
import { TopLevelError, TopLevelScanner } from '../codec/json-top-level.ts';
import type { BodyDigest } from '../audit/body-digest.ts';
import type { HeldAmend } from '../pipeline/types.ts';
import { GatewayError } from '../core/errors.ts';
import { ChunkChain } from '../pipeline/pipeline.ts';
import type { RelayStream, StreamedEvent } from '../session/relay-stream.ts';
import { inspectorContext, observer, type Exchange } from './context.ts';
import { blockedError, gatewayReadsAnswer, type RelayOutcome } from './inspect-s2c.ts';
import { errorMessage } from './respond.ts';

/** Where a streamed event stands once its blank line came. */
export type StreamedEnd =
  /** Relayed whole (it answered the request when `answered`). */
  | { kind: 'sent' }
  /** Not an answer that may stream: its data, collected, for the whole-message path. */
  | { kind: 'collected'; data: string }
  /** Cut: the stream is over (the gateway's decision or the client gone). */
  | { kind: 'cut' };

/**
 * May an answer on this exchange stream through? The same conditions as a JSON answer's chunk
 * path (relay.ts, inspect-s2c.ts passesJsonUnread), decided before the first byte goes out.
 */
export function answerMayStream(ex: Exchange): boolean {
  const m = ex.request?.method;
  if (m === undefined || ex.request?.rpcId === undefined || ex.batchMethods || gatewayReadsAnswer(ex)) return false;
  return ex.route.plan.plan('s2c', false, m).buffering !== 'message';
}

/** The chunk path's inspection of one streamed answer: its rewriter, and what stopped it. */
export interface ChunkInspection {
  rewriter: JsonStreamRewriter;
  chain: ChunkChain;
  /** Set when an inspector blocked (the rewriter then fails with GatewayError 'blocked'). */
  blocked: { reasons: string[]; amendHeld?: HeldAmend[] } | undefined;
  /** What the inspectors said of the SSE events held before the answer (ChunkVerdict). */
  onHeld?: (amendHeld: readonly HeldAmend[], settles: boolean) => void;
}

/**
 * The route's chunk inspectors over an answer's string leaves (object keys too, as
 * `<object>/~key`: a secret can travel as a key), for the JSON body and the SSE event paths alike.
 */
export function chunkInspection(ex: Exchange, method: string): ChunkInspection {
  const plan = ex.route.plan.plan('s2c', false, method);
  const chain = new ChunkChain(plan.chunkInspectors, inspectorContext(ex, 's2c'), ex.route.cfg.inspectorTimeoutMs, observer(ex));
  const frameId = `s2c-${ex.frameSeq++}`;
  const push = async (piece: { pointer: string; text: string; end: boolean; number?: true }): Promise<string> => {
    const v = await chain.push({ frameId, direction: 's2c', method, ...piece });
    if (v.kind === 'block') {
      inspection.blocked = v;
      throw new GatewayError('blocked');
    }
    if (v.amendHeld !== undefined || v.settlesHeld) inspection.onHeld?.(v.amendHeld ?? [], v.settlesHeld === true);
    return v.text;
  };
  const inspection: ChunkInspection = {
    chain,
    blocked: undefined,
    rewriter: new JsonStreamRewriter({
      keys: true,
      onString: (piece) => push({ pointer: piece.pointer, text: piece.text, end: piece.end }),
      // Numbers carry content too (a card number in structuredContent): those an inspector reads
      // go through the chain whole; the rest are copied through.
      ...(chain.readsNumbers
        ? { onNumber: (token: NumberToken) => (chain.readsNumber(token.text) ? push({ pointer: token.pointer, text: token.text, end: true, number: true }) : undefined) }
        : {}),
    }),
  };
  return inspection;
}

const ANSWER_KEYS = new Set(['result', 'error']);
const MESSAGE_KEYS = new Set(['method', 'params']);
/** Distinct top-level names a streamed answer may have (JSON-RPC needs 3; extensions a few more). */
const MAX_TOP_LEVEL_NAMES = 64;
/** JSON-RPC 2.0 §4/§5 members, by folded name (ambiguous-member.ts says why folding matters). */
const ENVELOPE = new Map(['jsonrpc', 'id', 'method', 'params', 'result', 'error'].map((n) => [foldName(n), n]));

/**
 * Is a message read in pieces the answer to this exchange's request? Its top-level members tell
 * (TopLevelScanner): `result` or `error` and no `method` or `params`, `jsonrpc` "2.0", and the
 * request's `id` (JSON-RPC 2.0 §5: the same value; `"1"` does not answer `1`). The relay paths
 * that stream an answer feed it as they go and ask at the end, before its last bytes go out: a
 * client matching ids loosely (the TypeScript SDK) would otherwise take another request's
 * answer, inspected under this request's method, as that request's. Its top-level names are held
 * to the rules the whole-message path applies (codec/ambiguous-member.ts): no two equal under
 * case folding, protocol members spelled exactly, not both `result` and `error`.
 */
export class AnswerCheck {
  readonly #ex: Exchange;
  readonly #decoder = new TextDecoder();
  readonly scanner: TopLevelScanner;
  kind: 'answer' | 'message' | undefined;
  readonly #seen = new Set<string>();

  constructor(ex: Exchange) {
    this.#ex = ex;
    this.scanner = new TopLevelScanner({
      capture: ['id', 'jsonrpc'],
      // Room for this request's id however long the client made it (as JSON text, escapes and all).
      maxCaptured: Math.max(256, 6 * JSON.stringify(ex.request?.rpcId ?? null).length + 2),
      onKey: (name) => {
        const folded = foldName(name);
        const exact = ENVELOPE.get(folded);
        if (this.#seen.has(folded) || (exact !== undefined && exact !== name)) throw new GatewayError('upstream_protocol', 'ambiguous JSON in a streamed answer');
        this.#seen.add(folded);
        // A JSON-RPC answer has a handful of members; a streamed one may not grow this set at will.
        if (this.#seen.size > MAX_TOP_LEVEL_NAMES) throw new GatewayError('upstream_protocol', 'too many top-level members in a streamed answer');
        if (this.#seen.has('result') && this.#seen.has('error')) throw new GatewayError('upstream_protocol', 'an answer with both result and error');
        if (this.kind === undefined) {
          if (ANSWER_KEYS.has(name)) this.kind = 'answer';
          else if (MESSAGE_KEYS.has(name)) this.kind = 'message';
        } else if (this.kind === 'answer' && MESSAGE_KEYS.has(name)) {
          // An answer that turns out to carry a method: a different message than the one relayed.
          throw new GatewayError('upstream_protocol', 'a streamed answer carries a method');
        }
      },
    });
  }

  /** More of the message, as bytes (a JSON body) or text (an SSE event's data). */
  push(piece: Uint8Array | string): void {
    this.scanner.push(typeof piece === 'string' ? piece : this.#decoder.decode(piece, { stream: true }));
    if (this.scanner.shape === 'other') this.kind = 'message';
  }

  /** The message is complete: throws unless it is this exchange's answer. */
  end(): void {
    this.scanner.push(this.#decoder.decode());
    this.scanner.end();
    const raw = this.scanner.captured('id');
    const id: unknown = raw === undefined || raw === 'too-long' ? undefined : JSON.parse(raw);
    if (this.kind !== 'answer' || this.scanner.captured('jsonrpc') !== '"2.0"' || id === undefined || id !== this.#ex.request?.rpcId) {
      throw new GatewayError('upstream_protocol', 'a streamed answer that is not the answer to this request');
    }
  }
}

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
    if (this.#inspection && this.#before.size > 0) {
      // Events held back for a match split across events wait for the answer's first text to be
      // joined to them, and its first bytes wait behind them (bounded: PENDING_MAX_CHARS).
      this.#pending = [];
      this.#inspection.onHeld = (amendHeld, settles) => {
        if (amendHeld.length > 0) this.#before.amend(amendHeld);
        if (settles) this.#settled = true;
      };
    } else if (!(await this.#begin())) return;
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
   * there is nothing to give up; the error surfaces as the pump's own.
   */
  async #fail(err: unknown): Promise<void> {
    const writer = this.#writer;
    if (writer === undefined) {
      // Nothing of the event went out. A block's parts in the held events are cut from them
      // before the relay sends them ahead of the request's error (relay-sse.ts).
      const amendHeld = this.#inspection?.blocked?.amendHeld;
      if (this.#pending !== undefined && amendHeld !== undefined) this.#before.amend(amendHeld);
      this.#pending = undefined;
      this.#cut = true;
      throw err;
    }
    if (this.#cut) return;
    this.#cut = true;
    this.#inspection?.chain.finish();
    // The client left (its stream closed, the upstream with it): nothing to tell.
    if (this.#stream.state === 'closed') return;
    // The stream gave the event up itself (a credential expired and its error went out): over.
    if (writer.abandoned) {
      this.#stream.abortUpstream?.();
      return;
    }
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
    writer.abandon();
    this.#stream.abortUpstream?.();
    await this.#stream.emit(JSON.stringify(answer));
    this.#out.responded = true;
    this.#stream.complete();
  }
}
