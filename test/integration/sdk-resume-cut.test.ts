/**
 * Resumption after a network-level cut of the client's connection, 2025-11-25 era, with the real
 * v1 SDK client (StreamableHTTPClientTransport) reconnecting on its own.
 *
 * A small TCP proxy sits between the client and the gateway. It watches the bytes of every
 * connection: once a connection has carried the `tools/call` POST and a given number of
 * `notifications/progress` events have gone back to the client, it destroys both sockets (the
 * client sees a network error mid-SSE, the gateway sees the client vanish). The SDK then
 * reconnects by itself with GET + `Last-Event-ID` (it saw event ids on the POST stream). What a
 * user must observe: the call completes with its result, every progress notification arrives
 * exactly once and in order, and the tool ran upstream once (the gateway did not re-invoke it).
 *
 * Two timings: the client resumes while the tool is still running, and (held back by the fetch
 * wrapper until the upstream tool has returned) after it finished.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestGateway, POLICY_INSPECTORS } from './support/sdk-gateway.ts';
import { startV1Upstream } from './support/sdk-v1-upstream.ts';

const N = 8;

interface CutProxy {
  readonly url: URL;
  /** Number of connections the proxy cut (a test expects exactly one). */
  readonly cuts: number;
  close(): Promise<void>;
}

const count = (s: string, needle: string): number => s.split(needle).length - 1;

/**
 * TCP proxy to `target`. The first connection whose request bytes contain `tools/call` is cut
 * (both sides destroyed) right after the response chunk that brings the `cutAfter`-th progress
 * notification through. Every other connection (initialize, the standalone GET, the resume GET)
 * is forwarded untouched.
 */
async function startCutProxy(target: URL, cutAfter: number): Promise<CutProxy> {
  const sockets = new Set<Socket>();
  let cuts = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    let armed = false;
    let requestText = '';
    let responseText = '';
    client.on('data', (chunk: Buffer) => {
      if (!armed && cuts === 0) {
        requestText += chunk.toString('latin1');
        if (requestText.includes('"tools/call"')) armed = true;
        else if (requestText.length > 65536) requestText = requestText.slice(-1024);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!armed) return void client.write(chunk);
      responseText += chunk.toString('latin1');
      client.write(chunk);
      if (count(responseText, 'notifications/progress') >= cutAfter) {
        armed = false;
        cuts++;
        client.destroy();
        upstream.destroy();
      }
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = new URL(target.href);
  url.host = `127.0.0.1:${port}`;
  return {
    url,
    get cuts() {
      return cuts;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';

  describe(`v1 SDK client resumes after its connection is cut mid-call (${label})`, () => {
    for (const when of ['live', 'after-finish'] as const) {
      it(`delivers every progress exactly once and the result, tool run once (resume ${when === 'live' ? 'while the tool runs' : 'after the tool finished'})`, async () => {
        const upstream = await startV1Upstream({ jsonResponse: false, eventStore: true, retryIntervalMs: 20 });
        const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
        const proxy = await startCutProxy(gw.mcpUrl, 3);
        const tag = `cut-${when}-${withInspectors ? 'insp' : 'plain'}`;
        // Every Last-Event-ID the SDK sent (proves it resumed rather than re-posting the call).
        const resumedWith: string[] = [];
        let finishedAtResume: boolean | undefined;
        const fetchSpy: typeof fetch = async (input, init) => {
          const lastEventId = new Headers(init?.headers).get('last-event-id');
          if (init?.method === 'GET' && lastEventId) {
            resumedWith.push(lastEventId);
            if (when === 'after-finish') await upstream.probe.when('finished', tag);
            finishedAtResume = upstream.probe.finished.has(tag);
          }
          return fetch(input, init);
        };
        const client = new Client({ name: 'sdk-resume-cut', version: '1.0.0' });
        const errors: string[] = [];
        client.onerror = (e) => void errors.push(String(e));
        try {
          await client.connect(new StreamableHTTPClientTransport(proxy.url, {
            fetch: fetchSpy,
            reconnectionOptions: { initialReconnectionDelay: 20, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 },
          }));
          const progress: Array<{ progress: number; message: string | undefined }> = [];
          const r = await client.callTool({ name: 'countdown', arguments: { n: N, intervalMs: when === 'live' ? 120 : 40, tag } }, undefined, {
            onprogress: (p) => progress.push({ progress: p.progress, message: p.message }),
            timeout: 30_000,
          });

          assert.equal(proxy.cuts, 1, 'the proxy cut the tools/call connection once');
          assert.ok(
            errors.some((e) => /SSE stream disconnected/.test(e)),
            `the client saw the network cut (errors: ${JSON.stringify(errors)})`,
          );
          assert.equal(resumedWith.length, 1, `the SDK resumed once with Last-Event-ID (${JSON.stringify(resumedWith)})`);
          assert.deepEqual(r.content, [{ type: 'text', text: `countdown ${tag} done after ${N}` }], 'the call completed with its result');
          assert.deepEqual(
            progress,
            Array.from({ length: N }, (_, i) => ({ progress: i + 1, message: `step ${i + 1}` })),
            'every progress notification exactly once, in order, across the resume',
          );
          assert.deepEqual(upstream.probe.toolCalls.filter((t) => t === 'countdown'), ['countdown'], 'the tool ran upstream exactly once');
          // 'live' resumes onto a stream the gateway is still relaying; 'after-finish' onto a finished one.
          assert.equal(finishedAtResume, when === 'after-finish', 'the resume happened at the intended time');
          assert.equal(upstream.sessions, 1, 'still one upstream session (no re-initialize)');
        } finally {
          await client.close();
          await proxy.close();
          await gw.close();
          await upstream.close();
        }
      });
    }
  });
}
