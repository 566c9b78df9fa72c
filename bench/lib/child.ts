/**
 * One server of the benchmark, in its own process so the load generator never shares an event
 * loop (or a core) with what it measures.
 *
 *   node bench/lib/child.ts upstream '{"responseMode":"auto"}'
 *   node bench/lib/child.ts gateway  '{"upstream":"http://…/mcp","pipeline":true,"connections":64}'
 *   node bench/lib/child.ts floor    '{"upstream":"http://…/mcp"}'   (bare Node.js proxy, floor.ts)
 *
 * Talks to the parent over the IPC channel: it announces `{ ready, url, pid }`, then answers
 * `usage` (memory and CPU, after a full GC when asked) and exits cleanly on `exit` — cleanly, so
 * `--cpu-prof` gets to write its profile.
 */
import { quickConfig } from '../../src/config/quick.ts';
import { InspectorSchema, type Config } from '../../src/config/schema.ts';
import { AuthSchema } from '../../src/identity/config.ts';
import { PolicySchema } from '../../src/policy/config.ts';
import { startDemoServer, type ResponseMode } from '../../src/demo/server.ts';
import { startGateway } from '../../src/gateway.ts';
import { startNodeFloor } from './floor.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { sseKey, type ChildReply, type ChildRequest, type SentEvent, type Usage } from './proc.ts';

interface UpstreamArgs {
  responseMode?: ResponseMode;
}

interface GatewayArgs {
  upstream: string;
  /** Turn the inspector pipeline on (method-deny + redact), as the brief specifies. */
  pipeline?: boolean;
  /** Upstream pool size override (idle-stream test: every open stream holds one connection). */
  connections?: number;
  /** Keep the audit trail on (SQLite sink in a temporary directory); off by default. */
  audit?: boolean;
  /** OAuth (JWT via this JWKS) + a 20-rule CEL policy on the route. */
  authPolicy?: { issuer: string; jwksUrl: string };
  /** The DLP inspector (full built-in pack) on the route. */
  dlp?: boolean;
}

/** The 20-rule policy of the "auth + policy" rows: a realistic mix, every rule evaluated per call. */
export function benchPolicyRules(): Array<{ name: string; when: string; decision: 'allow' | 'deny'; reason: string }> {
  return Array.from({ length: 20 }, (_, i) => ({
    name: `rule-${i}`,
    when:
      i % 4 === 0
        ? `tool.name == "tool_${i}" && principal.subject != "bench"`
        : i % 4 === 1
          ? `"admin" in principal.scopes && tool.name.startsWith("adm_${i}")`
          : i % 4 === 2
            ? `has(tool.arguments.path) && !pathWithin(tool.arguments.path, "/w${i}")`
            : `request.kind == "tool" && time.hour >= 0`,
    decision: i % 4 === 3 ? 'allow' : 'deny',
    reason: `r${i}`,
  }));
}

/** The redact patterns of the "pipeline on" rows: typical credential shapes. */
export const REDACT_PATTERNS = [
  { name: 'aws-access-key', regex: 'AKIA[0-9A-Z]{16}' },
  { name: 'openai-key', regex: 'sk-[A-Za-z0-9-]{20,}' },
  { name: 'github-token', regex: 'gh[pousr]_[A-Za-z0-9]{36}' },
];

/**
 * Upstream SSE write tracing (for the streaming test): wraps ServerResponse#write so every SSE
 * event the demo server writes is stamped with the monotonic clock when it enters the socket. The
 * client stamps arrivals with the same clock, so arrival − write is the true one-way delay of
 * each event, with the upstream's own timer jitter taken out. Off unless the parent asks.
 */
let tracing = false;
let traced: SentEvent[] = [];
function installSseTrace(): void {
  const write = ServerResponse.prototype.write;
  ServerResponse.prototype.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (tracing && typeof chunk === 'string') {
      const us = Number(process.hrtime.bigint() / 1000n);
      for (const m of chunk.matchAll(/^data: (.+)$/gm)) {
        const key = sseKey(m[1]!);
        if (key) traced.push([key, us]);
      }
    }
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof write;
}

function send(msg: ChildReply): void {
  process.send?.(msg);
}

function usage(): Usage {
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, cpuUserUs: c.user, cpuSystemUs: c.system };
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

async function main(): Promise<void> {
  const role = process.argv[2];
  const args: unknown = JSON.parse(process.argv[3] ?? '{}');
  let close: () => Promise<void>;
  let url: string;
  if (role === 'upstream') {
    const a = args as UpstreamArgs;
    installSseTrace();
    const server = await startDemoServer({ port: 0, ...(a.responseMode ? { responseMode: a.responseMode } : {}) });
    url = server.url;
    close = () => server.close();
  } else if (role === 'gateway') {
    const a = args as GatewayArgs;
    const config: Config = quickConfig({ upstream: a.upstream, port: 0, adminPort: 0 });
    const route = config.routes[0]!;
    if (a.pipeline) {
      route.inspectors = [
        { type: 'method-deny', methods: ['tools/call:danger_*'] },
        { type: 'redact', patterns: REDACT_PATTERNS, replacement: '[REDACTED:{name}]', windowChars: 256 },
      ];
    }
    if (a.connections !== undefined) route.upstream.connections = a.connections;
    if (a.authPolicy) {
      route.auth = AuthSchema.parse({ required: true, jwt: { issuer: a.authPolicy.issuer, jwksUrl: a.authPolicy.jwksUrl, audiences: ['portcullis-bench'] } });
      config.policy = PolicySchema.parse({ default: 'deny', rules: benchPolicyRules() });
    }
    if (a.dlp) route.inspectors = [InspectorSchema.parse({ type: 'dlp' })];
    // Rows compare proxying with proxying: the audit trail is its own row (audit on vs off).
    config.audit = { ...config.audit, enabled: a.audit === true };
    const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
    const gw = await startGateway({ config, admin: false, logger: silentLogger, dataDir });
    url = `${gw.url}${route.path}`;
    close = async () => {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
  } else if (role === 'floor') {
    const floor = await startNodeFloor((args as { upstream: string }).upstream);
    url = floor.url;
    close = floor.close;
  } else {
    throw new Error(`unknown role ${JSON.stringify(role)}`);
  }

  process.on('message', (raw) => {
    const msg = raw as ChildRequest;
    if (msg.cmd === 'usage') {
      if (msg.gc) fullGc();
      send({ kind: 'usage', seq: msg.seq, usage: usage() });
    } else if (msg.cmd === 'trace') {
      tracing = msg.on;
      send({ kind: 'trace', seq: msg.seq, events: traced });
      traced = [];
    } else if (msg.cmd === 'exit') {
      // Exit even if a lingering stream keeps close() from resolving: the profile must be written.
      const force = setTimeout(() => process.exit(0), 2000);
      force.unref();
      close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ kind: 'ready', url, pid: process.pid });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
