/**
 * A 2025-era upstream built on the official v1 SDK (`@modelcontextprotocol/sdk` 1.x): one
 * McpServer per session over a sessionful StreamableHTTPServerTransport, in JSON-response or SSE
 * mode, optionally with an EventStore (resumability, 2025-11-25 transports "Resumability and
 * Redelivery"). Integration tests put the gateway in front of it and talk to it with real SDK
 * clients, so what they assert is what an MCP user would see through Portcullis.
 *
 * The `probe` records what happened on the server side (tool finished, requests seen), so tests
 * can order client observations against server events without wall-clock thresholds.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  isInitializeRequest,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';

export interface V1UpstreamOptions {
  /** Answer requests with a single JSON body instead of an SSE stream. */
  jsonResponse?: boolean;
  /** Keep events for GET + Last-Event-ID resumption (and enable closeSSEStream polling). */
  eventStore?: boolean;
  /** `retry:` advertised on the priming event when an event store is configured. */
  retryIntervalMs?: number;
}

/** Server-side observations the tests read. */
export class V1Probe {
  /** Tags of `countdown` / `poll_stream` / `wait` calls whose handler has returned. */
  readonly finished = new Set<string>();
  /** Tags of calls whose handler has started. */
  readonly started = new Set<string>();
  /** Tags of `wait` calls whose request signal aborted (the client cancelled). */
  readonly aborted = new Set<string>();
  /** Requests the server sent to the client, by method, in order. */
  readonly serverRequests: string[] = [];
  /** Methods of every client request the server handled (after the gateway). */
  readonly clientMethods: string[] = [];
  /** Tool names actually invoked upstream. */
  readonly toolCalls: string[] = [];
  private readonly waiters = new Map<string, Array<() => void>>();

  mark(set: 'started' | 'finished' | 'aborted', tag: string): void {
    this[set].add(tag);
    const key = `${set}:${tag}`;
    for (const w of this.waiters.get(key) ?? []) w();
    this.waiters.delete(key);
  }

  /** Resolves once `tag` is in `set` (never rejects; callers bound it with the test timeout). */
  when(set: 'started' | 'finished' | 'aborted', tag: string): Promise<void> {
    if (this[set].has(tag)) return Promise.resolve();
    const key = `${set}:${tag}`;
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }
}

/** Minimal in-memory EventStore: ids name their stream, replay stays on that stream. */
export class MemoryEventStore implements EventStore {
  private readonly events: Array<{ id: EventId; stream: StreamId; message: JSONRPCMessage }> = [];
  private seq = 0;
  /** Number of times a client resumed through replayEventsAfter (observable by tests). */
  replays = 0;

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = `${streamId}_${++this.seq}`;
    this.events.push({ id, stream: streamId, message });
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.find((e) => e.id === eventId)?.stream;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (id: EventId, m: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const at = this.events.findIndex((e) => e.id === lastEventId);
    if (at < 0) throw new Error('unknown Last-Event-ID');
    this.replays++;
    const stream = this.events[at]!.stream;
    for (const e of this.events.slice(at + 1)) {
      // Priming events are stored as `{}`: they only carry an id, they are not messages.
      if (e.stream === stream && Object.keys(e.message).length > 0) await send(e.id, e.message);
    }
    return stream;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

function buildServer(probe: V1Probe): McpServer {
  const server = new McpServer({ name: 'sdk-v1-upstream', version: '1.0.0' }, { capabilities: { logging: {} } });

  server.registerTool('echo', { description: 'Echoes text', inputSchema: { text: z.string() } }, async ({ text: t }) => {
    probe.toolCalls.push('echo');
    return text(`echo: ${t}`);
  });

  server.registerTool('leak', { description: 'Returns a credential-looking string', inputSchema: {} }, async () => {
    probe.toolCalls.push('leak');
    return text('key=AKIAABCDEFGHIJKLMNOP end');
  });

  server.registerTool(
    'big',
    { description: 'Returns a large text with a credential every 64 KiB (and, with pem, a private key header half-way)', inputSchema: { kib: z.number().int().min(1), pem: z.boolean().optional() } },
    async ({ kib, pem }) => {
      probe.toolCalls.push('big');
      const block = `${'x'.repeat(65536 - 30)} key=AKIAABCDEFGHIJKLMNOP;\n`.slice(0, 65536);
      const blocks = kib / 64 >= 1 ? Math.floor(kib / 64) : 1;
      // Assembled at run time: no key-shaped literal in the source.
      if (pem) return text(`${block.repeat(Math.ceil(blocks / 2))}${'-----BEGIN ' + 'RSA PRIVATE KEY-----'}\n${block.repeat(Math.ceil(blocks / 2))}`);
      return text(block.repeat(blocks));
    },
  );

  server.registerTool('danger_delete', { description: 'Deletes everything', inputSchema: {} }, async () => {
    probe.toolCalls.push('danger_delete');
    return text('deleted everything');
  });

  server.registerTool(
    'countdown',
    {
      description: 'Sends n progress notifications intervalMs apart, then finishes',
      inputSchema: { n: z.number().int().min(1), intervalMs: z.number().int().min(0), tag: z.string() },
    },
    async ({ n, intervalMs, tag }, extra) => {
      probe.toolCalls.push('countdown');
      probe.mark('started', tag);
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (token !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n, message: `step ${i}` } });
        }
        await sleep(intervalMs);
      }
      probe.mark('finished', tag);
      return text(`countdown ${tag} done after ${n}`);
    },
  );

  server.registerTool(
    'poll_stream',
    {
      description: 'Progress with the SSE connection closed mid-call (2025-11-25 polling, needs an event store)',
      inputSchema: { n: z.number().int().min(2), intervalMs: z.number().int().min(0), tag: z.string() },
    },
    async ({ n, intervalMs, tag }, extra) => {
      probe.toolCalls.push('poll_stream');
      probe.mark('started', tag);
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (token !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
        }
        // Half way: drop the connection, keep the stream (the client must reconnect with GET).
        if (i === Math.floor(n / 2)) extra.closeSSEStream?.();
        await sleep(intervalMs);
      }
      probe.mark('finished', tag);
      return text(`poll_stream ${tag} done after ${n}`);
    },
  );

  server.registerTool('wait', { description: 'Runs until cancelled (or 20 s pass)', inputSchema: { tag: z.string() } }, async ({ tag }, extra) => {
    probe.toolCalls.push('wait');
    probe.mark('started', tag);
    const aborted = await new Promise<boolean>((resolve) => {
      if (extra.signal.aborted) return resolve(true);
      const t = setTimeout(() => resolve(false), 20_000);
      extra.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve(true);
      }, { once: true });
    });
    probe.mark(aborted ? 'aborted' : 'finished', tag);
    return text(aborted ? 'cancelled' : 'ran to completion');
  });

  server.registerTool('ask_user', { description: 'Elicits an answer from the user', inputSchema: { question: z.string() } }, async ({ question }, extra) => {
    probe.toolCalls.push('ask_user');
    probe.serverRequests.push('elicitation/create');
    // extra.sendRequest relates the request to this call: it rides the POST's SSE stream.
    const r = await extra.sendRequest(
      {
        method: 'elicitation/create',
        params: { message: question, requestedSchema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] } },
      },
      ElicitResultSchema,
    );
    return text(r.action === 'accept' ? `user said: ${String(r.content?.['answer'])}` : `user ${r.action}`);
  });

  server.registerTool('sample', { description: 'Asks the client LLM', inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    probe.toolCalls.push('sample');
    probe.serverRequests.push('sampling/createMessage');
    const r = await extra.sendRequest(
      {
        method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 50 },
      },
      CreateMessageResultSchema,
    );
    const content = r.content as { type: string; text?: string };
    return text(`model ${r.model} said: ${content.type === 'text' ? content.text : '?'}`);
  });

  server.registerResource('greeting', 'memo://greeting', { mimeType: 'text/plain', description: 'A greeting' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Hello from the v1 upstream' }],
  }));

  server.registerPrompt('greet', { description: 'Greets someone', argsSchema: { name: z.string() } }, ({ name }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Please greet ${name} warmly.` } }],
  }));

  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw === '' ? undefined : JSON.parse(raw);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
}

export interface RunningV1Upstream {
  readonly url: string;
  readonly probe: V1Probe;
  readonly eventStore: MemoryEventStore | undefined;
  /** Number of live sessions (a DELETE through the gateway ends one). */
  readonly sessions: number;
  readonly sessionIds: string[];
  /** Send `notifications/tools/list_changed` (an unrelated message: it goes on the GET stream). */
  toolsChanged(): void;
  close(): Promise<void>;
}

export async function startV1Upstream(opts: V1UpstreamOptions = {}): Promise<RunningV1Upstream> {
  const probe = new V1Probe();
  const eventStore = opts.eventStore ? new MemoryEventStore() : undefined;
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sid = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (body && typeof body === 'object' && 'method' in body && 'id' in body) probe.clientMethods.push(String(body.method));
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      if (!s) return refuse(res, 404, 'Session not found');
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const server = buildServer(probe);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: opts.jsonResponse ?? false,
        ...(eventStore ? { eventStore, retryInterval: opts.retryIntervalMs ?? 50 } : {}),
        onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
        onsessionclosed: (id) => void sessions.delete(id),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    return refuse(res, 400, 'Mcp-Session-Id header is required');
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => refuse(res, 500, String(err)));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    probe,
    eventStore,
    get sessions() {
      return sessions.size;
    },
    get sessionIds() {
      return [...sessions.keys()];
    },
    toolsChanged() {
      for (const s of sessions.values()) s.server.sendToolListChanged();
    },
    async close() {
      await Promise.allSettled([...sessions.values()].map(async (s) => {
        await s.transport.close();
        await s.server.close();
      }));
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
