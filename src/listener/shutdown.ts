/**
 * Graceful shutdown of the data plane, every step bounded (docs/lifecycle.md):
 *   1. stop accepting connections; calls waiting for approval are withdrawn (answered with an
 *      error, recorded `withdrawn`/`shutdown`); standalone GET streams, which never finish on their
 *      own, are cut;
 *   2. drain: calls in flight get the grace period (`server.shutdownGraceMs`, default 10 s), or
 *      less when `shorten()` is called (the CLI's second signal);
 *   3. whatever is left is cut: streams recorded `cut` with cause `shutdown`, exchanges noted
 *      `shutdown: cut`; client connections and upstream requests destroyed (never a graceful
 *      pool close, which waits for every upstream request however long it takes);
 *   4. once their records are queued: the `stop` lifecycle record, then the audit trail closes
 *      with its final signed checkpoint. Nothing before it waits without a bound.
 */
import type { IncomingMessage } from 'node:http';
import type { AdminServer } from '../admin/server.ts';
import type { ApprovalQueue } from '../approval/queue.ts';
import type { ThreadedAudit } from '../audit/threaded.ts';
import type { ConfigStore } from '../config/store.ts';
import type { Router } from '../routing/route.ts';
import { RelayStream } from '../session/relay-stream.ts';
import type { SessionStore } from '../session/sessions.ts';
import type { Logger } from '../telemetry/logger.ts';
import { AuditTap } from '../transport/audit-tap.ts';
import type { Exchange } from '../transport/context.ts';
import type { DataServer } from './server.ts';

/** Default of `server.shutdownGraceMs`. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** After the cut, how long to wait for the cut exchanges' 'close' events (their records). */
const SETTLE_MS = 2_000;
/** Bound on destroying upstream pools and on the audit trail's close beyond its own drain. */
const DESTROY_MS = 2_000;
const AUDIT_DRAIN_MS = 5_000;

/**
 * The audit tap plus what shutdown needs from it: the client-facing streams alive now (to
 * record the ones shutdown cuts as `cut`/`shutdown` rather than the client leaving), and a note
 * on the exchanges shutdown cuts.
 */
export class ShutdownAwareTap extends AuditTap {
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

/** What shutdown stops, in order. Getters for what may change or appear after start. */
export interface ShutdownDeps {
  logger: Logger;
  data: DataServer;
  configStore: () => ConfigStore | undefined;
  approvals: ApprovalQueue;
  auditTap: ShutdownAwareTap | undefined;
  sessions: SessionStore;
  /** The live router and those retired by reloads whose pools are still open. */
  routers: () => Router[];
  /** Pin store, rate-limit store: closed once no exchange can use them. */
  closeStores: () => void;
  admin: () => AdminServer | undefined;
  audit: ThreadedAudit | undefined;
}

export class Shutdown {
  readonly #d: ShutdownDeps;
  #endDrain: (() => void) | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #drainDeadline = Number.POSITIVE_INFINITY;

  constructor(deps: ShutdownDeps) {
    this.#d = deps;
  }

  /** The drain ends `ms` from now at the latest (a second signal: 0, now). */
  shorten(ms: number): void {
    this.#drainDeadline = Math.min(this.#drainDeadline, Date.now() + Math.max(0, ms));
    this.#armDrain();
  }

  #armDrain(): void {
    clearTimeout(this.#drainTimer);
    if (!this.#endDrain) return;
    const left = this.#drainDeadline - Date.now();
    if (left <= 0) this.#endDrain();
    else this.#drainTimer = setTimeout(() => this.#endDrain?.(), left);
  }

  /** Runs once (the gateway's close() keeps the promise): drain for `grace` ms, then cut. */
  async run(grace: number): Promise<void> {
    const { logger, data, auditTap, audit } = this.#d;
    const { server, inflight } = data;
    const started = Date.now();
    logger.info({ graceMs: grace, inFlight: inflight.size }, 'shutting down: draining calls in flight');
    this.#d.configStore()?.close();
    // 1. No new connections (idle keep-alive ones are closed too).
    server.close();
    // A call waiting for a person cannot be approved once the process is gone: withdraw it now
    // (its client is answered, its record says withdrawn by shutdown, not approval_timeout).
    this.#d.approvals.close();
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
    this.shorten(grace);
    if (inflight.size > 0) {
      await new Promise<void>((resolve) => {
        this.#endDrain = resolve;
        data.onIdle = resolve;
        this.#armDrain();
      });
    }
    clearTimeout(this.#drainTimer);
    this.#endDrain = undefined;

    // 3. Cut what is left. Streams first, so they are recorded as cut by shutdown.
    if (inflight.size > 0 || (auditTap?.streams.size ?? 0) > 0) {
      logger.warn({ inFlight: inflight.size, afterMs: Date.now() - started }, 'shutdown: cutting calls still in flight');
    }
    if (auditTap) {
      auditTap.cutting = true;
      for (const [stream] of auditTap.streams) stream.end('cut', 'shutdown');
    }
    this.#d.sessions.close();
    server.closeAllConnections();
    // destroy(), not close(): undici's Pool.close() waits for every request in flight (a 2025 call
    // whose client left runs on), which made SIGTERM take as long as the slowest tool.
    const pools = this.#d.routers().flatMap((r) => r.routes.map((route) => route.upstream.destroy().catch(() => {})));
    await within(Promise.all(pools), DESTROY_MS);
    // The cut exchanges' 'close' events queue their records; wait for them (bounded).
    if (inflight.size > 0) {
      await within(new Promise<void>((resolve) => (data.onIdle = resolve)), SETTLE_MS);
      if (inflight.size > 0) logger.error({ count: inflight.size }, 'shutdown: exchanges still open after the cut; their audit records may be missing');
    }
    // The record of an exchange is queued one event-loop turn after its 'close' at the latest
    // (listener/handler.ts): let that turn pass before the stop record goes after them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#d.closeStores();
    await this.#d.admin()?.close();

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
