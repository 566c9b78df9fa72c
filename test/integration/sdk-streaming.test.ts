/**
 * Streaming through the gateway: a tool sends N progress notifications ~100 ms apart, then
 * finishes. The gateway must relay SSE events one by one as they arrive (never buffer the whole
 * response), so the client's `onprogress` fires while the call is still pending.
 *
 * No wall-clock thresholds: each progress callback records whether the upstream handler had
 * already returned (a flag the server sets when it finishes) and whether the call had settled.
 * A buffering gateway would deliver every notification after the upstream finished.
 *
 * Both eras: v1 client/server (2025-11-25, POST answered with an SSE stream) and v2 client pinned
 * to 2026-07-28 against createMcpHandler (the response upgrades to SSE on the first related
 * message). Each without and with inspectors (the parse-and-inspect path must stream too).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { startTestGateway, POLICY_INSPECTORS } from './support/sdk-gateway.ts';
import { startV1Upstream } from './support/sdk-v1-upstream.ts';
import { startV2Upstream } from './support/sdk-v2-upstream.ts';

const N = 5;
const INTERVAL_MS = 100;

interface Seen {
  progress: number;
  total: number | undefined;
  upstreamFinished: boolean;
  callSettled: boolean;
}

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

function assertStreamed(seen: Seen[], result: object, tag: string): void {
  assert.deepEqual(seen.map((s) => s.progress), [1, 2, 3, 4, 5], 'every progress notification, in order');
  assert.ok(seen.every((s) => s.total === N));
  assert.equal(seen[0]!.upstreamFinished, false, 'the first progress reached the client before the tool finished');
  assert.ok(seen.every((s) => !s.callSettled), 'no progress after the result');
  assert.equal(textOf(result), `countdown ${tag} done after ${N}`);
}

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';

  describe(`streaming progress, 2025-11-25 era (v1 SDK, ${label})`, () => {
    it('delivers progress notifications while the call is pending', async () => {
      const upstream = await startV1Upstream({ jsonResponse: false });
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V1Client({ name: 'sdk-streaming', version: '1.0.0' });
      try {
        await client.connect(new V1Transport(gw.mcpUrl));
        const tag = `v1-${label}`;
        const seen: Seen[] = [];
        let settled = false;
        const call = client
          .callTool({ name: 'countdown', arguments: { n: N, intervalMs: INTERVAL_MS, tag } }, undefined, {
            onprogress: (p) => seen.push({ progress: p.progress, total: p.total, upstreamFinished: upstream.probe.finished.has(tag), callSettled: settled }),
          })
          .finally(() => {
            settled = true;
          });
        const result = await call;
        assertStreamed(seen, result, tag);
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });
  });

  describe(`streaming progress, 2026-07-28 era (v2 SDK, ${label})`, () => {
    it('delivers progress notifications while the call is pending', async () => {
      const upstream = await startV2Upstream();
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V2Client({ name: 'sdk-streaming', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      try {
        await client.connect(new V2Transport(gw.mcpUrl));
        const tag = `v2-${label}`;
        const seen: Seen[] = [];
        let settled = false;
        const call = client
          .callTool({ name: 'countdown', arguments: { n: N, intervalMs: INTERVAL_MS, tag } }, {
            onprogress: (p) => seen.push({ progress: p.progress, total: p.total, upstreamFinished: upstream.probe.finished.has(tag), callSettled: settled }),
          })
          .finally(() => {
            settled = true;
          });
        const result = await call;
        assertStreamed(seen, result, tag);
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });
  });
}
