/**
 * Which protocol a client's POST speaks, and in which session: the 2026-07-28 per-request
 * envelope (`_meta` protocol version, Mcp-* headers checked against the body) or a 2025 session
 * (Mcp-Session-Id bound to its caller, MCP-Protocol-Version checked).
 */
import type { Classified } from '../codec/jsonrpc.ts';
import { GatewayError } from '../core/errors.ts';
import { requestHeader, type Exchange } from './context.ts';
import { bodyProtocolVersion, isModernVersion, LEGACY_VERSIONS, SUPPORTED_VERSIONS, validateModernRequest } from './modern.ts';

/** What a 2026-07-28 tools/call's Mcp-Param-* headers are checked against, once the era is settled. */
export interface ParamCheck {
  tool: string | undefined;
  args: unknown;
}

/**
 * Decide era, protocol version and session for a single message; throws GatewayError. Returns
 * the Mcp-Param-* check a modern tools/call needs (run after the inspectors: the tool's
 * annotations may need fetching from the upstream).
 */
export function classifyEra(ex: Exchange, c: Classified): ParamCheck | undefined {
  const msg = c.message;
  const headerVersion = requestHeader(ex, 'mcp-protocol-version')?.trim();
  const bodyVersion = c.kind === 'request' || c.kind === 'notification' ? bodyProtocolVersion(msg) : undefined;
  if (bodyVersion !== undefined || isModernVersion(headerVersion)) {
    if (c.kind !== 'request') {
      // 2026-07-28 defines no client notifications or responses over Streamable HTTP.
      if (bodyVersion === undefined) throw new GatewayError('invalid_params', '_meta protocolVersion is required');
    }
    ex.era = 'modern';
    ex.eraFromHeaders = undefined;
    const checkHeaders = ex.services.config.security.requireProtocolHeaderValidation;
    const check = validateModernRequest(ex.req.headers, msg, c.method ?? '', checkHeaders);
    ex.protocolVersion = check.protocolVersion;
    if (checkHeaders && c.method === 'tools/call') return { tool: check.target, args: (msg['params'] as Record<string, unknown>)['arguments'] };
    return undefined;
  }
  ex.era = 'legacy';
  ex.eraFromHeaders = undefined;
  // 2025-06-18+: an invalid or unsupported MCP-Protocol-Version MUST get 400.
  if (headerVersion !== undefined && c.method !== 'initialize' && !LEGACY_VERSIONS.includes(headerVersion)) {
    throw new GatewayError('unsupported_protocol_version', undefined, { supported: [...SUPPORTED_VERSIONS], requested: headerVersion });
  }
  const sid = requestHeader(ex, 'mcp-session-id');
  if (c.method === 'initialize') {
    if (!ex.services.sessions.canCreate(ex.principal, ex.clientAddress)) throw new GatewayError('session_limit');
    const pv = (msg['params'] as Record<string, unknown> | undefined)?.['protocolVersion'];
    ex.protocolVersion = typeof pv === 'string' ? pv : '2025-03-26';
    return;
  }
  if (sid !== undefined) {
    const session = ex.services.sessions.get(sid, ex.principal, ex.clientAddress);
    if (!session || session.route !== ex.route.name) throw new GatewayError('session_not_found');
    ex.session = session;
    ex.protocolVersion = session.protocolVersion;
    return;
  }
  // No session: a sessionless 2025 upstream, or a client that skipped it (the upstream decides).
  ex.protocolVersion = headerVersion ?? '2025-03-26';
}
