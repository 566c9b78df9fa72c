/**
 * A call waiting for approval whose client leaves: the approval is withdrawn, nothing reaches the
 * upstream, and the audit record says the call was cancelled. Also a wait ended by shutdown,
 * which is recorded as withdrawn by shutdown, not as an operator timing out.
 *
 * Through the real gateway (admin listener, SQLite audit) in front of the demo server behind a
 * recording hop, so "never forwarded" is what the upstream saw, not what the gateway believes.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { ACCEPT, identifyByHeader, MODERN, parseJson, post, type Loose, type Reply } from './support/hostile-harness.ts';
import { startRecordingUpstream, type RecordingUpstream } from './support/recording-upstream.ts';

const LEGACY = '2025-11-25';

interface Setup {
  demo: DemoServer;
  upstream: RecordingUpstream;
  gw: Gateway;
  dataDir: string;
  closed: boolean;
}

let current: Setup | undefined;

async function setup(channel: 'queue' | 'auto'): Promise<Setup> {
  const demo = await startDemoServer({ port: 0 });
  const upstream = await startRecordingUpstream(demo.url);
  const dataDir = tempDataDir();
  const input: ConfigInput = {
    server: { port: 0 },
    admin: { port: 0 },
    logging: { level: 'silent' },
    routes: [{ name: 'tools', path: '/mcp', upstream: { url: upstream.url } }],
    policy: { default: 'allow', rules: [{ name: 'ask', when: 'request.kind == "tool" && tool.name == "add"', decision: 'require-approval', reason: 'ask' }] },
    // Long: only a withdrawal (or the test) may end a wait.
    approvals: { channel, timeoutMs: 60_000 },
  };
  const gw = await startGateway({ dataDir, config: ConfigSchema.parse(input), identify: identifyByHeader, logger: silentLogger, shutdownGraceMs: 5_000 });
  current = { demo, upstream, gw, dataDir, closed: false };
  return current;
}

afterEach(async () => {
  const s = current;
  current = undefined;
  if (!s) return;
  if (!s.closed) await s.gw.close({ graceMs: 0 });
  await s.upstream.close();
  await s.demo.close();
});

async function closeGateway(s: Setup): Promise<void> {
  s.closed = true;
  await s.gw.close();
}

/** A POST the test can walk away from (destroying the connection, as a client that quits does). */
function openPost(port: number, body: unknown, headers: Record<string, string>): { req: ClientRequest; reply: Promise<Reply | 'left'> } {
  let req!: ClientRequest;
  const reply = new Promise<Reply | 'left'>((resolve) => {
    req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent: false, headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', () => resolve('left'));
    });
    req.on('error', () => resolve('left'));
    req.end(JSON.stringify(body));
  });
  return { req, reply };
}

function modernAdd(id: number): unknown {
  return {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'add', arguments: { a: 20, b: 22 }, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } },
  };
}

function modernHeaders(who: string): Record<string, string> {
  return { 'x-test-user': who, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'add' };
}

async function legacySession(port: number, who: string, capabilities: Record<string, unknown> = {}): Promise<string> {
  const init = await post(port, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities, clientInfo: { name: 'withdrawal-test', version: '1' } } }, { 'x-test-user': who });
  const sid = init.headers['mcp-session-id'];
  assert.equal(typeof sid, 'string', `initialize: ${init.status} ${init.text}`);
  await post(port, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'x-test-user': who, 'mcp-session-id': sid as string, 'mcp-protocol-version': LEGACY });
  return sid as string;
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function adminList(gw: Gateway): Promise<Array<{ id: string; principal: string }>> {
  const r = await fetch(`${gw.adminUrl}/approvals`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { approvals: Array<{ id: string; principal: string }> }).approvals;
}

async function adminDecide(gw: Gateway, id: string, action: 'approve' | 'deny'): Promise<{ status: number; body: Loose }> {
  const r = await fetch(`${gw.adminUrl}/approvals/${id}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` }, body: JSON.stringify({ by: 'operator-olga' }) });
  return { status: r.status, body: await r.json() };
}

/** tools/call requests the upstream received. */
function upstreamCalls(s: Setup): string[] {
  return s.upstream.requests.filter((r) => r.body.includes('"tools/call"')).map((r) => r.body);
}

/** The exchange records of one caller, after the gateway closed (its trail is complete then). */
async function exchangeRecords(s: Setup, who: string): Promise<AuditRecord[]> {
  const reader = new SqliteSink({ path: join(s.dataDir, '.portcullis', 'audit.db'), readOnly: true });
  const out: AuditRecord[] = [];
  try {
    for await (const r of reader.read({ kind: 'exchange', principal: who })) out.push(r);
  } finally {
    await reader.close();
  }
  return out;
}

async function streamRecords(s: Setup, who: string): Promise<AuditRecord[]> {
  const reader = new SqliteSink({ path: join(s.dataDir, '.portcullis', 'audit.db'), readOnly: true });
  const out: AuditRecord[] = [];
  try {
    for await (const r of reader.read({ kind: 'stream', principal: who })) out.push(r);
  } finally {
    await reader.close();
  }
  return out;
}

function callRecord(records: AuditRecord[]): Loose {
  const calls = records.filter((r) => (r as Loose).api?.operation === 'tools/call');
  assert.equal(calls.length, 1, `one record of the call: ${JSON.stringify(records.map((r) => (r as Loose).api?.operation))}`);
  return calls[0];
}

/**
 * The client leaves while its call waits in the operator queue; then an operator approves.
 * `stay`: afterwards, a call whose client stays is approved and runs (the withdrawal is only
 * for the departed).
 */
async function leaveThenApprove(s: Setup, who: string, body: unknown, headers: Record<string, string>, stay?: { who: string; body: unknown; headers: Record<string, string> }): Promise<void> {
  const { gw } = s;
  const call = openPost(gw.port, body, headers);
  const id = await waitFor('the call to wait for approval', async () => (await adminList(gw)).find((a) => a.principal === who)?.id);
  call.req.destroy();
  assert.equal(await call.reply, 'left');

  // The operator sees it gone…
  await waitFor('the approval to leave the list', async () => !(await adminList(gw)).some((a) => a.id === id));
  assert.equal((await fetch(`${gw.adminUrl}/approvals/${id}`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).status, 404);
  // …and approving it anyway is refused, saying why.
  const late = await adminDecide(gw, id, 'approve');
  assert.equal(late.status, 409, JSON.stringify(late.body));
  assert.equal(late.body.error, 'withdrawn');
  assert.equal(late.body.reason, 'client-disconnect');
  assert.match(late.body.message, /withdrawn.*not run/);

  // Nothing reached the upstream (give a wrongly forwarded call time to arrive).
  await sleep(500);
  assert.deepEqual(upstreamCalls(s), [], 'the withdrawn call must never reach the upstream');

  if (stay) {
    const call = openPost(gw.port, stay.body, stay.headers);
    const stayId = await waitFor('the second call to wait', async () => (await adminList(gw)).find((a) => a.principal === stay.who)?.id);
    assert.equal((await adminDecide(gw, stayId, 'approve')).status, 200);
    const reply = await call.reply;
    assert.notEqual(reply, 'left');
    assert.equal(parseJson(reply as Reply).result?.content?.[0]?.text, '42');
    assert.equal(upstreamCalls(s).length, 1, 'only the call whose client stayed ran');
  }

  await closeGateway(s);
  if (stay) assert.deepEqual(callRecord(await exchangeRecords(s, stay.who)).unmapped.approval, { outcome: 'approved', channel: 'queue', by: 'operator-olga' });
  const rec = callRecord(await exchangeRecords(s, who));
  assert.equal(rec.unmapped.notes?.approval?.decision, 'cancelled', JSON.stringify(rec.unmapped));
  assert.equal(rec.unmapped.notes.approval.reason, 'client-disconnect');
  assert.equal(rec.unmapped.notes.approval.id, id);
  assert.equal(rec.unmapped.approval?.outcome, 'cancelled', 'the structured outcome, not "pending"');
  assert.equal(rec.unmapped.approval?.by, undefined, 'nobody decided this call');
}

describe('approval wait ended by the client leaving', () => {
  it('2026-07-28, operator queue: the approval is withdrawn, a late approve is a 409, the upstream never gets the call, the record says cancelled', async () => {
    const s = await setup('queue');
    await leaveThenApprove(s, 'leaver-modern', modernAdd(1), modernHeaders('leaver-modern'), { who: 'stayer', body: modernAdd(3), headers: modernHeaders('stayer') });
  });

  it('2025 session, operator queue: the same (a call not yet started is not left running for nobody)', async () => {
    const s = await setup('queue');
    const sid = await legacySession(s.gw.port, 'leaver-legacy');
    await leaveThenApprove(s, 'leaver-legacy', { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } }, {
      'x-test-user': 'leaver-legacy',
      'mcp-session-id': sid,
      'mcp-protocol-version': LEGACY,
    });
  });

  it('2025 session, operator queue: the client ends its session (DELETE) while the call waits: approved later, it does not run', async () => {
    const s = await setup('queue');
    const who = 'deleter';
    const sid = await legacySession(s.gw.port, who);
    const headers = { 'x-test-user': who, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
    const call = openPost(s.gw.port, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } }, headers);
    const id = await waitFor('the call to wait for approval', async () => (await adminList(s.gw)).find((a) => a.principal === who)?.id);
    const del = await fetch(`${s.gw.url}/mcp`, { method: 'DELETE', headers });
    assert.equal(del.status, 200);
    assert.equal((await adminDecide(s.gw, id, 'approve')).status, 200);
    const reply = await call.reply;
    assert.notEqual(reply, 'left');
    assert.equal(parseJson(reply as Reply).error?.data?.code, 'session_not_found', (reply as Reply).text);
    await sleep(300);
    assert.deepEqual(upstreamCalls(s), [], 'a call of an ended session must never reach the upstream');
    await closeGateway(s);
    const rec = callRecord(await exchangeRecords(s, who));
    assert.equal(rec.unmapped.notes?.approval?.reason, 'session-ended', JSON.stringify(rec.unmapped));
  });

  it('2025 elicitation: the client leaving while asked is recorded as cancelled, and the call does not run', async () => {
    const s = await setup('auto');
    const sid = await legacySession(s.gw.port, 'leaver-elicit', { elicitation: {} });
    let sawPrompt = false;
    const left = new Promise<void>((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: s.gw.port,
          path: '/mcp',
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json', accept: ACCEPT, 'x-test-user': 'leaver-elicit', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY },
        },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            // The gateway's own elicitation/create arrived: walk away without answering.
            if (c.includes('elicitation/create')) {
              sawPrompt = true;
              req.destroy();
            }
          });
          res.on('error', () => resolve());
          res.on('close', () => resolve());
        },
      );
      req.on('error', () => resolve());
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'add', arguments: { a: 2, b: 2 } } }));
    });
    await left;
    assert.ok(sawPrompt, 'the client was asked through elicitation');
    await sleep(500);
    assert.deepEqual(upstreamCalls(s), []);
    await closeGateway(s);
    const rec = callRecord(await exchangeRecords(s, 'leaver-elicit'));
    assert.equal(rec.unmapped.notes?.approval?.channel, 'elicitation', JSON.stringify(rec.unmapped));
    assert.equal(rec.unmapped.notes.approval.decision, 'cancelled');
    assert.equal(rec.unmapped.notes.approval.reason, 'client-disconnect');
    // The prompt's stream ended with its client, not "completed".
    const streams = await streamRecords(s, 'leaver-elicit');
    const closed: Loose[] = streams.filter((r: Loose) => r.unmapped?.stream?.phase === 'closed');
    assert.equal(closed.length, 1, JSON.stringify(streams.map((r: Loose) => r.unmapped?.stream)));
    assert.deepEqual([closed[0].unmapped.stream.end, closed[0].unmapped.stream.cause], ['cancelled', 'client-disconnect']);
  });
});

describe('approval wait ended by shutdown', () => {
  it('the waiting client is told at once, nothing runs, and the record says withdrawn by shutdown (not approval_timeout)', async () => {
    const s = await setup('queue');
    const call = openPost(s.gw.port, modernAdd(5), modernHeaders('waiter'));
    const id = await waitFor('the call to wait', async () => (await adminList(s.gw)).find((a) => a.principal === 'waiter')?.id);
    const started = Date.now();
    const closing = closeGateway(s);
    const reply = await call.reply;
    assert.notEqual(reply, 'left', 'the client gets an answer, not a cut connection');
    const msg = parseJson(reply as Reply);
    assert.equal(msg.id, 5);
    assert.equal(msg.error?.data?.code, 'approval_denied', JSON.stringify(msg));
    assert.match(msg.error.message, /shutting down/);
    // Answered by the withdrawal, not by the drain's end (the grace is 5 s).
    assert.ok(Date.now() - started < 4_000, `answered after ${Date.now() - started} ms`);
    await closing;
    assert.deepEqual(upstreamCalls(s), []);
    const rec = callRecord(await exchangeRecords(s, 'waiter'));
    assert.equal(rec.status_code, 'approval_denied', JSON.stringify(rec));
    assert.equal(rec.unmapped.notes?.approval?.decision, 'withdrawn');
    assert.equal(rec.unmapped.notes.approval.reason, 'shutdown');
    assert.equal(rec.unmapped.notes.approval.id, id);
  });
});
