/**
 * A deliberately small raw Streamable HTTP client (fetch + a minimal SSE reader) for the tests
 * where an SDK client hides what matters: cutting the connection after a given event and
 * resuming with GET + Last-Event-ID by hand. Independent of the gateway's own SSE codec, so a
 * bug there cannot cancel out in the test.
 */

export interface RawEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
  retry: number | undefined;
}

/** Yields SSE events from a fetch Response body as they arrive (WHATWG field rules, simplified). */
export async function* sseEvents(res: Response): AsyncGenerator<RawEvent> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk as Uint8Array, { stream: true });
    buf = buf.replace(/\r\n?/g, '\n');
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const ev: RawEvent = { id: undefined, event: undefined, data: '', retry: undefined };
      let hasData = false;
      let hasField = false;
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        hasField = true;
        if (field === 'data') {
          ev.data = hasData ? `${ev.data}\n${value}` : value;
          hasData = true;
        } else if (field === 'id') ev.id = value;
        else if (field === 'event') ev.event = value;
        else if (field === 'retry' && /^\d+$/.test(value)) ev.retry = Number(value);
      }
      if (hasField) yield ev;
    }
  }
}

export interface RawSession {
  readonly url: URL;
  readonly sessionId: string;
  readonly protocolVersion: string;
  headers(extra?: Record<string, string>): Record<string, string>;
}

let nextId = 1;
export const rpcId = (): number => nextId++;

/** Legacy (2025-11-25) initialize + initialized through `url`; returns the session the client sees. */
export async function rawInitialize(url: URL, protocolVersion = '2025-11-25'): Promise<RawSession> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: rpcId(),
      method: 'initialize',
      params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-client', version: '0.0.1' } },
    }),
  });
  if (res.status !== 200) throw new Error(`initialize: HTTP ${res.status} ${await res.text()}`);
  const sessionId = res.headers.get('mcp-session-id');
  if (!sessionId) throw new Error('initialize: no Mcp-Session-Id');
  await res.text();
  const session: RawSession = {
    url,
    sessionId,
    protocolVersion,
    headers: (extra = {}) => ({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': protocolVersion,
      ...extra,
    }),
  };
  const ack = await fetch(url, {
    method: 'POST',
    headers: session.headers(),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await ack.text();
  if (ack.status !== 202) throw new Error(`initialized: HTTP ${ack.status}`);
  return session;
}

/** JSON-RPC message of an event, or undefined for priming/empty events. */
export function messageOf(ev: RawEvent): Record<string, unknown> | undefined {
  if (ev.data === '') return undefined;
  return JSON.parse(ev.data) as Record<string, unknown>;
}
