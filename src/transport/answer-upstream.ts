/**
 * A server→client request the gateway did not relay (an inspector blocked it) still needs an
 * answer, or the upstream waits for one until its own timeout: the gateway answers it with an
 * error on the client's behalf. JSON-RPC 2.0 §5: every request gets a response.
 */
import { GatewayError } from '../core/errors.ts';
import type { Exchange } from './context.ts';
import { errorMessage } from './respond.ts';

/** Tell the upstream a server→client request it sent will not be answered by the client. */
export async function answerUpstream(ex: Exchange, id: string | number): Promise<void> {
  try {
    const up = await ex.route.upstream.request({
      method: 'POST',
      clientHeaders: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': ex.protocolVersion },
      body: JSON.stringify(errorMessage(id, new GatewayError('blocked', 'request blocked by gateway policy'))),
      sessionId: ex.session?.upstreamSessionId,
      principal: ex.principal,
      headersTimeoutMs: ex.route.cfg.timeouts.connectMs + 5000,
      idleMs: 5000,
    });
    await up.body.dump();
  } catch {
    // Best effort: the upstream's own timeout covers a lost answer.
  }
}
