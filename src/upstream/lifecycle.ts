/**
 * Upstream session lifecycle the gateway drives on its own (not on a client's behalf).
 */
import type { Principal } from '../pipeline/types.ts';
import type { Route } from '../routing/route.ts';

/**
 * Ends an upstream 2025-era session with DELETE (streamable HTTP: clients SHOULD DELETE a
 * session they no longer need). Used when the gateway forgets a session (idle expiry, eviction,
 * a refused initialize), so the server can free its state. Best effort: never throws.
 */
export async function endUpstreamSession(route: Route, upstreamSessionId: string, protocolVersion?: string, principal?: Principal): Promise<void> {
  try {
    const up = await route.upstream.request({
      method: 'DELETE',
      clientHeaders: protocolVersion ? { 'mcp-protocol-version': protocolVersion } : {},
      sessionId: upstreamSessionId,
      principal,
      headersTimeoutMs: route.cfg.timeouts.connectMs + 5000,
      idleMs: 5000,
    });
    await up.body.dump();
  } catch {
    // The upstream's own session expiry covers a lost DELETE.
  }
}
