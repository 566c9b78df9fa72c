/**
 * The gateway's own tools/list fetch (transport/upstream-tools.ts: a 2026-07-28 call for a tool it
 * has not seen listed) against an upstream that streams events and never answers: the fetch keeps
 * only its answer, stops at the byte budget (`limits.maxEventBytes`, all pages together), and the
 * call gets a table error promptly instead of the gateway buffering the stream until it runs out
 * of memory.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.ts';
import { modernCall, type Loose } from '../../src/demo/testkit.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';

describe("the gateway's tools/list fetch against an upstream that streams and never answers", () => {
  let server: Server;
  let gw: Gateway;
  let sent = 0;
  let closedEarly = false;
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        const msg = JSON.parse(body) as { id: unknown; method: string };
        if (msg.method !== 'tools/list') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { resultType: 'complete', content: [{ type: 'text', text: 'ran' }] } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const event = `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x'.repeat(64 * 1024) } })}\n\n`;
        const pump = () => {
          // An endless stream (bounded here so a broken gateway cannot wedge the test run).
          while (!res.destroyed && sent < 64 * 1024 * 1024 && res.write(event)) sent += event.length;
          if (!res.destroyed && sent < 64 * 1024 * 1024) res.once('drain', pump);
        };
        res.on('close', () => (closedEarly = sent < 64 * 1024 * 1024));
        pump();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    gw = await startGateway({
      config: ConfigSchema.parse({ server: { port: 0 }, logging: { level: 'silent' }, limits: { maxEventBytes: 4 * 1024 * 1024 }, routes: [{ name: 'tools', path: '/mcp', upstream: { url } }] }),
      admin: false,
      dataDir: tempDataDir(),
      logger: silentLogger,
    });
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('the call is refused with a table error once the fetch reads its byte budget, and the gateway stops reading', async () => {
    const started = Date.now();
    const r = await modernCall(`${gw.url}/mcp`, 'tools/call', { name: 'never_listed', arguments: {} });
    const body = (await r.json()) as Loose;
    assert.equal(body.error?.data?.code, 'upstream_event_too_large', JSON.stringify(body).slice(0, 300));
    assert.ok(Date.now() - started < 20_000, `answered after ${Date.now() - started} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(closedEarly, true, `the gateway closed the stream after ${sent} bytes`);
    assert.ok(sent < 32 * 1024 * 1024, `the upstream got to write ${sent} bytes`);
  });
});
