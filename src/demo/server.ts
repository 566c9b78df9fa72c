/**
 * The bundled demo upstream: a dual-era MCP server over Streamable HTTP on plain `node:http`.
 *
 * - 2025 era (2025-03-26, 2025-06-18, 2025-11-25): `initialize` opens a session; POST, GET (the
 *   standalone stream, `Last-Event-ID` replay) and DELETE; server→client requests on the POST's
 *   SSE stream; batches for 2025-03-26.
 * - 2026-07-28: stateless POST only; per-request `_meta`; header/body cross-checks; MRTR
 *   (`input_required`) instead of server→client requests; closing the stream cancels.
 *
 * The era is chosen per request from the body, as a dual-era server does (2026-07-28
 * basic/versioning): a `_meta` protocol-version claim is modern, `initialize` is legacy.
 *
 * Layout: this file listens and classifies; modern.ts and legacy.ts serve each era; catalog.ts and
 * tools.ts hold the methods; sse.ts, session.ts, state.ts the stream, session and MRTR state.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { invalid, type ResponseMode, type State } from './exec.ts';
import { BodyTooLarge, header, hostOriginProblem, isLoopbackHost, readBody, sendError } from './http.ts';
import { batch, getOrDelete, legacyPost } from './legacy.ts';
import { modernPost } from './modern.ts';
import { CODES, RpcError, claimedVersion, idOf, isLegacyVersion, isModernVersion, kindOf, type Json } from './protocol.ts';
import { SessionStore } from './session.ts';

export type { ResponseMode } from './exec.ts';

export interface DemoServerOptions {
  host?: string;
  /** 0 (the default) picks an ephemeral port. */
  port?: number;
  /** 'json'/'auto': JSON except streaming tools; 'sse': every request answered as SSE. */
  responseMode?: ResponseMode;
}

export interface DemoStats {
  /** JSON-RPC requests dispatched (each element of a batch counts). */
  requests: number;
  /** Requests stopped by cancellation (2026: client disconnect; 2025: notifications/cancelled). */
  cancelled: number;
  /** 2025-era sessions currently open. */
  sessions: number;
  sessionsCreated: number;
}

export interface DemoServer {
  /** `http://host:port/mcp` */
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): DemoStats;
}

const MAX_BODY = 16 * 1024 * 1024;

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const host = opts.host ?? '127.0.0.1';
  const st: State = {
    mode: opts.responseMode ?? 'auto',
    loopbackOnly: isLoopbackHost(host),
    sessions: new SessionStore(),
    requests: 0,
    cancelled: 0,
    closing: false,
  };
  const server = createServer((req, res) => {
    route(st, req, res).catch(() => {
      // Never crash on one bad request; nothing about it is logged (it may carry secrets).
      if (!res.headersSent) sendError(res, new RpcError(CODES.internal, 'Internal error', 500));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/mcp`,
    port,
    stats: () => ({ requests: st.requests, cancelled: st.cancelled, sessions: st.sessions.size, sessionsCreated: st.sessions.created }),
    close: async () => {
      st.closing = true;
      st.sessions.closeAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function route(st: State, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/mcp') return sendError(res, invalid('no MCP endpoint here; it is /mcp', 404));
  const problem = hostOriginProblem(req, st.loopbackOnly);
  if (problem) return sendError(res, new RpcError(CODES.invalidRequest, problem, 403));
  switch (req.method) {
    case 'POST':
      return post(st, req, res);
    case 'GET':
    case 'DELETE':
      return getOrDelete(st, req, res);
    default:
      return sendError(res, invalid('HTTP method not allowed', 405), null, { allow: 'GET, POST, DELETE' });
  }
}

async function post(st: State, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!/^application\/json\s*(;|$)/i.test(header(req, 'content-type') ?? '')) {
    return sendError(res, invalid('Content-Type must be application/json', 415));
  }
  const accept = header(req, 'accept');
  if (accept !== undefined && !/application\/json|text\/event-stream|\*\/\*/i.test(accept)) {
    return sendError(res, invalid('Accept must list application/json and text/event-stream', 406));
  }
  let raw: string;
  try {
    raw = await readBody(req, MAX_BODY);
  } catch (err) {
    if (err instanceof BodyTooLarge) sendError(res, invalid('body too large', 413), null, { connection: 'close' });
    return;
  }
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    return sendError(res, new RpcError(CODES.parseError, 'Parse error: the body is not valid JSON', 400));
  }
  if (Array.isArray(msg)) return batch(st, req, res, msg);
  const kind = kindOf(msg);
  if (kind === 'invalid') return sendError(res, invalid('not a JSON-RPC 2.0 request, notification or response'), idOf(msg));
  const m = msg as Json;
  const claim = claimedVersion(m);
  // Body-primary era choice; the header alone only decides for a claim-less non-initialize message.
  const modern = claim !== undefined ? !isLegacyVersion(claim) : m.method !== 'initialize' && isModernVersion(header(req, 'mcp-protocol-version'));
  return modern ? modernPost(st, req, res, m, kind) : legacyPost(st, req, res, m, kind);
}
