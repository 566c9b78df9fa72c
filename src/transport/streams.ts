/**
 * GET (the standalone stream, and resumption with Last-Event-ID) and DELETE (end a session),
 * both 2025-era only. 2026-07-28 has neither: "HTTP GET or DELETE to the MCP endpoint: respond
 * with 405", which the upstream says for itself when it is modern-only, so those pass through.
 */
import { GatewayError } from '../core/errors.ts';
import { RelayStream } from '../session/relay-stream.ts';
import type { Session } from '../session/sessions.ts';
import type { UpstreamResponse } from '../upstream/client.ts';
import { openRelayStream, requestHeader, type Exchange } from './context.ts';
import { checkVersionHeader } from './modern.ts';
import { answerUpstream } from './answer-upstream.ts';
import { pumpSse } from './relay-sse.ts';
import { relayStatus } from './relay.ts';
import { SSE_HEADERS } from './respond.ts';

function sessionFor(ex: Exchange): Session | undefined {
  const sid = requestHeader(ex, 'mcp-session-id');
  if (sid === undefined) return undefined;
  const s = ex.services.sessions.get(sid, ex.principal, ex.clientAddress);
  if (!s || s.route !== ex.route.name) throw new GatewayError('session_not_found');
  ex.session = s;
  ex.protocolVersion = s.protocolVersion;
  return s;
}

/** Open (or re-open) the upstream side of a GET stream and pump it into `stream`. */
async function openUpstream(ex: Exchange, stream: RelayStream, lastEventId: string | undefined): Promise<UpstreamResponse> {
  const route = ex.route;
  // A re-opened leg continues a call (it resumes with the upstream's event id): the call's
  // idle timer applies again, and a fresh whole-call ceiling from the resume, so a resumed call
  // cannot hold an upstream stream open forever. The standalone stream (no id) is long-lived and
  // quiet by design; the gateway's keep-alives cover its client.
  const resumesCall = lastEventId !== undefined && stream.origin !== undefined;
  const ceiling = resumesCall ? route.cfg.timeouts.requestMs : 0;
  const signal = ceiling > 0 ? AbortSignal.any([ex.abort.signal, AbortSignal.timeout(ceiling)]) : ex.abort.signal;
  const up = await route.upstream.request({
    method: 'GET',
    clientHeaders: { ...ex.req.headers, accept: 'text/event-stream' },
    sessionId: ex.session?.upstreamSessionId,
    lastEventId,
    signal,
    principal: ex.principal,
    headersTimeoutMs: route.cfg.timeouts.requestMs,
    idleMs: resumesCall ? route.cfg.timeouts.idleMs : 0,
  });
  stream.abortUpstream = () => {
    ex.abort.abort();
    up.body.destroy();
  };
  return up;
}

export async function handleGet(ex: Exchange): Promise<void> {
  const accept = (requestHeader(ex, 'accept') ?? '').toLowerCase();
  if (!accept.includes('text/event-stream') && !accept.includes('*/*')) throw new GatewayError('not_acceptable', 'GET must accept text/event-stream');
  ex.era = 'legacy';
  // Like POST: an invalid or unsupported MCP-Protocol-Version is a 400, before the session is looked up.
  checkVersionHeader(ex.req.headers);
  const session = sessionFor(ex);
  const lastEventId = requestHeader(ex, 'last-event-id');
  const metrics = ex.services.metrics;

  if (lastEventId !== undefined && session) {
    // Resumption: the id is the gateway's own; only this session's streams are searched, so an
    // id from another session (or principal) resumes nothing (MUST NOT replay other streams).
    const ref = RelayStream.parseEventId(lastEventId);
    const stream = ref ? session.streams.get(ref.stream) : undefined;
    if (!ref || !stream || !stream.canReplayFrom(ref.seq)) throw new GatewayError('resume_not_found');
    ex.res.writeHead(200, SSE_HEADERS);
    ex.res.flushHeaders();
    const closeGauge = metrics.streamOpened(ex.route.name, 'get-sse');
    ex.res.on('close', closeGauge);
    const needsUpstream = stream.state === 'upstream-closed';
    stream.attach(ex.res, ref.seq);
    if (needsUpstream) {
      // The upstream closed its connection mid-stream (2025-11-25 polling): resume it upstream
      // with the upstream's own last event id, feeding the same client-facing stream.
      stream.state = 'live';
      try {
        const up = await openUpstream(ex, stream, stream.upstreamLastEventId);
        if (up.statusCode !== 200) {
          await up.body.dump();
          stream.complete();
          return;
        }
        // Inspect the re-opened leg as the stream it continues: same originating request.
        ex.request = stream.origin;
        if (stream.originBatch) ex.batchMethods = new Map(stream.originBatch);
        if (stream.originReads?.approved) ex.approved = true;
        if (stream.originReads?.tracksTasks) ex.tracksTasks = true;
        await pumpSse(ex, up.body, stream, { answerDropped: (id) => void answerUpstream(ex, id) });
      } catch {
        stream.complete();
      }
    }
    return;
  }

  // One standalone stream per session upstream: a client that lost its GET stream re-attaches
  // to the one the gateway still holds instead of opening a second (upstreams answer 409).
  const idle = session && [...session.streams.values()].find((s) => s.id.startsWith('g') && !s.attached && s.state === 'live');
  if (idle) {
    ex.res.writeHead(200, SSE_HEADERS);
    ex.res.flushHeaders();
    idle.attach(ex.res, Number.MAX_SAFE_INTEGER);
    return;
  }
  const stream = openRelayStream(ex, 'g');
  ex.res.once('close', () => {
    if (ex.res.headersSent) return;
    // Left while the upstream GET was opening: don't hold an upstream connection for nobody.
    ex.abort.abort();
    stream.close();
  });
  let up: UpstreamResponse;
  try {
    up = await openUpstream(ex, stream, undefined);
  } catch (err) {
    // The stream is already in the session (openRelayStream), but nothing will ever feed it: left
    // there, every later GET of the session would re-attach to it (`idle` above) and get only
    // keep-alives, never an upstream GET again. Close it; the client gets the error (handler.ts).
    stream.end('failed', err instanceof GatewayError ? err.code : 'upstream_unavailable');
    stream.close();
    throw err;
  }
  const ct = String(up.headers['content-type'] ?? '');
  if (up.statusCode !== 200 || !ct.startsWith('text/event-stream')) {
    stream.abortUpstream = undefined; // the relay below still reads this body
    stream.end('failed', `upstream status ${up.statusCode}`);
    stream.close();
    return relayStatus(ex, up);
  }
  ex.res.writeHead(200, SSE_HEADERS);
  ex.res.flushHeaders();
  const closeGauge = metrics.streamOpened(ex.route.name, 'get-sse');
  // The standalone stream has no request to finish: when the client leaves, stop reading.
  const onGone = () => {
    closeGauge();
    if (!stream.attached && !session) stream.close();
  };
  if (ex.res.destroyed) onGone();
  else ex.res.on('close', onGone);
  stream.attach(ex.res);
  await pumpSse(ex, up.body, stream, { answerDropped: (id) => void answerUpstream(ex, id) });
}

export async function handleDelete(ex: Exchange): Promise<void> {
  ex.era = 'legacy';
  checkVersionHeader(ex.req.headers);
  const session = sessionFor(ex);
  if (!session) throw new GatewayError('session_required');
  const up = await ex.route.upstream.request({
    method: 'DELETE',
    clientHeaders: ex.req.headers,
    sessionId: session.upstreamSessionId,
    principal: ex.principal,
    headersTimeoutMs: ex.route.cfg.timeouts.connectMs + 10_000,
    idleMs: 10_000,
  });
  if (up.statusCode < 300 || up.statusCode === 404) {
    ex.services.sessions.delete(session.id);
    ex.services.metrics.setSessions('legacy', ex.services.sessions.size);
  }
  await relayStatus(ex, up);
}
