/**
 * Assembles a running gateway: data-plane listener, routes, sessions, metrics, admin listener,
 * and hot reload. Everything a reload changes (routes, inspectors, guard, limits) is rebuilt
 * and swapped atomically; exchanges in flight keep the objects they started with. Listener
 * addresses are fixed at start (a changed port needs a restart, and the reload says so).
 *
 * Shutdown (`close()`, once however often it is called; a later call with a shorter grace cuts
 * the drain short) is listener/shutdown.ts: stop accepting, drain for the grace, cut, record.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { replicaId } from './approval/replica.ts';
import { SqliteNonceStore } from './approval/sqlite-nonce-store.ts';
import { handleApprovalsRequest } from './approval/admin-api.ts';
import { ApprovalQueue } from './approval/queue.ts';
import { ApprovalStateSealer, keyRingFromConfig, type SealKey } from './approval/sealed-state.ts';
import { compilePolicy } from './policy/engine.ts';
import { RateLimiter } from './ratelimit/limiter.ts';
import { MemoryRateLimitStore } from './ratelimit/memory-store.ts';
import { GatewayError } from './core/errors.ts';
import { issueLocalAdminToken, withdrawLocalAdminToken } from './admin/local-token.ts';
import { adminGuard, startAdminServer, type AdminServer } from './admin/server.ts';
import type { Config } from './config/schema.ts';
import { ConfigStore } from './config/store.ts';
import { RequestGuard } from './listener/guards.ts';
import { DataServer } from './listener/server.ts';
import { Shutdown, ShutdownAwareTap } from './listener/shutdown.ts';
import { ANONYMOUS, createHandler, type Identify } from './listener/handler.ts';
import type { Inspector } from './pipeline/types.ts';
import { buildRoute, Router } from './routing/route.ts';
import { endUpstreamSession } from './upstream/lifecycle.ts';
import { createPinner } from './pinning/config.ts';
import { loadAuditKeys } from './audit/keys.ts';
import { openThreadedAudit } from './audit/threaded.ts';
import { FindingMemory } from './session/finding-memory.ts';
import { TaskOwners } from './session/task-owners.ts';
import { ReplayBudget } from './session/event-store.ts';
import { MemorySessionStore, type SessionStore } from './session/sessions.ts';
import { createLogger, type Logger } from './telemetry/logger.ts';
import { GatewayMetrics } from './telemetry/metrics.ts';
import type { ApprovalServices, GatewayServices } from './transport/context.ts';

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

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly adminUrl: string | undefined;
  /** The approvals API's bearer token: `admin.token`, else the per-run one (admin/local-token.ts). */
  readonly adminToken: string | undefined;
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

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  // A start that fails partway (a port in use, an unreadable audit key) releases what it opened:
  // files, threads and listeners, in reverse order.
  const opened: Array<() => unknown> = [];
  try {
    return await assemble(opts, (undo) => opened.push(undo));
  } catch (err) {
    for (const undo of opened.reverse()) {
      try {
        await undo();
      } catch {
        // Best effort: the start's own error is the one to report.
      }
    }
    throw err;
  }
}

async function assemble(opts: GatewayOptions, onFailure: (undo: () => unknown) => void): Promise<Gateway> {
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
  const memory = new FindingMemory();
  const tasks = new TaskOwners();
  const replayBudget = new ReplayBudget(opts.config.streams.replayBudgetBytes);
  // Opened once: pins and their approvals outlive config reloads (enable/disable takes a restart).
  const dataDir = opts.dataDir ?? process.cwd();
  // The gateway's state directory: owner-only (it holds the admin token and the replay cache).
  mkdirSync(resolve(dataDir, '.portcullis'), { recursive: true, mode: 0o700 });
  const pinner = createPinner(opts.config.pinning, dataDir);
  onFailure(() => pinner?.store.close());
  // On disk with the replica's id: a redeemed approval state stays spent across a restart.
  const nonces = new SqliteNonceStore(resolve(dataDir, '.portcullis', 'approval-nonces.db'));
  onFailure(() => nonces.close());
  const replica = replicaId(dataDir);
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
  if (audit) onFailure(() => audit.close({ drainMs: 0 }));
  if (audit) metrics.watchAudit(() => audit.log.metrics());
  // DLP findings carry a fingerprint keyed like the trail's digests (the audit thread has made
  // the key by now); without a trail, a per-process key still correlates within this run.
  const fingerprintKey = audit
    ? (await loadAuditKeys({ digestKey: opts.config.audit.digestKey, signingKey: opts.config.audit.checkpoint.signingKey, keyDir: resolve(dataDir, opts.config.audit.keyDir) })).digestKey
    : randomBytes(32);
  const auditTap = audit
    ? new ShutdownAwareTap(audit, () => policyVersion, { digestKey: fingerprintKey, includeContent: opts.config.audit.includeContent, streamSegmentMs: opts.config.audit.streamSegmentMs })
    : undefined;
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
    replayBudget.max = config.streams.replayBudgetBytes;
    const keys = config.approvals.keys.length > 0 ? keyRingFromConfig(config.approvals.keys) : [ephemeralSealKey];
    const policy = config.policy ? compilePolicy(config.policy, 'policy') : undefined;
    policyVersion = policy?.policyVersion;
    const limiter = new RateLimiter(config.rateLimits, rateStore);
    const baseUrl = config.server.publicUrl ?? url;
    const approvals: ApprovalServices = { config: config.approvals, queue: approvalQueue, sealer: new ApprovalStateSealer(keys), nonces, replica, policyVersion: policy?.policyVersion ?? 'none' };
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
      services: { config, sessions, metrics, logger, approvals, tasks, memory, replayBudget, audit: auditTap },
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
  const data = new DataServer(opts.config, handler);
  const { server } = data;
  const addr = await data.listen(opts.config.server.port, opts.config.server.host);
  onFailure(() => server.close());
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  url = `${opts.config.server.tls ? 'https' : 'http'}://${hostForUrl}:${addr.port}`;
  live = build(opts.config);
  currentRouter = live.router;
  audit?.log.append(audit.records.lifecycle({ time: Date.now(), activity: 'start', ...(policyVersion ? { policyVersion } : {}), controls: controlsOf(opts.config) }));

  let closing: Promise<void> | undefined;
  let admin: AdminServer | undefined;
  // The approvals API is never open (admin/local-token.ts): without admin.token, a per-run token
  // the operator's CLI reads from the data directory.
  let localAdminToken = opts.admin !== false && opts.config.admin.token === undefined ? issueLocalAdminToken(dataDir) : '';
  onFailure(() => withdrawLocalAdminToken(dataDir, localAdminToken));
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
      apis: [(req, res) => handleApprovalsRequest(req, res, approvalQueue, { token: current().config.admin.token ?? localAdminToken })],
    });
  }

  /** Routers replaced by a reload whose pools have not been closed yet (shutdown destroys them). */
  const retired = new Set<Router>();
  const apply = (config: Config): void => {
    const old = current();
    // A reload that removes admin.token falls back to the per-run token, made now if need be.
    if (opts.admin !== false && config.admin.token === undefined && localAdminToken === '') localAdminToken = issueLocalAdminToken(dataDir);
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

  const shutdown = new Shutdown({
    logger,
    data,
    configStore: () => store,
    approvals: approvalQueue,
    auditTap,
    sessions,
    routers: () => [current().router, ...retired],
    closeStores: () => {
      pinner?.store.close();
      rateStore.close();
      nonces.close();
      withdrawLocalAdminToken(dataDir, localAdminToken);
    },
    admin: () => admin,
    audit,
  });

  return {
    url,
    port: addr.port,
    adminUrl: admin?.url,
    get adminToken() {
      return admin ? (current().config.admin.token ?? localAdminToken) : undefined;
    },
    metrics,
    sessions,
    get config() {
      return current().config;
    },
    approvals: approvalQueue,
    apply,
    close(o = {}) {
      if (closing === undefined) closing = shutdown.run(o.graceMs ?? opts.shutdownGraceMs ?? current().config.server.shutdownGraceMs);
      else if (o.graceMs !== undefined) shutdown.shorten(o.graceMs);
      return closing;
    },
  };
}
