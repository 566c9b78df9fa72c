/**
 * Test support for the relay-stream tests: a real HTTP response for a RelayStream to write to,
 * and what a client read from it, as text and as the events a spec parser dispatched.
 */
import { after } from 'node:test';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseParser, type SseEvent } from '../codec/sse.ts';

export interface ClientPair {
  res: ServerResponse;
  /** Everything the client read, once the response is over (ended, cut or aborted). */
  body: Promise<string>;
  events: Promise<SseEvent[]>;
  close(): void;
}

/** Every server a test opened, closed at the end of its file even when an assertion failed. */
const opened: Array<() => void> = [];
let registered = false;

export async function clientPair(): Promise<ClientPair> {
  if (!registered) {
    registered = true;
    after(() => opened.forEach((close) => close()));
  }
  let resolveRes!: (r: ServerResponse) => void;
  const got = new Promise<ServerResponse>((r) => (resolveRes = r));
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    resolveRes(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const body = new Promise<string>((resolve) => {
    request({ port, host: '127.0.0.1' }, (incoming) => {
      let text = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (d) => (text += d));
      incoming.on('end', () => resolve(text));
      incoming.on('error', () => resolve(text));
      incoming.on('aborted', () => resolve(text));
    }).end();
  });
  const events = body.then((text) => {
    const out: SseEvent[] = [];
    const p = new SseParser((ev) => out.push(ev));
    p.push(text);
    p.end();
    return out;
  });
  const res = await got;
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  opened.push(close);
  return { res, body, events, close };
}
