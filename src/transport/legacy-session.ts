/**
 * A 2025-era session begins: the upstream answered `initialize` with its own `Mcp-Session-Id`,
 * and the client gets a gateway-issued one instead, bound to the caller (session/sessions.ts).
 * The client's self-reported info and capabilities are kept for the session's life (policy reads
 * the info; the capabilities decide whether an approval can be asked by elicitation).
 */
import { GatewayError } from '../core/errors.ts';
import { SessionLimitError } from '../session/sessions.ts';
import type { UpstreamResponse } from '../upstream/client.ts';
import { endUpstreamSession } from '../upstream/lifecycle.ts';
import { cappedClientInfo } from './audit-facts.ts';
import type { Exchange } from './context.ts';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Opens the gateway's session for an answered legacy `initialize`; the headers to add for the client. */
export async function openLegacySession(ex: Exchange, up: UpstreamResponse): Promise<Record<string, string>> {
  const upstreamSid = up.headers['mcp-session-id'];
  // A stateless upstream (no session id): no session to map.
  if (typeof upstreamSid !== 'string') return {};
  try {
    ex.session = ex.services.sessions.create({
      route: ex.route.name,
      principal: ex.principal,
      clientAddress: ex.clientAddress,
      protocolVersion: ex.protocolVersion,
      upstreamSessionId: upstreamSid,
    });
  } catch (err) {
    // Lost a race with another initialize of the same caller: undo upstream, refuse here.
    if (!(err instanceof SessionLimitError)) throw err;
    await up.body.dump();
    void endUpstreamSession(ex.route, upstreamSid, ex.protocolVersion, ex.principal);
    throw new GatewayError('session_limit');
  }
  const params = ex.request?.message['params'] as Record<string, unknown> | undefined;
  const caps = params?.['capabilities'];
  // Self-reported, kept for the session's life and shown to policy: bounded.
  const info = cappedClientInfo(params?.['clientInfo']);
  if (info) ex.session.clientInfo = info;
  if (isRecord(caps)) ex.session.clientCapabilities = caps;
  ex.services.metrics.setSessions('legacy', ex.services.sessions.size);
  return { 'mcp-session-id': ex.session.id };
}
