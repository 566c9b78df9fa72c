/**
 * The gateway's configuration schema: the single source of truth for what a config file may
 * say, its defaults, and (through `json-schema.ts`) the published JSON Schema editors use.
 *
 * Every object is `.strict()`: an unknown key is an error, so a typo (`alowedOrigins`) fails the
 * load instead of silently leaving a security control at its default.
 *
 * Nested objects use `.prefault({})`, not `.default({})`: in zod 4 `.default()` returns its value
 * without parsing it, so inner defaults would be skipped; `.prefault()` parses the fallback, so a
 * config with only `routes: [{ name, path, upstream: { url } }]` comes out fully populated.
 *
 * Cross-field rules (unique route names/paths, distinct ports, compilable regexes) run with
 * `when: () => true` so they report alongside field errors instead of only after every field
 * is valid; they therefore read their input defensively.
 */
import { z } from 'zod';
import { ApprovalsSchema } from '../approval/config.ts';
import { AuditSchema } from '../audit/config.ts';
import { AuthSchema } from '../identity/config.ts';
import { PinningSchema } from '../pinning/config.ts';
import { PolicySchema } from '../policy/config.ts';
import { RateLimitSchema } from '../ratelimit/config.ts';
import { UpstreamAuthSchema } from '../upstream/credentials/config.ts';
import { InspectorSchema } from './inspectors.ts';
import { always, GATEWAY_OWNED_HEADERS, HEADER_NAME, HEADER_VALUE, httpUrl, isString, nonNegativeInt, positiveInt, uniqueBy } from './primitives.ts';

export { InspectorSchema, MethodDenyInspectorSchema, RedactInspectorSchema, DlpInspectorSchema, PromptInjectionInspectorSchema, ToolPoisoningInspectorSchema } from './inspectors.ts';

const LOOPBACK = '127.0.0.1';

const port = z.number().int().min(0).max(65535);
/** A positive duration or size; `Number.MAX_SAFE_INTEGER` keeps the JSON Schema honest. */
const host = z.string().min(1).regex(/^\S+$/, 'must not contain whitespace');

export const TlsSchema = z
  .object({
    certFile: z.string().min(1).describe('PEM certificate chain of the listener.'),
    keyFile: z.string().min(1).describe('PEM private key of the listener.'),
    caFile: z.string().min(1).optional().describe('PEM CA bundle that client certificates must chain to (mTLS).'),
    clientCertificates: z
      .enum(['off', 'optional', 'required'])
      .default('off')
      .describe("'optional': ask for a client certificate (routes with auth.mtls map it to a principal); 'required': refuse the TLS handshake without a valid one."),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t?.clientCertificates !== undefined && t.clientCertificates !== 'off' && t.caFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'required when clientCertificates is not off' });
    }
  }, always)
  .describe('Serve HTTPS (and accept client certificates) on the data-plane listener.');

export const ServerSchema = z
  .object({
    // Loopback by default: the MCP transport spec says a local server SHOULD bind only to localhost.
    host: host.default(LOOPBACK).describe('Bind address.'),
    port: port.default(8080).describe('Listen port; 0 picks an ephemeral port.'),
    publicUrl: httpUrl.optional().describe("The gateway's own canonical URL as clients see it (e.g. behind TLS or a load balancer)."),
    tls: TlsSchema.optional(),
    shutdownGraceMs: nonNegativeInt
      .default(10_000)
      .describe('On SIGTERM/SIGINT, how long calls in flight may finish before they are cut (a second signal cuts at once); `--shutdown-grace-ms` overrides it. Keep it under the orchestrator\'s own grace (Kubernetes: 30 s) with room for the audit drain.'),
  })
  .strict()
  .describe('The data-plane listener (MCP traffic).');

/** An origin as browsers send it (RFC 6454 §6.1): scheme://host[:port], nothing after. */
const origin = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s;
    } catch {
      return false;
    }
  },
  { error: 'must be an exact origin like https://app.example.com (lowercase, no path or trailing slash)' },
);

export const AdminSchema = z
  .object({
    host: host.default(LOOPBACK).describe('Bind address.'),
    port: port.default(9090).describe('Listen port; 0 picks an ephemeral port.'),
    token: z
      .string()
      .min(16, 'use at least 16 characters')
      .optional()
      .describe('Bearer token for the admin write APIs (approvals). Required when the admin listener is not on loopback. Use ${ENV_VAR}.'),
    // DNS rebinding: a page on a name the attacker controls, re-resolved to the admin address, is
    // same-origin to the browser, so CORS does not stop it; only the Host it sends gives it away.
    allowedHosts: z
      .array(host)
      .optional()
      .describe(
        'Host header names (name or name:port) the admin listener accepts besides its defaults, against DNS rebinding. Always accepted: localhost names, the bind address, and any IP address when bound off loopback (Kubernetes probes and Prometheus scraping a pod address send one). List the DNS names scrapers or operators use; other names are refused (403). ["*"]: any Host.',
      ),
    allowedOrigins: z
      .array(origin)
      .optional()
      .describe('Exact browser Origin values the admin listener accepts. Absent or empty: none (probes, the CLI and curl send no Origin; a request carrying one is refused with 403).'),
  })
  .strict()
  .describe('Separate listener for /livez, /readyz, /metrics and the approvals API.');

export const SecuritySchema = z
  .object({
    // MCP transport spec: servers MUST validate the Origin header (DNS rebinding).
    allowedOrigins: z
      .array(origin)
      .default([])
      .describe('Exact Origin values accepted, e.g. https://app.example.com. Empty: only localhost origins, and only while bound to loopback.'),
    allowedHosts: z
      .array(host)
      .default([])
      .describe(
        'Host header values accepted (name or name:port), against DNS rebinding. Empty: localhost names, server.publicUrl\'s host and the bind address, plus any IP address when bound off loopback; other names are refused (403). Listed: only those (and publicUrl\'s host). ["*"]: any Host.',
      ),
    requireProtocolHeaderValidation: z
      .boolean()
      .default(true)
      .describe('Validate the MCP-Protocol-Version header (and header/body agreement on 2026-era traffic).'),
  })
  .strict()
  .describe('Request admission checks.');

export const LimitsSchema = z
  .object({
    maxBodyBytes: positiveInt.default(4 * 1024 * 1024).describe('Largest client request body.'),
    maxEventBytes: positiveInt.default(16 * 1024 * 1024).describe('Largest single SSE event or JSON response from upstream.'),
    maxBufferedMessageBytes: positiveInt
      .default(1024 * 1024)
      .describe(
        'Upstream answers above this size (a JSON body, or the SSE event answering the request) take the chunk path (string leaves inspected piece by piece with a hold-back window, relayed as they arrive) when every inspector can, else are refused. Other SSE events (notifications, server requests) are inspected whole, up to maxEventBytes; a request body whole, up to maxBodyBytes.',
      ),
    maxHeaderBytes: positiveInt.default(16 * 1024).describe('Largest total size of request headers.'),
  })
  .strict();

export const StreamsSchema = z
  .object({
    keepAliveMs: nonNegativeInt.default(15_000).describe('Interval of SSE keep-alive comments on quiet streams; 0 disables them.'),
    eventReplayBuffer: nonNegativeInt
      .default(1000)
      .describe('Events kept per stream for Last-Event-ID resumption; 0 disables resumption.'),
    eventReplayBytes: positiveInt
      .default(8 * 1024 * 1024)
      .describe(
        'Text of the events kept per stream for resumption, at most (one event may be up to limits.maxEventBytes). A detached stream pauses its upstream at this bound; an event larger than it is sent live but cannot be replayed.',
      ),
    replayBudgetBytes: positiveInt
      .default(256 * 1024 * 1024)
      .describe(
        "Text of the events kept for resumption by all streams together, at most; past half of it, one caller's streams may keep an eighth. Past either, a stream appending drops its own oldest kept events (their replay is lost) and a detached stream pauses its upstream.",
      ),
    revalidateMs: positiveInt
      .default(60_000)
      .describe("How often an authenticated stream re-checks its caller's credential (also at its expiry); a revoked or expired one ends the stream."),
  })
  .strict();

export const SessionsSchema = z
  .object({
    idleTtlMs: positiveInt.default(60 * 60 * 1000).describe('A session unused for this long is forgotten (and ended upstream).'),
    maxSessions: positiveInt.default(10_000).describe('Sessions held at once; at the cap the oldest idle one is ended.'),
    maxPerPrincipal: positiveInt.default(100).describe('Sessions one caller may hold at once; initialize beyond it gets 429.'),
  })
  .strict();

const upstreamHeaders = z
  .record(z.string(), z.string().regex(HEADER_VALUE, 'header values must not contain CR, LF or NUL'))
  .superRefine((headers, ctx) => {
    if (headers === null || typeof headers !== 'object') return;
    const seen = new Map<string, string>();
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a valid HTTP header name` });
      } else if (GATEWAY_OWNED_HEADERS.has(lower)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is set by the gateway and cannot be configured` });
      } else if (seen.has(lower)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `duplicates "${seen.get(lower)}" (header names are case-insensitive)` });
      }
      seen.set(lower, name);
    }
  }, always);

export const UpstreamSchema = z
  .object({
    url: httpUrl.describe('The upstream MCP endpoint (http or https).'),
    headers: upstreamHeaders
      .default({})
      .describe("Static headers sent upstream, e.g. the upstream's credential. The client's Authorization is never forwarded."),
    auth: UpstreamAuthSchema.optional().describe(
      "The gateway's own credential for this upstream (static secret, OAuth client credentials or RFC 8693 token exchange). Never the client's token.",
    ),
    connections: z.number().int().min(0).default(0).describe('Upstream connection cap; 0 = no cap. Every open SSE stream pins one connection, so a cap also caps concurrent streams on the route.'),
    insecureSkipVerify: z.boolean().default(false).describe('Accept any TLS certificate from upstream. Development only.'),
  })
  .strict()
  .describe('Where the route forwards to.');

export const TimeoutsSchema = z
  .object({
    connectMs: positiveInt.default(5000).describe('Upstream connection establishment.'),
    requestMs: positiveInt.default(300_000).describe('Ceiling on a whole exchange, streams included.'),
    idleMs: positiveInt
      .default(60_000)
      .describe('No byte from upstream for this long ends the exchange; progress notifications reset it.'),
  })
  .strict();

export const RouteSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, 'must match [a-z0-9-]+').describe('Unique route name (logs, metrics).'),
    path: z
      .string()
      .regex(/^\/[^\s?#]*$/, 'must start with "/" and contain no whitespace, "?" or "#"')
      .describe('Unique URL path the route serves, e.g. /mcp.'),
    upstream: UpstreamSchema,
    auth: AuthSchema.prefault({}).describe('Inbound authentication (OAuth 2.1 resource server, API keys, mTLS).'),
    timeouts: TimeoutsSchema.prefault({}),
    inspectors: z
      .array(InspectorSchema)
      .default([])
      .describe('Applied in order to client-to-server traffic and in reverse order to server-to-client traffic.'),
    inspectorTimeoutMs: positiveInt.default(2000).describe('An inspector taking longer fails (closed).'),
  })
  .strict();

export const LoggingSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
  })
  .strict();

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

function isLoopback(h: string): boolean {
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export const ConfigSchema = z
  .object({
    server: ServerSchema.prefault({}),
    admin: AdminSchema.prefault({}),
    security: SecuritySchema.prefault({}),
    limits: LimitsSchema.prefault({}),
    streams: StreamsSchema.prefault({}),
    sessions: SessionsSchema.prefault({}),
    routes: z
      .array(RouteSchema)
      .min(1, 'at least one route is required')
      .superRefine((routes, ctx) => {
        uniqueBy(routes, 'name', ctx);
        uniqueBy(routes, 'path', ctx);
      }, always)
      .describe('MCP endpoints the gateway serves, each proxied to one upstream. At least one.'),
    policy: PolicySchema.optional().describe('Access policy (CEL rules) for every route. Absent: no policy decisions (everything authenticated is allowed).'),
    rateLimits: RateLimitSchema.prefault({}),
    pinning: PinningSchema.prefault({}),
    audit: AuditSchema.prefault({}),
    approvals: ApprovalsSchema.prefault({}),
    logging: LoggingSchema.prefault({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // The admin listener approves tool calls: off loopback it must not be open to anyone.
    const admin = cfg?.admin;
    if (isString(admin?.host) && !isLoopback(admin.host) && admin.token === undefined) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'token'], message: `required when admin.host (${admin.host}) is not loopback` });
    }
  }, always)
  .superRefine((cfg, ctx) => {
    // Two listeners on one socket address cannot both bind; say so at load, not at startup.
    const s = cfg?.server;
    const a = cfg?.admin;
    if (typeof s?.port !== 'number' || typeof a?.port !== 'number' || s.port === 0 || s.port !== a.port) return;
    if (!isString(s.host) || !isString(a.host)) return;
    if (s.host === a.host || WILDCARD_HOSTS.has(s.host) || WILDCARD_HOSTS.has(a.host)) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `must differ from server.port (${s.port})` });
    }
  }, always);

/** A validated config with every default filled in. */
export type Config = z.infer<typeof ConfigSchema>;
/** What a config file may contain (defaults optional). */
export type ConfigInput = z.input<typeof ConfigSchema>;
export type RouteConfig = Config['routes'][number];
export type InspectorConfig = RouteConfig['inspectors'][number];
