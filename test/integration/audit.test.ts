/**
 * The audit trail as the data path writes it: what a security lead reads after the fact.
 * Real gateway, real demo upstream, the default SQLite sink in a private directory, read back
 * with the `portcullis audit` CLI code (verify, query).
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runAuditCli } from '../../src/audit/index.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader, MODERN, parseJson, post, send } from './support/hostile-harness.ts';

const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

function call(gw: Gateway, who: string, name: string, args: Record<string, unknown>, id: number) {
  return post(gw.port, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: meta } }, {
    'x-test-user': who,
    'mcp-protocol-version': MODERN,
    'mcp-method': 'tools/call',
    'mcp-name': name,
  });
}

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((out += s), true) } };
  const code = await runAuditCli(argv, io as never);
  return { code, out };
}

/** POSTs `body` as a streaming call, reads `events` SSE events, then walks away mid-stream. */
function readThenLeave(port: number, headers: Record<string, string>, body: string, events = 3): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.split('\n\n').length - 1 >= events) {
            req.destroy(); // the client walks away mid-stream
            resolve();
          }
        });
        res.on('error', () => {});
      },
    );
    req.on('error', () => {});
    req.on('close', () => resolve());
    req.end(body);
    setTimeout(() => reject(new Error('no events')), 5000).unref();
  });
}

/** A gateway (audit on, SQLite in a private directory) in front of the demo upstream. */
function auditStack(input: (demoUrl: string) => ConfigInput) {
  const stack = { demo: undefined as unknown as DemoServer, gw: undefined as unknown as Gateway, dir: '' };
  before(async () => {
    stack.demo = await startDemoServer({ port: 0 });
    stack.dir = tempDataDir();
    stack.gw = await startGateway({ config: ConfigSchema.parse(input(stack.demo.url)), identify: identifyByHeader, admin: false, logger: silentLogger, dataDir: stack.dir });
  });
  after(async () => {
    await stack.gw?.close();
    await stack.demo?.close();
  });
  return stack;
}

describe('audit trail through the gateway', () => {
  let demo: DemoServer;
  let gw: Gateway;
  let dir: string;

  before(async () => {
    demo = await startDemoServer({ port: 0 });
    dir = tempDataDir();
    const input: ConfigInput = {
      server: { port: 0 },
      logging: { level: 'silent' },
      routes: [
        {
          name: 'tools',
          path: '/mcp',
          upstream: { url: demo.url },
          inspectors: [{ type: 'redact', patterns: [{ name: 'demo-key', regex: 'sk-demo-[A-Za-z0-9]{8,}' }] }],
        },
      ],
      policy: { default: 'allow', rules: [{ name: 'no-add-for-bob', when: 'tool.name == "add" && principal.subject == "bob"', decision: 'deny', reason: 'bob-no-add' }] },
    };
    gw = await startGateway({ config: ConfigSchema.parse(input), identify: identifyByHeader, admin: false, logger: silentLogger, dataDir: dir });
  });
  after(async () => {
    await gw?.close();
    await demo.close();
  });

  const db = () => join(dir, '.portcullis', 'audit.db');

  it('records allowed, blocked and redacted calls, with findings by type and never the secret', async () => {
    assert.equal((await call(gw, 'alice', 'echo', { text: 'plain' }, 1)).status, 200);
    assert.equal(parseJson(await call(gw, 'bob', 'add', { a: 1, b: 2 }, 2)).error.data.code, 'policy_denied');
    const leaked = parseJson(await call(gw, 'alice', 'echo', { text: 'key sk-demo-ABCDEFGH1234 here' }, 3));
    assert.doesNotMatch(JSON.stringify(leaked), /sk-demo-ABCDEFGH1234/);

    // Delivery is asynchronous: the CLI reads what the sink holds.
    let rows: Array<Record<string, any>> = [];
    for (let i = 0; i < 100; i++) {
      const q = await cli(['query', '--db', db(), '--kind', 'exchange', '--json']);
      rows = q.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (rows.length >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const byId = new Map(rows.map((r) => [r.unmapped?.rpc_id ?? r.api?.request?.uid, r]));
    assert.ok(rows.length >= 3, `exchange records: ${rows.length}`);
    const blocked = rows.find((r) => r.unmapped?.verdict === 'block');
    assert.ok(blocked, 'the denied call has a block record');
    assert.deepEqual(blocked!.unmapped.reasons, ['policy/bob-no-add']);
    assert.equal(blocked!.status_code, 'policy_denied');
    const redacted = rows.find((r) => r.unmapped?.verdict === 'redact');
    assert.ok(redacted, 'the redacted call has a redact record');
    assert.ok(redacted!.unmapped.finding_types.includes('demo-key'));
    assert.match(redacted!.unmapped.digests.arguments, /^hmac-sha256:/, 'arguments are digested');
    void byId;
    const everything = (await cli(['query', '--db', db(), '--json'])).out;
    assert.doesNotMatch(everything, /sk-demo-ABCDEFGH1234/, 'the trail never holds the secret');
    const findings = (await cli(['query', '--db', db(), '--finding', 'demo-key', '--json'])).out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(findings.some((f) => f.class_uid === 2006), 'a Data Security Finding (OCSF 2006) for the redacted key');
  });

  it('a streaming call whose client disconnects mid-stream is recorded as partial, with what was sent', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'countdown', arguments: { from: 50, intervalMs: 20 }, _meta: { ...meta, progressToken: 'p9' } } });
    await readThenLeave(gw.port, { 'x-test-user': 'carol', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'countdown' }, body);
    let closed: Record<string, any> | undefined;
    for (let i = 0; i < 100 && !closed; i++) {
      const out = (await cli(['query', '--db', db(), '--kind', 'stream', '--json'])).out;
      closed = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.unmapped?.stream?.phase === 'closed');
      if (!closed) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(closed, 'a stream closed record');
    const stream = closed!.unmapped.stream;
    assert.equal(stream.end, 'cancelled');
    assert.equal(stream.partial, true);
    assert.equal(stream.cause, 'client-disconnect');
    assert.ok(stream.sent.events >= 1, `what was sent: ${JSON.stringify(stream.sent)}`);
    assert.ok(stream.sent.events < 50, 'partial: the stream did not run to its end');
  });

  it('a request refused for its Origin (DNS rebinding) is recorded as a blocked HTTP Activity', async () => {
    const r = await post(gw.port, { jsonrpc: '2.0', id: 9, method: 'tools/list', params: { _meta: meta } }, { origin: 'https://evil.example', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' });
    assert.equal(r.status, 403);
    let rows: Array<Record<string, any>> = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      const q = await cli(['query', '--db', db(), '--kind', 'refusal', '--json']);
      rows = q.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (rows.length === 0) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(rows.length, 1);
    const rec = rows[0]!;
    assert.equal(rec['class_uid'], 4002);
    assert.equal(rec['disposition'], 'Blocked');
    assert.equal(rec['http_response'].code, 403);
    assert.equal(rec['http_request'].url.path, '/mcp');
    assert.deepEqual([rec['unmapped'].reason, rec['unmapped'].origin], ['origin_forbidden', 'https://evil.example']);
  });

  it('the chain verifies', async () => {
    const v = await cli(['verify', '--db', db(), '--keys', join(dir, '.portcullis', 'audit-keys')]);
    assert.equal(v.code, 0, v.out);
  });
});

describe("audit trail with includeContent: 'redacted'", () => {
  const stack = auditStack((url) => ({
    server: { port: 0 },
    logging: { level: 'silent' },
    audit: { includeContent: 'redacted' },
    routes: [
      { name: 'tools', path: '/mcp', upstream: { url }, inspectors: [{ type: 'redact', patterns: [{ name: 'demo-key', regex: 'sk-demo-[A-Za-z0-9]{8,}' }] }] },
      { name: 'raw', path: '/raw', upstream: { url } },
    ],
  }));

  it('records arguments and result as forwarded after redaction, and no content on a route that does not redact', async () => {
    assert.equal((await call(stack.gw, 'erin', 'echo', { text: 'key sk-demo-ABCDEFGH1234 here' }, 1)).status, 200);
    const raw = await send(stack.gw.port, {
      path: '/raw',
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'plain words' }, _meta: meta } }),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-test-user': 'erin', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
    });
    assert.equal(raw.status, 200, raw.text);
    const db = join(stack.dir, '.portcullis', 'audit.db');
    let rows: Array<Record<string, any>> = [];
    for (let i = 0; i < 100 && rows.length < 2; i++) {
      rows = (await cli(['query', '--db', db, '--kind', 'exchange', '--json'])).out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    const redacted = rows.find((r) => r.unmapped?.route === 'tools')!;
    assert.deepEqual(redacted.api.request.data, { text: 'key [REDACTED:demo-key] here' });
    assert.match(JSON.stringify(redacted.api.response.data), /key \[REDACTED:demo-key\] here/);
    const plain = rows.find((r) => r.unmapped?.route === 'raw')!;
    assert.equal(plain.api.request.data, undefined, 'no redacting inspector: digests only');
    assert.equal(plain.api.response?.data, undefined);
    assert.doesNotMatch(JSON.stringify(rows), /sk-demo-ABCDEFGH1234/);
  });
});

describe('audit trail: a 2025-era client that leaves a stream and never resumes', () => {
  // A detached stream waits sessions.idleTtlMs for a resume before it is dropped (and recorded closed).
  const stack = auditStack((url) => ({ server: { port: 0 }, logging: { level: 'silent' }, sessions: { idleTtlMs: 500 }, routes: [{ name: 'tools', path: '/mcp', upstream: { url } }] }));

  it('is recorded as partial, with what reached the client and what the stream produced', async () => {
    const LEGACY = '2025-11-25';
    const init = await post(stack.gw.port, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'audit-test', version: '1' } } }, { 'x-test-user': 'dave' });
    const sid = init.headers['mcp-session-id'] as string;
    assert.ok(sid, 'a session');
    await post(stack.gw.port, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'x-test-user': 'dave', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'countdown', arguments: { from: 20, intervalMs: 10 }, _meta: { progressToken: 'p2' } } });
    // Gone after three events, and never resumes (2025: not a cancellation).
    await readThenLeave(stack.gw.port, { 'x-test-user': 'dave', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY }, body);
    const db = join(stack.dir, '.portcullis', 'audit.db');
    let closed: Record<string, any> | undefined;
    for (let i = 0; i < 100 && !closed; i++) {
      const out = (await cli(['query', '--db', db, '--kind', 'stream', '--json'])).out;
      closed = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.unmapped?.stream?.phase === 'closed');
      if (!closed) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(closed, 'a stream closed record');
    const stream = closed!.unmapped.stream;
    assert.equal(stream.partial, true, JSON.stringify(stream));
    assert.equal(stream.cause, 'client-disconnect');
    // The upstream ran to its end (20 progress events and the result); the client got a few.
    assert.ok(stream.produced.events >= 21, JSON.stringify(stream));
    assert.ok(stream.sent.events >= 3 && stream.sent.events < stream.produced.events, JSON.stringify(stream));
    assert.ok(stream.sent.bytes < stream.produced.bytes, JSON.stringify(stream));
  });
});

describe('audit trail: a slow stream is recorded while it runs', () => {
  const stack = auditStack((url) => ({ server: { port: 0 }, logging: { level: 'silent' }, audit: { streamSegmentMs: 150 }, routes: [{ name: 'tools', path: '/mcp', upstream: { url } }] }));

  it('a segment record at most streamSegmentMs after its first event, not one at the end', async () => {
    const body = { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'countdown', arguments: { from: 4, intervalMs: 400 }, _meta: { ...meta, progressToken: 'p5' } } };
    const r = await post(stack.gw.port, body, { 'x-test-user': 'gina', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'countdown' });
    assert.equal(r.status, 200);
    const db = join(stack.dir, '.portcullis', 'audit.db');
    let stream: Array<Record<string, any>> = [];
    for (let i = 0; i < 100 && !stream.some((x) => x.unmapped?.stream?.phase === 'closed'); i++) {
      stream = (await cli(['query', '--db', db, '--kind', 'stream', '--json'])).out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      await new Promise((res) => setTimeout(res, 50));
    }
    const segments = stream.filter((x) => x.unmapped?.stream?.phase === 'segment');
    // Events 400 ms apart, segments flushed 150 ms after their first event: several, each early.
    assert.ok(segments.length >= 3, `segments: ${segments.length}`);
    const closed = stream.find((x) => x.unmapped?.stream?.phase === 'closed')!;
    assert.ok(segments[0]!.time <= closed.time - 600, `first segment at ${closed.time - segments[0]!.time} ms before the end`);
  });
});

describe('audit posture: fail closed when the trail cannot keep up', () => {
  let demo: DemoServer;
  let gw: Gateway;
  let sink: Server;

  before(async () => {
    demo = await startDemoServer({ port: 0 });
    // A webhook receiver that is down (503) for the whole test: every record spools.
    sink = createServer((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/audit`;
    gw = await startGateway({
      config: ConfigSchema.parse({
        server: { port: 0 },
        logging: { level: 'silent' },
        routes: [{ name: 'tools', path: '/mcp', upstream: { url: demo.url } }],
        audit: { sinks: [{ type: 'webhook', url, secret: 'webhook-secret-0123456789' }], spoolMaxBytes: 4096, posture: 'fail-closed' },
      }),
      identify: identifyByHeader,
      admin: false,
      logger: silentLogger,
      dataDir: tempDataDir(),
    });
  });
  after(async () => {
    await gw?.close();
    await demo.close();
    sink.close();
  });

  it('with the spool full, new calls are refused with 503 / audit_unavailable, not made unrecorded', async () => {
    // The sink's in-memory window (2,048 records) fills first, then the 4 KiB spool.
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 400 && !refused; i++) {
      const batch = await Promise.all(Array.from({ length: 16 }, (_, k) => call(gw, 'dave', 'echo', { text: `call ${i}.${k}` }, i * 16 + k)));
      for (const r of batch) {
        if (r.status === 503) refused ??= r;
        else assert.equal(r.status, 200, r.text);
      }
    }
    assert.ok(refused, 'the gateway started refusing once the spool was full');
    assert.equal(parseJson(refused!).error.data.code, 'audit_unavailable');
  });
});
