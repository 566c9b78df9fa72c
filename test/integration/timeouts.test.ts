/**
 * Per-route timeouts (`routes[].timeouts`) on a streamed tool call, both eras:
 *
 * - `idleMs`: no byte from upstream for that long ends the exchange, so a call that keeps sending
 *   progress runs past it; an upstream that goes quiet is cut, and the client gets a JSON-RPC
 *   error for its request (-31034 idle_timeout) at the end of a stream that ends normally.
 * - `requestMs`: a ceiling on the whole exchange that progress does not extend (MCP
 *   basic/lifecycle "Timeouts": implementations SHOULD enforce a maximum timeout regardless of
 *   progress notifications), answered with -31031 upstream_timeout.
 *
 * The upstream is the bundled demo server's `countdown` tool: one notifications/progress every
 * `intervalMs`, then the result. The idle timer is undici's body timeout, which runs on a coarse
 * clock (~0.5 s ticks) for body timeouts: a quiet upstream is cut between idleMs and about
 * idleMs + 1 s, so the bounds below leave that much room.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERRORS, type ErrorCode } from '../../src/core/errors.ts';
import { initSession, legacyCall, modernCall, sseEvents, type Loose } from '../../src/demo/testkit.ts';
import { startHarness, type Harness } from './support/gateway.ts';

const IDLE_MS = 300;

interface Run {
  status: number;
  messages: Loose[];
  /** ms from the response head to each message. */
  at: number[];
  /** The body ended (rather than failing mid-read). */
  endedCleanly: boolean;
  elapsed: number;
}

async function run(res: Response): Promise<Run> {
  const t0 = performance.now();
  const out: Run = { status: res.status, messages: [], at: [], endedCleanly: false, elapsed: 0 };
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/, `HTTP ${res.status}`);
  try {
    for await (const ev of sseEvents(res)) {
      if (ev.data === '') continue; // priming event (2025-11-25)
      out.messages.push(JSON.parse(ev.data));
      out.at.push(performance.now() - t0);
    }
    out.endedCleanly = true;
  } catch {
    out.endedCleanly = false;
  }
  out.elapsed = performance.now() - t0;
  return out;
}

const progressOf = (r: Run) => r.messages.filter((m) => m.method === 'notifications/progress');

function assertErrorEnd(r: Run, id: number, code: ErrorCode, label: string): Loose {
  assert.ok(r.endedCleanly, `${label}: the stream ends, not a broken connection`);
  const last = r.messages.at(-1);
  assert.equal(last?.id, id, `${label}: the last message answers the request (${JSON.stringify(last)})`);
  assert.equal(last?.error?.code, ERRORS[code].rpc, `${label}: JSON-RPC code`);
  assert.equal(last?.error?.data?.code, code, `${label}: data.code`);
  assert.equal(r.messages.filter((m) => m.id === id).length, 1, `${label}: exactly one answer`);
  assert.ok(!r.messages.some((m) => 'result' in m), `${label}: no result`);
  return last;
}

const modernCountdown = (h: Harness, id: number, from: number, intervalMs: number) =>
  modernCall(h.url, 'tools/call', { name: 'countdown', arguments: { from, intervalMs } }, { id, meta: { progressToken: `t${id}` } });

const legacyCountdown = (h: Harness, sid: string, id: number, from: number, intervalMs: number) =>
  legacyCall(h.url, sid, id, 'tools/call', { name: 'countdown', arguments: { from, intervalMs }, _meta: { progressToken: id } });

describe('timeouts.idleMs', () => {
  let h: Harness;
  let sid: string;
  before(async () => {
    h = await startHarness((c) => {
      c.routes[0]!.timeouts.idleMs = IDLE_MS;
      c.routes[0]!.timeouts.requestMs = 30_000;
    });
    sid = await initSession(h.url);
  });
  after(() => h.close());

  // 20 steps of 100 ms: 2 s, well past idleMs plus the idle clock's slack.
  for (const era of ['modern', 'legacy'] as const) {
    it(`progress every 100 ms keeps a ${era} call alive well past idleMs, to its result`, async () => {
      const id = 10;
      const r = await run(await (era === 'modern' ? modernCountdown(h, id, 20, 100) : legacyCountdown(h, sid, id, 20, 100)));
      assert.equal(r.status, 200);
      assert.ok(r.endedCleanly);
      assert.deepEqual(progressOf(r).map((m) => m.params.progress), Array.from({ length: 20 }, (_, i) => i + 1));
      const last = r.messages.at(-1);
      assert.equal(last?.id, id);
      assert.equal(last?.error, undefined, JSON.stringify(last?.error));
      assert.equal(last?.result?.content?.[0]?.text, 'Countdown from 20 finished');
      assert.ok(r.elapsed > IDLE_MS * 5, `ran ${r.elapsed.toFixed(0)} ms`);
    });
  }

  it('a modern upstream that goes quiet longer than idleMs: -31034 idle_timeout, then the stream ends', async () => {
    const id = 20;
    // One progress event at once, then 5 s of silence before the next.
    const r = await run(await modernCountdown(h, id, 2, 5000));
    assert.equal(r.status, 200);
    assert.equal(progressOf(r).length, 1, 'the progress sent before the silence is delivered');
    assertErrorEnd(r, id, 'idle_timeout', 'quiet upstream');
    const cutAt = r.at.at(-1)!;
    assert.ok(cutAt >= IDLE_MS - 50, `not before idleMs (${cutAt.toFixed(0)} ms)`);
    assert.ok(cutAt < 3000, `cut long before the upstream's next event (${cutAt.toFixed(0)} ms)`);
    // The gateway is fine afterwards: the next call on the route completes.
    const again = await run(await modernCountdown(h, id + 1, 1, 10));
    assert.equal(again.messages.at(-1)?.result?.content?.[0]?.text, 'Countdown from 1 finished');
  });

  it('a legacy upstream that goes quiet longer than idleMs: -31034 idle_timeout, then the stream ends', async () => {
    const id = 30;
    const r = await run(await legacyCountdown(h, sid, id, 2, 5000));
    assert.equal(progressOf(r).length, 1);
    assertErrorEnd(r, id, 'idle_timeout', 'quiet legacy upstream');
    assert.ok(r.at.at(-1)! < 3000);
  });
});

describe('timeouts.requestMs', () => {
  const REQUEST_MS = 800;
  let h: Harness;
  let sid: string;
  before(async () => {
    h = await startHarness((c) => {
      c.routes[0]!.timeouts.idleMs = IDLE_MS;
      c.routes[0]!.timeouts.requestMs = REQUEST_MS;
    });
    sid = await initSession(h.url);
  });
  after(() => h.close());

  for (const era of ['modern', 'legacy'] as const) {
    it(`is a hard ceiling on a ${era} call even while progress keeps coming: -31031 upstream_timeout`, async () => {
      const id = 40;
      // 30 steps of 100 ms: 3 s of steady progress, never idle.
      const r = await run(await (era === 'modern' ? modernCountdown(h, id, 30, 100) : legacyCountdown(h, sid, id, 30, 100)));
      assert.equal(r.status, 200);
      assertErrorEnd(r, id, 'upstream_timeout', `${era} ceiling`);
      const n = progressOf(r).length;
      assert.ok(n >= 3 && n < 30, `progress flowed until the cut (${n} events)`);
      const cutAt = r.at.at(-1)!;
      assert.ok(cutAt >= REQUEST_MS - 100 && cutAt < 2000, `cut at about requestMs (${cutAt.toFixed(0)} ms)`);
    });
  }
});
