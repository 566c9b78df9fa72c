/**
 * Rate limits and quotas as an inspector: every client request is checked against the limits
 * that match it (see ratelimit/limiter.ts); a refusal is a block carrying `rate_limited` and the
 * time to wait, which the transport turns into HTTP 429 with `Retry-After`.
 *
 * A store that cannot answer (Redis down) fails closed like any inspector failure, unless the
 * config says otherwise: an outage of the limiter must not silently lift every limit.
 */
import type { Frame, Inspector, InspectorContext, Verdict } from '../pipeline/types.ts';
import type { RateLimiter } from '../ratelimit/limiter.ts';
import { callerKey } from '../session/sessions.ts';

export interface RateLimitInspectorOptions {
  limiter: RateLimiter;
  /** The upstream this route forwards to (a stable id for `upstream`-scoped limits). */
  upstream: string;
  onFailure?: 'closed' | 'open';
}

const ALLOW: Verdict = { kind: 'allow' };

export function createRateLimitInspector(opts: RateLimitInspectorOptions): Inspector {
  return {
    name: 'rate-limit',
    methods: { '*': 'request' },
    needs: 'message',
    onFailure: opts.onFailure ?? 'closed',
    async onMessage(frame: Frame, ctx: InspectorContext): Promise<Verdict> {
      // Client requests only: notifications and the server's own requests are not calls.
      if (frame.direction !== 'c2s' || frame.kind !== 'request') return ALLOW;
      const decision = await opts.limiter.check({
        // Anonymous callers by address: one must not spend everyone's quota.
        principal: callerKey(ctx.session.principal, ctx.session.clientAddress),
        tool: frame.method === 'tools/call' ? frame.target : undefined,
        method: frame.method,
        upstream: opts.upstream,
        route: ctx.route,
      });
      if (decision.allowed) return ALLOW;
      return {
        kind: 'block',
        code: 'rate_limited',
        reasons: [`ratelimit/${decision.limit}`],
        message: `limit "${decision.limit}" exceeded`,
        retryAfterMs: decision.retryAfterMs,
      };
    },
  };
}
