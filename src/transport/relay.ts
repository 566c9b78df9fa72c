/**
 * Upstream → client for JSON bodies and error statuses (SSE bodies: relay-sse.ts).
 *
 * - JSON bodies stream straight through when no inspector wants them, are buffered up to
 *   `maxBufferedMessageBytes` when one does, and beyond that take the chunk path (string leaves
 *   streamed with a hold-back window) or are refused, as the buffering plan says.
 */
import type { ServerResponse } from 'node:http';
import { JsonStreamError } from '../codec/json-stream.ts';
import { TopLevelError } from '../codec/json-top-level.ts';
import { GatewayError } from '../core/errors.ts';
import { mapUpstreamError, type UpstreamResponse } from '../upstream/client.ts';
import type { Exchange } from './context.ts';
import { blockedError, inspectS2c, passesJsonUnread, type RelayOutcome } from './inspect-s2c.ts';
import { AnswerCheck, answerMayStream, chunkInspection } from './streamed-answer.ts';
import { errorMessage, pickHeaders, readStatusBody, relayUpstreamStatus, sendJson } from './respond.ts';

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
    const keep = ex.services.audit ? (ex.responseBody = ex.services.audit.responseBody()) : undefined;
    try {
      for await (const chunk of up.body) {
        size += (chunk as Buffer).length;
        if (size > limits.maxEventBytes) {
          up.body.destroy();
          if (res.headersSent) res.destroy();
          throw new GatewayError('upstream_event_too_large');
        }
        keep?.add(chunk as Buffer);
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
      // Nothing went out (the first chunk is held back): the client gets an error, not these bytes.
      else keep?.discard();
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
      // The chunk path streams string leaves to the inspectors; what the gateway itself reads in
      // an answer (initialize, a tools/list, a task list to filter or a created task to bind, an
      // approved call's sealed rounds) needs the whole message (answerMayStream).
      if (plan?.buffering === 'chunks' && answerMayStream(ex)) return relayJsonChunks(ex, up, headers, chunks, iterator, out);
      up.body.destroy();
      const ge = new GatewayError('message_too_large', `over ${limits.maxBufferedMessageBytes} bytes and an inspector or the gateway needs the whole message`);
      ex.errorCode = ge.code;
      sendJson(res, 200, errorMessage(ex.request?.rpcId ?? null, ge));
      return out;
    }
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  const r = await inspectS2c(ex, text, 'json', out);
  // Nothing to forward (a blocked server request or notification in place of the answer): the
  // client gets a blocked error instead, and the record says so.
  if (r.text === undefined) ex.errorCode ??= 'blocked';
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
  const inspection = chunkInspection(ex, ex.request?.method ?? '');
  const { rewriter, chain } = inspection;
  res.writeHead(up.statusCode, headers);
  const limit = ex.services.config.limits.maxEventBytes;
  // Whose answer it is shows only at its end (`id` may come last): checked before the last bytes
  // go out, so the answer to another request never reaches the client whole. The rewriter writes
  // compact JSON (no whitespace outside strings), so the output's last byte so far is the one
  // kept back: at the end, that is the closing brace.
  const check = new AnswerCheck(ex);
  // The record's `result_bytes`: the digest of the body as the client got it (masks in).
  const body = ex.services.audit ? (ex.responseBody = ex.services.audit.responseBody()) : undefined;
  const send = (bytes: Uint8Array): boolean => {
    body?.add(bytes);
    return res.write(bytes);
  };
  let kept: Uint8Array = new Uint8Array(0);
  const release = (out: Uint8Array): Uint8Array => {
    if (out.length === 0) return out;
    const all = kept.length === 0 ? out : Buffer.concat([kept, out]);
    kept = all.subarray(all.length - 1);
    return all.subarray(0, all.length - 1);
  };
  let size = 0;
  try {
    for (const chunk of head) {
      size += chunk.length;
      check.push(chunk);
      send(release(await rewriter.push(chunk)));
    }
    for (let step = await rest.next(); !step.done; step = await rest.next()) {
      const chunk = step.value as Buffer;
      size += chunk.length;
      if (size > limit) throw new GatewayError('upstream_event_too_large');
      check.push(chunk);
      const outBytes = release(await rewriter.push(chunk));
      if (outBytes.length > 0 && !send(outBytes)) await drained(res);
      if (res.destroyed) throw new GatewayError('client_closed', 'the client left mid-answer');
    }
    const last = await rewriter.end();
    check.end();
    send(kept);
    body?.add(last);
    res.end(last);
    out.responded = true;
  } catch (err) {
    // Bytes of this body already went out: a clean cut (no complete JSON reaches the client),
    // never a partial document presented as whole.
    up.body.destroy();
    res.destroy();
    if (inspection.blocked) {
      // A DLP block mid-body is a block like any other: the record's verdict, not only a note.
      ex.errorCode = 'blocked';
      ex.notes['cut'] = { reasons: inspection.blocked.reasons };
    } else if (err instanceof GatewayError && err.code === 'client_closed') {
      // The client left: not the gateway's cut (the record says the client went, what it got).
    } else if (!(err instanceof JsonStreamError) && !(err instanceof GatewayError) && !(err instanceof TopLevelError)) {
      throw err;
    } else {
      ex.errorCode = err instanceof GatewayError ? err.code : 'upstream_protocol';
      ex.notes['cut'] = { reason: err instanceof GatewayError ? err.code : 'json_syntax' };
    }
  } finally {
    chain.finish();
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
