/**
 * Tasks belong to the caller that created them (MCP 2025-11-25 tasks, Security: "receivers MUST
 * bind tasks to said context"). Behind the gateway the upstream sees one credential — the
 * gateway's own — for every caller, so it cannot keep callers apart: the gateway does. Another
 * caller's task is not listed, not readable, not cancellable, and the upstream is never asked.
 * The route here has no inspector at all: the binding does not depend on one.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.ts';
import { modernCall, type Loose } from '../../src/demo/testkit.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader } from './support/hostile-harness.ts';

/** Tasks as a server that trusts its one caller (the gateway's credential) keeps them. */
async function startTaskUpstream(): Promise<{ url: string; seen: Array<{ method: string; taskId?: string }>; listening(): number; close(): Promise<void> }> {
  const seen: Array<{ method: string; taskId?: string }> = [];
  const tasks = new Map<string, string>();
  let n = 0;
  /** The id of a tasks/list whose answer comes on a resumed stream (2025-11-25 polling). */
  let parked: number | undefined;
  /** Standalone GET streams: told about every task, as by a server that sees one caller. */
  const listeners: Array<{ res: ServerResponse; inspected: boolean }> = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET') {
      // The resumed leg: the parked tasks/list is answered here, with every task.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.headers['last-event-id'] === 'u1' && parked !== undefined) {
        res.end(`id: u2\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: parked, result: { tasks: [...tasks.keys()].map((id) => ({ taskId: id, status: 'completed' })) } })}\n\n`);
        parked = undefined;
      } else if (req.headers['last-event-id'] === undefined) {
        res.write(': open\n\n');
        // Reached through the gateway's inspected route (its upstream URL carries ?inspected).
        listeners.push({ res, inspected: req.url?.includes('inspected') === true });
      } else res.end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const msg = JSON.parse(body) as { id: number; method: string; params: Loose };
      if (msg.method === 'tasks/list' && msg.params?.cursor === 'resume') {
        // Polling: a priming event with an id, then the stream closes without the answer.
        parked = msg.id;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.end('id: u1\ndata:\n\n');
      }
      seen.push({ method: msg.method, ...(typeof msg.params?.taskId === 'string' ? { taskId: msg.params.taskId } : {}) });
      if (msg.id === undefined) return res.writeHead(202).end();
      const legacy = req.headers['mcp-session-id'] !== undefined || msg.method === 'initialize';
      const reply = (result: unknown) =>
        res
          .writeHead(200, { 'content-type': 'application/json', ...(msg.method === 'initialize' ? { 'mcp-session-id': `up-${++n}` } : {}) })
          .end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: legacy ? result : { resultType: 'complete', ...(result as object) } }));
      const task = (id: string) => ({ taskId: id, status: 'completed', createdAt: '2026-11-24T00:00:00Z', lastUpdatedAt: '2026-11-24T00:00:00Z', ttl: 60_000 });
      switch (msg.method) {
        case 'initialize':
          return reply({ protocolVersion: '2025-11-25', capabilities: { tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } }, serverInfo: { name: 'tasks', version: '1' } });
        case 'tools/call': {
          if (msg.params.name === 'status_feed') {
            // Every task's status on this call's stream, as to the one caller it believes it has.
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            for (const id of tasks.keys()) res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tasks/status', params: { ...task(id), status: 'working' } })}\n\n`);
            return void res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: 'fed' }] } })}\n\n`);
          }
          const extension = msg.params?._meta?.['io.modelcontextprotocol/clientCapabilities']?.extensions?.['io.modelcontextprotocol/tasks'];
          if (!msg.params.task && !extension) return reply({ content: [{ type: 'text', text: 'ran now' }] });
          const id = `task-${++n}`;
          tasks.set(id, `report for ${String(msg.params.arguments?.who)}`);
          reply({ task: task(id) });
          // Its status to every open GET stream: as sent, with the method's letters escaped, and
          // inside a batch array beside a notification anyone may see; then a marker.
          const status = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tasks/status', params: { ...task(id), status: 'working', statusMessage: 'payroll export running' } });
          const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'public' } };
          // (A route with inspectors refuses any array on a GET stream: there the note comes alone.)
          const escaped = status.replace('notifications/tasks/status', 'notifications\\/\\u0074asks\\/status');
          const done = JSON.stringify({ ...note, params: { level: 'info', data: `done ${id}` } });
          setTimeout(() => {
            for (const l of listeners) {
              // (On the read path, a status with an id beside it: a "request" to the classifier.)
              const withId = JSON.stringify({ ...JSON.parse(status), id: 77 });
              const events = l.inspected ? [status, escaped, withId, JSON.stringify(note), done] : [status, escaped, `[${status},${JSON.stringify(note)}]`, done];
              for (const e of events) l.res.write(`data: ${e}\n\n`);
            }
          }, 50);
          return;
        }
        case 'tasks/list':
          return reply({ tasks: [...tasks.keys()].map(task) });
        case 'tasks/get':
        case 'tasks/cancel':
          return reply(task(String(msg.params.taskId)));
        case 'tasks/result':
          return reply({ content: [{ type: 'text', text: tasks.get(String(msg.params.taskId)) ?? 'none' }] });
        default:
          return reply({});
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    seen,
    listening: () => listeners.length,
    close: () => {
      for (const l of listeners) l.res.end();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A 2025-11-25 session for `who` (x-test-user), and a way to call in it. */
async function legacySession(url: string, who: string): Promise<((method: string, params: Loose, o?: { resume?: boolean }) => Promise<Loose>) & { sid: string }> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-test-user': who };
  const init = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: who, version: '1' } } }) });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  const inSession = { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  await (await fetch(url, { method: 'POST', headers: inSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  let id = 0;
  const inCall = async (method: string, params: Loose, o: { resume?: boolean } = {}): Promise<Loose> => {
    const r = await fetch(url, { method: 'POST', headers: inSession, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) });
    assert.equal(r.status, 200);
    if (!o.resume) return (await r.json()) as Loose;
    // The POST stream ends without the answer: resume it with the last event id it carried.
    const first = await r.text();
    const lastId = [...first.matchAll(/^id: ?(.*)$/gm)].at(-1)?.[1];
    assert.ok(lastId, `an event id to resume from: ${first}`);
    const again = await fetch(url, { headers: { ...inSession, accept: 'text/event-stream', 'last-event-id': lastId } });
    const data = [...(await again.text()).matchAll(/^data: ?(.+)$/gm)].map((m) => JSON.parse(m[1]!) as Loose);
    return data.find((m) => m.id === id) ?? { data };
  };
  return Object.assign(inCall, { sid });
}

/** Opens a session's standalone GET stream; the function returned reads it up to the upstream's "done <task id>" marker. */
async function standaloneStream(url: string, who: string, sid: string): Promise<(taskId: string) => Promise<Loose[]>> {
  const ctrl = new AbortController();
  const r = await fetch(url, { headers: { accept: 'text/event-stream', 'x-test-user': who, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }, signal: ctrl.signal });
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  return async (taskId) => {
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes(`"done ${taskId}"`)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    ctrl.abort();
    return [...text.matchAll(/^data: ?(.+)$/gm)].map((m) => JSON.parse(m[1]!) as Loose);
  };
}

describe('tasks are bound to the caller that created them', () => {
  let up: Awaited<ReturnType<typeof startTaskUpstream>>;
  let gw: Gateway;
  const call = async (who: string, method: string, params: Loose, o: { capabilities?: Loose } = {}): Promise<Loose> => {
    const r = await modernCall(`${gw.url}/mcp`, method, params, { headers: { 'x-test-user': who }, ...(o.capabilities ? { capabilities: o.capabilities } : {}) });
    assert.equal(r.status, 200);
    return (await r.json()) as Loose;
  };
  before(async () => {
    up = await startTaskUpstream();
    gw = await startGateway({
      config: ConfigSchema.parse({
        server: { port: 0 },
        logging: { level: 'silent' },
        routes: [
          { name: 'tools', path: '/mcp', upstream: { url: up.url } },
          // The same upstream behind an inspector: server→client messages take the read path.
          { name: 'inspected', path: '/inspected', upstream: { url: `${up.url}?inspected` }, inspectors: [{ type: 'dlp' }] },
        ],
      }),
      identify: identifyByHeader,
      admin: false,
      dataDir: tempDataDir(),
      logger: silentLogger,
    });
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await up.close();
  });

  it("2025-11-25: another caller's task is not listed, read, polled or cancelled, and the upstream is not asked", async () => {
    // The upstream keys sessions by the gateway's credential only: both sessions see every task.
    const alice = await legacySession(`${gw.url}/mcp`, 'alice');
    const bob = await legacySession(`${gw.url}/mcp`, 'bob');
    const created = await alice('tools/call', { name: 'payroll_report', arguments: { who: 'alice' }, task: { ttl: 60_000 } });
    const id = created.result?.task?.taskId as string;
    assert.match(id, /^task-\d+$/, JSON.stringify(created));

    const list = await bob('tasks/list', {});
    assert.deepEqual(list.result?.tasks, [], "bob sees none of alice's tasks");
    const before = up.seen.length;
    // tasks/update is the 2026 extension's; an upstream speaking both eras serves it to a 2025 request too.
    for (const method of ['tasks/result', 'tasks/get', 'tasks/cancel', 'tasks/update']) {
      const r = await bob(method, { taskId: id });
      assert.equal(r.error?.data?.code, 'task_not_found', `${method}: ${JSON.stringify(r)}`);
      assert.equal(r.result, undefined);
    }
    // Nor in a batch (2025-03-26, which has no tasks): refused whole.
    const batch = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-test-user': 'bob' },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tasks/list', params: {} }, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { taskId: id } }]),
    });
    assert.equal(batch.status, 400);
    assert.equal(((await batch.json()) as Loose).error?.data?.code, 'invalid_request');
    assert.deepEqual(up.seen.slice(before), [], "bob's task requests never reached the upstream");

    // Nor on a stream the upstream closed and the client resumed (2025-11-25 polling): the
    // re-opened leg is read like the first, even on a route without inspectors.
    const resumed = await bob('tasks/list', { cursor: 'resume' }, { resume: true });
    assert.deepEqual(resumed.result?.tasks, [], `resumed leg: ${JSON.stringify(resumed)}`);

    // Task status the upstream tells every session about reaches only the task's creator.
    const feed = async (who: string) => {
      const r = await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-test-user': who, 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': who === 'alice' ? alice.sid : bob.sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'status_feed', arguments: {} } }) });
      return [...(await r.text()).matchAll(/^data: ?(.+)$/gm)].map((m) => JSON.parse(m[1]!) as Loose);
    };
    const bobFeed = await feed('bob');
    assert.equal(bobFeed.at(-1)?.result?.content?.[0]?.text, 'fed');
    assert.deepEqual(bobFeed.filter((m) => m.method === 'notifications/tasks/status'), [], "no status of alice's task on bob's stream");
    assert.deepEqual((await feed('alice')).filter((m) => m.method === 'notifications/tasks/status').map((m) => m.params.taskId), [id]);

    // Alice, who created it, reads it.
    const own = await alice('tasks/result', { taskId: id });
    assert.equal(own.result?.content?.[0]?.text, 'report for alice');
    assert.deepEqual((await alice('tasks/list', {})).result?.tasks?.map((t: Loose) => t.taskId), [id]);
  });

  it('a task created through the 2026-07-28 tasks extension is bound too, and a task id never created is unknown', async () => {
    const created = await call('carol', 'tools/call', { name: 'payroll_report', arguments: { who: 'carol' } }, { capabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } } });
    const id = created.result?.task?.taskId as string;
    assert.match(id, /^task-\d+$/, JSON.stringify(created));
    assert.equal((await call('bob', 'tasks/get', { taskId: id })).error?.data?.code, 'task_not_found');
    assert.equal((await call('carol', 'tasks/get', { taskId: id })).result?.taskId, id);
    assert.equal((await call('carol', 'tasks/get', { taskId: 'task-999' })).error?.data?.code, 'task_not_found');
    assert.equal((await call('carol', 'tasks/get', { taskId: 7 })).error?.data?.code, 'invalid_params');
    // Removed by the 2026 extension: answered -32601 as a compliant server would, never passed on.
    const before = up.seen.length;
    for (const method of ['tasks/result', 'tasks/list']) assert.equal((await call('carol', method, { taskId: id })).error?.code, -32601, method);
    assert.equal(up.seen.length, before);
  });

  for (const [route, inspected] of [['/mcp', false], ['/inspected', true]] as const) {
    it(`2025-11-25: a task's status on the standalone GET stream reaches its creator only, though the stream was opened before the route's first task (${inspected ? 'a route with an inspector' : 'no inspector'})`, async () => {
      const url = `${gw.url}${route}`;
      const alice = await legacySession(url, 'alice');
      const bob = await legacySession(url, 'bob');
      const before = up.listening();
      const bobStream = await standaloneStream(url, 'bob', bob.sid);
      const aliceStream = await standaloneStream(url, 'alice', alice.sid);
      for (let i = 0; up.listening() < before + 2 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
      const created = await alice('tools/call', { name: 'payroll_report', arguments: { who: 'alice' }, task: { ttl: 60_000 } });
      const id = created.result?.task?.taskId as string;
      const statuses = (messages: Loose[]) => messages.flatMap((m) => (Array.isArray(m) ? m : [m])).filter((m) => m.method === 'notifications/tasks/status');
      const bobSaw = await bobStream(id);
      // (A status of another test's task may come first: nobody here created it, so nobody sees it.)
      assert.deepEqual(statuses(bobSaw), [], `bob saw: ${JSON.stringify(bobSaw)}`);
      assert.ok(JSON.stringify(bobSaw).includes('"public"'), 'what anyone may see still arrives');
      const aliceSaw = await aliceStream(id);
      assert.deepEqual(statuses(aliceSaw).map((m) => m.params.taskId), [id, id, id], 'alice gets her task status, however it was written');
    });
  }
});
