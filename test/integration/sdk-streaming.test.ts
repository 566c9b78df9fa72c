/**
 * Streaming through the gateway: a tool sends N progress notifications ~100 ms apart, then
 * finishes. The gateway must relay SSE events one by one as they arrive (never buffer the whole
 * response), so the client's `onprogress` fires while the call is still pending.
 *
 * No wall-clock thresholds: each progress callback records whether the upstream handler had
 * already returned (a flag the server sets when it finishes) and whether the call had settled.
 * A buffering gateway would deliver every notification after the upstream finished.
 *
 * Every event must be relayed on its own, not just the first: a transparent tap between the
 * gateway and the upstream (see startSendTap) stamps when the upstream put each progress event
 * on the wire, and each progress notification must reach the client before the upstream sends
 * the next one (INTERVAL_MS later). A gateway that flushed the first event and buffered the rest,
 * or flushed in batches, delivers some event only after its successor was sent.
 *
 * Both eras: v1 client/server (2025-11-25, POST answered with an SSE stream) and v2 client pinned
 * to 2026-07-28 against createMcpHandler (the response upgrades to SSE on the first related
 * message). Each without and with inspectors (the parse-and-inspect path must stream too).
 */
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { startTestGateway, POLICY_INSPECTORS } from './support/sdk-gateway.ts';
import { startV1Upstream } from './support/sdk-v1-upstream.ts';
import { startV2Upstream } from './support/sdk-v2-upstream.ts';

const N = 5;
const INTERVAL_MS = 150;

interface Seen {
  progress: number;
  total: number | undefined;
  upstreamFinished: boolean;
  callSettled: boolean;
  /** performance.now() when the client's onprogress ran. */
  at: number;
}

interface SendTap {
  /** The URL to give the gateway as its upstream. */
  readonly url: string;
  /** performance.now() when the upstream's bytes of each progress event reached the tap, by `progress`. */
  readonly sentAt: Map<number, number>;
  close(): Promise<void>;
}

/**
 * A byte-for-byte HTTP pass-through in front of the upstream that notes when each SSE event
 * carrying `notifications/progress` leaves the upstream (same clock as the client's callbacks:
 * everything runs in this process). It adds nothing and holds nothing: every chunk is written on
 * as it arrives.
 */
async function startSendTap(upstream: string): Promise<SendTap> {
  const target = new URL(upstream);
  const sentAt = new Map<number, number>();
  const server = createServer((req, res) => {
    const up = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        let buf = '';
        ur.on('data', (chunk: Buffer) => {
          const now = performance.now();
          buf += chunk.toString('utf8');
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
            if (!data.includes('notifications/progress')) continue;
            const msg = JSON.parse(data) as { params?: { progress?: number } };
            if (typeof msg.params?.progress === 'number' && !sentAt.has(msg.params.progress)) sentAt.set(msg.params.progress, now);
          }
          res.write(chunk);
        });
        ur.on('end', () => res.end());
        ur.on('error', () => res.destroy());
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    sentAt,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

function assertStreamed(seen: Seen[], result: object, tag: string, sentAt: ReadonlyMap<number, number>): void {
  assert.deepEqual(seen.map((s) => s.progress), [1, 2, 3, 4, 5], 'every progress notification, in order');
  assert.ok(seen.every((s) => s.total === N));
  assert.equal(seen[0]!.upstreamFinished, false, 'the first progress reached the client before the tool finished');
  assert.ok(seen.every((s) => !s.callSettled), 'no progress after the result');
  assert.equal(textOf(result), `countdown ${tag} done after ${N}`);

  // Each event on its own: progress i is at the client before the upstream sends progress i+1.
  assert.deepEqual([...sentAt.keys()].sort(), [1, 2, 3, 4, 5], 'the tap saw every progress leave the upstream');
  const t0 = sentAt.get(1)!;
  const timeline = seen.map((s) => `progress ${s.progress}: sent upstream +${(sentAt.get(s.progress)! - t0).toFixed(0)} ms, at client +${(s.at - t0).toFixed(0)} ms`).join('\n');
  const late = seen.filter((s) => s.progress < N && s.at >= sentAt.get(s.progress + 1)!).map((s) => s.progress);
  assert.deepEqual(late, [], `progress reached the client only after the upstream had sent the next one (buffered):\n${timeline}`);
  assert.ok(seen.every((s) => !s.upstreamFinished), `every progress reached the client before the tool finished:\n${timeline}`);
}

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';

  describe(`streaming progress, 2025-11-25 era (v1 SDK, ${label})`, () => {
    it('delivers each progress notification on its own while the call is pending', async () => {
      const upstream = await startV1Upstream({ jsonResponse: false });
      const tap = await startSendTap(upstream.url);
      const gw = await startTestGateway(tap.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V1Client({ name: 'sdk-streaming', version: '1.0.0' });
      try {
        await client.connect(new V1Transport(gw.mcpUrl));
        const tag = `v1-${label}`;
        const seen: Seen[] = [];
        let settled = false;
        const call = client
          .callTool({ name: 'countdown', arguments: { n: N, intervalMs: INTERVAL_MS, tag } }, undefined, {
            onprogress: (p) => seen.push({ progress: p.progress, total: p.total, upstreamFinished: upstream.probe.finished.has(tag), callSettled: settled, at: performance.now() }),
          })
          .finally(() => {
            settled = true;
          });
        const result = await call;
        assertStreamed(seen, result, tag, tap.sentAt);
      } finally {
        await client.close();
        await gw.close();
        await tap.close();
        await upstream.close();
      }
    });
  });

  describe(`streaming progress, 2026-07-28 era (v2 SDK, ${label})`, () => {
    it('delivers each progress notification on its own while the call is pending', async () => {
      const upstream = await startV2Upstream();
      const tap = await startSendTap(upstream.url);
      const gw = await startTestGateway(tap.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V2Client({ name: 'sdk-streaming', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      try {
        await client.connect(new V2Transport(gw.mcpUrl));
        const tag = `v2-${label}`;
        const seen: Seen[] = [];
        let settled = false;
        const call = client
          .callTool({ name: 'countdown', arguments: { n: N, intervalMs: INTERVAL_MS, tag } }, {
            onprogress: (p) => seen.push({ progress: p.progress, total: p.total, upstreamFinished: upstream.probe.finished.has(tag), callSettled: settled, at: performance.now() }),
          })
          .finally(() => {
            settled = true;
          });
        const result = await call;
        assertStreamed(seen, result, tag, tap.sentAt);
      } finally {
        await client.close();
        await gw.close();
        await tap.close();
        await upstream.close();
      }
    });
  });
}
