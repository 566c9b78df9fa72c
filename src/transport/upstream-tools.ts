/**
 * The gateway asks the upstream for its tool list itself, when it must know tools the client has
 * not listed through it:
 *
 * - a 2026-07-28 `tools/call` for a tool whose `x-mcp-header` annotations the route has not
 *   learned (after a restart, on another replica, or from a client that cached its list): its
 *   `Mcp-Param-*` headers are validated against the body "even when the upstream does not check"
 *   (SEP-2243), so the annotations are fetched first;
 * - a `notifications/tools/list_changed` from the upstream: every definition is re-checked
 *   against its pin at once (a rug pull is quarantined before the client re-lists).
 *
 * The request is the caller's own kind of request: the same era and protocol version, in a 2025
 * session the same upstream session, on behalf of the same principal (upstream credentials and
 * token exchange work as for the call), with a JSON-RPC id of the gateway's own that cannot
 * collide with a client's. Pages are followed (`nextCursor`), bounded in number and size.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ambiguousMember } from '../codec/ambiguous-member.ts';
import { SseParser } from '../codec/sse.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../codec/jsonrpc.ts';
import { GatewayError } from '../core/errors.ts';
import { mapUpstreamError } from '../upstream/client.ts';
import type { Exchange } from './context.ts';

/** Pages followed at most: a server that keeps returning cursors cannot hold the call forever. */
const MAX_PAGES = 20;
/**
 * A fetch's own time limit, whatever `timeouts.requestMs` allows a call: calls for unseen tools
 * wait on it, and an upstream streaming without answering must not hold them for minutes.
 */
const FETCH_TIMEOUT_MS = 30_000;
let nextId = 1;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a route learns from one tools/list result page, relayed or fetched: annotations and definitions. */
export function learnToolList(route: Exchange['route'], result: unknown): void {
  route.paramHeaders.learn(result);
  route.tools.learn(result);
}

/** Every tools/list result page of the exchange's upstream, as the upstream sent them. */
export async function fetchUpstreamToolPages(ex: Exchange): Promise<Record<string, unknown>[]> {
  const pages: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  // Every byte the fetch reads, all pages together, counts against one `limits.maxEventBytes`.
  const budget = { left: ex.services.config.limits.maxEventBytes };
  for (let page = 0; page < MAX_PAGES; page++) {
    // An upstream failing while it sends the list (its connection dropped mid-body, a timeout)
    // is an upstream error of the table, as on every relay path; raw, it was an internal error.
    const result = await requestToolsList(ex, cursor, budget).catch((err: unknown) => {
      throw mapUpstreamError(err);
    });
    pages.push(result);
    const next = result['nextCursor'];
    if (typeof next !== 'string' || next === '') return pages;
    cursor = next;
  }
  return pages;
}

async function requestToolsList(ex: Exchange, cursor: string | undefined, budget: { left: number }): Promise<Record<string, unknown>> {
  const id = `portcullis-tools-list-${nextId++}`;
  const modern = ex.era === 'modern';
  const version = ex.protocolVersion;
  const params: Record<string, unknown> = {
    ...(cursor !== undefined && { cursor }),
    ...(modern && { _meta: { 'io.modelcontextprotocol/protocolVersion': version, 'io.modelcontextprotocol/clientCapabilities': {} } }),
  };
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', params });
  const clientHeaders: IncomingHttpHeaders = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(version !== undefined && { 'mcp-protocol-version': version }),
    ...(modern && { 'mcp-method': 'tools/list' }),
    // Only for token exchange on the caller's behalf; never forwarded (UpstreamClient).
    ...(typeof ex.req.headers.authorization === 'string' && { authorization: ex.req.headers.authorization }),
  };
  const route = ex.route;
  const up = await route.upstream.request({
    method: 'POST',
    clientHeaders,
    body,
    sessionId: ex.session?.upstreamSessionId,
    // Not the exchange's signal: a re-check outlives the call that announced the change. Its
    // own ceiling: an upstream streaming only comments would otherwise hold it (and calls).
    signal: AbortSignal.timeout(Math.min(route.cfg.timeouts.requestMs, FETCH_TIMEOUT_MS)),
    principal: ex.principal,
    headersTimeoutMs: route.cfg.timeouts.requestMs,
    idleMs: route.cfg.timeouts.idleMs,
  });
  const limit = ex.services.config.limits.maxEventBytes;
  if (up.statusCode !== 200) {
    await up.body.dump();
    throw new GatewayError('upstream_unavailable', `upstream answered tools/list with ${up.statusCode}`);
  }
  const type = String(up.headers['content-type'] ?? '');
  const messages: string[] = [];
  const spend = (chunk: Buffer) => {
    budget.left -= chunk.length;
    if (budget.left < 0) {
      up.body.destroy();
      throw new GatewayError('upstream_event_too_large', `the tool list exceeds ${limit} bytes`);
    }
  };
  if (type.startsWith('text/event-stream')) {
    // Only the answer is kept (other events, however many, are dropped as they are parsed), and
    // reading stops at it: an upstream streaming without answering cannot grow this.
    const parser = new SseParser(
      (ev) => {
        if (messages.length === 0 && ev.data.includes(id)) messages.push(ev.data);
      },
      { maxEventBytes: limit },
    );
    for await (const chunk of up.body) {
      spend(chunk as Buffer);
      parser.push(chunk as Buffer);
      if (messages.length > 0) {
        up.body.destroy();
        break;
      }
    }
    if (messages.length === 0) parser.end();
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of up.body) {
      spend(chunk as Buffer);
      chunks.push(chunk as Buffer);
    }
    messages.push(Buffer.concat(chunks).toString('utf8'));
  }
  for (const text of messages) {
    let msg: unknown;
    // Pins hash the whole definition recursively: bounded as every upstream message is.
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new GatewayError('upstream_protocol', `nesting deeper than ${MAX_JSON_DEPTH} levels`);
    try {
      msg = JSON.parse(text);
    } catch {
      continue; // a priming event or a message that is not ours
    }
    // Pins hash what JSON.parse read: a definition it reads differently from the client (a
    // duplicate name, a one-character escaped name) could change under its pin unseen.
    const ambiguous = ambiguousMember(text);
    if (ambiguous !== undefined) throw new GatewayError('upstream_protocol', `ambiguous JSON: ${ambiguous}`);
    if (!isRecord(msg) || msg['id'] !== id) continue;
    if (isRecord(msg['result'])) return msg['result'];
    throw new GatewayError('upstream_unavailable', 'upstream refused tools/list');
  }
  throw new GatewayError('upstream_protocol', 'upstream sent no answer to tools/list');
}

/**
 * The upstream said its tool list changed: fetch it now and check every definition against its
 * pin, so a changed one is quarantined (hidden, calls refused) before any client re-lists or
 * calls it; calls to the route wait for the re-check (Pinner.recheck). The learned annotations
 * and catalogue are refreshed too. A failed fetch is logged; calls then go on against the last
 * verified definitions and the route stays marked stale.
 */
export function recheckUpstreamTools(ex: Exchange): void {
  const route = ex.route;
  const pinner = route.pinner;
  const logger = ex.services.logger;
  const work = fetchUpstreamToolPages(ex).then(async (pages) => {
    const quarantined: string[] = [];
    for (const page of pages) {
      learnToolList(route, page);
      const tools = page['tools'];
      if (pinner && Array.isArray(tools)) {
        const r = await pinner.check(route.name, tools);
        quarantined.push(...r.quarantined.map((q) => q.tool));
      }
    }
    ex.notes['tools_recheck'] = { quarantined };
    if (quarantined.length > 0) logger.warn({ route: route.name, quarantined }, 'tools re-checked after list_changed: changed definitions quarantined');
  });
  pinner?.recheck(route.name, work);
  work.catch((err: unknown) => logger.warn({ route: route.name, err: err instanceof Error ? err.message : String(err) }, 'tools re-check after list_changed failed'));
}
