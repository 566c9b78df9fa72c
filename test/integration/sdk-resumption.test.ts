/**
 * Resumption in the 2025-11-25 era (basic/transports, "Resumability and Redelivery"): a client
 * whose SSE connection breaks mid-call resumes with GET + `Last-Event-ID` and receives the rest of
 * the stream, including the final result, without duplicates.
 *
 * 1. Client-side cut (raw fetch client): the client aborts its POST after the first progress
 *    event. The gateway keeps reading the upstream (a disconnect is not a cancellation in this
 *    era) and replays what the client missed, under the gateway's own event ids, whether the
 *    client resumes after the tool finished or while it is still running.
 * 2. Upstream-side cut (v1 SDK client, SEP-1699 polling): the v1 server closes the SSE
 *    connection mid-call with `closeSSEStream()`; the client reconnects through the gateway, which
 *    resumes the upstream with the upstream's own last event id.
 *
 * The upstream is a v1 McpServer with an EventStore.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestGateway, POLICY_INSPECTORS } from './support/sdk-gateway.ts';
import { messageOf, rawInitialize, rpcId, sseEvents, type RawEvent, type RawSession } from './support/sdk-raw.ts';
import { startV1Upstream, type RunningV1Upstream } from './support/sdk-v1-upstream.ts';

const N = 6;

interface Cut {
  /** Every event the client received before cutting (priming included). */
  before: RawEvent[];
  /** Id of the last event received before the cut. */
  lastEventId: string;
  callId: number;
}

/** POST a countdown call and abort the connection right after the first progress event. */
async function callAndCut(s: RawSession, tag: string, intervalMs: number): Promise<Cut> {
  const callId = rpcId();
  const ac = new AbortController();
  const res = await fetch(s.url, {
    method: 'POST',
    headers: s.headers(),
    signal: ac.signal,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: callId,
      method: 'tools/call',
      params: { name: 'countdown', arguments: { n: N, intervalMs, tag }, _meta: { progressToken: `tok-${tag}` } },
    }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const before: RawEvent[] = [];
  try {
    for await (const ev of sseEvents(res)) {
      before.push(ev);
      if (messageOf(ev)?.['method'] === 'notifications/progress') break;
    }
  } finally {
    ac.abort();
  }
  const last = before.at(-1);
  assert.ok(last?.id, 'the gateway put an id on the event (resumable stream)');
  return { before, lastEventId: last.id, callId };
}

async function resume(s: RawSession, lastEventId: string): Promise<{ status: number; events: RawEvent[] }> {
  const res = await fetch(s.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', 'mcp-session-id': s.sessionId, 'mcp-protocol-version': s.protocolVersion, 'last-event-id': lastEventId },
  });
  if (res.status !== 200) return { status: res.status, events: [] };
  const events: RawEvent[] = [];
  for await (const ev of sseEvents(res)) events.push(ev);
  return { status: res.status, events };
}

function assertRestDelivered(cut: Cut, events: RawEvent[], tag: string): void {
  const messages = events.map(messageOf).filter((m) => m !== undefined);
  const progress = messages.filter((m) => m['method'] === 'notifications/progress').map((m) => (m['params'] as { progress: number }).progress);
  assert.deepEqual(progress, [2, 3, 4, 5, 6], 'exactly the progress the client missed, in order, no duplicate of 1');
  const final = messages.at(-1) as { id?: unknown; result?: { content: Array<{ text: string }> } };
  assert.equal(final.id, cut.callId, 'the stream ends with the response to the call');
  assert.equal(final.result?.content[0]?.text, `countdown ${tag} done after ${N}`);
  // Ids are the gateway's `<stream>.<seq>`: same stream as the cut one, strictly increasing.
  const stream = cut.lastEventId.slice(0, cut.lastEventId.lastIndexOf('.'));
  let prev = Number(cut.lastEventId.slice(stream.length + 1));
  for (const ev of events) {
    const id = ev.id ?? '';
    assert.ok(id.startsWith(`${stream}.`), `event id ${id} belongs to stream ${stream}`);
    const seq = Number(id.slice(stream.length + 1));
    assert.ok(seq > prev, `event ids increase (${prev} → ${seq})`);
    prev = seq;
  }
}

async function withStack(inspectors: readonly unknown[], fn: (up: RunningV1Upstream, s: RawSession, url: URL) => Promise<void>): Promise<void> {
  const upstream = await startV1Upstream({ jsonResponse: false, eventStore: true });
  const gw = await startTestGateway(upstream.url, inspectors);
  try {
    const s = await rawInitialize(gw.mcpUrl);
    assert.ok(!upstream.sessionIds.includes(s.sessionId), 'the client holds the gateway session id');
    await fn(upstream, s, gw.mcpUrl);
  } finally {
    await gw.close();
    await upstream.close();
  }
}

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';
  const inspectors = withInspectors ? POLICY_INSPECTORS : [];

  describe(`resumption after the client's connection is cut, 2025-11-25 (${label})`, () => {
    it('replays the rest of the stream after the tool finished', async () => {
      await withStack(inspectors, async (upstream, s) => {
        const tag = `after-${label}`;
        const cut = await callAndCut(s, tag, 50);
        // The gateway keeps reading the upstream while no client is attached.
        await upstream.probe.when('finished', tag);
        const { status, events } = await resume(s, cut.lastEventId);
        assert.equal(status, 200);
        assertRestDelivered(cut, events, tag);
      });
    });

    it('resumes a stream that is still live and follows it to the end', async () => {
      await withStack(inspectors, async (upstream, s) => {
        const tag = `live-${label}`;
        const cut = await callAndCut(s, tag, 100);
        const { status, events } = await resume(s, cut.lastEventId);
        assert.equal(status, 200);
        assertRestDelivered(cut, events, tag);
        assert.ok(upstream.probe.finished.has(tag));
      });
    });

    it("refuses a Last-Event-ID from another session and doesn't replay its events", async () => {
      await withStack(inspectors, async (upstream, s, url) => {
        const tag = `foreign-${label}`;
        const cut = await callAndCut(s, tag, 20);
        await upstream.probe.when('finished', tag);
        const other = await rawInitialize(url);
        const { status, events } = await resume(other, cut.lastEventId);
        assert.equal(status, 404);
        assert.deepEqual(events, []);
      });
    });
  });

  describe(`resumption after the upstream closes the connection (SEP-1699 polling, ${label})`, () => {
    it('the v1 client reconnects through the gateway and gets every progress and the result', async () => {
      const upstream = await startV1Upstream({ jsonResponse: false, eventStore: true, retryIntervalMs: 20 });
      const gw = await startTestGateway(upstream.url, inspectors);
      const client = new Client({ name: 'sdk-resumption', version: '1.0.0' });
      try {
        await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl, { reconnectionOptions: { initialReconnectionDelay: 20, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 } }));
        const tag = `poll-${label}`;
        const progress: number[] = [];
        const r = await client.callTool({ name: 'poll_stream', arguments: { n: 6, intervalMs: 80, tag } }, undefined, {
          onprogress: (p) => progress.push(p.progress),
        });
        assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
        assert.deepEqual(r.content, [{ type: 'text', text: `poll_stream ${tag} done after 6` }]);
        assert.ok((upstream.eventStore?.replays ?? 0) >= 1, 'the gateway resumed the upstream stream with Last-Event-ID');
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });
  });
}
