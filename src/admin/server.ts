/**
 * The admin listener: health probes and Prometheus metrics on their own port.
 *
 * It is separate from the MCP listener so it can bind to loopback (the default) or a private
 * interface while MCP traffic faces clients, and so probes keep answering when the MCP listener is
 * saturated. It never proxies anything and reads no request bodies.
 *
 * - `GET /livez`   200 `{"status":"ok"}` while the process can answer at all.
 * - `GET /readyz`  200 or 503 with the `readiness()` report (a throw or timeout is "not ready").
 * - `GET /metrics` Prometheus text exposition.
 * HEAD is answered like GET without a body (RFC 9110 §9.3.2: general-purpose servers MUST support
 * GET and HEAD); other methods get 405 with `Allow` (RFC 9110 §15.5.6); other paths 404.
 *
 * DNS rebinding: every request, probes included, first passes a Host/Origin guard
 * (listener/guards.ts, as on the data plane). Loopback binding alone does not protect this
 * listener: a page on a name the attacker controls, re-resolved to 127.0.0.1, is same-origin to
 * the victim's browser, so it can read `GET /approvals` (argument previews) and send
 * `POST /approvals/:id/approve` with a JSON body without any CORS preflight; a browser sends no
 * Origin on a same-origin GET (Fetch §3.1), so the Host it sends (the attacker's name) is what
 * gives it away. By default only loopback names, the bind address and, off loopback, IP
 * addresses pass: a Kubernetes probe (kubelet sends `Host: <pod IP>:<port>`) and a Prometheus
 * scrape of a pod address keep working; a scrape by DNS name needs `admin.allowedHosts`. No
 * browser Origin is accepted unless listed (`admin.allowedOrigins`): nothing legitimate here is
 * a web page. Refusals are 403 with a JSON error, and reported through `onRefused` (audit).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import { RequestGuard } from '../listener/guards.ts';
import type { Logger } from '../telemetry/logger.ts';

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

/** What the admin server needs from metrics (GatewayMetrics satisfies it). */
export interface MetricsSource {
  readonly contentType: string;
  metricsText(): Promise<string>;
}

export interface AdminServerOptions {
  /** Bind address; default 127.0.0.1 (loopback only). */
  host?: string;
  /** TCP port; 0 picks a free one (see the returned `port`). */
  port: number;
  metrics: MetricsSource;
  readiness: () => ReadinessReport | Promise<ReadinessReport>;
  /** A readiness call slower than this counts as not ready. Default 5000 ms. */
  readinessTimeoutMs?: number;
  /** Where unexpected failures are reported (never with request data). */
  logger?: Logger;
  /**
   * More admin APIs (e.g. approvals): each answers the request and returns true, or returns
   * false when the path is not its own. Tried before the built-in endpoints' 404.
   */
  apis?: ReadonlyArray<(req: IncomingMessage, res: ServerResponse) => boolean>;
  /**
   * The Host/Origin guard, asked on every request (a function so a config reload can swap it).
   * Default: adminGuard() for the bind address with no lists.
   */
  guard?: () => Pick<RequestGuard, 'check'>;
  /** A request the guard refused (for the audit trail); must not throw. */
  onRefused?: (req: IncomingMessage, code: ErrorCode, status: number) => void;
}

/** The client-visible hint of a Host the admin listener refused (never echoes the value). */
export const ADMIN_HOST_HINT = 'list the name clients use in admin.allowedHosts';

/**
 * The admin listener's DNS-rebinding guard: the data plane's default Host rule (listener/guards.ts:
 * loopback names, the bind address, IP addresses off loopback), plus the names in
 * `admin.allowedHosts` (added, not instead: probes address a pod by IP whatever else is listed);
 * and no browser origin unless listed.
 */
export function adminGuard(opts: { bindHost: string; allowedHosts?: readonly string[] | undefined; allowedOrigins?: readonly string[] | undefined }): RequestGuard {
  return new RequestGuard({
    allowedHosts: opts.allowedHosts ?? [],
    allowedOrigins: opts.allowedOrigins ?? [],
    bindHost: opts.bindHost,
    defaultOrigins: 'none',
    hostHint: ADMIN_HOST_HINT,
    keepDefaultHosts: true,
  });
}

export interface AdminServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const ALLOW = 'GET, HEAD';
const JSON_TYPE = 'application/json; charset=utf-8';

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`admin port must be an integer 0–65535, got ${String(port)}`);
  }
  if (typeof host !== 'string' || host === '') throw new TypeError('admin host must be a non-empty string');
  const readinessTimeoutMs = opts.readinessTimeoutMs ?? 5000;
  if (!Number.isFinite(readinessTimeoutMs) || readinessTimeoutMs <= 0) {
    throw new RangeError(`readinessTimeoutMs must be a positive number, got ${String(readinessTimeoutMs)}`);
  }

  const fallbackGuard = opts.guard ? undefined : adminGuard({ bindHost: host });
  const guard = opts.guard ?? (() => fallbackGuard!);
  const handler = createHandler(opts.metrics, opts.readiness, readinessTimeoutMs, opts.logger, opts.apis ?? [], guard, opts.onRefused);
  // Probes are tiny GETs: a client slower than this is stuck or hostile, not a scraper.
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000 }, (req, res) => {
    handler(req, res).catch((err: unknown) => {
      opts.logger?.error({ err }, 'admin request handler failed');
      fail(res);
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`admin listener could not bind ${host}:${port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // After binding, a server-level error (e.g. EMFILE on accept) must not become an uncaught throw.
  server.on('error', (err) => opts.logger?.error({ err }, 'admin listener error'));

  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${bound}`,
    port: bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections (a scraper's) would otherwise hold close() open until they idle out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function createHandler(
  metrics: MetricsSource,
  readiness: AdminServerOptions['readiness'],
  timeoutMs: number,
  logger: Logger | undefined,
  apis: ReadonlyArray<(req: IncomingMessage, res: ServerResponse) => boolean>,
  guard: () => Pick<RequestGuard, 'check'>,
  onRefused: AdminServerOptions['onRefused'],
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    // First, before any path is served or any body read (as the data plane's handler does).
    try {
      guard().check(effectiveHost(req), req.headers.origin);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      // Refused before its body was read: close rather than drain it on a keep-alive connection.
      if (!req.complete) res.setHeader('connection', 'close');
      sendJson(res, err.status, { error: err.code, message: err.message });
      try {
        onRefused?.(req, err.code, err.status);
      } catch (e) {
        logger?.error({ err: e }, 'admin refusal hook failed');
      }
      return;
    }
    const path = pathOf(req.url);
    if (path !== '/livez' && path !== '/readyz' && path !== '/metrics') {
      for (const api of apis) if (api(req, res)) return;
      sendJson(res, 404, { error: 'not_found', message: 'No admin endpoint at this path' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', ALLOW);
      sendJson(res, 405, { error: 'method_not_allowed', message: `Use ${ALLOW} on ${path}` });
      return;
    }

    if (path === '/livez') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }

    if (path === '/readyz') {
      const report = await checkReadiness(readiness, timeoutMs, logger);
      sendJson(res, report.ready ? 200 : 503, report);
      return;
    }

    let text: string;
    try {
      text = await metrics.metricsText();
    } catch (err) {
      logger?.error({ err }, 'metrics collection failed');
      sendJson(res, 500, { error: 'metrics_failed', message: 'Metrics collection failed' });
      return;
    }
    send(res, 200, metrics.contentType, text);
  };
}

/**
 * Runs the readiness callback under a deadline. A throw, a timeout or a malformed report all mean
 * "not ready": a probe must answer, and must not claim readiness it could not confirm.
 */
async function checkReadiness(
  readiness: AdminServerOptions['readiness'],
  timeoutMs: number,
  logger: Logger | undefined,
): Promise<ReadinessReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(readiness), timeout]);
    if (result === 'timeout') {
      return { ready: false, checks: { readiness: { ok: false, detail: `no answer within ${timeoutMs} ms` } } };
    }
    return normalizeReport(result);
  } catch (err) {
    // The error text may carry internals; it goes to the log, the probe gets a fixed detail.
    logger?.warn({ err }, 'readiness check threw');
    return { ready: false, checks: { readiness: { ok: false, detail: 'readiness check failed' } } };
  } finally {
    clearTimeout(timer);
  }
}

/** Copies only the documented shape, so the response is always serializable and never over-claims. */
function normalizeReport(value: unknown): ReadinessReport {
  if (typeof value !== 'object' || value === null) {
    return { ready: false, checks: { readiness: { ok: false, detail: 'malformed readiness report' } } };
  }
  const raw = value as { ready?: unknown; checks?: unknown };
  const checks: Record<string, ReadinessCheck> = {};
  if (typeof raw.checks === 'object' && raw.checks !== null) {
    for (const [name, check] of Object.entries(raw.checks)) {
      const c = (typeof check === 'object' && check !== null ? check : {}) as { ok?: unknown; detail?: unknown };
      checks[name] = typeof c.detail === 'string' ? { ok: c.ok === true, detail: c.detail } : { ok: c.ok === true };
    }
  }
  return { ready: raw.ready === true, checks };
}

/**
 * The host a request is for: the authority of an absolute-form target, else the Host header
 * (RFC 9112 §3.2.2: with an absolute-form target the server MUST ignore Host). Browsers only
 * send origin-form, so a rebinding page is always judged by its Host.
 */
function effectiveHost(req: IncomingMessage): string | undefined {
  const target = req.url ?? '';
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).host;
    } catch {
      return undefined;
    }
  }
  return req.headers.host;
}

/**
 * The path of a request target without its query: origin-form (RFC 9112 §3.2.1) or absolute-form
 * (§3.2.2, which servers MUST accept). '' for anything else (`*`, authority-form, garbage).
 */
function pathOf(target: string | undefined): string {
  if (!target) return '';
  if (target.charCodeAt(0) === 0x2f /* / */) {
    const q = target.indexOf('?');
    return q < 0 ? target : target.slice(0, q);
  }
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname;
    } catch {
      return '';
    }
  }
  return '';
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON_TYPE, JSON.stringify(body));
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('content-length', Buffer.byteLength(body));
  // Probe and scrape answers describe this instant; no cache may replay them.
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.end(body);
}

/** Last resort after an unexpected throw: a 500 if nothing was sent yet, else drop the connection. */
function fail(res: ServerResponse): void {
  if (!res.headersSent && !res.destroyed) {
    sendJson(res, 500, { error: 'internal', message: 'Internal admin error' });
  } else {
    res.destroy();
  }
}
