/**
 * Resumption after the client's connection went dead (2025 era, Last-Event-ID): the stream must
 * go on over the new connection at once. A dead connection stops reading; the gateway's writes to
 * it back up, and the relay used to wait for that response to drain (or close) before relaying the
 * next event: the resumed connection got the replay and then nothing, until the kernel gave the
 * dead socket up (found by a red-team review).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { post, startStack, type Stack } from './support/hostile-harness.ts';

const LEGACY = '2025-11-25';

/** A 2025-11-25 upstream whose `flood` tool streams `n` progress events of `size` characters (upstream event ids), then its result. */
async function startFloodUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: number; method: string; params?: { arguments?: { n: number; size: number } } };
    if (m.method === 'initialize') {
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': randomUUID() });
      return void res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: LEGACY, capabilities: { tools: {} }, serverInfo: { name: 'flood', version: '1' } } }));
    }
    if (m.id === undefined) return void res.writeHead(202).end();
    const { n, size } = m.params!.arguments!;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < n; i++) {
      const ok = res.write(`id: u${i}\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: i, message: 'z'.repeat(size) } })}\n\n`);
      await new Promise((r) => (ok ? setTimeout(r, 5) : res.once('drain', r)));
    }
    res.end(`id: u${n}\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'FINAL-RESULT' }] } })}\n\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server };
}

describe('resumption after a dead connection', () => {
  let up: Awaited<ReturnType<typeof startFloodUpstream>>;
  let s: Stack;
  before(async () => {
    up = await startFloodUpstream();
    s = await startStack({ upstream: up.url });
  });
  after(async () => {
    await s.close();
    up.server.closeAllConnections();
    await new Promise<void>((r) => up.server.close(() => r()));
  });

  it('the resumed stream gets every later event and the result while the dead connection is still open', async () => {
    const init = await post(s.port, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    const sid = String(init.headers['mcp-session-id']);
    const headers = { 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
    await post(s.port, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
    // Connection A reads the first events, then stops reading for good: a dead peer, as the gateway sees it.
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'flood', arguments: { n: 60, size: 200_000 } } });
    const dead = connect(s.port, '127.0.0.1');
    let seen = '';
    await new Promise<void>((resolve) => {
      dead.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n` +
          `mcp-session-id: ${sid}\r\nmcp-protocol-version: ${LEGACY}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      const onData = (c: Buffer) => {
        seen += c.toString('latin1');
        if (/\nid: \S+\.1\n/.test(`\n${seen}`)) {
          dead.off('data', onData);
          dead.pause();
          resolve();
        }
      };
      dead.on('data', onData);
    });
    const last = [...seen.matchAll(/id: (\S+)\n/g)].at(-1)![1]!;
    // Let the gateway's writes to it back up before the client resumes elsewhere.
    await new Promise((r) => setTimeout(r, 1000));
    let text = '';
    const resumed = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: '/mcp', method: 'GET', headers: { ...headers, accept: 'text/event-stream', 'last-event-id': last } }, (res) => {
        assert.equal(res.statusCode, 200);
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.includes('FINAL-RESULT')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', reject);
      req.end();
      // Well before the dead socket would time out: the stream must not wait for it.
      setTimeout(() => reject(new Error(`no result on the resumed stream within 15 s (got ${text.length} characters)`)), 15_000).unref();
    });
    const progress = [...resumed.matchAll(/"progress":(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(progress.at(-1), 59, 'every later event');
    assert.ok(!dead.destroyed, 'while the dead connection is still open on the client side');
    dead.destroy();
  });
});
