/**
 * The listener's request handler: the first named stage every request passes.
 *
 *   listener (this) → route → session → pipeline of inspectors → upstream → back
 *
 * Order matters: DNS-rebinding guard first (nothing else is read for a forbidden origin), then
 * route, then identity, then the transport handler for the HTTP method. Every failure becomes a
 * JSON-RPC error from the one error table; nothing escapes as a crash.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, toGatewayError } from '../core/errors.ts';
import type { Era, Principal } from '../pipeline/types.ts';
import type { Router } from '../routing/route.ts';
import type { Exchange, GatewayServices } from '../transport/context.ts';
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
    const services = deps.services();
    let routeName = 'none';
    let ex: Exchange | undefined;
    res.on('finish', () => {
      const era: Era | 'unknown' = ex?.era ?? 'unknown';
      const method = ex?.rpcMethod ?? req.method ?? '';
      services.metrics.observeRequest(routeName, method, era, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    try {
      deps.guard().check(req.headers.host, req.headers.origin);
      const pathname = (req.url ?? '/').split('?', 1)[0]!;
      const route = deps.router().match(pathname);
      if (!route) throw new GatewayError('not_found');
      routeName = route.name;
      const principal = await deps.identify(req);
      ex = {
        req,
        res,
        route,
        services,
        principal,
        era: 'legacy',
        protocolVersion: '',
        session: undefined,
        rpcMethod: undefined,
        request: undefined,
        abort: new AbortController(),
        notes: {},
        frameSeq: 0,
      };
      switch (req.method) {
        case 'POST':
          await handlePost(ex);
          break;
        case 'GET':
          await handleGet(ex);
          break;
        case 'DELETE':
          await handleDelete(ex);
          break;
        default:
          throw new GatewayError('method_not_allowed');
      }
    } catch (err) {
      const e = toGatewayError(err);
      services.metrics.countError(e.code);
      if (e.code === 'internal') services.logger.error({ err, route: routeName }, 'internal error');
      if (res.headersSent) {
        // Mid-stream failure: end the response without a partial event terminated as complete.
        res.destroy();
      } else {
        const headers: Record<string, string> = {};
        if (e.code === 'method_not_allowed') headers['allow'] = ALLOWED_METHODS;
        // Refused before the body was read to its end (413, a lying Content-Length, an early
        // 4xx): close instead of draining an unbounded body on a keep-alive connection.
        if (!req.complete) headers['connection'] = 'close';
        sendError(res, e, ex?.request?.rpcId ?? null, headers);
      }
    }
  };
}
