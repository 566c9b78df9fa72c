/**
 * MCP 2025-03-26 … 2025-11-25 over Streamable HTTP: `initialize` opens a session; POSTed
 * requests, notifications and responses; the standalone GET stream and `Last-Event-ID` replay;
 * DELETE; batches for 2025-03-26.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallContext } from './context.ts';
import { execute, invalid, progressToken, type State } from './exec.ts';
import { accepted, header, sendError, sendJson } from './http.ts';
import {
  CAPABILITIES, CODES, LEGACY_VERSIONS, RpcError, SERVER_INFO, claimedVersion, errorResponse, idOf, isLegacyVersion, isModernVersion,
  isObject, kindOf, type Json, type JsonRpcId, type Kind, type RpcResponse,
} from './protocol.ts';
import type { Session } from './session.ts';
import { openSse, parseEventId, type SseStream } from './sse.ts';
import { needsStream } from './tools.ts';

const MAX_BATCH = 100;

function sessionFor(st: State, req: IncomingMessage, res: ServerResponse, id: JsonRpcId | null): Session | undefined {
  const sid = header(req, 'mcp-session-id');
  // 2025-11-25 transports "Session Management": 400 without the header, 404 for an unknown one.
  if (sid === undefined) sendError(res, invalid('Mcp-Session-Id header is required'), id);
  else {
    const s = st.sessions.get(sid);
    if (s) return s;
    sendError(res, invalid('session not found', 404), id);
  }
  return undefined;
}

/** Tools whose 2025-era answer needs the request's own SSE stream. */
function legacyStreams(st: State, m: Json): boolean {
  return st.mode === 'sse' || (m.method === 'tools/call' && isObject(m.params) && needsStream('legacy', m.params.name, undefined));
}

export async function legacyPost(st: State, req: IncomingMessage, res: ServerResponse, m: Json, kind: Kind): Promise<void> {
  if (m.method === 'initialize') {
    if (kind !== 'request') return sendError(res, invalid('initialize must be a request'));
    return initialize(st, res, m);
  }
  const session = sessionFor(st, req, res, idOf(m));
  if (!session) return;
  const hv = header(req, 'mcp-protocol-version');
  // 2025-06-18+: an invalid or unsupported MCP-Protocol-Version MUST get 400.
  if (hv !== undefined && !isLegacyVersion(hv)) {
    return sendError(res, new RpcError(CODES.invalidRequest, 'Unsupported MCP-Protocol-Version', 400, { supported: LEGACY_VERSIONS }), idOf(m));
  }
  if (kind === 'response') {
    session.answer(m);
    return accepted(res);
  }
  if (kind === 'notification') {
    legacyNotification(session, m);
    return accepted(res);
  }
  if (legacyStreams(st, m)) {
    const stream = session.newStream();
    stream.attach(res, { prime: session.version === '2025-11-25' });
    const response = await runLegacy(st, session, m, stream);
    if (response) stream.send(response);
    stream.end();
    return;
  }
  const response = await runLegacy(st, session, m, null);
  if (response) return sendJson(res, 200, response);
  // Cancelled: the receiver SHOULD NOT respond (basic/utilities/cancellation), yet the POST needs
  // an answer; an SSE stream that ends with no message is both.
  openSse(res);
  res.end();
}

function initialize(st: State, res: ServerResponse, m: Json): void {
  const p = isObject(m.params) ? m.params : {};
  const id = m.id as JsonRpcId;
  if (typeof p.protocolVersion !== 'string') {
    return sendError(res, new RpcError(CODES.invalidParams, 'Invalid params: protocolVersion is required', 400), id);
  }
  // basic/lifecycle: answer with the requested version if supported, else our latest.
  const version = isLegacyVersion(p.protocolVersion) ? p.protocolVersion : LEGACY_VERSIONS[0];
  const session = st.sessions.create(version, isObject(p.capabilities) ? p.capabilities : {});
  st.requests++;
  const body = {
    jsonrpc: '2.0',
    id,
    result: { protocolVersion: version, capabilities: CAPABILITIES, serverInfo: SERVER_INFO, instructions: 'Portcullis demo upstream.' },
  };
  const headers = { 'mcp-session-id': session.id };
  if (st.mode !== 'sse') return sendJson(res, 200, body, headers);
  const stream = session.newStream();
  stream.attach(res, { prime: version === '2025-11-25', headers });
  stream.send(body);
  stream.end();
}

function legacyNotification(session: Session, m: Json): void {
  const p = isObject(m.params) ? m.params : {};
  if (m.method === 'notifications/initialized') session.initialized = true;
  else if (m.method === 'notifications/cancelled' && (typeof p.requestId === 'string' || typeof p.requestId === 'number')) {
    session.inflight.get(JSON.stringify(p.requestId))?.abort(new Error('cancelled by the client'));
  }
}

async function runLegacy(st: State, session: Session, m: Json, stream: SseStream | null): Promise<RpcResponse | null> {
  const id = m.id as JsonRpcId;
  const params = (isObject(m.params) ? m.params : {}) as Json;
  const key = JSON.stringify(id);
  const ac = new AbortController();
  session.inflight.set(key, ac);
  const ctx: CallContext = {
    era: 'legacy',
    version: session.version,
    signal: ac.signal,
    clientCapabilities: session.clientCapabilities,
    progressToken: progressToken(params._meta),
    logLevel: session.logLevel,
    streaming: stream !== null,
    notify: (method, p) => stream?.send({ jsonrpc: '2.0', method, params: p }),
    ask: (method, p) => (stream ? session.ask(stream, method, p, ac.signal) : Promise.reject(new Error('needs an SSE response stream'))),
    notifyStandalone: (method, p) => {
      if (!session.standalone) return false;
      session.standalone.send({ jsonrpc: '2.0', method, params: p });
      return true;
    },
  };
  try {
    return await execute(st, ctx, id, m.method as string, params, (l) => (session.logLevel = l));
  } finally {
    if (session.inflight.get(key) === ac) session.inflight.delete(key);
  }
}

/** 2025-03-26 only: "MUST support receiving JSON-RPC batches" (removed in 2025-06-18, PR #416). */
export async function batch(st: State, req: IncomingMessage, res: ServerResponse, arr: unknown[]): Promise<void> {
  if (arr.length === 0) return sendError(res, invalid('empty batch'));
  if (arr.length > MAX_BATCH) return sendError(res, invalid(`batch larger than ${MAX_BATCH}`));
  if (arr.some((e) => claimedVersion(e) !== undefined && !isLegacyVersion(claimedVersion(e)))) {
    return sendError(res, invalid('JSON-RPC batches are not supported in protocol 2026-07-28'));
  }
  if (arr.some((e) => isObject(e) && e.method === 'initialize')) return sendError(res, invalid('initialize must not be part of a batch'));
  const session = sessionFor(st, req, res, null);
  if (!session) return;
  if (session.version !== '2025-03-26') return sendError(res, invalid(`JSON-RPC batches are not supported in protocol ${session.version}`));
  const requests: Json[] = [];
  const errors: RpcResponse[] = [];
  for (const e of arr) {
    const kind = kindOf(e);
    if (kind === 'invalid') errors.push(errorResponse(idOf(e), invalid('not a JSON-RPC 2.0 message')));
    else if (kind === 'response') session.answer(e as Json);
    else if (kind === 'notification') legacyNotification(session, e as Json);
    else requests.push(e as Json);
  }
  if (requests.length === 0 && errors.length === 0) return accepted(res);
  if (st.mode === 'sse' || requests.some((r) => legacyStreams(st, r))) {
    const stream = session.newStream();
    stream.attach(res);
    for (const e of errors) stream.send(e);
    await Promise.all(requests.map(async (r) => {
      const out = await runLegacy(st, session, r, stream);
      if (out) stream.send(out);
    }));
    stream.end();
    return;
  }
  const out = await Promise.all(requests.map((r) => runLegacy(st, session, r, null)));
  const responses = [...errors, ...out.filter((r): r is RpcResponse => r !== null)];
  if (responses.length > 0) return sendJson(res, 200, responses);
  openSse(res);
  res.end();
}

/** GET opens the standalone stream or resumes one; DELETE ends the session. Both 2025 era only. */
export function getOrDelete(st: State, req: IncomingMessage, res: ServerResponse): void {
  // 2026-07-28 streamable-http "Sessions": GET/DELETE from a modern client get 405.
  if (isModernVersion(header(req, 'mcp-protocol-version'))) {
    return sendError(res, invalid(`${req.method} is not supported in protocol 2026-07-28`, 405), null, { allow: 'POST' });
  }
  if (req.method === 'GET' && !/text\/event-stream|\*\/\*/i.test(header(req, 'accept') ?? '')) {
    return sendError(res, invalid('Accept must list text/event-stream', 406));
  }
  const session = sessionFor(st, req, res, null);
  if (!session) return;
  if (req.method === 'DELETE') {
    st.sessions.delete(session.id);
    res.writeHead(200, { 'content-length': 0 });
    res.end();
    return;
  }
  const last = header(req, 'last-event-id');
  if (last !== undefined) {
    const ev = parseEventId(last);
    const stream = ev && session.stream(ev.stream);
    if (!ev || !stream || !stream.resume(res, ev.seq)) {
      return sendError(res, invalid('Last-Event-ID is unknown or can no longer be replayed', 404));
    }
    return;
  }
  if (session.standalone?.attached) return sendError(res, invalid('only one standalone SSE stream per session', 409));
  session.standalone?.destroy();
  const stream = session.newStream(true);
  session.standalone = stream;
  stream.attach(res, { prime: session.version === '2025-11-25' });
}
