/**
 * Cancellation in the 2026-07-28 era (basic/transports/streamable-http, "Cancellation"): closing
 * the response stream IS the cancellation, and the server SHOULD stop work. Through the gateway,
 * the client's abort must reach the upstream as an aborted request, so the upstream handler's
 * abort signal fires (the v2 SDK wires the HTTP disconnect to `ctx.mcpReq.signal`).
 *
 * The v2 client pinned to 2026-07-28 aborts a long `tools/call` with an AbortSignal; on this era
 * the SDK aborts the per-request HTTP stream instead of posting `notifications/cancelled`. Two
 * shapes: the upstream already streaming SSE (it sent a progress first) and the upstream still
 * holding a pending JSON response. Afterwards the same client keeps working through the gateway.
 *
 * For contrast, the 2025-11-25 rule: a disconnect is not a cancellation, the client cancels with
 * an explicit `notifications/cancelled`, which the gateway must route to the upstream session.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestGateway, POLICY_INSPECTORS } from './support/sdk-gateway.ts';
import { startV1Upstream } from './support/sdk-v1-upstream.ts';
import { startV2Upstream } from './support/sdk-v2-upstream.ts';

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';

  describe(`2026-07-28 cancellation through the gateway (${label})`, () => {
    for (const progressFirst of [true, false]) {
      const shape = progressFirst ? 'SSE response stream' : 'pending JSON response';

      it(`a client abort cancels the upstream request (${shape}) and the gateway keeps serving`, async () => {
        const upstream = await startV2Upstream();
        const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
        const client = new Client({ name: 'sdk-cancellation', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
        try {
          await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
          const tag = `${label}-${progressFirst ? 'sse' : 'json'}`;
          const ac = new AbortController();
          const progress: number[] = [];
          const call = client.callTool({ name: 'wait', arguments: { tag, progressFirst } }, {
            signal: ac.signal,
            ...(progressFirst ? { onprogress: (p: { progress: number }) => progress.push(p.progress) } : {}),
          });
          // Abort only once the upstream handler is running (and, for SSE, the progress arrived).
          await upstream.probe.when('started', tag);
          if (progressFirst) {
            while (progress.length === 0) await new Promise((r) => setTimeout(r, 5));
          }
          ac.abort(new Error('user pressed stop'));
          await assert.rejects(call);

          // The upstream handler observes its own request's abort signal.
          await upstream.probe.when('aborted', tag);
          assert.ok(upstream.probe.aborted.has(tag));
          assert.ok(!upstream.probe.finished.has(tag), 'the upstream did not run to completion');

          // The gateway (and the same client connection) keeps serving.
          const r = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
          assert.equal(textOf(r), 'echo: still here');
        } finally {
          await client.close();
          await gw.close();
          await upstream.close();
        }
      });
    }
  });
}

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';

  describe(`2025-11-25 cancellation through the gateway (${label})`, () => {
    it('an aborted call reaches the upstream as notifications/cancelled and the session keeps serving', async () => {
      const upstream = await startV1Upstream({ jsonResponse: false });
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V1Client({ name: 'sdk-cancellation', version: '1.0.0' });
      try {
        await client.connect(new V1Transport(gw.mcpUrl));
        const tag = `legacy-${label}`;
        const ac = new AbortController();
        const call = client.callTool({ name: 'wait', arguments: { tag } }, undefined, { signal: ac.signal });
        await upstream.probe.when('started', tag);
        ac.abort(new Error('user pressed stop'));
        await assert.rejects(call);
        await upstream.probe.when('aborted', tag);
        assert.ok(!upstream.probe.finished.has(tag));
        const r = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
        assert.equal(textOf(r), 'echo: still here');
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });
  });
}
