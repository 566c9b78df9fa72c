/**
 * 2026-07-28 request validation: the per-request `_meta` envelope and the standard headers.
 *
 * The gateway validates these itself instead of trusting the upstream to: policy decides on the
 * body, and SEP-2243 warns that intermediaries "MUST NOT treat [mirrored header] values as
 * trusted input"; a request whose headers disagree with its body is refused before any
 * inspector or upstream sees it (streamable-http "Server validation": 400 + -32020).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { collectStringLeaves } from '../codec/json-stream.ts';
import { GatewayError } from '../core/errors.ts';

export const MODERN_VERSIONS: readonly string[] = ['2026-07-28'];
export const LEGACY_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
/**
 * Every version the gateway serves, newest first: what `data.supported` of a -32022 lists for a
 * 2025-era request (GET, DELETE, a POST's header), so a client refused there learns it may use
 * either era. A 2026-07-28 request's -32022 lists the modern versions only: every version listed
 * there must be one `server/discover` reports (conformance sep-2575 checks it).
 */
export const SUPPORTED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS];
const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';

/** Methods whose `Mcp-Name` header mirrors a body field (streamable-http "Standard request headers"). */
const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'resources/read': 'uri',
  'prompts/get': 'name',
};

function meta(msg: Record<string, unknown>): Record<string, unknown> | undefined {
  const params = msg['params'];
  if (typeof params !== 'object' || params === null) return undefined;
  const m = (params as Record<string, unknown>)['_meta'];
  return typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : undefined;
}

/** The protocol version a body declares in `_meta`, if any (what makes a request modern). */
export function bodyProtocolVersion(msg: Record<string, unknown>): string | undefined {
  const v = meta(msg)?.[META_VERSION];
  return typeof v === 'string' ? v : undefined;
}

export function isModernVersion(v: string | undefined): boolean {
  // A date-shaped version only: plain string order puts "bogus" or "latest" after 2026-07-28.
  return v !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(v) && v >= '2026-07-28';
}

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/** Header values may be sent as `=?base64?…?=`; servers MUST decode before comparing. */
export function decodeHeaderValue(value: string): string {
  const m = SENTINEL.exec(value);
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : value.trim();
}

function single(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * 2025-06-18+ "subsequent requests" (POST after initialize, GET, DELETE): an invalid or unsupported
 * `MCP-Protocol-Version` header MUST get 400. Absent is fine (assume 2025-03-26). A modern version
 * is supported too: where the era has no such request (GET/DELETE), the upstream answers 405.
 */
export function checkVersionHeader(h: IncomingHttpHeaders): void {
  const raw = single(h, 'mcp-protocol-version');
  if (raw === undefined) return;
  const v = raw.trim();
  if (SUPPORTED_VERSIONS.includes(v)) return;
  throw new GatewayError('unsupported_protocol_version', undefined, { supported: [...SUPPORTED_VERSIONS], requested: v.slice(0, 64) });
}

export interface ModernCheck {
  protocolVersion: string;
  target: string | undefined;
}

/**
 * Validates a modern request. Order follows the SDK v2 inbound ladder (classifyInboundRequest,
 * then serveModern): envelope shape, header/body version agreement, supported version, standard
 * headers. Agreement comes before support: a body naming an unknown version under
 * `MCP-Protocol-Version: 2026-07-28` is a HeaderMismatch (-32020), not -32022.
 */
export function validateModernRequest(
  h: IncomingHttpHeaders,
  msg: Record<string, unknown>,
  method: string,
  checkHeaders: boolean,
): ModernCheck {
  const m = meta(msg);
  const version = m?.[META_VERSION];
  const headerVersion = single(h, 'mcp-protocol-version');
  if (typeof version !== 'string') {
    throw new GatewayError('invalid_params', `_meta["${META_VERSION}"] is required`);
  }
  const caps = m?.[META_CAPS];
  if (typeof caps !== 'object' || caps === null || Array.isArray(caps)) {
    throw new GatewayError('invalid_params', `_meta["${META_CAPS}"] is required`);
  }
  // Header and body disagreeing is a HeaderMismatch whatever the body names.
  if (checkHeaders && headerVersion !== undefined && headerVersion.trim() !== version) {
    throw new GatewayError('header_mismatch', 'MCP-Protocol-Version does not match _meta');
  }
  if (!MODERN_VERSIONS.includes(version)) {
    // The gateway cannot inspect a protocol it does not know: refuse rather than pass it blind.
    throw new GatewayError('unsupported_protocol_version', undefined, { supported: [...MODERN_VERSIONS], requested: version });
  }
  const params = msg['params'] as Record<string, unknown>;
  const source = NAME_SOURCE[method];
  const bodyName = source ? params[source] : undefined;
  const target = typeof bodyName === 'string' ? bodyName : undefined;
  if (checkHeaders) {
    if (headerVersion === undefined) throw new GatewayError('header_mismatch', 'MCP-Protocol-Version header is required');
    const headerMethod = single(h, 'mcp-method');
    if (headerMethod === undefined) throw new GatewayError('header_mismatch', 'Mcp-Method header is required');
    if (headerMethod.trim() !== method) throw new GatewayError('header_mismatch', 'Mcp-Method does not match the body');
    if (source) {
      const headerName = single(h, 'mcp-name');
      if (headerName === undefined) throw new GatewayError('header_mismatch', 'Mcp-Name header is required');
      if (decodeHeaderValue(headerName) !== target) throw new GatewayError('header_mismatch', 'Mcp-Name does not match the body');
    }
  }
  return { protocolVersion: version, target };
}

/** Encode a header value per SEP-2243: as-is when visible ASCII, else the base64 sentinel. */
export function encodeHeaderValue(v: string): string {
  return /^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/.test(v) && !SENTINEL.test(v)
    ? v
    : `=?base64?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

/**
 * After an inspector rewrote a modern request body, the headers that mirror body values
 * (`Mcp-Name`, `Mcp-Param-*`) must carry the rewritten values too: otherwise a redacted secret
 * still travels upstream in a header, and the upstream refuses the mismatch (-32020).
 */
export function remirrorHeaders(h: IncomingHttpHeaders, before: object, after: object): IncomingHttpHeaders {
  const now = new Map(collectStringLeaves(after).map((l) => [l.pointer, l.text]));
  const changed = new Map<string, string>();
  for (const l of collectStringLeaves(before)) {
    const n = now.get(l.pointer);
    if (n !== undefined && n !== l.text) changed.set(l.text, n);
  }
  if (changed.size === 0) return h;
  const out: IncomingHttpHeaders = { ...h };
  for (const [k, v] of Object.entries(h)) {
    if (typeof v !== 'string' || !(k === 'mcp-name' || k.startsWith('mcp-param-'))) continue;
    const r = changed.get(decodeHeaderValue(v));
    if (r !== undefined) out[k] = encodeHeaderValue(r);
  }
  return out;
}
