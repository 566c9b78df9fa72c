/**
 * `portcullis scan`: connect to an MCP server the way a client would and collect everything it
 * offers a model — tools, prompts, resources and resource templates, every page — for the
 * offline checks (tool poisoning, hidden instructions, pinning hashes).
 *
 * Uses the official SDK client: an HTTP URL through Streamable HTTP, or a local command through
 * stdio (`portcullis scan -- npx some-server`). Nothing is called: only list methods.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

export type ScanTarget = { kind: 'url'; url: string; headers?: Record<string, string> } | { kind: 'command'; command: string; args: string[] };

export interface ServerInventory {
  server: { name: string; version: string };
  protocolVersion: string | undefined;
  tools: Array<Record<string, unknown>>;
  prompts: Array<Record<string, unknown>>;
  resources: Array<Record<string, unknown>>;
  resourceTemplates: Array<Record<string, unknown>>;
}

/** Pages followed per list before giving up: a server that never stops paging is a finding. */
const MAX_PAGES = 100;

async function allPages<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const r = await fetchPage(cursor);
    out.push(...r.items);
    if (!r.nextCursor) return out;
    cursor = r.nextCursor;
  }
  throw new Error(`the server kept paging past ${MAX_PAGES} pages`);
}

function transportFor(target: ScanTarget): Transport {
  if (target.kind === 'url') {
    return new StreamableHTTPClientTransport(new URL(target.url), target.headers ? { requestInit: { headers: target.headers } } : {});
  }
  // stderr of the scanned server is not ours to print: it may be noisy or carry its own secrets.
  return new StdioClientTransport({ command: target.command, args: target.args, stderr: 'ignore' });
}

export async function collectInventory(target: ScanTarget, timeoutMs = 30_000): Promise<ServerInventory> {
  const client = new Client({ name: 'portcullis-scan', version: '0.1.0' });
  const options = { timeout: timeoutMs };
  await client.connect(transportFor(target), options);
  try {
    const caps = client.getServerCapabilities() ?? {};
    const info = client.getServerVersion();
    const tools = caps.tools
      ? await allPages(async (cursor) => {
          const r = await client.listTools(cursor ? { cursor } : {}, options);
          return { items: r.tools as Array<Record<string, unknown>>, nextCursor: r.nextCursor };
        })
      : [];
    const prompts = caps.prompts
      ? await allPages(async (cursor) => {
          const r = await client.listPrompts(cursor ? { cursor } : {}, options);
          return { items: r.prompts as Array<Record<string, unknown>>, nextCursor: r.nextCursor };
        })
      : [];
    const resources = caps.resources
      ? await allPages(async (cursor) => {
          const r = await client.listResources(cursor ? { cursor } : {}, options);
          return { items: r.resources as Array<Record<string, unknown>>, nextCursor: r.nextCursor };
        })
      : [];
    const resourceTemplates = caps.resources
      ? await allPages(async (cursor) => {
          const r = await client.listResourceTemplates(cursor ? { cursor } : {}, options);
          return { items: r.resourceTemplates as Array<Record<string, unknown>>, nextCursor: r.nextCursor };
        })
      : [];
    return {
      server: { name: info?.name ?? 'unknown', version: info?.version ?? 'unknown' },
      protocolVersion: (client.transport as { protocolVersion?: string } | undefined)?.protocolVersion,
      tools,
      prompts,
      resources,
      resourceTemplates,
    };
  } finally {
    await client.close();
  }
}
