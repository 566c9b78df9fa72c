import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { startDemoServer, type DemoServer } from './server.ts';
import { FAKE_AWS_KEY } from './tools.ts';
import { initSession, json, legacyCall, modernCall, postJson, sseEvents, sseMessages, textOf, type SseEvent } from './testkit.ts';
import type { Json } from './protocol.ts';

/** Waits (bounded) for a condition the server reaches asynchronously; not a timing assertion. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await delay(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Progress notifications each arrive in their own chunk, in order, before the final result. */
function assertLiveCountdown(msgs: Array<{ msg: Json; ev: SseEvent }>, from: number): void {
  const progress = msgs.filter((m) => m.msg.method === 'notifications/progress');
  const final = msgs.find((m) => 'result' in m.msg);
  assert.equal(progress.length, from);
  assert.ok(final, 'final result present');
  assert.deepEqual(progress.map((p) => (p.msg.params as Json).progress), [1, 2, 3]);
  const chunks = progress.map((p) => p.ev.chunk);
  assert.equal(new Set(chunks).size, from, `each progress event in its own chunk (chunks: ${chunks})`);
  assert.ok(chunks.every((c) => c < final.ev.chunk), 'all progress before the result');
  assert.equal(msgs.at(-1), final, 'the result ends the stream');
}

describe('demo server, streaming', () => {
  let srv: DemoServer;
  before(async () => {
    srv = await startDemoServer({ responseMode: 'json' });
  });
  after(() => srv.close());

  it('streams countdown progress live in the 2026 era, even in json mode', async () => {
    const res = await modernCall(srv.url, 'tools/call', { name: 'countdown', arguments: { from: 3, intervalMs: 100 } }, { meta: { progressToken: 'p1' } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const msgs = await sseMessages(res);
    assertLiveCountdown(msgs, 3);
    assert.equal((msgs.at(-1)?.msg.result as Json).resultType, 'complete');
    assert.ok(msgs.every((m) => m.ev.id === undefined), 'no event ids in 2026-07-28');
  });

  it('streams countdown progress live in the 2025 era, with per-stream event ids', async () => {
    const sid = await initSession(srv.url);
    const res = await legacyCall(srv.url, sid, 5, 'tools/call', { name: 'countdown', arguments: { from: 3, intervalMs: 100 }, _meta: { progressToken: 9 } });
    const msgs = await sseMessages(res);
    assertLiveCountdown(msgs, 3);
    const ids = msgs.map((m) => m.ev.id ?? '');
    const stream = ids[0]?.split(':')[0];
    assert.deepEqual(ids, [1, 2, 3, 4].map((n) => `${stream}:${n}`));
  });

  it('round-trips ask_user in the 2025 era via elicitation/create on the POST stream', async () => {
    const sid = await initSession(srv.url, '2025-11-25', { elicitation: {} });
    const res = await legacyCall(srv.url, sid, 3, 'tools/call', { name: 'ask_user', arguments: { question: 'Name?' } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    // One iterator for the whole stream: breaking out of a for-await would close it.
    const events = sseEvents(res);
    const nextMessage = async (): Promise<Json | undefined> => {
      for (;;) {
        const r = await events.next();
        if (r.done) return undefined;
        if (r.value.data !== '') return JSON.parse(r.value.data) as Json;
      }
    };
    const request = await nextMessage();
    assert.equal(request?.method, 'elicitation/create');
    assert.equal((request?.params as Json).message, 'Name?');
    const answer = await postJson(srv.url, { jsonrpc: '2.0', id: request?.id, result: { action: 'accept', content: { answer: 'Ada' } } }, { 'mcp-session-id': sid });
    assert.equal(answer.status, 202);
    const final = await nextMessage();
    assert.equal(await nextMessage(), undefined, 'the response ends the stream');
    assert.equal(final?.id, 3);
    assert.equal(textOf(final?.result), 'The user said: Ada');
  });

  it('round-trips ask_user in the 2026 era with input_required and a sealed requestState', async () => {
    const caps = { elicitation: {} };
    const first = (await (await json(modernCall(srv.url, 'tools/call', { name: 'ask_user', arguments: { question: 'Name?' } }, { capabilities: caps })))).result;
    assert.equal(first.resultType, 'input_required');
    assert.equal(first.inputRequests.answer.method, 'elicitation/create');
    assert.equal(typeof first.requestState, 'string');

    const retry = { name: 'ask_user', arguments: { question: 'Name?' }, inputResponses: { answer: { action: 'accept', content: { answer: 'Grace' } } } };
    const second = (await (await json(modernCall(srv.url, 'tools/call', { ...retry, requestState: first.requestState }, { id: 2, capabilities: caps })))).result;
    assert.equal(second.resultType, 'complete');
    assert.equal(textOf(second), 'The user said: Grace');

    const tampered = await (await json(modernCall(srv.url, 'tools/call', { ...retry, requestState: `${first.requestState}x` }, { id: 3, capabilities: caps })));
    assert.equal(tampered.error.code, -32602);

    const noCap = await modernCall(srv.url, 'tools/call', { name: 'ask_user' }, { id: 4 });
    assert.equal(noCap.status, 400);
    assert.equal((await json(noCap)).error.code, -32021);
  });

  it('round-trips sample in the 2026 era', async () => {
    const caps = { sampling: {} };
    const first = (await (await json(modernCall(srv.url, 'tools/call', { name: 'sample', arguments: { prompt: 'hi' } }, { capabilities: caps })))).result;
    assert.equal(first.inputRequests.completion.method, 'sampling/createMessage');
    const inputResponses = { completion: { role: 'assistant', content: { type: 'text', text: 'Hello!' }, model: 'm1' } };
    const second = (await (await json(modernCall(srv.url, 'tools/call', { name: 'sample', arguments: { prompt: 'hi' }, inputResponses, requestState: first.requestState }, { id: 2, capabilities: caps })))).result;
    assert.equal(textOf(second), 'The model (m1) said: Hello!');
  });

  it('treats a 2026 client disconnect as cancellation of slow', async () => {
    const before = srv.stats();
    const ac = new AbortController();
    const pending = modernCall(srv.url, 'tools/call', { name: 'slow', arguments: { ms: 60_000 } }, { signal: ac.signal }).catch((e: unknown) => e);
    await until(() => srv.stats().requests > before.requests, 'the request to reach the server');
    ac.abort();
    await pending;
    await until(() => srv.stats().cancelled === before.cancelled + 1, 'the cancellation to be recorded');
  });

  it('stops slow on notifications/cancelled in the 2025 era', async () => {
    const sid = await initSession(srv.url);
    const before = srv.stats();
    const pending = legacyCall(srv.url, sid, 77, 'tools/call', { name: 'slow', arguments: { ms: 60_000 } });
    await until(() => srv.stats().requests > before.requests, 'the request to reach the server');
    const note = await postJson(srv.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 77 } }, { 'mcp-session-id': sid });
    assert.equal(note.status, 202);
    const res = await pending;
    assert.deepEqual(await sseMessages(res), [], 'no response for a cancelled request');
    assert.equal(srv.stats().cancelled, before.cancelled + 1);
  });

  it('replays a disconnected 2025 POST stream on GET with Last-Event-ID', async () => {
    const sid = await initSession(srv.url);
    const ac = new AbortController();
    // Ten steps leave ample room to resume before the stream completes (a stream delivered in
    // full to its connection is not kept for replay).
    const res = await legacyCall(srv.url, sid, 9, 'tools/call', { name: 'countdown', arguments: { from: 10, intervalMs: 100 }, _meta: { progressToken: 't' } }, ac.signal);
    let lastId: string | undefined;
    for await (const ev of sseEvents(res)) {
      lastId = ev.id;
      if (ev.data !== '') break; // got the first progress event: drop the connection now
    }
    ac.abort();
    assert.match(lastId ?? '', /^\d+:1$/);
    const resumed = await fetch(srv.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': lastId ?? '' } });
    assert.equal(resumed.status, 200);
    const rest = await sseMessages(resumed);
    assert.deepEqual(rest.map((m) => (m.msg.params as Json | undefined)?.progress ?? 'result'), [2, 3, 4, 5, 6, 7, 8, 9, 10, 'result']);
    assert.equal(rest.at(-1)?.msg.id, 9);

    const bogus = await fetch(srv.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': '999:1' } });
    assert.equal(bogus.status, 404);
    await bogus.body?.cancel();
  });

  it('delivers demo_notify on the standalone GET stream', async () => {
    const sid = await initSession(srv.url);
    const ac = new AbortController();
    const get = await fetch(srv.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid }, signal: ac.signal });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-type'), 'text/event-stream');
    const second = await fetch(srv.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } });
    assert.equal(second.status, 409, 'one standalone stream per session');
    await second.body?.cancel();
    const call = await (await json(legacyCall(srv.url, sid, 1, 'tools/call', { name: 'demo_notify', arguments: { message: 'ping!' } })));
    assert.match(textOf(call.result), /standalone GET stream/);
    let note: Json | undefined;
    for await (const ev of sseEvents(get)) {
      if (ev.data === '') continue;
      note = JSON.parse(ev.data) as Json;
      assert.match(ev.id ?? '', /^\d+:1$/);
      break;
    }
    ac.abort();
    assert.equal(note?.method, 'notifications/message');
    assert.equal((note?.params as Json).data, 'ping!');
  });

  it('returns fake secrets and exact-size big text', async () => {
    const leak = (await (await json(modernCall(srv.url, 'tools/call', { name: 'leak_secret' })))).result;
    assert.ok(textOf(leak).includes(FAKE_AWS_KEY));
    assert.match(textOf(leak), /sk-demo-[0-9a-f]+/);
    const big = (await (await json(modernCall(srv.url, 'tools/call', { name: 'big_text', arguments: { bytes: 300_000 } })))).result;
    assert.equal(big.content.length, 1);
    assert.equal(Buffer.byteLength(textOf(big)), 300_000);
  });
});
