/**
 * The head phase through a real gateway: an inspector with only onExchange judges each client
 * message by its envelope, before the message phase reads the body and before anything goes
 * upstream, in both protocol eras and for every element of a 2025-03-26 batch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runAuditCli } from '../../src/audit/index.ts';
import type { ExchangeHead, Inspector } from '../../src/pipeline/types.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { modernCall, startHarness, type Harness } from './support/gateway.ts';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Blocks `tools/call` of `add` by its envelope; flags `echo` with an allow reason. */
function toolGate(seen: ExchangeHead[]): Inspector {
  return {
    name: 'tool-gate',
    methods: { 'tools/call': 'request' },
    needs: 'head',
    onFailure: 'closed',
    onExchange: (head, ctx) => {
      seen.push(head);
      if (head.target === 'add') return { kind: 'block', reasons: ['policy/tool-denied'], message: `tool add denied for ${ctx.session.principal.subject}` };
      return head.target === 'echo' ? { kind: 'allow', reasons: ['policy/echo-watched'] } : { kind: 'allow' };
    },
  };
}

type RpcError = { id: unknown; error?: { code: number; data: { code: string; reasons: string[] } }; result?: unknown };

async function legacySession(url: string, version = '2025-06-18'): Promise<Record<string, string>> {
  const init = await fetch(url, {
    method: 'POST', headers: JSON_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  assert.equal(init.status, 200);
  const sid = init.headers.get('mcp-session-id');
  assert.ok(sid, 'a session id');
  await init.text();
  const headers = { ...JSON_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': version };
  await (await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return headers;
}

function legacyCall(url: string, headers: Record<string, string>, id: number, name: string, args: Record<string, unknown>) {
  return fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }) });
}

/** The body of a JSON or single-event SSE answer. */
async function answer(res: Response): Promise<RpcError> {
  const text = await res.text();
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return JSON.parse(text) as RpcError;
  const data = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).filter(Boolean);
  return JSON.parse(data.at(-1)!) as RpcError;
}

function assertHeadBlocked(body: RpcError, id: number): void {
  assert.equal(body.id, id);
  assert.equal(body.error?.code, -31020, 'the stable code of a blocked call');
  assert.equal(body.error?.data.code, 'blocked');
  assert.deepEqual(body.error?.data.reasons, ['policy/tool-denied']);
}

describe('a head-only inspector through the gateway', () => {
  let h: Harness;
  let dir: string;
  const seen: ExchangeHead[] = [];
  let messagePhaseSaw: string[] = [];
  // Runs in the message phase after the head: shows the head decided first.
  const bodyReader: Inspector = {
    name: 'body-reader', methods: { 'tools/call': 'request' }, needs: 'message', onFailure: 'closed',
    onMessage: (frame) => {
      messagePhaseSaw.push(frame.target ?? '');
      return { kind: 'allow' };
    },
  };
  before(async () => {
    dir = tempDataDir();
    h = await startHarness(() => {}, {}, { dataDir: dir, extraInspectors: [toolGate(seen), bodyReader] });
  });
  after(() => h.close());

  test('2026-07-28: the blocked tool gets the JSON-RPC error, never reaches the message phase or the upstream', async () => {
    messagePhaseSaw = [];
    const before = h.demo.stats().requests;
    const { id, res } = await modernCall(h.url, 'tools/call', { name: 'add', arguments: { a: 1, b: 2 } }, { authorization: 'Bearer not-for-inspectors' });
    assert.equal(res.status, 200);
    assertHeadBlocked(await answer(res), id);
    assert.equal(h.demo.stats().requests, before, 'upstream saw nothing');
    assert.deepEqual(messagePhaseSaw, [], 'the message phase never ran');
    const head = seen.at(-1)!;
    assert.equal(head.method, 'tools/call');
    assert.equal(head.path, '/mcp');
    assert.equal(head.headers['authorization'], undefined, 'credentials are not part of the head');
  });

  test('2026-07-28: other calls pass through both phases to the upstream', async () => {
    messagePhaseSaw = [];
    const { id, res } = await modernCall(h.url, 'tools/call', { name: 'echo', arguments: { text: 'hi' } });
    assert.equal(res.status, 200);
    const body = await answer(res);
    assert.equal(body.id, id);
    assert.equal(body.error, undefined);
    assert.match(JSON.stringify(body.result), /hi/);
    assert.equal(seen.at(-1)?.target, 'echo', 'the head inspector was asked and allowed it');
    assert.deepEqual(messagePhaseSaw, ['echo']);
  });

  test('2025 session: the blocked tool gets the same error; other calls pass', async () => {
    const headers = await legacySession(h.url);
    const before = h.demo.stats().requests;
    const blocked = await legacyCall(h.url, headers, 7, 'add', { a: 1, b: 2 });
    assert.equal(blocked.status, 200);
    assertHeadBlocked(await answer(blocked), 7);
    assert.equal(h.demo.stats().requests, before, 'upstream saw nothing');
    assert.ok(seen.at(-1)!.headers['mcp-session-id'], 'the head carries the session header');

    const ok = await legacyCall(h.url, headers, 8, 'echo', { text: 'hello' });
    const body = await answer(ok);
    assert.equal(body.id, 8);
    assert.match(JSON.stringify(body.result), /hello/);
  });

  test('2025-03-26 batch: each element has its head; one refused head refuses the batch unforwarded', async () => {
    const headers = await legacySession(h.url, '2025-03-26');
    const before = h.demo.stats().requests;
    const seenBefore = seen.length;
    const res = await fetch(h.url, {
      method: 'POST', headers,
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'a' } } },
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } },
      ]),
    });
    assert.equal(res.status, 200);
    const answers = (await res.json()) as RpcError[];
    assert.deepEqual(answers.map((a) => [a.id, a.error?.code]), [[2, -31020], [3, -31020]]);
    assert.deepEqual(seen.slice(seenBefore).map((s) => s.target), ['echo', 'add']);
    assert.equal(h.demo.stats().requests, before, 'upstream saw nothing');

    const ok = await fetch(h.url, {
      method: 'POST', headers,
      body: JSON.stringify([{ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: { text: 'b' } } }]),
    });
    const okAnswers = (await ok.json()) as RpcError[];
    assert.equal(okAnswers[0]?.error, undefined);
  });

  test('head verdicts reach the audit record: the block and the allow reasons', async () => {
    const db = join(dir, '.portcullis', 'audit.db');
    let rows: Array<Record<string, any>> = [];
    for (let i = 0; i < 100; i++) {
      let out = '';
      const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((out += s), true) } };
      await runAuditCli(['query', '--db', db, '--kind', 'exchange', '--json'], io as never);
      rows = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (rows.some((r) => r.unmapped?.verdict === 'block') && rows.some((r) => r.unmapped?.reasons?.includes('policy/echo-watched'))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const blocked = rows.find((r) => r.unmapped?.verdict === 'block');
    assert.ok(blocked, 'a block record');
    assert.deepEqual(blocked!.unmapped.reasons, ['policy/tool-denied']);
    assert.ok(rows.some((r) => r.unmapped?.reasons?.includes('policy/echo-watched')), 'the allow reason is on the record');
  });
});
