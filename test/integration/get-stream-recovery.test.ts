/**
 * The 2025 standalone GET stream after a failed upstream GET: the client gets the error, and its
 * next GET opens a live stream to the upstream again (not a stream the gateway left behind with
 * nothing feeding it, which only ever sends keep-alives).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { expectGatewayError, post, send, startStack, type Stack } from './support/hostile-harness.ts';
import { startRecordingUpstream, type RecordingUpstream } from './support/recording-upstream.ts';

const LEGACY = '2025-11-25';

/** Opens a GET stream and collects what arrives until `stop()`. */
function openGet(port: number, headers: Record<string, string>): { status: Promise<number>; text: () => string; stop: () => void } {
  let text = '';
  let req!: ReturnType<typeof httpRequest>;
  const status = new Promise<number>((resolve, reject) => {
    req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method: 'GET', agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.end();
  });
  return { status, text: () => text, stop: () => req.destroy() };
}

describe('standalone GET stream after a failed upstream GET', () => {
  let demo: DemoServer;
  // A hop in front of the demo whose GETs fail (connection dropped) while `down` is set.
  let hop: RecordingUpstream;
  let down = false;
  const gets = () => hop.requests.filter((r) => r.method === 'GET').length;
  let stack: Stack;

  before(async () => {
    demo = await startDemoServer({ port: 0 });
    hop = await startRecordingUpstream(demo.url, { drop: (r) => r.method === 'GET' && down });
    stack = await startStack({ upstream: hop.url, streams: { keepAliveMs: 200 } });
  });
  after(async () => {
    await stack.close();
    await hop.close();
    await demo.close();
  });

  it('the failed GET gets the error; the next GET reaches the upstream and carries its notifications', async () => {
    const init = await post(stack.port, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'get-recovery', version: '1' } } });
    const sid = init.headers['mcp-session-id'] as string;
    assert.equal(typeof sid, 'string', init.text);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
    await post(stack.port, { jsonrpc: '2.0', method: 'notifications/initialized' }, h);

    down = true;
    const failed = await send(stack.port, { method: 'GET', headers: { ...h, accept: 'text/event-stream' } });
    expectGatewayError(failed, 'upstream_unavailable', null, 'the first GET fails with the upstream error');
    down = false;
    const getsBefore = gets();

    const get = openGet(stack.port, h);
    assert.equal(await get.status, 200);
    try {
      // The upstream saw a new GET: the gateway did not re-attach the client to a dead stream.
      for (let i = 0; i < 250 && gets() === getsBefore; i++) await sleep(20);
      assert.equal(gets(), getsBefore + 1, 'the second GET reached the upstream');

      const notify = await post(stack.port, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'demo_notify', arguments: { message: 'HELLO-ON-GET' } } }, h);
      assert.match(notify.text, /Sent notifications\/message on the standalone GET stream/, notify.text);
      for (let i = 0; i < 250 && !get.text().includes('HELLO-ON-GET'); i++) await sleep(20);
      assert.match(get.text(), /HELLO-ON-GET/, `the notification arrives on the new GET stream; got ${JSON.stringify(get.text())}`);
    } finally {
      get.stop();
    }
  });
});
