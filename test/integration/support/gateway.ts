/** Shared test setup: a demo upstream with a gateway in front, and a small fetch-based client. */
import { startDemoServer, type DemoServer } from '../../../src/demo/server.ts';
import { startGateway, type Gateway, type GatewayOptions } from '../../../src/gateway.ts';
import { quickConfig } from '../../../src/config/quick.ts';
import type { Config } from '../../../src/config/schema.ts';
import { silentLogger } from '../../../src/telemetry/logger.ts';
import { tempDataDir } from '../../support/data-dir.ts';

export interface Harness {
  demo: DemoServer;
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

export async function startHarness(
  tweak: (c: Config) => void = () => {},
  demoOpts: Parameters<typeof startDemoServer>[0] = {},
  gwOpts: Partial<GatewayOptions> = {},
): Promise<Harness> {
  const demo = await startDemoServer({ port: 0, ...demoOpts });
  const config = structuredClone(quickConfig({ upstream: demo.url, port: 0, adminPort: 0 })) as Config;
  tweak(config);
  const gateway = await startGateway({ dataDir: tempDataDir(), config, admin: false, logger: silentLogger, ...gwOpts });
  return {
    demo,
    gateway,
    url: `${gateway.url}/mcp`,
    async close() {
      await gateway.close();
      await demo.close();
    },
  };
}

export const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

let nextId = 1;

/** A 2026-07-28 request with matching standard headers. */
export async function modernCall(url: string, method: string, params: Record<string, unknown> = {}, extraHeaders: Record<string, string> = {}) {
  const id = nextId++;
  const name = typeof params['name'] === 'string' ? params['name'] : typeof params['uri'] === 'string' ? params['uri'] : undefined;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
      ...(name !== undefined && ['tools/call', 'resources/read', 'prompts/get'].includes(method) ? { 'mcp-name': name } : {}),
      ...extraHeaders,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...MODERN_META, ...(params['_meta'] as object | undefined) } } }),
  });
  return { id, res };
}

/** Parses an SSE body into JSON-RPC messages (data lines only). */
export function sseMessages(text: string): Array<Record<string, unknown>> {
  return text
    .split(/\n\n/)
    .map((block) => block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
    .filter((d) => d !== '')
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}
