/**
 * A scripted, misbehaving MCP upstream on plain node:http. What it does is chosen per request by
 * the tool name in a `tools/call` body (`params.name`), so one server covers every failure and
 * a normal call (`ok`) proves the gateway still works after each of them.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  /** A normal JSON result echoing `arguments.text`. */
  | 'ok'
  /** The same result as one SSE event. */
  | 'ok-sse'
  /** SSE: a notification event of `arguments.bytes` bytes, then the result. */
  | 'huge-event'
  /** application/json body of `arguments.bytes` bytes (valid JSON-RPC). */
  | 'huge-json'
  /** SSE: one event whose data is not JSON. */
  | 'garbage-sse'
  /** application/json body that is not JSON. */
  | 'garbage-json'
  /** SSE: one event that is JSON but not JSON-RPC. */
  | 'not-jsonrpc-sse'
  /** Accepts the request and never answers. */
  | 'silent'
  /** SSE headers, one progress notification, then silence. */
  | 'silent-after-headers'
  /** SSE headers, one notification, then the TCP connection is destroyed. */
  | 'die-mid-stream'
  /** JSON headers and half a body, then the connection is destroyed. */
  | 'die-mid-json'
  /** The connection is destroyed before any response byte. */
  | 'die-before-headers'
  /** JSON headers (with Content-Length) and half a body, then silence. */
  | 'silent-mid-json'
  /** application/json declaring (and sending) a Content-Length of `arguments.bytes`. */
  | 'huge-json-declared'
  /** SSE: one notifications/message per `arguments.parts` entry, `arguments.gapMs` apart, then the result. */
  | 'parts-sse'
  /** JSON: the result under the request's id as a string ("7" for 7), text SPOOFED. */
  | 'wrong-id-json'
  /** SSE: a result for the id as a string and one for another id (text SPOOFED), then the real one. */
  | 'wrong-id-sse'
  /** JSON: a result whose content block carries `text` twice (POISON first, clean last). */
  | 'dup-key-json'
  /** JSON, and SSE with `arguments.sse`: a result with a member nested `arguments.depth` deep. */
  | 'deep'
  /** SSE: one notification, then the stream ends without an answer (and without event ids). */
  | 'sse-no-answer'
  /** JSON: a result whose `structuredContent` is spelled `StructuredContent` (POISON inside). */
  | 'variant-key-json'
  /** A gzip-compressed result (`Content-Encoding: gzip`), as JSON, or as SSE with `arguments.sse`. */
  | 'gzip'
  /** SSE: a notification in an event named `AKIAQYLPMN5HHHFPZAM2` (a secret as the event type), then the result. */
  | 'named-event';

export interface SeenRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HostileUpstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  /** How it answers `tools/list` (the gateway's own fetch of the list); unset: like any call. */
  toolsList: Behaviour | undefined;
  close(): Promise<void>;
}

const SSE = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

function result(id: unknown, text: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      seen.push({ method: req.method ?? '', headers: req.headers, body });
      let msg: { id?: unknown; method?: string; params?: { name?: string; arguments?: Record<string, unknown> } } = {};
      try {
        msg = JSON.parse(body);
      } catch {
        // not JSON: answered as 'ok' with a null id
      }
      if (req.method !== 'POST' || msg.id === undefined) {
        // GET/DELETE/notifications: nothing scripted.
        res.writeHead(req.method === 'POST' ? 202 : 405, req.method === 'POST' ? {} : { allow: 'POST' });
        res.end();
        return;
      }
      const behaviour = (msg.method === 'tools/list' && upstream.toolsList !== undefined ? upstream.toolsList : (msg.params?.name ?? 'ok')) as Behaviour;
      const args = msg.params?.arguments ?? {};
      run(behaviour, msg.id, args, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const upstream: HostileUpstream = {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    seen,
    toolsList: undefined,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return upstream;
}

function run(behaviour: Behaviour, id: unknown, args: Record<string, unknown>, res: ServerResponse): void {
  const bytes = typeof args['bytes'] === 'number' ? args['bytes'] : 1024;
  switch (behaviour) {
    case 'ok': {
      const text = result(id, typeof args['textB64'] === 'string' ? Buffer.from(args['textB64'], 'base64').toString('utf8') : String(args['text'] ?? 'ok'));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case 'ok-sse':
      res.writeHead(200, SSE);
      res.end(`data: ${result(id, String(args['text'] ?? 'ok'))}\n\n`);
      return;
    case 'huge-event': {
      const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x'.repeat(bytes) } });
      res.writeHead(200, SSE);
      res.write(`data: ${note}\n\n`);
      res.end(`data: ${result(id, 'after the huge event')}\n\n`);
      return;
    }
    case 'parts-sse': {
      // `partsB64`: the same, base64-encoded, so content-inspecting tests can ship a secret to the
      // upstream's output without it appearing in the request.
      const parts = Array.isArray(args['partsB64'])
        ? (args['partsB64'] as string[]).map((p) => Buffer.from(p, 'base64').toString('utf8'))
        : Array.isArray(args['parts'])
          ? (args['parts'] as string[])
          : [];
      const gap = typeof args['gapMs'] === 'number' ? args['gapMs'] : 0;
      res.writeHead(200, SSE);
      let i = 0;
      const next = (): void => {
        if (res.destroyed) return;
        if (i < parts.length) {
          res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: parts[i++] } })}\n\n`);
          setTimeout(next, gap);
          return;
        }
        res.end(`data: ${result(id, 'done')}\n\n`);
      };
      next();
      return;
    }
    case 'huge-json': {
      const text = result(id, 'x'.repeat(bytes));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
      return;
    }
    case 'named-event': {
      const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hello' } });
      res.writeHead(200, SSE);
      res.end(`event: AKIAQYLPMN5HHHFPZAM2\ndata: ${note}\n\ndata: ${result(id, 'done')}\n\n`);
      return;
    }
    case 'gzip': {
      const text = result(id, 'SECRET AKIAQYLPMN5HHHFPZAM2');
      const sse = args['sse'] === true;
      const body = gzipSync(sse ? `data: ${text}\n\n` : text);
      res.writeHead(200, { ...(sse ? SSE : { 'content-type': 'application/json' }), 'content-encoding': 'gzip', 'content-length': body.length });
      res.end(body);
      return;
    }
    case 'wrong-id-json': {
      const text = result(String(id), 'SPOOFED');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
      return;
    }
    case 'dup-key-json': {
      const text = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"POISON","text":"clean"}]}}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
      return;
    }
    case 'deep': {
      const depth = typeof args['depth'] === 'number' ? args['depth'] : 100_000;
      const text = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"deep"}],"structuredContent":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
      if (args['sse'] === true) {
        res.writeHead(200, SSE);
        res.end(`data: ${text}\n\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
      return;
    }
    case 'variant-key-json': {
      const text = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"clean"}],"StructuredContent":{"note":"POISON"}}}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
      return;
    }
    case 'sse-no-answer':
      res.writeHead(200, SSE);
      res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } })}\n\n`);
      return;
    case 'wrong-id-sse':
      res.writeHead(200, SSE);
      res.write(`data: ${result(String(id), 'SPOOFED')}\n\n`);
      res.write(`data: ${result(typeof id === 'number' ? id + 1 : 0, 'SPOOFED')}\n\n`);
      res.end(`data: ${result(id, 'the real answer')}\n\n`);
      return;
    case 'garbage-sse':
      res.writeHead(200, SSE);
      res.end('data: this is not json {\n\n');
      return;
    case 'garbage-json':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('this is not json {');
      return;
    case 'not-jsonrpc-sse':
      res.writeHead(200, SSE);
      res.end('data: {"hello":"world"}\n\n');
      return;
    case 'silent':
      return;
    case 'silent-after-headers':
      res.writeHead(200, SSE);
      res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } })}\n\n`);
      return;
    case 'die-mid-stream':
      res.writeHead(200, SSE);
      res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'first' } })}\n\n`, () => {
        res.socket?.destroy();
      });
      return;
    case 'die-mid-json': {
      const text = result(id, 'y'.repeat(4096));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, 100), () => res.socket?.destroy());
      return;
    }
    case 'die-before-headers':
      res.socket?.destroy();
      return;
    case 'silent-mid-json': {
      const text = result(id, 'z'.repeat(4096));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, 100));
      return;
    }
    case 'huge-json-declared': {
      const text = result(id, 'x'.repeat(bytes));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    default: {
      const text = result(id, 'ok');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
    }
  }
}

/** A sessionless 2025-era tools/call that selects a behaviour. */
export function scripted(behaviour: Behaviour, id: number, args: Record<string, unknown> = {}): { body: unknown; headers: Record<string, string> } {
  return {
    body: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: behaviour, arguments: args } },
    headers: { 'mcp-protocol-version': '2025-11-25' },
  };
}
