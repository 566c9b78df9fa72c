/**
 * A 2026-07-28 upstream built on the official v2 SDK: `createMcpHandler` (a fresh McpServer per
 * request, stateless, MRTR) served on node:http through `toNodeHandler` from
 * `@modelcontextprotocol/node`. Modern-only by default (`legacy: 'reject'`), so a request the
 * gateway mangled into something that is not a valid 2026 request fails loudly instead of being
 * served by a 2025 fallback; `legacy: 'stateless'` adds the SDK's stateless 2025 serving (no
 * session, GET/DELETE answered 405), the shape of most simple deployed servers.
 *
 * The `probe` records server-side events (started, finished, aborted, requestState seen) so tests
 * can assert causality (the upstream saw its request's abort signal) instead of timing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { randomBytes } from 'node:crypto';
import {
  acceptedContent,
  createMcpHandler,
  createRequestStateCodec,
  inputRequired,
  McpServer,
  ResourceTemplate,
  type CallToolResult,
  type InputRequiredResult,
  type RequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';

export type V2Mark = 'started' | 'finished' | 'aborted';

export class V2Probe {
  readonly started = new Set<string>();
  readonly finished = new Set<string>();
  readonly aborted = new Set<string>();
  /** requestState values the `confirm` tool got back from the client, in order. */
  readonly requestStates: string[] = [];
  /** Arguments the `echo` tool received (what the upstream actually saw). */
  readonly echoed: string[] = [];
  /** The MCP headers (`mcp-*`) of every HTTP request that reached the upstream. */
  readonly headers: Array<Record<string, string>> = [];
  /** Number of times `confirm` ran (rounds of the MRTR flow). */
  confirmRounds = 0;
  private readonly waiters = new Map<string, Array<() => void>>();

  mark(set: V2Mark, tag: string): void {
    this[set].add(tag);
    const key = `${set}:${tag}`;
    for (const w of this.waiters.get(key) ?? []) w();
    this.waiters.delete(key);
  }

  when(set: V2Mark, tag: string): Promise<void> {
    if (this[set].has(tag)) return Promise.resolve();
    const key = `${set}:${tag}`;
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });

/** Resolves when `signal` aborts (true) or after `ms` (false). */
function abortedWithin(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface V2UpstreamOptions {
  /** 2025-era serving: 'reject' (default, modern-only) or the SDK's stateless fallback. */
  legacy?: 'reject' | 'stateless';
  /**
   * Mint `confirm`'s requestState with the SDK's HMAC codec and verify it on re-entry (what the
   * spec requires when state influences behaviour). Default: a plain readable string.
   */
  signedState?: boolean;
}

type StateCodec = RequestStateCodec<{ action: string }>;

function buildServer(probe: V2Probe, codec: StateCodec | undefined): McpServer {
  const server = new McpServer(
    { name: 'sdk-v2-upstream', version: '2.0.0' },
    codec ? { requestState: { verify: (state: string, ctx: ServerContext) => codec.verify(state, ctx) } } : {},
  );

  server.registerTool('echo', { description: 'Echoes text', inputSchema: z.object({ text: z.string() }) }, async ({ text: t }) => {
    probe.echoed.push(t);
    return text(`echo: ${t}`);
  });

  server.registerTool(
    'countdown',
    {
      description: 'Sends n progress notifications intervalMs apart, then finishes',
      inputSchema: z.object({ n: z.number().int().min(1), intervalMs: z.number().int().min(0), tag: z.string() }),
    },
    async ({ n, intervalMs, tag }, ctx) => {
      probe.mark('started', tag);
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (token !== undefined) {
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n, message: `step ${i}` } });
        }
        await sleep(intervalMs);
      }
      probe.mark('finished', tag);
      return text(`countdown ${tag} done after ${n}`);
    },
  );

  server.registerTool(
    'big',
    {
      description: 'One progress notification (the answer becomes an SSE stream), then a large text with a credential every 64 KiB (and, with pem, a private key header half-way)',
      inputSchema: z.object({ kib: z.number().int().min(64), pem: z.boolean().optional() }),
    },
    async ({ kib, pem }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 1 } });
      const block = `${'x'.repeat(65536 - 30)} key=AKIAABCDEFGHIJKLMNOP;\n`.slice(0, 65536);
      const half = block.repeat(Math.floor(kib / 128));
      // Assembled at run time: no key-shaped literal in the source.
      return text(pem ? `${half}${'-----BEGIN ' + 'RSA PRIVATE KEY-----'}\n${half}` : block.repeat(Math.floor(kib / 64)));
    },
  );

  server.registerTool(
    'confirm',
    {
      description: 'Asks the user to confirm an action (2026 multi-round-trip elicitation)',
      inputSchema: z.object({ action: z.string() }),
    },
    async ({ action }, ctx): Promise<CallToolResult | InputRequiredResult> => {
      probe.confirmRounds++;
      const answer = acceptedContent<{ reason: string }>(ctx.mcpReq.inputResponses, 'why');
      if (answer === undefined) {
        // First round: ask, and hand the client opaque state to echo back on the retry.
        return inputRequired({
          inputRequests: {
            why: inputRequired.elicit({
              message: `Why do you want to ${action}?`,
              requestedSchema: { type: 'object', properties: { reason: { type: 'string' } }, required: ['reason'] },
            }),
          },
          requestState: codec ? await codec.mint({ action }, ctx) : `round1:${action}`,
        });
      }
      // With a codec the seam has verified the HMAC and decoded the payload before we run.
      const state = codec ? `signed:${ctx.mcpReq.requestState<{ action: string }>()?.action}` : String(ctx.mcpReq.requestState<string>());
      probe.requestStates.push(state);
      return text(`${action} confirmed because ${answer.reason} (state ${state})`);
    },
  );

  server.registerTool(
    'wait',
    {
      description: 'Runs until its request is cancelled (or 20 s pass)',
      inputSchema: z.object({ tag: z.string(), progressFirst: z.boolean() }),
    },
    async ({ tag, progressFirst }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      // A related message first makes the response an SSE stream; without it the exchange stays a
      // pending JSON response. Closing either is a cancellation (2026-07-28 streamable-http).
      if (progressFirst && token !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: 1, message: 'working' } });
      }
      probe.mark('started', tag);
      const aborted = await abortedWithin(ctx.mcpReq.signal, 20_000);
      probe.mark(aborted ? 'aborted' : 'finished', tag);
      return text(aborted ? 'cancelled' : `wait ${tag} ran to completion`);
    },
  );

  server.registerResource('greeting', 'memo://greeting', { mimeType: 'text/plain', description: 'A greeting' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Hello from the v2 upstream' }],
  }));

  // A parameterised resource: the URI (mirrored into the Mcp-Name header) carries client data.
  server.registerResource('note', new ResourceTemplate('memo://notes/{key}', { list: undefined }), { mimeType: 'text/plain' }, async (uri, { key }) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: `note ${String(key)}` }],
  }));

  // `account` is mirrored into an `Mcp-Param-Account` header by 2026 clients (SEP-2243).
  server.registerTool(
    'lookup',
    { description: 'Looks up an account', inputSchema: z.object({ account: z.string().meta({ 'x-mcp-header': 'Account' }) }) },
    async ({ account }) => {
      probe.echoed.push(account);
      return text(`account ${account}`);
    },
  );

  server.registerPrompt('greet', { description: 'Greets someone', argsSchema: z.object({ name: z.string() }) }, ({ name }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Please greet ${name} warmly.` } }],
  }));

  return server;
}

export interface RunningV2Upstream {
  readonly url: string;
  readonly probe: V2Probe;
  /** Out-of-band errors the SDK reported (rejected requests, handler crashes). */
  readonly errors: Error[];
  /** Publish `notifications/tools/list_changed` to every open `subscriptions/listen` stream. */
  notifyToolsChanged(): void;
  close(): Promise<void>;
}

export async function startV2Upstream(opts: V2UpstreamOptions = {}): Promise<RunningV2Upstream> {
  const probe = new V2Probe();
  const errors: Error[] = [];
  const codec: StateCodec | undefined = opts.signedState
    ? createRequestStateCodec<{ action: string }>({ key: randomBytes(32), bind: (ctx) => ctx.mcpReq.method })
    : undefined;
  const handler = createMcpHandler(() => buildServer(probe, codec), { legacy: opts.legacy ?? 'reject', onerror: (e) => errors.push(e) });
  const node = toNodeHandler(handler, { onerror: (e) => errors.push(e) });
  const http = createServer((req, res) => {
    const mcp: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('mcp-') && typeof v === 'string') mcp[k] = v;
    probe.headers.push(mcp);
    Promise.resolve(node(req, res)).catch((e: unknown) => {
      errors.push(e instanceof Error ? e : new Error(String(e)));
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    probe,
    errors,
    notifyToolsChanged: () => handler.notify.toolsChanged(),
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
