/**
 * SSE keep-alive through the gateway (`streams.keepAliveMs`): a stream that carries no event for a
 * while gets `:` comment lines about every keepAliveMs, so idle-timeout proxies and load balancers
 * between the client and the gateway do not cut it; the comments never corrupt the events around
 * them (an SSE parser skips them), and the stream says `X-Accel-Buffering: no` so an nginx-style
 * proxy does not sit on them either.
 *
 * Quiet streams: the 2025-era standalone GET stream (nothing on it until the demo's
 * `demo_notify` tool sends something) and a slow 2026-07-28 `countdown` (a progress event every
 * 400 ms). Raw bytes are read on one branch of the body (`tee`), the same bytes are parsed as SSE
 * on the other, and real SDK clients parse a stream that carries keep-alives.
 *
 * Timing bounds are loose on purpose (keep-alive is "about" the interval, timers jitter under
 * load); what they pin is the order of magnitude of the configured interval, not the default
 * (15 s) and not a flood.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { initSession, legacyCall, modernCall, responseOf, sseEvents, textOf, type Loose, type SseEvent } from '../../src/demo/testkit.ts';
import { startHarness, type Harness } from './support/gateway.ts';

const KEEP_ALIVE_MS = 100;

interface Block {
  /** ms since the recording started, when the chunk completing this block arrived. */
  at: number;
  kind: 'comment' | 'event';
  text: string;
}

/**
 * Reads a raw SSE body until it ends or is aborted, splitting it into blocks (comment-only blocks
 * vs events) stamped with their arrival time.
 */
async function recordBlocks(body: ReadableStream<Uint8Array>, blocks: Block[], t0: number): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const at = performance.now() - t0;
      buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const text = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const lines = text.split('\n');
        blocks.push({ at, kind: lines.every((l) => l.startsWith(':')) ? 'comment' : 'event', text });
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
}

/** Every event the testkit's SSE parser yields (comments are skipped by the parser). */
async function parseEvents(body: ReadableStream<Uint8Array>, out: SseEvent[]): Promise<void> {
  try {
    for await (const ev of sseEvents(new Response(body))) out.push(ev);
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const gaps = (ts: number[]): number[] => ts.slice(1).map((t, i) => t - ts[i]!);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (blocks: Block[]) => blocks.map((b) => `${b.at.toFixed(0)}ms ${b.kind === 'comment' ? JSON.stringify(b.text) : b.text.slice(0, 80)}`).join('\n');

/** Wraps fetch so every SSE answer to a POST is also counted for comment blocks (for SDK clients). */
function countingFetch(counter: { comments: number; events: number }): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method !== 'POST' || !res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return res;
    const [mine, theirs] = res.body.tee();
    const blocks: Block[] = [];
    void recordBlocks(mine, blocks, 0).finally(() => {
      counter.comments += blocks.filter((b) => b.kind === 'comment').length;
      counter.events += blocks.filter((b) => b.kind === 'event').length;
    });
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

describe(`SSE keep-alive through the gateway (streams.keepAliveMs = ${KEEP_ALIVE_MS})`, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness((c) => {
      c.streams.keepAliveMs = KEEP_ALIVE_MS;
    });
  });
  after(async () => {
    await h?.close();
  });

  it('a quiet 2025 standalone GET stream gets ":" comments about every keepAliveMs, and its event arrives intact', async () => {
    const sid = await initSession(h.url);
    const ac = new AbortController();
    const res = await fetch(h.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('x-accel-buffering'), 'no', 'the SSE stream tells nginx-style proxies not to buffer');

    const t0 = performance.now();
    const [raw, parsed] = res.body!.tee();
    const blocks: Block[] = [];
    const events: SseEvent[] = [];
    const reading = Promise.all([recordBlocks(raw, blocks, t0), parseEvents(parsed, events)]);

    // ~10 intervals of silence, then one real event, then more silence.
    await sleep(10 * KEEP_ALIVE_MS);
    const quietUntil = performance.now() - t0;
    const sent = (await responseOf(await legacyCall(h.url, sid, 5, 'tools/call', { name: 'demo_notify', arguments: { message: 'between the comments' } }))) as Loose;
    assert.equal(textOf(sent.result), 'Sent notifications/message on the standalone GET stream');
    await sleep(5 * KEEP_ALIVE_MS);
    ac.abort();
    await reading;

    const quietComments = blocks.filter((b) => b.kind === 'comment' && b.at <= quietUntil).map((b) => b.at);
    // Nominally ~9 in the quiet window: not none (or the 15 s default), not a flood.
    assert.ok(quietComments.length >= 4 && quietComments.length <= 15, `${quietComments.length} comments in ${quietUntil.toFixed(0)} ms:\n${fmt(blocks)}`);
    const m = median(gaps(quietComments));
    assert.ok(m >= 0.5 * KEEP_ALIVE_MS && m <= 2.5 * KEEP_ALIVE_MS, `median gap between comments ${m.toFixed(0)} ms, want ~${KEEP_ALIVE_MS}:\n${fmt(blocks)}`);
    // The client never waits long for a byte on a quiet stream.
    const maxSilence = Math.max(...gaps(blocks.map((b) => b.at)));
    assert.ok(maxSilence <= 5 * KEEP_ALIVE_MS, `${maxSilence.toFixed(0)} ms without a byte:\n${fmt(blocks)}`);
    const afterEvent = blocks.filter((b) => b.kind === 'comment' && b.at > quietUntil);
    assert.ok(afterEvent.length >= 1, `comments resume after the event:\n${fmt(blocks)}`);

    // The parser sees exactly the real events: the priming event (no data) and the notification.
    const messages = events.filter((e) => e.data !== '').map((e) => JSON.parse(e.data) as Loose);
    assert.deepEqual(messages, [
      { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: 'portcullis-demo', data: 'between the comments' } },
    ]);
    assert.ok(events.every((e) => e.id !== undefined), 'event ids survive (2025 resumability)');
  });

  it('a slow 2026 streaming call gets comments between its progress events; events and result parse intact', async () => {
    const res = await modernCall(h.url, 'tools/call', { name: 'countdown', arguments: { from: 3, intervalMs: 4 * KEEP_ALIVE_MS } }, { meta: { progressToken: 'ka' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('x-accel-buffering'), 'no');

    const t0 = performance.now();
    const [raw, parsed] = res.body!.tee();
    const blocks: Block[] = [];
    const events: SseEvent[] = [];
    await Promise.all([recordBlocks(raw, blocks, t0), parseEvents(parsed, events)]);

    // Between every two consecutive events (400 ms apart) at least one keep-alive.
    const kinds = blocks.map((b) => b.kind);
    const eventIdx = kinds.flatMap((k, i) => (k === 'event' ? [i] : []));
    assert.equal(eventIdx.length, 4, `3 progress events and the result:\n${fmt(blocks)}`);
    for (let i = 1; i < eventIdx.length; i++) {
      const between = kinds.slice(eventIdx[i - 1]! + 1, eventIdx[i]).filter((k) => k === 'comment').length;
      assert.ok(between >= 1, `no keep-alive between event ${i} and ${i + 1}:\n${fmt(blocks)}`);
    }
    const comments = blocks.filter((b) => b.kind === 'comment').map((b) => b.at);
    const m = median(gaps(comments));
    assert.ok(m >= 0.5 * KEEP_ALIVE_MS && m <= 2.5 * KEEP_ALIVE_MS, `median gap between comments ${m.toFixed(0)} ms:\n${fmt(blocks)}`);

    const messages = events.map((e) => JSON.parse(e.data) as Loose);
    assert.deepEqual(
      messages.slice(0, 3).map((msg) => [msg.method, msg.params.progressToken, msg.params.progress, msg.params.total]),
      [1, 2, 3].map((p) => ['notifications/progress', 'ka', p, 3]),
    );
    assert.equal(messages.length, 4);
    assert.equal(textOf(messages[3].result), 'Countdown from 3 finished');
  });

  it('official SDK clients of both eras parse progress and results on streams carrying keep-alives', async () => {
    // 2025-11-25: SDK 1.x, sessionful; its POST answers stream progress.
    const seen1 = { comments: 0, events: 0 };
    const v1 = new V1Client({ name: 'keepalive-v1', version: '1.0.0' });
    try {
      await v1.connect(new V1Transport(new URL(h.url), { fetch: countingFetch(seen1) }));
      const progress: number[] = [];
      const r = await v1.callTool({ name: 'countdown', arguments: { from: 3, intervalMs: 3 * KEEP_ALIVE_MS } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.deepEqual(progress, [1, 2, 3]);
      assert.deepEqual(r.content, [{ type: 'text', text: 'Countdown from 3 finished' }]);
    } finally {
      await v1.close();
    }

    // 2026-07-28: SDK 2.x pinned to the stateless revision.
    const seen2 = { comments: 0, events: 0 };
    const v2 = new V2Client({ name: 'keepalive-v2', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    try {
      await v2.connect(new V2Transport(new URL(h.url), { fetch: countingFetch(seen2) }));
      const progress: number[] = [];
      const r = await v2.callTool({ name: 'countdown', arguments: { from: 3, intervalMs: 3 * KEEP_ALIVE_MS } }, { onprogress: (p) => progress.push(p.progress) });
      assert.deepEqual(progress, [1, 2, 3]);
      assert.deepEqual(r.content, [{ type: 'text', text: 'Countdown from 3 finished' }]);
    } finally {
      await v2.close();
    }
    await sleep(50); // let the counting branches finish
    assert.ok(seen1.comments >= 2, `the v1 client's stream carried ${seen1.comments} keep-alives`);
    assert.ok(seen2.comments >= 2, `the v2 client's stream carried ${seen2.comments} keep-alives`);
  });
});

describe('streams.keepAliveMs = 0 disables keep-alives', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness((c) => {
      c.streams.keepAliveMs = 0;
    });
  });
  after(async () => {
    await h?.close();
  });

  it('a quiet standalone GET stream carries no comment', async () => {
    const sid = await initSession(h.url);
    const ac = new AbortController();
    const res = await fetch(h.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }, signal: ac.signal });
    assert.equal(res.status, 200);
    const blocks: Block[] = [];
    const reading = recordBlocks(res.body!, blocks, performance.now());
    await sleep(6 * KEEP_ALIVE_MS);
    ac.abort();
    await reading;
    assert.deepEqual(blocks.filter((b) => b.kind === 'comment'), [], fmt(blocks));
  });
});
