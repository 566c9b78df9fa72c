/**
 * One 2025 session holds at most 16 streams (transport/context.ts MAX_STREAMS_PER_SESSION): each
 * keeps a replay buffer of up to `streams.eventReplayBytes` while its client is away, so a client
 * opening streams and walking off must not multiply it. The oldest detached stream is dropped
 * for a new one; the session and its newest streams go on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { initSession } from '../../src/demo/testkit.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { ANONYMOUS } from '../../src/listener/handler.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';

describe('streams per 2025 session', () => {
  let demo: DemoServer;
  let gw: Gateway;
  before(async () => {
    demo = await startDemoServer({ port: 0, responseMode: 'sse' });
    gw = await startGateway({ config: ConfigSchema.parse({ server: { port: 0 }, logging: { level: 'silent' }, routes: [{ name: 'tools', path: '/mcp', upstream: { url: demo.url } }] }), admin: false, dataDir: tempDataDir(), logger: silentLogger });
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await demo.close();
  });

  it('24 calls whose client walks away after the headers leave at most 16 streams (and replay buffers) in the session', async () => {
    const url = `${gw.url}/mcp`;
    const sid = await initSession(url);
    for (let i = 0; i < 24; i++) {
      const ctl = new AbortController();
      const r = await fetch(url, {
        method: 'POST',
        signal: ctl.signal,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'countdown', arguments: { from: 600, intervalMs: 1000 }, _meta: { progressToken: `p${i}` } } }),
      });
      assert.equal(r.status, 200, `call ${i}`);
      ctl.abort();
      await r.body?.cancel().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const address = ['127.0.0.1', '::ffff:127.0.0.1'];
    const session = address.map((a) => gw.sessions.get(sid, ANONYMOUS, a)).find((s) => s !== undefined);
    assert.ok(session, 'the session goes on');
    assert.ok(session.streams.size <= 16, `${session.streams.size} streams held`);
  });
});
