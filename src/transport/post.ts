/**
 * POST to the MCP endpoint: one JSON-RPC message (or a 2025-03-26 batch) from the client.
 *
 * Stages: content negotiation → body (bounded) → JSON-RPC shape → era classification and
 * envelope validation → session → c2s inspection → upstream → s2c relay.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { ambiguousMember } from '../codec/ambiguous-member.ts';
import { classify, duplicateBatchId, isNotificationMethod, parseBody, type Classified, type JsonRpcId } from '../codec/jsonrpc.ts';
import { GatewayError } from '../core/errors.ts';
import { callerKey } from '../session/sessions.ts';
import { readBody } from '../listener/body.ts';
import { mapUpstreamError, type UpstreamResponse } from '../upstream/client.ts';
import { claimPassThroughJson } from './direct.ts';
import { inspect, inspectExchangeHead, makeFrame, openRelayStream, rpcIdOf, type Exchange } from './context.ts';
import type { HeadResult } from '../pipeline/head.ts';
import type { FrameResult } from '../pipeline/pipeline.ts';
import type { JsonRpcMessage, Verdict } from '../pipeline/types.ts';
import { remirrorHeaders } from './modern.ts';
import { classifyEra, type ParamCheck } from './classify-era.ts';
import { checkContentNegotiation } from './content-type.ts';
import { passesJsonUnread } from './inspect-s2c.ts';
import { checkParamHeaders } from './param-headers.ts';
import { pumpSse, relayIntoStream } from './relay-sse.ts';
import { relayJson, relayStatus } from './relay.ts';
import { seekApproval, takeGatewayAnswer } from './approval.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import { blockError, errorMessage, retryAfterHeader, sendError, sendJson, SSE_HEADERS } from './respond.ts';
import { openLegacySession } from './legacy-session.ts';
import { answerUpstream } from './answer-upstream.ts';
import { taskAccessRefusal, taskInBatch, tracksTasks } from './tasks.ts';

export async function handlePost(ex: Exchange): Promise<void> {
  checkContentNegotiation(ex);
  const limits = ex.services.config.limits;
  const raw = await readBody(ex.req, limits.maxBodyBytes);
  ex.bytesIn = raw.length;
  // RFC 8259 §8.1: JSON text MUST be UTF-8. Decoding replaces a malformed sequence with U+FFFD
  // while the raw bytes go upstream, where a lax decoder may read it as something else (an
  // overlong `C0 A2` as a quote): what the gateway inspects must be what it forwards.
  if (!isUtf8(raw)) throw new GatewayError('parse_error', 'the body is not valid UTF-8');
  const text = raw.toString('utf8');
  const parsed = parseBody(text);
  // JSON-RPC 2.0 §6: "[]" is valid JSON but an Invalid Request (-32600), not a Parse error.
  if (!parsed.ok) throw new GatewayError(parsed.reason === 'empty batch' || parsed.tooDeep ? 'invalid_request' : 'parse_error', parsed.reason);
  // Duplicate or case-folded member names: read one way here, another by the upstream
  // (codec/ambiguous-member.ts). Refused before anything reads the message.
  const ambiguous = ambiguousMember(text);
  if (ambiguous !== undefined) throw new GatewayError('ambiguous_json', ambiguous);
  if (parsed.batch) return handleBatch(ex, parsed.items);

  const outcome = classify(parsed.items[0]);
  if (!outcome.ok) return answerError(ex, new GatewayError('invalid_request', outcome.reason), outcome.id);
  const c = outcome.value;
  ex.rpcMethod = c.method;
  ex.clientMessage = c;
  // A notification "cannot be accepted": an HTTP error status, an error without id (streamable-http).
  if (c.kind === 'notification' && !isNotificationMethod(c.method)) throw notificationRefusal(c.method);
  let paramCheck: ParamCheck | undefined;
  try {
    paramCheck = classifyEra(ex, c);
  } catch (err) {
    if (err instanceof GatewayError) return answerError(ex, err, rpcIdOf(c));
    throw err;
  }

  // The answer to a prompt the gateway itself sent (approval) stays in the gateway.
  if (takeGatewayAnswer(ex, c, ex.res)) return;
  // A client's answer to a server→client request is correlated to that request's method.
  let method = c.method ?? '';
  if ((c.kind === 'result' || c.kind === 'error') && c.id !== undefined && ex.session) {
    method = ex.session.pendingServerRequests.get(c.id) ?? '';
    ex.session.pendingServerRequests.delete(c.id);
  }
  const frame = makeFrame(ex, 'c2s', c, method, { transport: 'json', bytes: raw.length });
  if (c.kind === 'request') ex.request = frame;
  // Tasks are the caller's own (transport/tasks.ts): another caller's is not even asked for.
  const taskRefusal = taskAccessRefusal(ex, c);
  if (taskRefusal) return answerInBand(ex, taskRefusal, c.id ?? null);
  ex.tracksTasks = tracksTasks(c);

  // Head phase: the envelope is judged before any inspector reads the body, so its refusal
  // costs no body inspection and nothing goes upstream.
  const head = ex.route.plan.headInspectors.length > 0 ? await inspectExchangeHead(ex, frame) : undefined;
  if (head?.verdict.kind === 'block') return refuse(ex, c, head.verdict);

  let body: Buffer | string = raw;
  let headers = ex.req.headers;
  const verdict = foldPhases(head, await inspect(ex, frame), c.message);
  if (verdict?.verdict.kind === 'require-approval' && c.kind === 'request') {
    const outcome = await seekApproval(ex, c, verdict.message, verdict.verdict);
    if (outcome.kind === 'answered') return;
    body = JSON.stringify(outcome.message);
    ex.forwarded = outcome.message;
    headers = remirrorHeaders(ex.req.headers, c.message, outcome.message);
    if (outcome.stream) return forwardIntoStream(ex, body, headers, outcome.stream);
  } else if (verdict && verdict.verdict.kind !== 'allow') {
    if (verdict.verdict.kind === 'redact') {
      body = JSON.stringify(verdict.message);
      ex.forwarded = verdict.message;
      // Both eras: a 2025 client may send the mirrored headers too; none may carry what was redacted.
      headers = remirrorHeaders(ex.req.headers, c.message, verdict.message);
    } else {
      return refuse(ex, c, verdict.verdict);
    }
  }
  // Session memory for policy (`session.counters`): calls that went through. A 2026-07-28 caller
  // has no session: its calls count per caller (principal, or an anonymous caller's address),
  // with a last-hour count beside the total (session/finding-memory.ts).
  if (c.kind === 'request' && c.method === 'tools/call') {
    if (ex.session) ex.session.counters.set('tool_calls', (ex.session.counters.get('tool_calls') ?? 0) + 1);
    else ex.services.memory.record(callerKey(ex.principal, ex.clientAddress), 'tool_calls');
  }
  // Mcp-Param-* against the body, after the inspectors: a call they refuse costs no upstream
  // traffic, not even the tool-list fetch an unseen tool needs (param-headers.ts).
  if (paramCheck) {
    try {
      await checkParamHeaders(ex, paramCheck.tool, paramCheck.args);
    } catch (err) {
      // A mismatch, or the tool list it needs could not be had (upstream down): refused, never sent.
      if (!(err instanceof GatewayError)) throw err;
      return answerError(ex, err, rpcIdOf(c));
    }
  }
  await forward(ex, body, headers);
}

/** A refused request answered in-band (HTTP 200, a JSON-RPC error), like a handler's own error. */
function answerInBand(ex: Exchange, err: GatewayError, id: JsonRpcId | null): void {
  ex.errorCode = err.code;
  sendJson(ex.res, 200, errorMessage(id, err));
}

/** Answers the client with an error from the table, and says so to the audit record (its stable code). */
function answerError(ex: Exchange, err: GatewayError, id: JsonRpcId | null): void {
  ex.errorCode = err.code;
  sendError(ex.res, err, id);
}

type Refusal = Extract<Verdict, { kind: 'block' | 'require-approval' }>;

/** Answers a refused client message (either phase) with the error from the one table. */
function refuse(ex: Exchange, c: Classified, v: Refusal): void {
  const ge = v.kind === 'block'
    ? blockError(v)
    : new GatewayError('approval_required', v.summary, { reasons: v.reasons });
  ex.errorCode = ge.code;
  const retry = retryAfterHeader(ge);
  // A request gets an in-band JSON-RPC error (HTTP 200), like any handler error, except a
  // rate limit, which HTTP says with 429 and Retry-After (RFC 6585 §4) so proxies and
  // clients back off; a notification or response "cannot be accepted": an HTTP error status.
  if (c.kind === 'request' && !retry) sendJson(ex.res, 200, errorMessage(c.id, ge));
  else sendError(ex.res, ge, c.kind === 'request' ? c.id : null, retry);
}

/**
 * A head-phase require-approval folds over the message phase like one more inspector ahead of
 * it: a message-phase block still wins, and what is approved is the message as the message
 * phase left it (redacted).
 */
function foldPhases(head: HeadResult | undefined, msg: FrameResult | undefined, message: JsonRpcMessage): FrameResult | undefined {
  if (head?.verdict.kind !== 'require-approval' || msg?.verdict.kind === 'block') return msg;
  return { verdict: head.verdict, message: msg?.message ?? message, outcomes: [...head.outcomes, ...(msg?.outcomes ?? [])] };
}

async function forward(ex: Exchange, body: Buffer | string, headers: IncomingHttpHeaders = ex.req.headers): Promise<void> {
  const route = ex.route;
  const modern = ex.era === 'modern';
  // Legacy: a disconnect is not a cancellation (2025-11-25), the stream stays resumable.
  // Modern: closing the response stream IS the cancellation (2026-07-28): abort upstream.
  if (modern) {
    // Gone already (while the head phase fetched the tool list, or an inspector ran): the
    // cancellation came before there was anything to abort. Nothing goes upstream.
    if (ex.res.destroyed || ex.res.closed || ex.req.socket.destroyed) {
      ex.abort.abort();
      return;
    }
    ex.res.on('close', () => {
      // No reason: an abort without a GatewayError reason is the client's leaving (relay-sse.ts, handler.ts).
      if (!ex.res.writableFinished) ex.abort.abort();
    });
  }
  // subscriptions/listen is a long-lived stream by design: no whole-exchange ceiling.
  const ceiling = ex.request?.method === 'subscriptions/listen' ? 0 : route.cfg.timeouts.requestMs;
  const timer = ceiling > 0 ? setTimeout(() => ex.abort.abort(new GatewayError('upstream_timeout')), ceiling) : undefined;
  timer?.unref();
  const started = process.hrtime.bigint();
  ex.upstreamSent = true;
  try {
    const r = await route.upstream.exchange(
      {
        method: 'POST',
        clientHeaders: headers,
        body,
        sessionId: ex.session?.upstreamSessionId,
        signal: ex.abort.signal,
        principal: ex.principal,
        headersTimeoutMs: route.cfg.timeouts.requestMs,
        idleMs: ceiling === 0 ? 0 : route.cfg.timeouts.idleMs,
      },
      passesJsonUnread(ex) ? claimPassThroughJson(ex.res, ex.services.config.limits.maxEventBytes, ex.services.audit ? (ex.responseBody = ex.services.audit.responseBody()) : undefined) : undefined,
    );
    ex.services.metrics.observeUpstream(route.name, Number(process.hrtime.bigint() - started) / 1e9);
    if (!r.direct) {
      await relayResponse(ex, r.response);
    } else {
      await r.done.catch((err: unknown) => {
        throw mapUpstreamError(err);
      });
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Forward a call whose answer goes onto a client stream already open (2025 approval prompt). */
async function forwardIntoStream(ex: Exchange, body: string, headers: IncomingHttpHeaders, stream: RelayStream): Promise<void> {
  const route = ex.route;
  let up: UpstreamResponse;
  ex.upstreamSent = true;
  try {
    up = await route.upstream.request({
      method: 'POST',
      clientHeaders: headers,
      body,
      sessionId: ex.session?.upstreamSessionId,
      signal: ex.abort.signal,
      principal: ex.principal,
      headersTimeoutMs: route.cfg.timeouts.requestMs,
      idleMs: route.cfg.timeouts.idleMs,
    });
  } catch (err) {
    const ge = mapUpstreamError(err);
    ex.errorCode = ge.code;
    await stream.emit(JSON.stringify(errorMessage(ex.request?.rpcId ?? null, ge)));
    stream.complete();
    return;
  }
  stream.abortUpstream = () => {
    ex.abort.abort();
    up.body.destroy();
  };
  stream.origin = ex.request;
  stream.originReads = { approved: ex.approved === true, tracksTasks: ex.tracksTasks === true };
  await relayIntoStream(ex, up, stream, { answerDropped: (id) => void answerUpstream(ex, id) });
}

async function relayResponse(ex: Exchange, up: UpstreamResponse): Promise<void> {
  const status = up.statusCode;
  if (status === 404 && ex.session) {
    // The upstream ended the session: so does the gateway (the client must re-initialize).
    ex.services.sessions.delete(ex.session.id);
  }
  if (status >= 300) return relayStatus(ex, up);
  if (status === 202 || status === 204) {
    await up.body.dump();
    ex.res.writeHead(status);
    ex.res.end();
    return;
  }
  const isInit = ex.request?.method === 'initialize' && ex.era === 'legacy';
  const extra: Record<string, string> = isInit ? await openLegacySession(ex, up) : {};
  const ct = String(up.headers['content-type'] ?? '');
  let outcome;
  if (ct.startsWith('text/event-stream')) {
    outcome = await relaySseResponse(ex, up, extra);
  } else {
    outcome = await relayJson(ex, up, extra);
  }
  if (isInit && ex.session && outcome.result) {
    const pv = (outcome.result['result'] as Record<string, unknown> | undefined)?.['protocolVersion'];
    if (typeof pv === 'string') ex.session.protocolVersion = pv;
  }
}

async function relaySseResponse(ex: Exchange, up: UpstreamResponse, extra: Record<string, string>) {
  let stream: RelayStream;
  try {
    stream = openRelayStream(ex, 'p');
  } catch (err) {
    // Refused (the session's stream cap): the upstream's stream is not read.
    up.body.destroy();
    throw err;
  }
  stream.abortUpstream = () => {
    ex.abort.abort();
    up.body.destroy();
  };
  stream.origin = ex.request;
  stream.originBatch = ex.batchMethods;
  stream.originReads = { approved: ex.approved === true, tracksTasks: ex.tracksTasks === true };
  const closeGauge = ex.services.metrics.streamOpened(ex.route.name, 'post-sse');
  ex.res.writeHead(up.statusCode, { ...SSE_HEADERS, ...extra });
  ex.res.flushHeaders();
  stream.attach(ex.res);
  try {
    return await pumpSse(ex, up.body, stream, {
      answerDropped: (id) => void answerUpstream(ex, id),
    });
  } finally {
    closeGauge();
  }
}

/**
 * 2025-03-26 batches ("MUST support receiving JSON-RPC batches"; removed in 2025-06-18). Every
 * element is inspected; if any is refused, the whole batch is refused with one error per request
 * (fail closed: partially forwarding a batch would reorder what the client sent).
 */
async function handleBatch(ex: Exchange, items: unknown[]): Promise<void> {
  if (items.length === 0) throw new GatewayError('invalid_request', 'empty batch');
  // Before anything can refuse it: the audit record names the batch's methods and tools, so a
  // refused batch is found by the tools it carried (audit-tap.ts batchGroups).
  ex.batch = items.map((message) => ({ message }));
  const classified: Classified[] = [];
  for (const item of items) {
    const o = classify(item);
    if (!o.ok) throw new GatewayError('invalid_request', `batch element: ${o.reason}`);
    if (o.value.kind === 'notification' && !isNotificationMethod(o.value.method)) throw notificationRefusal(o.value.method);
    classified.push(o.value);
    // Tasks came after 2025-03-26, the one version with batches (transport/tasks.ts).
    if (taskInBatch(o.value)) throw new GatewayError('invalid_request', 'tasks are not part of protocol 2025-03-26 (no tasks in a batch)');
  }
  // The answers are matched to their requests by id (`ex.batchMethods`): two requests with one
  // id would let the answer of one (tools/list) be inspected as the other's (ping), skipping
  // pinning and poisoning checks. JSON-RPC 2.0 §6 pairs responses by id; MCP: an id MUST NOT
  // be reused by the requestor. The whole batch is refused: no per-id answer would be unambiguous.
  const dup = duplicateBatchId(classified);
  if (dup !== undefined) throw new GatewayError('duplicate_request_id', `id ${JSON.stringify(dup).slice(0, 40)} occurs twice`);
  const first = classified[0]!;
  if (classified.some((c) => c.method === 'initialize')) throw new GatewayError('invalid_request', 'initialize MUST NOT be part of a batch');
  classifyEra(ex, first);
  if (ex.era !== 'legacy' || ex.protocolVersion !== '2025-03-26') throw new GatewayError('batch_not_allowed');
  const errors: unknown[] = [];
  for (const [i, c] of classified.entries()) {
    const method = c.method ?? (c.id !== undefined ? ex.session?.pendingServerRequests.get(c.id) ?? '' : '');
    const frame = makeFrame(ex, 'c2s', c, method, { transport: 'json', bytes: 0 });
    const element = ex.batch[i]!;
    element.frameId = frame.id;
    // Each element's head first; a refused head refuses the batch without its body being read.
    const head = await inspectExchangeHead(ex, frame);
    if (head && head.verdict.kind !== 'allow') {
      errors.push({ c, reasons: head.verdict.reasons });
      element.refused = head.verdict.reasons ?? [];
      continue;
    }
    const r = await inspect(ex, frame);
    if (r && (r.verdict.kind === 'block' || r.verdict.kind === 'require-approval')) {
      errors.push({ c, reasons: r.verdict.reasons });
      element.refused = r.verdict.reasons ?? [];
    } else if (r?.verdict.kind === 'redact') {
      c.message = r.message;
    }
  }
  if (errors.length > 0) {
    const answers = classified
      .filter((c) => c.kind === 'request')
      .map((c) => errorMessage(c.id!, new GatewayError('blocked', 'batch refused: an element was blocked')));
    ex.errorCode = 'blocked';
    sendJson(ex.res, 200, answers);
    return;
  }
  ex.batchMethods = new Map(classified.flatMap((c) => (c.kind === 'request' ? [[c.id, c.method] as const] : [])));
  await forward(ex, JSON.stringify(classified.map((c) => c.message)));
}

/**
 * A request method sent without an id. JSON-RPC 2.0 §4.1: a notification gets no response, so
 * policy and pinning (which judge requests) let it pass, while an upstream that dispatches on
 * `method` before looking at the id runs the call. MCP's client notifications are all
 * `notifications/*` (initialized, cancelled, progress, roots/list_changed, tasks/status);
 * everything else a client sends without an id is a response (an error whose id is unknown).
 */
function notificationRefusal(method: string): GatewayError {
  return new GatewayError('request_as_notification', `"${method.slice(0, 64)}" without an id`);
}
