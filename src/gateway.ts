/**
 * Assembles a running gateway: data-plane listener, routes, sessions, metrics, admin listener,
 * and hot reload. Everything a reload changes (routes, inspectors, guard, limits) is rebuilt
 * and swapped atomically; exchanges in flight keep the objects they started with. Listener
 * addresses are fixed at start (a changed port needs a restart, and the reload says so).
 *
 * Shutdown (`close()`, once however often it is called; see docs/lifecycle.md):
 *   1. stop accepting connections; /readyz turns 503; calls waiting for approval are withdrawn
 *      (answered with an error, recorded `withdrawn`/`shutdown`); standalone GET streams, which
 *      never finish on their own, are cut;
 *   2. drain: calls in flight get `shutdownGraceMs` (default 10 s) to finish, or less when a
 *      later `close({ graceMs })` shortens it (the CLI's second signal);
 *   3. whatever is left is cut: streams recorded `cut` with cause `shutdown`, exchanges noted
 *      `shutdown: cut`; client connections and upstream requests destroyed (never a graceful
 *      pool close, which waits for every upstream request however long it takes);
 *   4. once their records are queued: the `stop` lifecycle record, then the audit trail closes
 *      with its final signed checkpoint. Nothing before it waits without a bound.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { MemoryNonceStore } from './approval/nonce-store.ts';
import { handleApprovalsRequest } from './approval/admin-api.ts';
import { ApprovalQueue } from './approval/queue.ts';
import { ApprovalStateSealer, keyRingFromConfig, type SealKey } from './approval/sealed-state.ts';
import { compilePolicy } from './policy/engine.ts';
import { RateLimiter } from './ratelimit/limiter.ts';
import { MemoryRateLimitStore } from './ratelimit/memory-store.ts';
import { ERRORS, GatewayError } from './core/errors.ts';
import { errorMessage } from './transport/respond.ts';
import type { AddressInfo } from 'node:net';
import { adminGuard, startAdminServer, type AdminServer } from './admin/server.ts';
import type { Config } from './config/schema.ts';
import { ConfigStore } from './config/store.ts';
import { RequestGuard } from './listener/guards.ts';
import { RelayStream } from './session/relay-stream.ts';
import { ANONYMOUS, createHandler, type Identify } from './listener/handler.ts';
import type { Inspector } from './pipeline/types.ts';
import { buildRoute, Router } from './routing/route.ts';
import { endUpstreamSession } from './upstream/lifecycle.ts';
import { createPinner } from './pinning/config.ts';
import { loadAuditKeys } from './audit/keys.ts';
import { openThreadedAudit } from './audit/threaded.ts';
import { FindingMemory } from './session/finding-memory.ts';
import { AuditTap } from './transport/audit-tap.ts';
import { MemorySessionStore, type SessionStore } from './session/sessions.ts';
import { createLogger, type Logger } from './telemetry/logger.ts';
import { GatewayMetrics } from './telemetry/metrics.ts';
import type { ApprovalServices, Exchange, GatewayServices } from './transport/context.ts';

export interface GatewayOptions {
  config: Config;
  /** Watch this file and hot-reload it. */
  configPath?: string;
  logger?: Logger;
  identify?: Identify;
  /** Inspectors added to every route after the configured ones (tests, embedding). */
  extraInspectors?: readonly Inspector[];
  /** Skip the admin listener (embedding, some tests). */
  admin?: boolean;
  /**
   * Where relative state paths in the config resolve (audit database, spool and keys, pins):
   * default the working directory. Tests give each gateway its own.
   */
  dataDir?: string;
  /**
   * How long `close()` lets calls in flight finish before it cuts them. Default 10 s: inside
   * Kubernetes' default 30 s termination grace, with room for the audit trail's own drain.
   */
  shutdownGraceMs?: number;
}

/** Default of GatewayOptions.shutdownGraceMs. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** After the cut, how long to wait for the cut exchanges' 'close' events (their records). */
const SETTLE_MS = 2_000;
/** Bound on destroying upstream pools and on the audit trail's close beyond its own drain. */
const DESTROY_MS = 2_000;
const AUDIT_DRAIN_MS = 5_000;

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly adminUrl: string | undefined;
  readonly metrics: GatewayMetrics;
  readonly sessions: SessionStore;
  readonly config: Config;
  /** Calls waiting for an operator's decision. */
  readonly approvals: ApprovalQueue;
  /** Swap to a new config (what hot reload does). */
  apply(config: Config): void;
  /**
   * Shut down (see the module comment). Idempotent: every call returns the same promise; a later
   * call with a shorter `graceMs` (0: now) cuts the drain short.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

interface Live {
  config: Config;
  router: Router;
  guard: RequestGuard;
  adminGuard: RequestGuard;
  services: GatewayServices;
}

/**
 * The audit tap plus what shutdown needs from it: the client-facing streams alive now (to
 * record the ones shutdown cuts as `cut`/`shutdown` rather than the client leaving), and a note
 * on the exchanges shutdown cuts.
 */
class ShutdownAwareTap extends AuditTap {
  readonly streams = new Map<RelayStream, Exchange>();
  /** Set once shutdown cuts what the drain left. */
  cutting = false;

  override watchStream(ex: Exchange, stream: RelayStream): ReturnType<AuditTap['watchStream']> {
    const hooks = super.watchStream(ex, stream);
    this.streams.set(stream, ex);
    return {
      ...hooks,
      onClose: () => {
        this.streams.delete(stream);
        hooks.onClose();
      },
    };
  }

  override exchangeEnd(...args: Parameters<AuditTap['exchangeEnd']>): void {
    const ex = args[0];
    if (this.cutting && !ex.res.writableFinished) ex.notes['shutdown'] = 'cut';
    super.exchangeEnd(...args);
  }
}

/** A standalone GET stream (no Last-Event-ID, or resuming a `g` stream): it never ends by itself. */
function isStandaloneGet(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const last = req.headers['last-event-id'];
  if (typeof last !== 'string') return true;
  return RelayStream.parseEventId(last)?.stream.startsWith('g') === true;
}

function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const PRODUCT_VERSION = '0.1.0';

/** The controls in force, as the evidence report lists them (never a secret). */
function controlsOf(config: Config): Array<{ name: string; detail: string }> {
  const out: Array<{ name: string; detail: string }> = [];
  for (const r of config.routes) {
    const auth = r.auth.jwt ? 'OAuth JWT' : r.auth.introspection ? 'OAuth introspection' : r.auth.apiKeys ? 'API keys' : r.auth.mtls ? 'mTLS' : 'none';
    out.push({ name: `route ${r.name}: authentication`, detail: `${auth}${r.auth.required ? ' (required)' : ''}` });
    out.push({ name: `route ${r.name}: inspectors`, detail: r.inspectors.map((i) => i.type).join(', ') || 'none configured' });
  }
  out.push({ name: 'policy', detail: config.policy ? `${config.policy.mode}, default ${config.policy.default}, ${config.policy.rules.length} rules` : 'none' });
  out.push({ name: 'rate limits', detail: `${config.rateLimits.limits.length} limits, ${config.rateLimits.quotas.length} quotas` });
  out.push({ name: 'approvals', detail: `channel ${config.approvals.channel}, timeout ${config.approvals.timeoutMs} ms` });
  out.push({ name: 'tool pinning', detail: config.pinning.enabled ? config.pinning.mode : 'off' });
  out.push({ name: 'audit', detail: `${config.audit.sinks.map((s) => s.type).join(', ')}; posture ${config.audit.posture}` });
  return out;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const logger = opts.logger ?? createLogger({ level: opts.config.logging.level });
  const metrics = new GatewayMetrics();
  let currentRouter: Router | undefined;
  const sessions: SessionStore = new MemorySessionStore({
    idleTtlMs: opts.config.sessions.idleTtlMs,
    maxSessions: opts.config.sessions.maxSessions,
    maxPerPrincipal: opts.config.sessions.maxPerPrincipal,
    onEvict: (s) => {
      metrics.setSessions('legacy', sessions.size);
      // The gateway forgot the session: end it upstream too, so the server frees its state
      // (2025 transports: a client SHOULD DELETE a session it no longer needs).
      const route = currentRouter?.byName(s.route);
      if (route && s.upstreamSessionId !== undefined) void endUpstreamSession(route, s.upstreamSessionId, s.protocolVersion, s.principal);
    },
  });

  // Shared across config reloads: buckets, pending approvals and spent approval states must
  // survive a policy edit.
  const rateStore = new MemoryRateLimitStore();
  const approvalQueue = new ApprovalQueue({ maxPending: opts.config.approvals.maxPending });
  const nonces = new MemoryNonceStore();
  const memory = new FindingMemory();
  // Opened once: pins and their approvals outlive config reloads (enable/disable takes a restart).
  const dataDir = opts.dataDir ?? process.cwd();
  const pinner = createPinner(opts.config.pinning, dataDir);
  let policyVersion: string | undefined;
  const audit = await openThreadedAudit(opts.config.audit, {
    baseDir: dataDir,
    productVersion: PRODUCT_VERSION,
    hooks: {
      onSinkError: (sink, err) => logger.warn({ sink, err: err.message }, 'audit sink failing; records spool until it recovers'),
      onDropped: (sink, count) => logger.error({ sink, count }, 'audit records shed (spool full): a signed gap is recorded'),
      onStateError: (err) => logger.error({ err: err.message }, 'audit state directory not writable'),
    },
  });
  if (audit) metrics.watchAudit(() => audit.log.metrics());
  const auditTap = audit
    ? new ShutdownAwareTap(audit, () => policyVersion, { includeContent: opts.config.audit.includeContent, streamSegmentMs: opts.config.audit.streamSegmentMs })
    : undefined;
  // DLP findings carry a fingerprint keyed like the trail's digests (the audit thread has made
  // the key by now); without a trail, a per-process key still correlates within this run.
  const fingerprintKey = audit
    ? (await loadAuditKeys({ digestKey: opts.config.audit.digestKey, signingKey: opts.config.audit.checkpoint.signingKey, keyDir: resolve(dataDir, opts.config.audit.keyDir) })).digestKey
    : randomBytes(32);
  const ephemeralSealKey: SealKey = { id: 'ephemeral', key: new Uint8Array(randomBytes(32)) };
  if (opts.config.approvals.keys.length === 0) logger.debug('approvals.keys not set: sealing approval state with a per-process key (single replica only)');

  let url = '';
  // Shadowing check: what every other route's upstream listed last.
  const otherTools = (route: string): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const r of currentRouter?.routes ?? []) if (r.name !== route) out.set(r.name, r.tools.names());
    return out;
  };
  const build = (config: Config): Live => {
    const keys = config.approvals.keys.length > 0 ? keyRingFromConfig(config.approvals.keys) : [ephemeralSealKey];
    const policy = config.policy ? compilePolicy(config.policy, 'policy') : undefined;
    policyVersion = policy?.policyVersion;
    const limiter = new RateLimiter(config.rateLimits, rateStore);
    const baseUrl = config.server.publicUrl ?? url;
    const approvals: ApprovalServices = { config: config.approvals, queue: approvalQueue, sealer: new ApprovalStateSealer(keys), nonces, policyVersion: policy?.policyVersion ?? 'none' };
    return {
      config,
      router: new Router(config.routes.map((r) => buildRoute(r, { baseUrl, policy, limiter, memory, pinner, otherTools, fingerprintKey, extraInspectors: opts.extraInspectors }))),
      guard: new RequestGuard({
        allowedOrigins: config.security.allowedOrigins,
        allowedHosts: config.security.allowedHosts,
        bindHost: config.server.host,
        publicUrl: config.server.publicUrl,
      }),
      // The bind address is the one listened on at start (a reload does not rebind).
      adminGuard: adminGuard({ bindHost: opts.config.admin.host, allowedHosts: config.admin.allowedHosts, allowedOrigins: config.admin.allowedOrigins }),
      services: { config, sessions, metrics, logger, approvals, audit: auditTap },
    };
  };
  let live: Live | undefined;

  const current = (): Live => {
    // Only between bind and the first build (microseconds): the routes need the bound URL.
    if (!live) throw new GatewayError('not_ready');
    return live;
  };
  const handler = createHandler({
    guard: () => current().guard,
    router: () => current().router,
    services: () => current().services,
    identify: opts.identify ?? (() => ANONYMOUS),
  });
  // requestTimeout bounds *receiving* the request (headers + body), not the response: long SSE
  // responses are unaffected, a client that stalls mid-body is answered 408 and dropped.
  // Responses not yet closed, for the shutdown drain (one Set entry and one listener per request).
  const inflight = new Set<ServerResponse>();
  let onIdle: (() => void) | undefined;
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    inflight.add(res);
    res.once('close', () => {
      inflight.delete(res);
      if (inflight.size === 0) onIdle?.();
    });
    void handler(req, res);
  };
  const httpOptions = { maxHeaderSize: opts.config.limits.maxHeaderBytes, requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 65_000 };
  const tls = opts.config.server.tls;
  const server: Server = tls
    ? createHttpsServer(
        {
          ...httpOptions,
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
          // The certificate is checked against the CA either way; with 'optional' an unverified
          // one reaches the handler marked unauthorized and authenticates no one (identity/mtls).
          requestCert: tls.clientCertificates !== 'off',
          rejectUnauthorized: tls.clientCertificates === 'required',
          minVersion: 'TLSv1.2',
        },
        serve,
      )
    : createServer(httpOptions, serve);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Node's own default handler makes the same check: a pipelined request can be malformed while
    // the response before it (an SSE stream) is on the wire; a status line written now would land
    // inside that body.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
        return;
      }
      const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'invalid_request';
      const status = ERRORS[code].status;
      const body = JSON.stringify(errorMessage(null, new GatewayError(code)));
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  });
  const addr = await listen(server, opts.config.server.port, opts.config.server.host);
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  url = `${tls ? 'https' : 'http'}://${hostForUrl}:${addr.port}`;
  live = build(opts.config);
  currentRouter = live.router;
  audit?.log.append(audit.records.lifecycle({ time: Date.now(), activity: 'start', ...(policyVersion ? { policyVersion } : {}), controls: controlsOf(opts.config) }));

  let closing: Promise<void> | undefined;
  let admin: AdminServer | undefined;
  if (opts.admin !== false) {
    admin = await startAdminServer({
      host: opts.config.admin.host,
      port: opts.config.admin.port,
      metrics,
      logger,
      readiness: () => {
        const auditOk = audit ? audit.log.accepting() : true;
        // Draining: not ready, so a load balancer stops sending new calls here.
        const listening = server.listening && closing === undefined;
        return {
          ready: listening && auditOk,
          checks: {
            listener: { ok: listening, ...(closing !== undefined ? { detail: 'shutting down' } : {}) },
            ...(audit ? { audit: { ok: auditOk, ...(auditOk ? {} : { detail: audit.log.refusal() ?? 'not accepting' }) } } : {}),
          },
        };
      },
      guard: () => current().adminGuard,
      // Recorded like the data plane's Origin/Host refusals (an HTTP Activity record, blocked).
      onRefused: (req, code, status) => auditTap?.edgeRefusal(req, code, status),
      apis: [
        (req, res) => {
          const token = current().config.admin.token;
          return handleApprovalsRequest(req, res, approvalQueue, token !== undefined ? { token } : {});
        },
      ],
    });
  }

  /** Routers replaced by a reload whose pools have not been closed yet (shutdown destroys them). */
  const retired = new Set<Router>();
  const apply = (config: Config): void => {
    const old = current();
    live = build(config);
    currentRouter = live.router;
    metrics.configReload('ok');
    audit?.log.append(audit.records.lifecycle({ time: Date.now(), activity: 'reload', ...(policyVersion ? { policyVersion } : {}), controls: controlsOf(config) }));
    if (config.server.port !== old.config.server.port || config.server.host !== old.config.server.host) {
      logger.warn('listener address changed in config: takes effect on restart');
    }
    // Let exchanges on the old routes finish before their pools close.
    retired.add(old.router);
    setTimeout(() => {
      retired.delete(old.router);
      void old.router.close();
    }, 30_000).unref();
  };

  let store: ConfigStore | undefined;
  if (opts.configPath) {
    store = new ConfigStore(opts.config, opts.configPath);
    store.on('reload', (config) => {
      apply(config);
      logger.info({ version: store?.version }, 'config reloaded');
    });
    store.on('error', (err) => {
      metrics.configReload('error');
      logger.error({ err: err.message }, 'config reload rejected; keeping the last good config');
    });
    store.watch(opts.configPath);
  }

  const graceMs = opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  let endDrain: (() => void) | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let drainDeadline = Number.POSITIVE_INFINITY;
  const armDrain = (): void => {
    clearTimeout(drainTimer);
    if (!endDrain) return;
    const left = drainDeadline - Date.now();
    if (left <= 0) endDrain();
    else drainTimer = setTimeout(() => endDrain?.(), left);
  };
  /** The drain ends `ms` from now at the latest (a second signal: 0, now). */
  const shorten = (ms: number): void => {
    drainDeadline = Math.min(drainDeadline, Date.now() + Math.max(0, ms));
    armDrain();
  };

  const shutdown = async (grace: number): Promise<void> => {
    const started = Date.now();
    logger.info({ graceMs: grace, inFlight: inflight.size }, 'shutting down: draining calls in flight');
    store?.close();
    // 1. No new connections (idle keep-alive ones are closed too).
    server.close();
    // A call waiting for a person cannot be approved once the process is gone: withdraw it now
    // (its client is answered, its record says withdrawn by shutdown, not approval_timeout).
    approvalQueue.close();
    // A standalone GET stream never ends by itself: it would hold the drain for the whole grace.
    if (auditTap) {
      for (const [stream] of auditTap.streams) {
        if (!stream.id.startsWith('g')) continue;
        stream.end('cut', 'shutdown');
        stream.close();
      }
    }
    for (const res of inflight) if (isStandaloneGet(res.req) && !res.writableEnded) res.headersSent ? res.end() : res.destroy();

    // 2. Drain, bounded.
    shorten(grace);
    if (inflight.size > 0) {
      await new Promise<void>((resolve) => {
        endDrain = resolve;
        onIdle = resolve;
        armDrain();
      });
    }
    clearTimeout(drainTimer);
    endDrain = undefined;

    // 3. Cut what is left. Streams first, so they are recorded as cut by shutdown.
    if (inflight.size > 0 || (auditTap?.streams.size ?? 0) > 0) {
      logger.warn({ inFlight: inflight.size, afterMs: Date.now() - started }, 'shutdown: cutting calls still in flight');
    }
    if (auditTap) {
      auditTap.cutting = true;
      for (const [stream] of auditTap.streams) stream.end('cut', 'shutdown');
    }
    sessions.close();
    server.closeAllConnections();
    // destroy(), not close(): undici's Pool.close() waits for every request in flight (a 2025 call
    // whose client left runs on), which made SIGTERM take as long as the slowest tool.
    const pools = [current().router, ...retired].flatMap((r) => r.routes.map((route) => route.upstream.destroy().catch(() => {})));
    await within(Promise.all(pools), DESTROY_MS);
    // The cut exchanges' 'close' events queue their records; wait for them (bounded).
    if (inflight.size > 0) {
      await within(new Promise<void>((resolve) => (onIdle = resolve)), SETTLE_MS);
      if (inflight.size > 0) logger.error({ count: inflight.size }, 'shutdown: exchanges still open after the cut; their audit records may be missing');
    }
    // The record of an exchange is queued one event-loop turn after its 'close' at the latest
    // (listener/handler.ts): let that turn pass before the stop record goes after them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    pinner?.store.close();
    rateStore.close();
    await admin?.close();

    // 4. The stop record, then the final checkpoint (written by the audit thread's close).
    if (audit) {
      audit.log.append(audit.records.lifecycle({ time: Date.now(), activity: 'stop' }));
      try {
        const r = await within(audit.close({ drainMs: AUDIT_DRAIN_MS }), AUDIT_DRAIN_MS + DESTROY_MS);
        if (r === 'timeout') logger.error('audit trail did not close in time: the last records may lack their checkpoint');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'audit trail close failed');
      }
    }
    logger.info({ ms: Date.now() - started }, 'shut down');
  };

  return {
    url,
    port: addr.port,
    adminUrl: admin?.url,
    metrics,
    sessions,
    get config() {
      return current().config;
    },
    approvals: approvalQueue,
    apply,
    close(o = {}) {
      if (closing === undefined) closing = shutdown(o.graceMs ?? graceMs);
      else if (o.graceMs !== undefined) shorten(o.graceMs);
      return closing;
    },
  };
}
