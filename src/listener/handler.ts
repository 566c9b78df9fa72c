/**
 * The listener's request handler: the first named stage every request passes.
 *
 *   listener (this) → route → session → pipeline of inspectors → upstream → back
 *
 * Order matters: DNS-rebinding guard first (nothing else is read for a forbidden origin), then
 * route, then identity, then the transport handler for the HTTP method. Every failure becomes a
 * JSON-RPC error from the one error table; nothing escapes as a crash.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, toGatewayError } from '../core/errors.ts';
import type { Era, Principal } from '../pipeline/types.ts';
import type { Authenticator } from '../identity/authenticator.ts';
import type { ProtectedResourceMetadata } from '../identity/metadata.ts';
import type { Route, Router } from '../routing/route.ts';
import type { Exchange, GatewayServices } from '../transport/context.ts';
import { isModernVersion } from '../transport/modern.ts';
import { handlePost } from '../transport/post.ts';
import { sendError } from '../transport/respond.ts';
import { handleDelete, handleGet } from '../transport/streams.ts';
import type { RequestGuard } from './guards.ts';

export const ANONYMOUS: Principal = Object.freeze({ subject: 'anonymous', method: 'none' });

/** Who is calling. Authentication proper (OAuth, API keys, mTLS) plugs in here. */
export type Identify = (req: IncomingMessage) => Principal | Promise<Principal>;

export interface HandlerDeps {
  guard: () => RequestGuard;
  router: () => Router;
  services: () => GatewayServices;
  identify: Identify;
}

const ALLOWED_METHODS = 'GET, POST, DELETE';

export function createHandler(deps: HandlerDeps) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let services: GatewayServices;
    try {
      services = deps.services();
    } catch {
      sendError(res, new GatewayError('not_ready'));
      return;
    }
    let routeName = 'none';
    let ex: Exchange | undefined;
    let route: Route | undefined;
    const socketBytes = req.socket.bytesWritten;
    res.on('finish', () => {
      const era: Era | 'unknown' = ex?.eraFromHeaders ?? ex?.era ?? 'unknown';
      const method = ex?.rpcMethod ?? req.method ?? '';
      services.metrics.observeRequest(routeName, method, era, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    // Finished or abandoned, every exchange that reached a route leaves one audit record, made
    // when the response closed and the handler is done with it: a response can close before the
    // handler has said how the exchange ended (a cut upload closes it before readBody rejects).
    // A handler still busy after that (a 2025 call going on without its client) is not waited
    // for beyond one turn of the event loop: the record says what the client got.
    let settled = false;
    let recordEnd: (() => void) | undefined;
    if (services.audit) {
      const audit = services.audit;
      let recorded = false;
      res.on('close', () => {
        // Measured now: the socket may carry the next keep-alive response soon after.
        const bytes = req.socket.bytesWritten - socketBytes;
        // A status only when one went out: Node's default 200 would say an answer nobody sent.
        const status = res.headersSent && bytes > 0 ? res.statusCode : 0;
        recordEnd = () => {
          if (recorded || !ex) return;
          recorded = true;
          audit.exchangeEnd(ex, status, bytes);
        };
        if (settled) recordEnd();
        else setImmediate(recordEnd);
      });
    }
    try {
      deps.guard().check(req.headers.host, req.headers.origin);
      const pathname = (req.url ?? '/').split('?', 1)[0]!;
      const router = deps.router();
      route = router.match(pathname);
      if (!route) {
        // RFC 9728 §3: the protected resource metadata is public (clients read it before they
        // have a token), so it is served before any authentication.
        const described = pathname.startsWith(WELL_KNOWN_PREFIX) ? router.byMetadataPath(pathname) : undefined;
        if (described?.auth) return serveMetadata(req, res, described.auth.metadata);
        throw new GatewayError('not_found');
      }
      routeName = route.name;
      const principal = route.auth ? await authenticate(route.auth, req, services, route.name) : await deps.identify(req);
      // Fail-closed audit: a call that could not be recorded is not made.
      const refused = services.audit?.refusal();
      if (refused) throw refused;
      const eraFromHeaders = headerEra(req);
      ex = {
        req,
        res,
        route,
        services,
        principal,
        clientAddress: req.socket.remoteAddress,
        era: 'legacy',
        eraFromHeaders,
        protocolVersion: '',
        session: undefined,
        rpcMethod: undefined,
        request: undefined,
        abort: new AbortController(),
        notes: {},
        frameSeq: 0,
        id: randomUUID(),
        startedAt: Date.now(),
        outcomes: [],
        outcomesDropped: 0,
      };
      switch (req.method) {
        case 'POST':
          await handlePost(ex);
          break;
        case 'GET':
          // Both 2025-era only (2026-07-28 has neither): the method settles the era (streams.ts).
          ex.eraFromHeaders = undefined;
          await handleGet(ex);
          break;
        case 'DELETE':
          ex.eraFromHeaders = undefined;
          await handleDelete(ex);
          break;
        default:
          throw new GatewayError('method_not_allowed');
      }
    } catch (err) {
      const e = toGatewayError(err);
      if (ex && clientLeft(ex, e)) {
        // The client left after its request arrived, and this is only the consequence (the
        // upstream call its leaving aborted, an answer with nobody to take it): not a failure
        // of the gateway or the upstream. The audit record says the client went.
        services.metrics.countError('client_closed');
        if (!res.destroyed) res.destroy();
        return;
      }
      services.metrics.countError(e.code);
      if (ex) ex.errorCode = e.code;
      else services.audit?.edgeRefusal(req, e.code, e.status);
      if (e.code === 'internal') services.logger.error({ err, route: routeName }, 'internal error');
      // Nobody to answer (a cut upload): its stable code is recorded, nothing is sent.
      if (e.code === 'client_closed') {
        if (!res.destroyed) res.destroy();
        return;
      }
      if (res.headersSent) {
        // Mid-stream failure: end the response without a partial event terminated as complete.
        res.destroy();
      } else {
        const headers: Record<string, string> = {};
        if (e.code === 'method_not_allowed') headers['allow'] = ALLOWED_METHODS;
        // Refused before the body was read to its end (413, a lying Content-Length, an early
        // 4xx): close instead of draining an unbounded body on a keep-alive connection.
        if (!req.complete) headers['connection'] = 'close';
        // RFC 6750 §3 / RFC 9728 §5.1: a refused credential says where to get a good one.
        const challenge = route?.auth?.challenge(e);
        if (challenge !== undefined) headers['www-authenticate'] = challenge;
        sendError(res, e, ex?.request?.rpcId ?? null, headers);
      }
    } finally {
      settled = true;
      recordEnd?.();
    }
  };
}

/**
 * The era a request's headers claim, before its message is read: 2026-07-28 sends its version
 * on every request; a 2025 client after initialize sends its session, and from 2025-06-18 its
 * version. Nothing at all: unknown (a 2025-03-26 client's first message, or not MCP).
 */
function headerEra(req: IncomingMessage): Era | 'unknown' {
  const v = req.headers['mcp-protocol-version'];
  const version = (Array.isArray(v) ? v[0] : v)?.trim();
  if (isModernVersion(version)) return 'modern';
  if (version !== undefined || req.headers['mcp-session-id'] !== undefined) return 'legacy';
  return 'unknown';
}

/**
 * The client left after its request arrived in full, and `e` is only what its leaving caused:
 * the abort of the upstream call (2026-07-28 cancels on close, without a gateway reason: see
 * post.ts forward), or a write with nobody to read it. A cut upload is not this: the request
 * never arrived, and is recorded with its code (client_closed).
 */
function clientLeft(ex: Exchange, e: GatewayError): boolean {
  if (!ex.req.complete || ex.res.writableFinished) return false;
  if (e.code === 'client_closed') return true;
  const signal = ex.abort.signal;
  return signal.aborted && !(signal.reason instanceof GatewayError);
}

const WELL_KNOWN_PREFIX = '/.well-known/oauth-protected-resource';

/** Authentication failures keep their codes; an unreachable authorization server is a 503. */
async function authenticate(auth: Authenticator, req: IncomingMessage, services: GatewayServices, route: string): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await auth.authenticate(req);
  } catch (err) {
    let e = toGatewayError(err);
    if (e.code === 'internal') e = new GatewayError('auth_unavailable', undefined, undefined, { cause: err });
    services.audit?.authFailure(route, req, e.code, auth.apiKeyHeader);
    throw e;
  }
  services.audit?.authSuccess(route, req, principal);
  return principal;
}

function serveMetadata(req: IncomingMessage, res: ServerResponse, metadata: ProtectedResourceMetadata): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new GatewayError('method_not_allowed');
  const body = JSON.stringify(metadata);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'max-age=300',
    // Browser-based MCP clients fetch it cross-origin before they hold any credential.
    'access-control-allow-origin': '*',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
