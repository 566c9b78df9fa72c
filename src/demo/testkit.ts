/**
 * Test helpers for talking to the demo upstream with plain `fetch` (no SDK): building requests of
 * both eras and reading SSE responses event by event, remembering which network chunk each event
 * arrived in (to prove streaming is live without timing assertions).
 */
import { META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, type Json } from './protocol.ts';

export const ACCEPT = 'application/json, text/event-stream';

export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
  /** 1-based index of the body chunk that completed this event. */
  chunk: number;
}

/** Parses an SSE body (WHATWG "event stream interpretation", minus `retry`). */
export async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let chunk = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      chunk++;
      buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const ev: SseEvent = { id: undefined, event: undefined, data: '', chunk };
        const data: string[] = [];
        let any = false;
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          any = true;
          if (field === 'data') data.push(value);
          else if (field === 'id') ev.id = value;
          else if (field === 'event') ev.event = value;
        }
        if (!any) continue;
        ev.data = data.join('\n');
        yield ev;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** All JSON-RPC messages of an SSE body (priming / empty events skipped), with their events. */
export async function sseMessages(res: Response): Promise<Array<{ msg: Json; ev: SseEvent }>> {
  const out: Array<{ msg: Json; ev: SseEvent }> = [];
  for await (const ev of sseEvents(res)) if (ev.data !== '') out.push({ msg: JSON.parse(ev.data) as Json, ev });
  return out;
}

/** The single JSON-RPC response of a request, whether answered as JSON or as SSE. */
export async function responseOf(res: Response): Promise<Json> {
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const msgs = await sseMessages(res);
    const last = msgs.findLast((m) => 'id' in m.msg && !('method' in m.msg));
    if (!last) throw new Error('SSE stream ended without a response');
    return last.msg;
  }
  return (await res.json()) as Json;
}

/** A parsed JSON body, deliberately untyped: tests assert on its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export async function json(res: Response | Promise<Response>): Promise<Loose> {
  return (await res).json();
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

// ------------------------------------------------------------------------------------ 2025 era

export async function initSession(url: string, version = '2025-11-25', capabilities: Json = {}): Promise<string> {
  const res = await postJson(url, {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: version, capabilities, clientInfo: { name: 'demo-test', version: '1.0.0' } },
  });
  const sid = res.headers.get('mcp-session-id');
  await responseOf(res);
  if (!sid) throw new Error(`initialize gave no session id (HTTP ${res.status})`);
  const ack = await postJson(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sid, 'mcp-protocol-version': version });
  if (ack.status !== 202) throw new Error(`notifications/initialized got HTTP ${ack.status}`);
  return sid;
}

export function legacyCall(url: string, sid: string, id: number, method: string, params: Json = {}, signal?: AbortSignal): Promise<Response> {
  return postJson(url, { jsonrpc: '2.0', id, method, params }, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }, signal);
}

// ------------------------------------------------------------------------------------ 2026 era

export const MODERN = '2026-07-28';

export interface ModernOptions {
  id?: number;
  capabilities?: Json;
  meta?: Json;
  /** Header overrides; a value of null drops the header. */
  headers?: Record<string, string | null>;
  signal?: AbortSignal;
}

/** A well-formed 2026-07-28 request: body `_meta` plus the mirrored standard headers. */
export function modernCall(url: string, method: string, params: Json = {}, o: ModernOptions = {}): Promise<Response> {
  const body = {
    jsonrpc: '2.0',
    id: o.id ?? 1,
    method,
    params: { ...params, _meta: { [META_PROTOCOL_VERSION]: MODERN, [META_CLIENT_CAPABILITIES]: o.capabilities ?? {}, ...o.meta } },
  };
  const headers: Record<string, string | null> = { 'mcp-protocol-version': MODERN, 'mcp-method': method };
  const name = method === 'resources/read' ? params.uri : method === 'tools/call' || method === 'prompts/get' ? params.name : undefined;
  if (typeof name === 'string') headers['mcp-name'] = name;
  Object.assign(headers, o.headers);
  const sent: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== null) sent[k] = v;
  return postJson(url, body, sent, o.signal);
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ text?: string }> }).content;
  return content?.map((c) => c.text ?? '').join('') ?? '';
}
