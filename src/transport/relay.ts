/**
 * Upstream → client: relays a response body through the s2c pipeline.
 *
 * - SSE bodies are parsed event by event as bytes arrive and re-emitted one by one (never
 *   buffered whole); each event is one JSON-RPC message and one Frame.
 * - JSON bodies stream straight through when no inspector wants them, are buffered up to
 *   `maxBufferedMessageBytes` when one does, and beyond that take the chunk path (string leaves
 *   streamed with a hold-back window) or are refused, as the buffering plan says.
 */
import type { ServerResponse } from 'node:http';
import { classify, type Classified, type JsonRpcId } from '../codec/jsonrpc.ts';
import { JsonStreamError, JsonStreamRewriter } from '../codec/json-stream.ts';
import { SseLimitError, SseParser, type SseEvent } from '../codec/sse.ts';
import { GatewayError, rpcError } from '../core/errors.ts';
import { ChunkChain } from '../pipeline/pipeline.ts';
import { applyPatches } from '../pipeline/patch.ts';
import type { JsonRpcMessage, Patch } from '../pipeline/types.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import { mapUpstreamError, type UpstreamResponse } from '../upstream/client.ts';
import { wrapApprovedInputRequired } from './approval.ts';
import { MAX_DIGESTED_BODY } from './audit-tap.ts';
import { inspect, inspectorContext, makeFrame, observer, type Exchange } from './context.ts';
import { blockError, errorMessage, pickHeaders, readStatusBody, relayUpstreamStatus, sendJson } from './respond.ts';

/** What the relay learned that the caller needs (initialize capture, completion). */
export interface RelayOutcome {
  /** The final response to the exchange's request was relayed. */
  responded: boolean;
  /** First result seen for the request (initialize result, for version capture). */
  result: JsonRpcMessage | undefined;
}

/** Resolves when the client can take more bytes, or has gone (never hangs on a dead socket). */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** One inspected server→client message: what to forward (undefined: drop) and stream hints. */
interface S2cResult {
  text: string | undefined;
  droppedRequest?: JsonRpcId;
  /** The message as forwarded (parsed), for amending it while it is held. */
  message?: JsonRpcMessage;
  holdMs?: number;
  amendPrevious?: Patch[];
  /** The stream must end after `text` (a blocked message mid-stream); the error code. */
  endStream?: string;
}

function blockedError(id: JsonRpcId | null, message: string | undefined, reasons: readonly string[]): JsonRpcMessage {
  return { jsonrpc: '2.0', id, error: rpcError('blocked', message, { reasons }) };
}

/** The method a server→client message is about: its own, or the request it answers. */
function s2cMethod(ex: Exchange, c: Classified): string {
  if (c.kind === 'request' || c.kind === 'notification') return c.method;
  if (c.id !== undefined && ex.request?.rpcId === c.id) return ex.request.method;
  if (c.id !== undefined) return ex.batchMethods?.get(c.id) ?? '';
  return '';
}

/**
 * Inspects one server→client message. Returns the JSON text to forward, or undefined to drop it.
 * A blocked result becomes a JSON-RPC error for the same id; a blocked notification or server
 * request is dropped (a dropped server request is answered upstream with an error by the caller).
 */
async function inspectS2c(
  ex: Exchange,
  data: string,
  carrier: 'json' | 'sse',
  out: RelayOutcome,
): Promise<S2cResult> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new GatewayError('upstream_protocol', 'upstream sent a message that is not JSON');
  }
  if (Array.isArray(parsed) && ex.batchMethods) {
    // 2025-03-26 batch response: every element is a message of its own.
    const texts: string[] = [];
    for (const element of parsed) {
      const r = await inspectMessage(ex, element, JSON.stringify(element), carrier, out);
      if (r.text !== undefined) texts.push(r.text);
    }
    return { text: `[${texts.join(',')}]` };
  }
  return inspectMessage(ex, parsed, data, carrier, out);
}

async function inspectMessage(
  ex: Exchange,
  parsed: unknown,
  text: string,
  carrier: 'json' | 'sse',
  out: RelayOutcome,
): Promise<S2cResult> {
  const c = classify(parsed);
  if (!c.ok) throw new GatewayError('upstream_protocol', c.reason);
  let data = text;
  const msg = c.value;
  if ((msg.kind === 'result' || msg.kind === 'error') && msg.id !== undefined && msg.id === ex.request?.rpcId) {
    out.responded = true;
    ex.response = msg.message;
    if (ex.approved && msg.kind === 'result') {
      const wrapped = wrapApprovedInputRequired(ex, msg.message);
      if (wrapped !== msg.message) {
        msg.message = wrapped;
        data = JSON.stringify(wrapped);
      }
    }
    if (msg.kind === 'result') {
      out.result = msg.message;
      if (ex.request?.method === 'tools/list') {
        ex.route.paramHeaders.learn(msg.message['result']);
        ex.route.tools.learn(msg.message['result']);
      }
    }
  }
  if (msg.kind === 'request' && ex.session) ex.session.pendingServerRequests.set(msg.id, msg.method);
  const frame = makeFrame(ex, 's2c', msg, s2cMethod(ex, msg), { transport: carrier, bytes: data.length });
  const result = await inspect(ex, frame);
  if (!result) return { text: data };
  const hints = { message: result.message, ...(result.holdMs ? { holdMs: result.holdMs } : {}), ...(result.amendPrevious ? { amendPrevious: result.amendPrevious } : {}) };
  if (result.verdict.kind === 'allow') return { text: data, ...hints };
  if (result.verdict.kind === 'redact') return { text: JSON.stringify(result.message), ...hints };
  // block (and require-approval, which has no approval channel yet: fail closed)
  const v = result.verdict;
  if (msg.kind === 'result' || msg.kind === 'error') {
    const ge = blockError(v.kind === 'block' ? v : { reasons: v.reasons, message: 'approval required' });
    ex.errorCode = ge.code;
    return { text: JSON.stringify(errorMessage(msg.id ?? null, ge)) };
  }
  if (msg.kind === 'request') {
    ex.session?.pendingServerRequests.delete(msg.id);
    return { text: undefined, droppedRequest: msg.id };
  }
  // A blocked message inside the stream answering a request (a leak in a progress or log
  // notification): the request fails with the error and the stream ends there, rather than
  // going on with a hole the client cannot see.
  if (carrier === 'sse' && ex.request?.rpcId !== undefined && v.kind === 'block') {
    const ge = blockError(v);
    ex.errorCode = ge.code;
    return { text: JSON.stringify(errorMessage(ex.request.rpcId, ge)), endStream: ge.code };
  }
  return { text: undefined };
}

function needsParse(ex: Exchange): boolean {
  const m = ex.request?.method;
  return !ex.route.plan.isEmpty || m === 'initialize' || (m === 'tools/list' && ex.era === 'modern') || ex.approved === true;
}

/** Does a JSON answer to this exchange go to the client unread (no inspector, no capture)? */
export function passesJsonUnread(ex: Exchange): boolean {
  if (!needsParse(ex)) return true;
  const m = ex.request?.method;
  if (m === undefined || m === 'initialize' || m === 'tools/list' || ex.approved) return false;
  return ex.route.plan.plan('s2c', false, m).buffering === 'none';
}

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
  const queue: SseEvent[] = [];
  const parser = new SseParser((ev) => queue.push(ev), {
    maxEventBytes: ex.services.config.limits.maxEventBytes,
    onIdOnly: (id) => {
      stream.upstreamLastEventId = id;
    },
  });
  const parse = needsParse(ex);
  const metrics = ex.services.metrics;
  const held = new HeldEvent(stream, () => metrics.sseEvent(ex.route.name, 's2c'));
  let ended = false;
  try {
    for await (const chunk of body) {
      if (stream.state === 'closed' || ended) break;
      parser.push(chunk as Buffer);
      for (let ev = queue.shift(); ev !== undefined; ev = queue.shift()) {
        if (ev.hasId) stream.upstreamLastEventId = ev.lastEventId;
        const opts = { ...(ev.type !== 'message' ? { event: ev.type } : {}), ...(ev.retry !== undefined ? { retry: ev.retry } : {}) };
        // Empty data is the 2025-11-25 priming event; not a JSON-RPC message.
        if (parse && ev.data !== '') {
          const r = await inspectS2c(ex, ev.data, 'sse', out);
          if (r.droppedRequest !== undefined) hooks.answerDropped?.(r.droppedRequest);
          // A held previous event goes out first, amended if this one completed a match in it.
          await held.release(r.amendPrevious);
          if (r.endStream !== undefined) {
            await held.emit(r.text!, {});
            stream.end('cut', r.endStream);
            out.responded = true;
            ended = true;
            break;
          }
          if (r.text === undefined) continue;
          if (r.holdMs !== undefined && r.message !== undefined) held.hold(r.text, r.message, opts, r.holdMs);
          else await held.emit(r.text, opts);
          continue;
        }
        if (!out.responded && ex.request && ev.data.includes('"id"')) {
          // Cheap completion detection without a parse, for resumption bookkeeping.
          out.responded = ev.data.includes('"result"') || ev.data.includes('"error"');
        }
        await held.release();
        await held.emit(ev.data, opts);
      }
    }
    if (ended) {
      // Cut by the gateway: stop reading the upstream and finish the client's stream here.
      stream.abortUpstream?.();
      body.destroy();
      stream.complete();
      return out;
    }
    parser.end();
    await held.release();
    if (out.responded || !ex.session || stream.upstreamLastEventId === undefined) stream.complete();
    else stream.upstreamClosed();
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
    const e = reason instanceof GatewayError ? reason : err instanceof SseLimitError ? new GatewayError('upstream_event_too_large') : err instanceof GatewayError ? err : undefined;
    metrics.countError(e?.code ?? mapUpstreamError(err).code);
    ex.services.logger.warn({ route: ex.route.name, err: e?.code ?? String(err) }, 'upstream stream failed');
    if (ex.session && stream.upstreamLastEventId !== undefined && !e) {
      // Connection-level failure in the 2025 era: resumable through the upstream's event ids.
      stream.upstreamClosed();
      return out;
    }
    stream.end(e?.code === 'upstream_event_too_large' || e?.code === 'idle_timeout' || e?.code === 'upstream_timeout' ? 'cut' : 'failed', e?.code ?? mapUpstreamError(err).code);
    if (!out.responded && ex.request?.rpcId !== undefined) {
      // Connection-level failures keep `e` undefined (resumable above); say which one it was.
      const ge = e ?? mapUpstreamError(err);
      await stream.emit(JSON.stringify(errorMessage(ex.request.rpcId, ge)));
      out.responded = true;
    }
    stream.complete();
  }
  return out;
}

/** Relays a JSON (non-SSE) upstream response. */
export async function relayJson(ex: Exchange, up: UpstreamResponse, extraHeaders: Record<string, string>): Promise<RelayOutcome> {
  const out: RelayOutcome = { responded: false, result: undefined };
  const res = ex.res;
  const limits = ex.services.config.limits;
  const headers = { ...pickHeaders(up.headers), ...extraHeaders };
  const plan = ex.request ? ex.route.plan.plan('s2c', false, ex.request.method) : undefined;
  const inspecting = !passesJsonUnread(ex);

  // A declared length over the limit is refused before anything is committed to the client.
  if (Number(up.headers['content-length'] ?? 0) > limits.maxEventBytes) {
    up.body.destroy();
    throw new GatewayError('upstream_event_too_large');
  }
  if (!inspecting) {
    // Pass-through: stream bytes as they come, bounded by the event limit. One chunk is held
    // back so a small body goes out in one write with a Content-Length (no chunked framing,
    // one syscall), and the head goes out only once the first chunk passed the limit check.
    let size = 0;
    let held: Buffer | undefined;
    const keep: Uint8Array[] | undefined = ex.services.audit ? (ex.responseBytes = []) : undefined;
    try {
      for await (const chunk of up.body) {
        size += (chunk as Buffer).length;
        if (size > limits.maxEventBytes) {
          up.body.destroy();
          if (res.headersSent) res.destroy();
          throw new GatewayError('upstream_event_too_large');
        }
        if (keep && size <= MAX_DIGESTED_BODY) keep.push(chunk as Buffer);
        if (held === undefined) {
          held = chunk as Buffer;
          continue;
        }
        if (!res.headersSent) res.writeHead(up.statusCode, headers);
        const ok = res.write(held);
        held = chunk as Buffer;
        if (!ok) await drained(res);
        if (res.destroyed) {
          up.body.destroy();
          return out;
        }
      }
    } catch (err) {
      if (res.headersSent) res.destroy();
      throw err instanceof GatewayError ? err : mapUpstreamError(err);
    }
    if (!res.headersSent) {
      res.writeHead(up.statusCode, { ...headers, 'content-length': String(held?.length ?? 0) });
    }
    res.end(held);
    out.responded = true;
    return out;
  }

  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = up.body[Symbol.asyncIterator]();
  const next = async () => {
    try {
      return await iterator.next();
    } catch (err) {
      throw err instanceof GatewayError ? err : mapUpstreamError(err);
    }
  };
  for (let step = await next(); !step.done; step = await next()) {
    const chunk = step.value as Buffer;
    size += chunk.length;
    chunks.push(chunk);
    if (size > limits.maxEventBytes) {
      up.body.destroy();
      throw new GatewayError('upstream_event_too_large');
    }
    if (size > limits.maxBufferedMessageBytes) {
      if (plan?.buffering === 'chunks') return relayJsonChunks(ex, up, headers, chunks, iterator, out);
      up.body.destroy();
      const ge = new GatewayError('message_too_large', `over ${limits.maxBufferedMessageBytes} bytes and an inspector needs the whole message`);
      sendJson(res, 200, errorMessage(ex.request?.rpcId ?? null, ge));
      return out;
    }
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  const r = await inspectS2c(ex, text, 'json', out);
  const body = r.text ?? JSON.stringify(blockedError(ex.request?.rpcId ?? null, undefined, []));
  delete headers['content-length'];
  res.writeHead(up.statusCode, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return out;
}

/** The chunk path for an oversized JSON response: string leaves inspected piece by piece. */
async function relayJsonChunks(
  ex: Exchange,
  up: UpstreamResponse,
  headers: Record<string, string>,
  head: Buffer[],
  rest: AsyncIterator<unknown>,
  out: RelayOutcome,
): Promise<RelayOutcome> {
  const res = ex.res;
  const method = ex.request?.method ?? '';
  const plan = ex.route.plan.plan('s2c', false, method);
  const chain = new ChunkChain(plan.chunkInspectors, inspectorContext(ex, 's2c'), ex.route.cfg.inspectorTimeoutMs, observer(ex));
  const frameId = `s2c-${ex.frameSeq++}`;
  let blocked: { reasons: string[]; message?: string } | undefined;
  const rewriter = new JsonStreamRewriter({
    onString: async (piece) => {
      const v = await chain.push({ frameId, direction: 's2c', method, pointer: piece.pointer, text: piece.text, end: piece.end });
      if (v.kind === 'block') {
        blocked = v;
        throw new GatewayError('blocked');
      }
      return v.text;
    },
  });
  res.writeHead(up.statusCode, headers);
  const limit = ex.services.config.limits.maxEventBytes;
  let size = 0;
  try {
    for (const chunk of head) {
      size += chunk.length;
      res.write(await rewriter.push(chunk));
    }
    for (let step = await rest.next(); !step.done; step = await rest.next()) {
      const chunk = step.value as Buffer;
      size += chunk.length;
      if (size > limit) throw new GatewayError('upstream_event_too_large');
      const outBytes = await rewriter.push(chunk);
      if (outBytes.length > 0 && !res.write(outBytes)) await drained(res);
      if (res.destroyed) throw new GatewayError('upstream_unavailable', 'client left');
    }
    res.end(await rewriter.end());
    out.responded = true;
  } catch (err) {
    // Bytes of this body already went out: a clean cut (no complete JSON reaches the client),
    // never a partial document presented as whole.
    up.body.destroy();
    res.destroy();
    if (blocked) ex.notes['cut'] = { reasons: blocked.reasons };
    else if (!(err instanceof JsonStreamError) && !(err instanceof GatewayError)) throw err;
    ex.notes['cut'] ??= { reason: err instanceof GatewayError ? err.code : 'json_syntax' };
  }
  return out;
}

/**
 * Relays an upstream HTTP error (or other non-stream status). With inspectors on the route, its
 * body is a server→client message like any other: a JSON-RPC body is inspected, anything else is
 * dropped (the status still tells the client what happened), so an error text can't carry data
 * past the pipeline.
 */
export async function relayStatus(ex: Exchange, up: UpstreamResponse): Promise<void> {
  if (ex.route.plan.isEmpty) return relayUpstreamStatus(ex.res, up);
  const body = await readStatusBody(up);
  const out: RelayOutcome = { responded: false, result: undefined };
  let text: string | undefined;
  try {
    text = (await inspectS2c(ex, body.toString('utf8'), 'json', out)).text;
  } catch {
    text = undefined;
  }
  const headers = pickHeaders(up.headers, ['allow', 'retry-after']);
  if (text !== undefined) headers['content-type'] = 'application/json';
  ex.res.writeHead(up.statusCode, headers);
  ex.res.end(text ?? '');
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
 * At most one SSE event kept back at the request of an inspector that looks across events (see
 * StreamHints): it goes out when the next event has been inspected (amended if that one asks),
 * when its hold time passes on a quiet stream, or when the stream ends. Emissions are chained so
 * a timer release can never overtake or interleave with the reader's own.
 */
class HeldEvent {
  readonly #stream: RelayStream;
  readonly #count: () => void;
  #held: { text: string; message: JsonRpcMessage; opts: EmitOptions; timer: NodeJS.Timeout } | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(stream: RelayStream, count: () => void) {
    this.#stream = stream;
    this.#count = count;
  }

  hold(text: string, message: JsonRpcMessage, opts: EmitOptions, ms: number): void {
    const timer = setTimeout(() => void this.release(), ms);
    timer.unref();
    this.#held = { text, message, opts, timer };
  }

  /** Sends the held event (if any), with `amend` applied to it. */
  release(amend?: readonly Patch[]): Promise<void> {
    const h = this.#held;
    if (!h) return this.#chain;
    this.#held = undefined;
    clearTimeout(h.timer);
    const text = amend && amend.length > 0 ? JSON.stringify(applyPatches(h.message, [...amend])) : h.text;
    return this.emit(text, h.opts);
  }

  emit(text: string, opts: EmitOptions): Promise<void> {
    this.#chain = this.#chain.then(() => {
      this.#count();
      return this.#stream.emit(text, opts);
    });
    return this.#chain;
  }

  /** The stream failed: a held event is not sent after whatever error ends it. */
  drop(): void {
    if (this.#held) clearTimeout(this.#held.timer);
    this.#held = undefined;
  }
}
