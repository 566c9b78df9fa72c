/**
 * A route without authentication, through the real gateway in front of the demo upstream: every
 * caller is the principal 'anonymous', and two clients connecting from different loopback
 * addresses (127.0.0.2 and 127.0.0.3 as the client's local address) must still be two callers:
 * their own session caps, their own sessions, their own finding counters and rate limits.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { ACCEPT, expectGatewayError, MODERN, sseData, type Loose, type Reply } from './support/hostile-harness.ts';

const A = '127.0.0.2';
const B = '127.0.0.3';
const AWS = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const LEGACY = '2025-11-25';

/** One POST on a fresh connection from `localAddress`, so the gateway sees that peer address. */
function postFrom(localAddress: string, port: number, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/mcp', method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The JSON-RPC answer with `id`, whether it came as JSON or in an SSE stream. */
function answer(r: Reply, id: number): Loose {
  if (String(r.headers['content-type']).startsWith('text/event-stream')) {
    const found = sseData(r.text).map((d) => JSON.parse(d) as Loose).find((m) => m.id === id);
    assert.ok(found, `no answer for id ${id} in ${r.text.slice(0, 300)}`);
    return found;
  }
  return JSON.parse(r.text) as Loose;
}

describe('anonymous callers are told apart by address', () => {
  let demo: DemoServer;
  let gw: Gateway;

  before(async () => {
    demo = await startDemoServer({ port: 0 });
    gw = await startGateway({
      dataDir: tempDataDir(),
      admin: false,
      logger: silentLogger,
      // No `identify` and no route auth: every caller is the principal 'anonymous'.
      config: ConfigSchema.parse({
        server: { port: 0 },
        logging: { level: 'silent' },
        audit: { enabled: false },
        sessions: { maxPerPrincipal: 2 },
        routes: [{ name: 'tools', path: '/mcp', upstream: { url: demo.url }, inspectors: [{ type: 'dlp', actions: { default: 'redact' } }] }],
        // A client that leaked two secrets this hour may no longer echo; `add` is limited per
        // caller. Each test below hits only its own rule.
        policy: {
          default: 'allow',
          rules: [{ name: 'leaky', when: 'tool.name == "echo" && session.counters[?"secret_findings_1h"].orValue(0) >= 2', decision: 'deny', reason: 'too-many-secrets' }],
        },
        rateLimits: { limits: [{ name: 'adds', scope: 'principal', match: { tools: ['add'] }, capacity: 2, refillPerSecond: 0.001 }] },
      }),
    });
  });
  after(async () => {
    await gw.close();
    await demo.close();
  });

  const initialize = (from: string, id: number) =>
    postFrom(from, gw.port, { jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'anon', version: '1' } } });

  const modernCall = (from: string, id: number, name: string, args: Record<string, unknown>) =>
    postFrom(
      from,
      gw.port,
      { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } } },
      { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': name },
    );

  it("an anonymous client's session id presented from another address is refused like another caller's (404)", async () => {
    const mine = await initialize(A, 1);
    assert.equal(mine.status, 200, mine.text);
    const sid = String(mine.headers['mcp-session-id']);
    const ping = (from: string, id: number) => postFrom(from, gw.port, { jsonrpc: '2.0', id, method: 'ping' }, { 'mcp-protocol-version': LEGACY, 'mcp-session-id': sid });
    expectGatewayError(await ping(B, 2), 'session_not_found', 2);
    const own = await ping(A, 3);
    assert.equal(own.status, 200, own.text);
    assert.deepEqual(answer(own, 3).result, {});
  });

  it('one anonymous client at its session cap does not lock the other anonymous clients out', async () => {
    // A holds one session from the test above; the cap is two.
    assert.equal((await initialize(A, 4)).status, 200);
    expectGatewayError(await initialize(A, 5), 'session_limit', 5);
    const other = await initialize(B, 6);
    assert.equal(other.status, 200, `another anonymous client still gets a session: ${other.text}`);
  });

  it("one anonymous client's DLP findings stop that client, not every anonymous caller", async () => {
    for (const id of [10, 11]) {
      const r = answer(await modernCall(A, id, 'echo', { text: `key ${AWS}` }), id);
      assert.equal(r.result?.content?.[0]?.text, 'key [REDACTED:aws-access-key-id]', JSON.stringify(r));
    }
    const stopped = answer(await modernCall(A, 12, 'echo', { text: 'hello' }), 12);
    assert.equal(stopped.error?.data?.code, 'policy_denied', JSON.stringify(stopped));
    const fine = answer(await modernCall(B, 13, 'echo', { text: 'hello' }), 13);
    assert.equal(fine.result?.content?.[0]?.text, 'hello', `another anonymous client is not stopped: ${JSON.stringify(fine)}`);
  });

  it('one anonymous client exhausting a per-caller rate limit leaves the others their own', async () => {
    for (const id of [20, 21]) assert.equal(answer(await modernCall(B, id, 'add', { a: 1, b: 2 }), id).result?.content?.[0]?.text, '3');
    expectGatewayError(await modernCall(B, 22, 'add', { a: 1, b: 2 }), 'rate_limited', 22);
    const other = answer(await modernCall(A, 23, 'add', { a: 1, b: 2 }), 23);
    assert.equal(other.result?.content?.[0]?.text, '3', `another anonymous client still has its bucket: ${JSON.stringify(other)}`);
  });
});
