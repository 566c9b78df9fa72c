/**
 * The audit trail for what did not simply succeed: refusals, blocked content, 2025-03-26 batches,
 * client-chosen strings, clients that leave. Real gateway, the default SQLite sink in a private
 * directory, read back with the `portcullis audit` CLI the way a security lead queries it.
 */
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runAuditCli } from '../../src/audit/index.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createLogger, silentLogger, type Logger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader, MODERN, RawConnection, post, send, type Loose } from './support/hostile-harness.ts';

const LEGACY = '2025-11-25';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
/** What the demo upstream's leak_secret returns, and a key of the same shape sent by a client. */
const SECRETS = ['AKIAQZ7W4R6TLY2U3P5D', 'q8Nf3Lk2Vx7Rt9Bw4Zc6Hm1Jp5Sd0Gy8Ke3Ua7Wn2Xo'];

function modernCall(port: number, who: string, name: string, args: Record<string, unknown>, id: number | string = 1, extra: Record<string, string> = {}, path = '/mcp') {
  return send(port, {
    path,
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: meta } }),
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'x-test-user': who,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': name,
      ...extra,
    },
  });
}

async function legacyInit(port: number, who: string, version = LEGACY, clientInfo: Record<string, unknown> = { name: 'audit-test', version: '1' }, path = '/mcp') {
  const init = await send(port, {
    path,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo } }),
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-test-user': who },
  });
  return init;
}

async function legacySession(port: number, who: string, version = LEGACY, clientInfo?: Record<string, unknown>): Promise<string> {
  const init = await legacyInit(port, who, version, clientInfo);
  const sid = init.headers['mcp-session-id'];
  assert.equal(typeof sid, 'string', `a session for ${who}: ${init.status} ${init.text}`);
  await post(port, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'x-test-user': who, 'mcp-session-id': sid as string, 'mcp-protocol-version': version });
  return sid as string;
}

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((out += s), true) } };
  const code = await runAuditCli(argv, io as never);
  return { code, out };
}

/** `audit query … --json`, polled until `ready` holds (delivery to the sink is asynchronous). */
async function query(dir: string, args: string[], ready: (rows: Loose[]) => boolean = (r) => r.length > 0): Promise<Loose[]> {
  const db = join(dir, '.portcullis', 'audit.db');
  let rows: Loose[] = [];
  for (let i = 0; i < 120; i++) {
    const q = await cli(['query', '--db', db, ...args, '--json']);
    rows = q.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    if (ready(rows)) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  return rows;
}

/** The exchange records of one principal (each case below calls as its own). */
const exchangesOf = (dir: string, who: string, n = 1) => query(dir, ['--principal', who, '--kind', 'exchange'], (r) => r.length >= n);

/** A gateway with the audit trail on (SQLite in a private directory) in front of the demo upstream. */
function auditStack(input: (demoUrl: string) => ConfigInput, logger: () => Logger = () => silentLogger) {
  const stack = { demo: undefined as unknown as DemoServer, gw: undefined as unknown as Gateway, dir: '' };
  before(async () => {
    stack.demo = await startDemoServer({ port: 0 });
    stack.dir = tempDataDir();
    stack.gw = await startGateway({ config: ConfigSchema.parse(input(stack.demo.url)), identify: identifyByHeader, admin: false, logger: logger(), dataDir: stack.dir });
  });
  after(async () => {
    await stack.gw?.close();
    await stack.demo?.close();
  });
  return stack;
}

describe("audit with includeContent: 'redacted': what DLP blocked is never stored", () => {
  const stack = auditStack((url) => ({
    server: { port: 0 },
    logging: { level: 'silent' },
    audit: { includeContent: 'redacted' },
    routes: [{ name: 'tools', path: '/mcp', upstream: { url }, inspectors: [{ type: 'dlp', actions: { default: 'block' } }] }],
  }));

  it('a request blocked on its way up and an answer blocked on its way back leave digests only', async () => {
    const { gw, dir } = stack;
    const up = await modernCall(gw.port, 'c2s', 'echo', { text: `AWS_ACCESS_KEY_ID=${SECRETS[0]}\nAWS_SECRET_ACCESS_KEY=${SECRETS[1]}` });
    assert.equal(JSON.parse(up.text).error.data.code, 'blocked');
    const down = await modernCall(gw.port, 's2c', 'leak_secret', {});
    assert.equal(JSON.parse(down.text).error.data.code, 'blocked');
    const sid = await legacySession(gw.port, 'legacy');
    const legacy = await post(gw.port, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: { text: `key ${SECRETS[0]}` } } }, {
      'x-test-user': 'legacy',
      'mcp-session-id': sid,
      'mcp-protocol-version': LEGACY,
    });
    assert.equal(JSON.parse(legacy.text).error.data.code, 'blocked');

    for (const who of ['c2s', 's2c']) {
      const [rec] = await exchangesOf(dir, who);
      assert.equal(rec.unmapped.verdict, 'block', who);
      assert.equal(rec.status_code, 'blocked', who);
      assert.match(rec.unmapped.digests.arguments, /^hmac-sha256:/, `${who}: the arguments are digested`);
    }
    const [c2s] = await exchangesOf(dir, 'c2s');
    assert.equal(c2s.api.request.data, undefined, 'a request refused before it went upstream: no content');
    const [s2c] = await exchangesOf(dir, 's2c');
    assert.deepEqual(s2c.api.request.data, {}, 'what was forwarded is recorded: the (empty) arguments');
    assert.equal(s2c.api.response.data, undefined, 'an answer blocked on its way back: no content');
    const legacyCall = (await exchangesOf(dir, 'legacy', 3)).find((r) => r.api.operation === 'tools/call');
    assert.equal(legacyCall.api.request.data, undefined);

    const everything = (await cli(['export', '--db', join(dir, '.portcullis', 'audit.db'), '--format', 'jsonl'])).out;
    const stored = ['audit.db', 'audit.db-wal'].map((f) => join(dir, '.portcullis', f)).filter(existsSync).map((f) => readFileSync(f));
    for (const secret of SECRETS) {
      assert.ok(!everything.includes(secret), `the trail holds ${secret}`);
      for (const bytes of stored) assert.ok(!bytes.includes(secret), `the database file holds ${secret}`);
    }
  });
});

describe('audit: client-chosen strings are bounded in every record', () => {
  const stack = auditStack((url) => ({ server: { port: 0 }, logging: { level: 'silent' }, routes: [{ name: 'tools', path: '/mcp', upstream: { url } }] }));

  it("a 2025 session's clientInfo, the User-Agent, the request id and the tool name", async () => {
    const { gw, dir } = stack;
    const sid = await legacySession(gw.port, 'big', LEGACY, { name: 'N'.repeat(200_000), version: 'V'.repeat(50_000) });
    const h = { 'x-test-user': 'big', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY, 'user-agent': 'U'.repeat(8000) };
    for (let i = 0; i < 3; i++) await post(gw.port, { jsonrpc: '2.0', id: `${'i'.repeat(5000)}${i}`, method: 'ping' }, h);
    await post(gw.port, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'T'.repeat(5000), arguments: {} } }, h);
    const rows = await exchangesOf(dir, 'big', 6);
    assert.equal(rows.length, 6);
    for (const r of rows) {
      assert.ok(JSON.stringify(r).length < 16_000, `a record of ${JSON.stringify(r).length} bytes`);
      assert.ok(r.actor.app_name.length <= 256, 'clientInfo.name');
      for (const a of r.src_endpoint.agent_list ?? []) assert.ok(a.version.length <= 256, 'clientInfo.version');
    }
    const pings = rows.filter((r) => r.api.operation === 'ping');
    assert.equal(pings.length, 3);
    for (const p of pings) {
      assert.ok(p.http_request.user_agent.length <= 256, 'User-Agent');
      assert.ok(p.api.request.uid.length <= 256, 'request id');
    }
    const call = rows.find((r) => r.api.operation === 'tools/call');
    assert.ok(call.resources[0].name.length <= 1024, 'tool name');
    assert.ok(call.resources[0].name.startsWith('TTTT'));
  });
});

describe('audit: refusals are failures with their code, and a verdict that says they were refused', () => {
  // Registered before the gateway's own `before`: its config names this upstream.
  let down: Server;
  let downUrl = '';
  before(async () => {
    // Accepts and closes every connection at once.
    down = createServer((req) => req.socket.destroy());
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    downUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}/mcp`;
  });
  after(() => down.close());
  const stack = auditStack((url) => ({
    server: { port: 0 },
    logging: { level: 'silent' },
    limits: { maxBodyBytes: 64 * 1024 },
    sessions: { maxPerPrincipal: 1 },
    routes: [
      { name: 'tools', path: '/mcp', upstream: { url } },
      // An upstream that is down: the tool list a 2026 call's Mcp-Param check needs cannot be had.
      { name: 'down', path: '/down', upstream: { url: downUrl } },
    ],
  }));

  it('refused by a control: block (Denied / Blocked)', async () => {
    const { gw, dir } = stack;
    const sid = await legacySession(gw.port, 'alice');
    // Another principal presenting alice's session id.
    const stolen = await post(gw.port, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'x-test-user': 'mallory', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY });
    assert.equal(stolen.status, 404);
    // alice already holds her one session.
    assert.equal((await legacyInit(gw.port, 'alice')).status, 429);
    // Mcp-Name says one tool, the body calls another.
    assert.equal((await modernCall(gw.port, 'mismatch', 'echo', { text: 'x' }, 1, { 'mcp-name': 'add' })).status, 400);

    const cases: Array<[string, string, number, string | undefined]> = [
      ['mallory', 'session_not_found', 1, undefined],
      ['alice', 'session_limit', 3, undefined],
      ['mismatch', 'header_mismatch', 1, 'echo'],
    ];
    for (const [who, code, n, tool] of cases) {
      const rec = (await exchangesOf(dir, who, n)).find((r) => r.status_code === code);
      assert.ok(rec, `${who}: a record with status_code ${code}`);
      assert.equal(rec.unmapped.verdict, 'block', code);
      assert.equal(rec.status, 'Failure', code);
      assert.deepEqual([rec.action, rec.disposition], ['Denied', 'Blocked'], code);
      if (tool) assert.equal(rec.resources?.[0]?.name, tool, `${code}: the tool it called`);
    }
    const blocks = await query(dir, ['--verdict', 'block'], (r) => r.length >= 3);
    assert.deepEqual(new Set(blocks.map((r) => r.status_code)), new Set(['session_not_found', 'session_limit', 'header_mismatch']));
  });

  it('refused otherwise before it went upstream: error (Denied / Rejected), in the era its headers said', async () => {
    const { gw, dir } = stack;
    const H = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    await post(gw.port, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'x-test-user': 'badversion', 'mcp-protocol-version': '1999-01-01' });
    await post(gw.port, { jsonrpc: '2.0', id: 7, method: 5 }, { 'x-test-user': 'invalid', 'mcp-protocol-version': MODERN });
    await post(gw.port, { jsonrpc: '2.0', id: 8, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } }, {
      'x-test-user': 'noparams',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/list',
    });
    await send(gw.port, { body: '{"jsonrpc":"2.0","id":1,', headers: { ...H, 'x-test-user': 'malformed' } });
    await send(gw.port, { body: 'x'.repeat(100 * 1024), headers: { ...H, 'x-test-user': 'oversized', 'mcp-protocol-version': MODERN } });
    await send(gw.port, { method: 'PUT', body: '{}', headers: { ...H, 'x-test-user': 'put' } });
    // The Mcp-Param check needs the upstream's tool list, and the upstream is down: not sent.
    assert.equal((await modernCall(gw.port, 'lookup', 'echo', { text: 'x' }, 1, {}, '/down')).status, 502);

    const cases: Array<[string, string, string]> = [
      ['badversion', 'unsupported_protocol_version', 'legacy'],
      ['invalid', 'invalid_request', 'modern'],
      ['noparams', 'invalid_params', 'modern'],
      ['malformed', 'parse_error', 'unknown'],
      ['oversized', 'body_too_large', 'modern'],
      ['put', 'method_not_allowed', 'unknown'],
      ['lookup', 'upstream_unavailable', 'modern'],
    ];
    for (const [who, code, era] of cases) {
      const [rec] = await exchangesOf(dir, who);
      assert.ok(rec, `${who}: a record`);
      assert.equal(rec.status_code, code, who);
      assert.equal(rec.status, 'Failure', who);
      assert.equal(rec.unmapped.verdict, 'error', who);
      assert.deepEqual([rec.action, rec.disposition], ['Denied', 'Rejected'], who);
      assert.equal(rec.unmapped.era, era, `${who}: era`);
    }
    const allowed = await query(dir, ['--verdict', 'allow']);
    for (const [who] of cases) assert.ok(!allowed.some((r) => r.actor.user.uid === who), `${who} is not among the allowed`);

    // Unlike the lookup above, a call that went upstream and failed there was allowed, and failed.
    assert.equal((await legacyInit(gw.port, 'downinit', LEGACY, undefined, '/down')).status, 502);
    const [sent] = await exchangesOf(dir, 'downinit');
    assert.deepEqual([sent.unmapped.verdict, sent.status, sent.status_code], ['allow', 'Failure', 'upstream_unavailable']);
  });
});

describe('audit: 2025-03-26 batches are found by the tools and verdicts of their elements', () => {
  const stack = auditStack((url) => ({
    server: { port: 0 },
    logging: { level: 'silent' },
    policy: { default: 'allow', rules: [{ name: 'no-add', when: 'tool.name == "add"', decision: 'deny', reason: 'no-add' }] },
    routes: [{ name: 'tools', path: '/mcp', upstream: { url }, inspectors: [{ type: 'dlp', actions: { default: 'block' } }] }],
  }));
  const V = '2025-03-26';
  const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

  it('a batch refused for one element: every element blocked, each findable by its tool', async () => {
    const { gw, dir } = stack;
    const sid = await legacySession(gw.port, 'refused', V);
    const r = await post(gw.port, [call(3, 'echo', { text: 'b' }), call(4, 'add', { a: 1, b: 2 })], { 'x-test-user': 'refused', 'mcp-session-id': sid, 'mcp-protocol-version': V });
    assert.deepEqual(JSON.parse(r.text).map((a: Loose) => a.error.data.code), ['blocked', 'blocked']);

    const [add] = await query(dir, ['--principal', 'refused', '--tool', 'add', '--verdict', 'block']);
    assert.ok(add, '--tool add --verdict block finds the refused batch');
    assert.equal(add.status_code, 'blocked');
    assert.deepEqual(add.unmapped.reasons, ['policy/no-add']);
    assert.equal(add.api.operation, 'tools/call');
    assert.deepEqual(add.unmapped.batch, { size: 2, elements: 1, ids: [4] });
    const [echo] = await query(dir, ['--principal', 'refused', '--tool', 'echo']);
    assert.equal(echo.unmapped.verdict, 'block', 'refused with the batch');
    assert.deepEqual(echo.unmapped.reasons, ['batch/element-refused']);
    assert.equal(echo.metadata.correlation_uid, add.metadata.correlation_uid, 'one exchange');
  });

  it('a batch whose one answer DLP blocked: that element blocked, the other allowed', async () => {
    const { gw, dir } = stack;
    const sid = await legacySession(gw.port, 'mixed', V);
    const r = await post(gw.port, [call(1, 'echo', { text: 'a' }), call(2, 'leak_secret')], { 'x-test-user': 'mixed', 'mcp-session-id': sid, 'mcp-protocol-version': V });
    assert.equal(r.status, 200);
    const [leak] = await query(dir, ['--principal', 'mixed', '--tool', 'leak_secret', '--verdict', 'block']);
    assert.ok(leak, '--tool leak_secret --verdict block');
    assert.equal(leak.status_code, 'blocked');
    const [echo] = await query(dir, ['--principal', 'mixed', '--tool', 'echo']);
    assert.deepEqual([echo.unmapped.verdict, echo.status], ['allow', 'Success']);
    const findings = await query(dir, ['--principal', 'mixed', '--kind', 'finding']);
    assert.ok(findings.length > 0 && findings.every((f) => f.resources?.[0]?.name === 'leak_secret'), 'findings name the element they are about');
  });

  it('many like elements make one record; a malformed batch is an error of each', async () => {
    const { gw, dir } = stack;
    const sid = await legacySession(gw.port, 'many', V);
    const h = { 'x-test-user': 'many', 'mcp-session-id': sid, 'mcp-protocol-version': V };
    await post(gw.port, Array.from({ length: 50 }, (_, i) => ({ jsonrpc: '2.0', id: 100 + i, method: 'ping' })), h);
    await post(gw.port, [call(7, 'echo', { text: 'x' }), 5], h);
    const rows = await exchangesOf(dir, 'many', 5);
    const pings = rows.filter((r) => r.api.operation === 'ping');
    assert.equal(pings.length, 1, 'fifty pings, one record');
    assert.equal(pings[0].unmapped.batch.elements, 50);
    const [echo] = await query(dir, ['--principal', 'many', '--tool', 'echo']);
    assert.deepEqual([echo.unmapped.verdict, echo.status_code], ['error', 'invalid_request']);
  });
});

describe('audit: a DLP block on the chunk path (a JSON answer over maxBufferedMessageBytes)', () => {
  let upstream: Server;
  let gw: Gateway;
  let dir = '';
  before(async () => {
    // Any POST: one large JSON answer with a credential in its middle.
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        const id = (JSON.parse(body) as { id?: unknown }).id ?? null;
        const pad = 'x'.repeat(200_000);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `${pad} AWS_ACCESS_KEY_ID=${SECRETS[0]} AWS_SECRET_ACCESS_KEY=${SECRETS[1]} ${pad}` }] } }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    dir = tempDataDir();
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
    gw = await startGateway({
      config: ConfigSchema.parse({
        server: { port: 0 },
        logging: { level: 'silent' },
        limits: { maxBufferedMessageBytes: 64 * 1024 },
        routes: [{ name: 'tools', path: '/mcp', upstream: { url }, inspectors: [{ type: 'dlp', actions: { default: 'block' } }] }],
      }),
      identify: identifyByHeader,
      admin: false,
      logger: silentLogger,
      dataDir: dir,
    });
  });
  after(async () => {
    await gw?.close();
    upstream?.close();
  });

  it('is recorded as a block, not an allowed call with a note', async () => {
    const r = await post(gw.port, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'dump', arguments: {} } }, { 'x-test-user': 'chunks', 'mcp-protocol-version': LEGACY }).catch(
      (err: Error) => ({ status: 0, text: String(err) }),
    );
    assert.ok(!r.text.includes(SECRETS[0]!), 'the client never got the credential');
    const [rec] = await exchangesOf(dir, 'chunks');
    assert.deepEqual([rec.unmapped.verdict, rec.status, rec.status_code], ['block', 'Failure', 'blocked']);
    assert.ok(rec.unmapped.notes.cut, 'cut mid-body');
    const blocks = await query(dir, ['--verdict', 'block', '--tool', 'dump']);
    assert.equal(blocks.length, 1);
  });
});

describe('audit: a client that leaves, or never gets its answer', () => {
  const lines: string[] = [];
  const stack = auditStack(
    (url) => ({ server: { port: 0 }, routes: [{ name: 'tools', path: '/mcp', upstream: { url } }] }),
    () => createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) as never }),
  );

  /** POSTs `body` and walks away after `ms`, before any answer. */
  function leave(port: number, body: unknown, headers: Record<string, string>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent: false, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
        res.resume();
      });
      req.on('error', () => {});
      req.end(JSON.stringify(body));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, ms);
    });
  }

  it('gone before the answer (either era): cancelled, with nothing sent, not a completed 200', async () => {
    const { gw, dir } = stack;
    await leave(gw.port, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: { ms: 1500 }, _meta: meta } }, {
      'x-test-user': 'leaves-modern',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'slow',
    }, 300);
    const sid = await legacySession(gw.port, 'leaves-legacy');
    await leave(gw.port, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'slow', arguments: { ms: 800 } } }, {
      'x-test-user': 'leaves-legacy',
      'mcp-session-id': sid,
      'mcp-protocol-version': LEGACY,
    }, 300);
    for (const who of ['leaves-modern', 'leaves-legacy']) {
      const rec = (await exchangesOf(dir, who, who === 'leaves-legacy' ? 3 : 1)).find((r) => r.api.operation === 'tools/call');
      assert.equal(rec.status, 'Cancelled', who);
      assert.equal(rec.status_detail, 'client-disconnect', who);
      assert.equal(rec.unmapped.partial, true, who);
      assert.equal(rec.api.response?.code, undefined, `${who}: no status was sent`);
      assert.equal(rec.unmapped.bytes.response, 0, who);
    }
  });

  it('pipelined requests whose answers never went out: not recorded as delivered', async () => {
    const { gw, dir } = stack;
    const one = (id: number, who: string) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' }, _meta: meta } });
      return `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nX-Test-User: ${who}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: ${MODERN}\r\nMcp-Method: tools/call\r\nMcp-Name: echo\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const c = new RawConnection(gw.port);
    await c.connected;
    // Two good requests, then bytes that are not HTTP: the parser's 400 ends the connection.
    await c.write(one(1, 'pipe-1') + one(2, 'pipe-2') + 'BROKEN\r\n\r\n');
    await c.closedByServer();
    c.destroy();
    for (const who of ['pipe-1', 'pipe-2']) {
      const [rec] = await exchangesOf(dir, who);
      assert.notEqual(rec.status, 'Success', `${who}: ${rec.status}`);
      assert.equal(rec.api.response?.code, undefined, `${who}: no status reached the client`);
    }
  });

  it('an upload cut mid-body: a failure with a stable code, not an internal error', async () => {
    const { gw, dir } = stack;
    const c = new RawConnection(gw.port);
    await c.connected;
    await c.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nX-Test-User: cutter\r\nContent-Type: application/json\r\nAccept: */*\r\nContent-Length: 100000\r\n\r\n{"jsonrpc":`);
    await new Promise((r) => setTimeout(r, 100));
    c.destroy();
    const [rec] = await exchangesOf(dir, 'cutter');
    assert.deepEqual([rec.status, rec.status_code, rec.unmapped.verdict], ['Failure', 'client_closed', 'error']);
    const metrics = await gw.metrics.metricsText();
    assert.match(metrics, /errors_total\{code="client_closed"\} [1-9]/);
    assert.doesNotMatch(metrics, /errors_total\{code="internal"\}/);
    assert.ok(!lines.some((l) => l.includes('internal error')), 'no internal error logged');
  });
});
