/**
 * A hostile or broken upstream: oversized events and bodies, bytes that are not JSON-RPC, silence
 * before and after the response headers, connections that die mid-stream, and no upstream at
 * all. The client must get a JSON-RPC error from the error table for its request (as the HTTP
 * answer when nothing was sent yet, in-band on an SSE stream already open), never a gateway 500,
 * never a hang past the configured timeouts, and the gateway must keep serving.
 *
 * Limits: `limits.maxEventBytes` is "Largest single SSE event or JSON response from upstream";
 * `timeouts.requestMs` is the "Ceiling on a whole exchange, streams included"; `timeouts.idleMs`
 * is "No byte from upstream for this long ends the exchange" (src/config/schema.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { textOf } from '../../src/demo/testkit.ts';
import { expectGatewayError, expectInBandError, expectStreamError, observeAll, parseJson, post, sseData, startStack, type Loose, type Reply, type Stack } from './support/hostile-harness.ts';
import { scripted, startHostileUpstream, type Behaviour, type HostileUpstream } from './support/hostile-upstream.ts';

const EVENT_LIMIT = 16 * 1024;
/** A liveness bound for "never hangs": far beyond every timeout configured here. */
const HANG_BOUND_MS = 5_000;

async function call(s: Stack, behaviour: Behaviour, id: number, args: Record<string, unknown> = {}): Promise<Reply> {
  const { body, headers } = scripted(behaviour, id, args);
  return post(s.port, body, headers);
}

/** Like `call`, but fails with a clear message instead of hanging the test. */
async function callBounded(s: Stack, behaviour: Behaviour, id: number, args: Record<string, unknown> = {}): Promise<Reply> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${behaviour}: no complete answer ${HANG_BOUND_MS} ms after the request (timeouts here are ≤ 1 s)`)), HANG_BOUND_MS);
  });
  try {
    return await Promise.race([call(s, behaviour, id, args), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** The gateway relays a normal answer from the same upstream. */
async function assertUpstreamServes(s: Stack, label: string): Promise<void> {
  for (const b of ['ok', 'ok-sse'] as const) {
    const r = await call(s, b, 77, { text: `alive ${label}` });
    assert.equal(r.status, 200, `${label} (${b}): ${r.text}`);
    const msg = b === 'ok' ? parseJson(r) : JSON.parse(sseData(r.text).at(-1) ?? '{}');
    assert.equal(msg.id, 77, `${label} (${b})`);
    assert.equal(textOf(msg.result), `alive ${label}`, `${label} (${b})`);
  }
}

for (const inspecting of [false, true]) {
  const mode = inspecting ? 'with an inspector reading every message' : 'with no inspector (pass-through)';

  describe(`hostile upstream, ${mode}`, () => {
    let up: HostileUpstream;
    let s: Stack;
    before(async () => {
      up = await startHostileUpstream();
      s = await startStack({
        upstream: up.url,
        limits: { maxEventBytes: EVENT_LIMIT, maxBufferedMessageBytes: 8 * 1024 },
        timeouts: { requestMs: 60_000, idleMs: 400 },
        ...(inspecting ? { extraInspectors: [observeAll] } : {}),
      });
    });
    after(async () => {
      await s.close();
      await up.close();
    });

    it('an SSE stream that ends without answering → in-band -31032 for the request (not a silent end)', async () => {
      const r = await callBounded(s, 'sse-no-answer', 23);
      assert.equal(r.status, 200);
      expectStreamError(sseData(r.text), 'upstream_protocol', 23);
      await assertUpstreamServes(s, 'after a stream without an answer');
    });

    it('a content-encoded (gzip) answer, JSON or SSE → 502 -31032 upstream_protocol: the gateway asked for identity and does not relay bytes it cannot inspect', async () => {
      const seenBefore = up.seen.length;
      for (const sse of [false, true]) {
        const r = await callBounded(s, 'gzip', 31, { sse });
        const body = expectGatewayError(r, 'upstream_protocol', 31, `gzip ${sse ? 'SSE' : 'JSON'}`);
        assert.match(String(body.error?.message), /gzip-encoded/);
        assert.equal(r.headers['content-encoding'], undefined);
      }
      const asked = up.seen.slice(seenBefore).map((q) => q.headers['accept-encoding']);
      assert.deepEqual(asked, ['identity', 'identity'], 'the gateway asks the upstream for unencoded bodies');
      await assertUpstreamServes(s, 'after a gzip answer');
    });

    it(inspecting ? 'an SSE event with a name (not `message`) is not relayed: its name is text no inspector reads' : 'an SSE event with a name is relayed as sent (nothing inspects this route)', async () => {
      const r = await callBounded(s, 'named-event', 32);
      assert.equal(r.status, 200);
      assert.equal(r.text.includes('AKIAQYLPMN5HHHFPZAM2'), !inspecting, r.text);
      assert.equal(JSON.parse(sseData(r.text).at(-1) ?? '{}').result?.content?.[0]?.text, 'done');
    });

    it('an SSE event over maxEventBytes → in-band -31033 upstream_event_too_large for the request', async () => {
      const r = await callBounded(s, 'huge-event', 11, { bytes: EVENT_LIMIT * 4 });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/event-stream/);
      const events = sseData(r.text);
      assert.ok(events.every((e) => e.length <= EVENT_LIMIT), 'no oversized event reaches the client');
      expectStreamError(events, 'upstream_event_too_large', 11);
      await assertUpstreamServes(s, 'after an oversized event');
    });

    // With no inspector the gateway does not parse s2c messages at all (relay.ts: "JSON bodies
    // stream straight through when no inspector wants them"), so garbage is relayed verbatim;
    // these checks apply once something reads the messages.
    if (inspecting) {
      it('an SSE event that is not JSON does not reach the client as a message', async () => {
        const r = await callBounded(s, 'garbage-sse', 12);
        assert.equal(r.status, 200);
        const events = sseData(r.text);
        assert.ok(!events.some((e) => e.includes('this is not json')), 'the garbage is not relayed');
        expectStreamError(events, 'upstream_protocol', 12);
        await assertUpstreamServes(s, 'after a non-JSON event');
      });

      it('an SSE event that is JSON but not JSON-RPC → in-band -31032', async () => {
        const r = await callBounded(s, 'not-jsonrpc-sse', 13);
        expectStreamError(sseData(r.text), 'upstream_protocol', 13);
        await assertUpstreamServes(s, 'after a non-JSON-RPC event');
      });

      // Which inspectors a result gets is decided by the request it answers; clients match ids
      // loosely (the TS SDK by Number(id)), so an answer under another id must not be relayed.
      it('a JSON answer under another id (7 as "7") → 502 / -31032 upstream_protocol, never relayed', async () => {
        const r = await callBounded(s, 'wrong-id-json', 17);
        assert.ok(!r.text.includes('SPOOFED'), r.text);
        expectGatewayError(r, 'upstream_protocol', 17);
      });

      it('a JSON answer with a duplicate member name → 502 / -31032 (clients that keep the first would read what was not inspected)', async () => {
        const r = await callBounded(s, 'dup-key-json', 19);
        assert.ok(!r.text.includes('POISON'), r.text);
        expectGatewayError(r, 'upstream_protocol', 19);
      });

      it('an answer nested 1,000 deep (the limit is 64) is refused (502 / in-band -31032) in bounded time, and the gateway keeps serving', async () => {
        const started = Date.now();
        expectGatewayError(await callBounded(s, 'deep', 20, { depth: 1000 }), 'upstream_protocol', 20);
        expectStreamError(sseData((await callBounded(s, 'deep', 21, { depth: 1000, sse: true })).text), 'upstream_protocol', 21);
        assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
        const ok = await callBounded(s, 'deep', 22, { depth: 40 });
        assert.equal(parseJson(ok).id, 22, 'a document within the bound still passes');
        await assertUpstreamServes(s, 'after a deeply nested answer');
      });

      it('a result member spelled another way (StructuredContent) → 502 / -31032: a case-insensitive client would read it', async () => {
        const r = await callBounded(s, 'variant-key-json', 24);
        assert.ok(!r.text.includes('POISON'), r.text);
        expectGatewayError(r, 'upstream_protocol', 24);
      });

      it('SSE answers under other ids are dropped; the real answer still arrives', async () => {
        const r = await callBounded(s, 'wrong-id-sse', 18);
        const events = sseData(r.text);
        assert.ok(!r.text.includes('SPOOFED'), r.text);
        const last = JSON.parse(events.at(-1) ?? '{}');
        assert.equal(last.id, 18);
        assert.equal(textOf(last.result), 'the real answer');
      });

      it('a JSON body that is not JSON → 502 / -31032 upstream_protocol', async () => {
        expectGatewayError(await callBounded(s, 'garbage-json', 14), 'upstream_protocol', 14);
        await assertUpstreamServes(s, 'after a non-JSON body');
      });
    }

    it('a JSON body declaring a Content-Length over maxEventBytes → 502 / -31033 (nothing sent yet)', async () => {
      const r = await callBounded(s, 'huge-json-declared', 15, { bytes: EVENT_LIMIT * 4 }).catch((err: Error) => err);
      assert.ok(!(r instanceof Error), `the client got no HTTP answer at all: ${r instanceof Error ? r.message : ''}`);
      // Over maxEventBytes, an upstream fault, whatever the inspection buffer says.
      expectGatewayError(r, 'upstream_event_too_large', 15);
      await assertUpstreamServes(s, 'after an oversized declared body');
    });

    it('a chunked JSON body over maxEventBytes is refused or cut, never relayed whole', async () => {
      // No Content-Length: the limit is met while reading. Before any byte went out the answer is
      // a table error (502 -31033, or in-band -31022 when the inspection buffer fills first);
      // after, a clean cut. Never the upstream's document.
      const r = await callBounded(s, 'huge-json', 16, { bytes: EVENT_LIMIT * 4 }).catch(() => undefined);
      let msg: Loose;
      try {
        msg = r && JSON.parse(r.text);
      } catch {
        msg = undefined;
      }
      if (msg !== undefined) {
        assert.equal(msg.id, 16, r?.text.slice(0, 200));
        assert.equal('result' in msg, false, 'the oversized result was relayed whole');
        const code = msg.error?.data?.code;
        assert.ok(code === 'upstream_event_too_large' || code === 'message_too_large', `data.code ${code}`);
        if (code === 'upstream_event_too_large') expectGatewayError(r!, code, 16);
        else expectInBandError(r!, code, 16);
      }
      await assertUpstreamServes(s, 'after an oversized chunked body');
    });

    it('the upstream never answers → 504 / -31031 upstream_timeout', async () => {
      const quick = await startStack({ upstream: up.url, timeouts: { requestMs: 400, idleMs: 60_000 }, ...(inspecting ? { extraInspectors: [observeAll] } : {}) });
      try {
        expectGatewayError(await callBounded(quick, 'silent', 17), 'upstream_timeout', 17);
        await assertUpstreamServes(quick, 'after a silent upstream');
      } finally {
        await quick.close();
      }
    });

    it('the upstream goes quiet after its SSE headers → in-band -31034 idle_timeout, stream ends', async () => {
      const r = await callBounded(s, 'silent-after-headers', 18);
      assert.equal(r.status, 200);
      const events = sseData(r.text);
      assert.match(events[0] ?? '', /"working"/, 'what came before the silence is relayed');
      expectStreamError(events, 'idle_timeout', 18);
      await assertUpstreamServes(s, 'after an idle SSE stream');
    });

    it('requestMs ends an SSE exchange the upstream keeps open → in-band -31031, stream ends', async () => {
      const quick = await startStack({ upstream: up.url, timeouts: { requestMs: 500, idleMs: 60_000 }, ...(inspecting ? { extraInspectors: [observeAll] } : {}) });
      try {
        const r = await callBounded(quick, 'silent-after-headers', 19);
        assert.equal(r.status, 200);
        expectStreamError(sseData(r.text), 'upstream_timeout', 19);
        await assertUpstreamServes(quick, 'after requestMs on a stream');
      } finally {
        await quick.close();
      }
    });

    it('the upstream goes quiet in the middle of a JSON body → 504 / -31034 idle_timeout, or a cut once bytes went out', async () => {
      // Pass-through holds one chunk back too, so a body that fails before its second chunk
      // still gets a clean error status instead of a cut.
      expectGatewayError(await callBounded(s, 'silent-mid-json', 20), 'idle_timeout', 20);
      await assertUpstreamServes(s, 'after an idle JSON body');
    });

    it('the upstream dies mid-SSE-stream → in-band -31030 upstream_unavailable after what it sent', async () => {
      const r = await callBounded(s, 'die-mid-stream', 21);
      assert.equal(r.status, 200);
      const events = sseData(r.text);
      assert.match(events[0] ?? '', /"first"/);
      expectStreamError(events, 'upstream_unavailable', 21);
      await assertUpstreamServes(s, 'after a dead stream');
    });

    it('the upstream dies in the middle of a JSON body → 502 / -31030, or a cut once bytes went out', async () => {
      expectGatewayError(await callBounded(s, 'die-mid-json', 22), 'upstream_unavailable', 22);
      await assertUpstreamServes(s, 'after a dead JSON body');
    });

    it("the upstream dies in the middle of the tool list the gateway fetches to check a call's Mcp-Param headers → 502 / -31030, not a gateway 500", async () => {
      up.toolsList = 'die-mid-json';
      try {
        // A 2026-07-28 call of a tool the route has not learnt yet: the gateway fetches the list first.
        const name = `unlisted-${inspecting}`;
        const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
        const body = { jsonrpc: '2.0', id: 24, method: 'tools/call', params: { name, arguments: {}, _meta: meta } };
        const r = await post(s.port, body, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name });
        expectGatewayError(r, 'upstream_unavailable', 24);
      } finally {
        up.toolsList = undefined;
      }
      await assertUpstreamServes(s, 'after a dead tool list');
    });

    it('the upstream drops the connection before any byte → 502 / -31030', async () => {
      expectGatewayError(await callBounded(s, 'die-before-headers', 23), 'upstream_unavailable', 23);
      await assertUpstreamServes(s, 'after a dropped connection');
    });
  });
}

describe('hostile upstream: inspection limits vs maxEventBytes', () => {
  let up: HostileUpstream;
  let s: Stack;
  before(async () => {
    up = await startHostileUpstream();
    // Buffering allowed up to 1 MiB for inspection, but no upstream message may exceed 16 KiB.
    s = await startStack({ upstream: up.url, limits: { maxEventBytes: EVENT_LIMIT, maxBufferedMessageBytes: 1024 * 1024 }, extraInspectors: [observeAll] });
  });
  after(async () => {
    await s.close();
    await up.close();
  });

  it('a JSON response over maxEventBytes is refused even when it fits the inspection buffer', async () => {
    const r = await callBounded(s, 'huge-json-declared', 31, { bytes: EVENT_LIMIT * 4 });
    expectGatewayError(r, 'upstream_event_too_large', 31);
  });
});

describe('hostile upstream: nothing listening', () => {
  let s: Stack;
  before(async () => {
    // A port that was free a moment ago: connection refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    s = await startStack({ upstream: `http://127.0.0.1:${port}/mcp` });
  });
  after(() => s.close());

  it('connection refused → 502 / -31030 upstream_unavailable with the request id, both eras', async () => {
    const legacy = scripted('ok', 41);
    expectGatewayError(await post(s.port, legacy.body, legacy.headers), 'upstream_unavailable', 41, '2025 era');
    const body = {
      jsonrpc: '2.0', id: 42, method: 'tools/list',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } },
    };
    expectGatewayError(await post(s.port, body, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' }), 'upstream_unavailable', 42, '2026 era');
    // A notification has no id to answer: still a 502, id null.
    expectGatewayError(await post(s.port, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-protocol-version': '2025-11-25' }), 'upstream_unavailable', null, 'notification');
  });
});
