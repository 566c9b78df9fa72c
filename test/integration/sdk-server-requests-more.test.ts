/**
 * More server → client requests through the gateway in the 2025-11-25 era, real v1 SDK on both
 * sides: `roots/list` (the client declares the `roots` capability and answers with its roots) and
 * `ping` (the server checks the client is alive in the middle of a call). Both are sent with
 * `extra.sendRequest`, so they ride the SSE stream of the client's `tools/call` POST; the client
 * answers with a POST of its own that the gateway must route back to the upstream session and to
 * the request that asked. The tool results carry what the server got back.
 *
 * Routing is checked by running calls concurrently and answering out of order: each server
 * request carries its call's tag in `_meta`, the client answers with tag-specific roots, and the
 * first request is only answered after the second one arrived. A mix-up shows as a wrong result.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  EmptyResultSchema,
  isInitializeRequest,
  ListRootsRequestSchema,
  ListRootsResultSchema,
  PingRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { startTestGateway, POLICY_INSPECTORS } from './support/sdk-gateway.ts';

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

interface Upstream {
  readonly url: string;
  /** What the server got back, per tool call tag. */
  readonly answers: Map<string, unknown>;
  /** Invocations of each tool upstream. */
  readonly calls: string[];
  close(): Promise<void>;
}

/** A v1 McpServer (SSE responses) with `list_roots` and `ping_client` tools. */
async function startUpstream(): Promise<Upstream> {
  const answers = new Map<string, unknown>();
  const calls: string[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();

  function build(): McpServer {
    const server = new McpServer({ name: 'roots-ping-upstream', version: '1.0.0' });
    server.registerTool('list_roots', { description: "Asks the client for its roots", inputSchema: { tag: z.string() } }, async ({ tag }, extra) => {
      calls.push(`list_roots:${tag}`);
      const r = await extra.sendRequest({ method: 'roots/list', params: { _meta: { tag } } }, ListRootsResultSchema);
      answers.set(tag, r);
      return { content: [{ type: 'text' as const, text: r.roots.map((x) => `${x.name ?? '?'}=${x.uri}`).join(',') }] };
    });
    server.registerTool(
      'ping_client',
      { description: 'Pings the client n times mid-call', inputSchema: { tag: z.string(), n: z.number().int().min(1) } },
      async ({ tag, n }, extra) => {
        calls.push(`ping_client:${tag}`);
        const got: unknown[] = [];
        for (let i = 1; i <= n; i++) got.push(await extra.sendRequest({ method: 'ping', params: { _meta: { tag, i } } }, EmptyResultSchema));
        answers.set(tag, got);
        return { content: [{ type: 'text' as const, text: `${tag}: ${got.length} pongs` }] };
      },
    );
    return server;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body: unknown = raw === '' ? undefined : JSON.parse(raw);
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      if (!s) return void res.writeHead(404).end();
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const server = build();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
        onsessionclosed: (id) => void sessions.delete(id),
      });
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    res.writeHead(400).end();
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    answers,
    calls,
    async close() {
      await Promise.allSettled([...sessions.values()].map(async (s) => {
        await s.transport.close();
        await s.server.close();
      }));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const tagOf = (params: unknown): string | undefined => {
  const meta = (params as { _meta?: { tag?: unknown } } | undefined)?._meta;
  return typeof meta?.tag === 'string' ? meta.tag : undefined;
};

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';

  describe(`2025-11-25 roots/list and ping from the server, through the gateway (${label})`, () => {
    it("routes each roots/list answer back to the call that asked, even answered out of order", async () => {
      const upstream = await startUpstream();
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new Client({ name: 'sdk-roots', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
      const asked: string[] = [];
      let releaseFirst!: () => void;
      const firstHeld = new Promise<void>((r) => (releaseFirst = r));
      client.setRequestHandler(ListRootsRequestSchema, async (req) => {
        const tag = tagOf(req.params) ?? 'untagged';
        asked.push(tag);
        // Hold the first request until the second one is in: answers go back in reverse order.
        if (asked.length === 1) await firstHeld;
        else releaseFirst();
        return { roots: [{ uri: `file:///work/${tag}`, name: tag }] };
      });
      try {
        await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
        const [a, b] = await Promise.all([
          client.callTool({ name: 'list_roots', arguments: { tag: 'alpha' } }),
          client.callTool({ name: 'list_roots', arguments: { tag: 'beta' } }),
        ]);
        assert.equal(asked.length, 2, 'each roots/list reached the client handler once (the first was answered last)');
        assert.deepEqual([...asked].sort(), ['alpha', 'beta'], 'with its _meta tag intact');
        assert.equal(textOf(a), 'alpha=file:///work/alpha', 'the alpha call got the answer to its own request');
        assert.equal(textOf(b), 'beta=file:///work/beta', 'the beta call got the answer to its own request');
        assert.deepEqual(upstream.answers.get('alpha'), { roots: [{ uri: 'file:///work/alpha', name: 'alpha' }] });
        assert.deepEqual([...upstream.calls].sort(), ['list_roots:alpha', 'list_roots:beta'], 'each tool ran once');
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });

    it('keeps two sessions apart: each client answers its own server', async () => {
      const upstream = await startUpstream();
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const mk = (who: string, seen: string[]) => {
        const c = new Client({ name: `sdk-roots-${who}`, version: '1.0.0' }, { capabilities: { roots: {} } });
        c.setRequestHandler(ListRootsRequestSchema, async (req) => {
          seen.push(tagOf(req.params) ?? 'untagged');
          return { roots: [{ uri: `file:///home/${who}`, name: who }] };
        });
        return c;
      };
      const seenA: string[] = [];
      const seenB: string[] = [];
      const ca = mk('ann', seenA);
      const cb = mk('bob', seenB);
      try {
        await ca.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
        await cb.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
        const [a, b] = await Promise.all([
          ca.callTool({ name: 'list_roots', arguments: { tag: 'from-ann' } }),
          cb.callTool({ name: 'list_roots', arguments: { tag: 'from-bob' } }),
        ]);
        assert.equal(textOf(a), 'ann=file:///home/ann');
        assert.equal(textOf(b), 'bob=file:///home/bob');
        assert.deepEqual(seenA, ['from-ann'], "ann's client was asked only by ann's call");
        assert.deepEqual(seenB, ['from-bob'], "bob's client was asked only by bob's call");
      } finally {
        await ca.close();
        await cb.close();
        await gw.close();
        await upstream.close();
      }
    });

    it('round-trips server pings to the client during a call', async () => {
      const upstream = await startUpstream();
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new Client({ name: 'sdk-ping', version: '1.0.0' });
      const pinged: string[] = [];
      // Replace the SDK's built-in ping handler only to observe it; it answers the same `{}`.
      client.setRequestHandler(PingRequestSchema, async (req) => {
        const tag = tagOf(req.params);
        if (tag !== undefined) pinged.push(`${tag}#${String((req.params?._meta as { i?: unknown } | undefined)?.i)}`);
        return {};
      });
      try {
        await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
        const [r1, r2] = await Promise.all([
          client.callTool({ name: 'ping_client', arguments: { tag: 'p1', n: 3 } }),
          client.callTool({ name: 'ping_client', arguments: { tag: 'p2', n: 2 } }),
        ]);
        assert.equal(textOf(r1), 'p1: 3 pongs');
        assert.equal(textOf(r2), 'p2: 2 pongs');
        assert.deepEqual(pinged.filter((p) => p.startsWith('p1#')), ['p1#1', 'p1#2', 'p1#3'], 'each ping reached the client once, in order');
        assert.deepEqual(pinged.filter((p) => p.startsWith('p2#')), ['p2#1', 'p2#2']);
        assert.deepEqual(upstream.answers.get('p1'), [{}, {}, {}], 'the server got an empty result for every ping');
        assert.deepEqual([...upstream.calls].sort(), ['ping_client:p1', 'ping_client:p2']);
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });
  });
}
