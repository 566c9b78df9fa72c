/**
 * DLP on object keys (and numbers) end to end: a secret an upstream returns as a key of `structuredContent`
 * reaches the client masked (JSON body and SSE event), a secret a client sends as an argument
 * key is refused by a block rule before the upstream sees it, and one in an oversized body (the
 * chunk path) cuts the body before any byte of it goes out.
 *
 * Test secrets are assembled at run time; the upstream's results travel base64-encoded in the
 * arguments so the request itself carries no secret.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader, MODERN, parseJson, post, sseData, type Loose } from './support/hostile-harness.ts';

const AWS = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const AWS2 = 'AKIA' + 'ZXCVBNM2345QWERT';
const STRIPE = 'sk_' + 'live_' + '4eC39HqLyjWDarjtT1zdp7dc';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

/**
 * Answers `tools/call` with the result in `arguments.resultB64` (JSON), as JSON or, with `sse`,
 * one SSE event; with `pauseAt`, the JSON body's bytes up to there go first, the rest 100 ms later.
 */
async function startUpstream(): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      seen.push(body);
      const msg = JSON.parse(body || '{}') as { id?: unknown; params?: { arguments?: { resultB64?: string; sse?: boolean; pauseAt?: number } } };
      if (msg.id === undefined) return void res.writeHead(202).end();
      const args = msg.params?.arguments ?? {};
      const result = args.resultB64 ? JSON.parse(Buffer.from(args.resultB64, 'base64').toString('utf8')) : { content: [] };
      const text = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result });
      if (args.sse) res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${text}\n\n`);
      else if (args.pauseAt) {
        res.writeHead(200, { 'content-type': 'application/json' }).write(text.slice(0, args.pauseAt));
        setTimeout(() => res.end(text.slice(args.pauseAt)), 100);
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen, server };
}

describe('DLP on object keys through the gateway', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let gw: Gateway;

  before(async () => {
    up = await startUpstream();
    const input: ConfigInput = {
      server: { port: 0 },
      logging: { level: 'silent' },
      limits: { maxBufferedMessageBytes: 64 * 1024 },
      routes: [{ name: 'tools', path: '/mcp', upstream: { url: up.url }, inspectors: [{ type: 'dlp', actions: { default: 'redact', types: { 'stripe-secret-key': 'block' } } }] }],
    };
    gw = await startGateway({ config: ConfigSchema.parse(input), identify: identifyByHeader, admin: false, logger: silentLogger, dataDir: tempDataDir() });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => up.server.close(() => resolve()));
  });

  const call = (who: string, args: Record<string, unknown>, id: number) =>
    post(gw.port, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'report', arguments: args, _meta: meta } }, {
      'x-test-user': who,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'report',
    });

  it('a secret returned as a key of structuredContent arrives masked, as JSON and as an SSE event', async () => {
    // Two keys masked alike: both members are kept.
    const result = { content: [{ type: 'text', text: 'report ready' }], structuredContent: { region: 'eu', [AWS]: 1, [AWS2]: 2 } };
    const json = await call('k1', { resultB64: b64(result) }, 1);
    assert.equal(json.status, 200);
    assert.ok(!json.text.includes(AWS) && !json.text.includes(AWS2), 'the keys never reach the client');
    const bodyResult = parseJson(json).result;
    assert.deepEqual(bodyResult.content, result.content);
    assert.deepEqual(bodyResult.structuredContent, { region: 'eu', '[REDACTED:aws-access-key-id]': 1, '[REDACTED:aws-access-key-id] #2': 2 });
    const sse = await call('k2', { resultB64: b64(result), sse: true }, 2);
    assert.ok(!sse.text.includes(AWS) && !sse.text.includes(AWS2));
    const event = sseData(sse.text).map((d) => JSON.parse(d) as Loose).find((e) => e.id === 2);
    assert.deepEqual(Object.keys(event.result.structuredContent), ['region', '[REDACTED:aws-access-key-id]', '[REDACTED:aws-access-key-id] #2']);
  });

  it('a card number returned as a JSON number in structuredContent arrives masked, as JSON and as an SSE event', async () => {
    const card = Number('5105' + '1051' + '0510' + '5100');
    const result = { content: [{ type: 'text', text: 'card on file' }], structuredContent: { holder: 'Ada', card, visits: 123456 } };
    for (const [id, sse] of [[7, false], [8, true]] as const) {
      const r = await call(`n${id}`, { resultB64: b64(result), sse }, id);
      assert.ok(!r.text.includes(String(card)), `the number never reaches the client (${sse ? 'SSE' : 'JSON'})`);
      const msg = sse ? (sseData(r.text).map((d) => JSON.parse(d) as Loose).find((e) => e.id === id) as Loose) : parseJson(r);
      assert.deepEqual(msg.result.structuredContent, { holder: 'Ada', card: '[REDACTED:credit-card]', visits: 123456 });
    }
  });

  it("a secret sent as a key of the client's arguments is refused by a block rule; the upstream never sees it", async () => {
    const before = up.seen.length;
    const r = parseJson(await call('k3', { [STRIPE]: 'value', query: 'fine' }, 3));
    assert.equal(r.error?.data?.code, 'blocked');
    assert.ok(r.error.data.reasons.includes('dlp/stripe-secret-key'), JSON.stringify(r.error.data));
    assert.ok(!up.seen.slice(before).some((s) => s.includes(STRIPE)), 'the upstream never received the key');
  });

  it("a secret in an argument key under a redact rule reaches the upstream renamed, the rest as sent", async () => {
    const before = up.seen.length;
    const r = parseJson(await call('k6', { filters: { [AWS]: 'eu', plain: 'x' } }, 6));
    assert.ok(r.result, JSON.stringify(r));
    const sent = up.seen.slice(before).map((s) => JSON.parse(s) as Loose).find((m) => m.id === 6);
    assert.deepEqual(sent.params.arguments, { filters: { '[REDACTED:aws-access-key-id]': 'eu', plain: 'x' } });
  });

  it('a secret key in an oversized body (the chunk path): the body is cut before the key, never sent', async () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(4000); // ~108 KB: over the 64 KiB buffer
    const body = JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'report', arguments: { resultB64: b64({ content: [{ type: 'text', text: filler }], structuredContent: { [AWS]: 1 } }), pauseAt: 100_000 }, _meta: meta } });
    const r = await received(body);
    assert.ok(r.text.startsWith('{"jsonrpc":"2.0"') && r.text.includes('lorem ipsum'), 'the body was streaming when it was cut');
    assert.ok(!r.text.includes(AWS.slice(0, 8)), 'no part of the key went out');
    assert.ok(r.cut, 'cut: no complete document presented as whole');
    // Clean keys pass through the same path untouched.
    const clean = parseJson(await call('k5', { resultB64: b64({ content: [{ type: 'text', text: filler }], structuredContent: { fine: 1 } }) }, 5));
    assert.deepEqual(clean.result.structuredContent, { fine: 1 });
  });

  /** POSTs `body` and keeps whatever arrived, also when the connection is cut mid-body. */
  function received(body: string): Promise<{ text: string; cut: boolean }> {
    return new Promise((resolve) => {
      const parts: Buffer[] = [];
      const done = (cut: boolean) => resolve({ text: Buffer.concat(parts).toString('utf8'), cut });
      const req = request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/mcp', agent: false, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-test-user': 'k4', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'report' } }, (res) => {
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => done(false));
        res.on('error', () => done(true));
      });
      req.on('error', () => done(true));
      req.end(body);
    });
  }
});
