/**
 * Protocol vocabulary for the demo upstream: versions, error codes, the JSON-RPC shapes and the
 * small helpers shared by the HTTP layer and the tool catalog.
 *
 * The demo is dependency-free on purpose (it ships in the product and must not pull in the MCP
 * SDK, which is only a devDependency), so the few definitions it needs live here.
 */

/** Legacy era: versions that open a session with `initialize` (MCP 2026-07-28 basic/versioning). */
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
/** Modern era: per-request metadata, stateless. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;

export type Era = 'legacy' | 'modern';

export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';

export const SERVER_INFO = Object.freeze({ name: 'portcullis-demo', title: 'Portcullis demo upstream', version: '0.1.0' });

export const CAPABILITIES = Object.freeze({
  tools: { listChanged: false },
  resources: { subscribe: false, listChanged: false },
  prompts: { listChanged: false },
  logging: {},
});

export const CODES = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** 2025 era only; retired in 2026-07-28 (resource-not-found becomes -32602 there). */
  resourceNotFoundLegacy: -32002,
  headerMismatch: -32020,
  missingClientCapability: -32021,
  unsupportedProtocolVersion: -32022,
} as const;

export type JsonRpcId = string | number;
export type Json = Record<string, unknown>;

export interface RpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Json;
}

export interface RpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Json;
}

export interface RpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result?: Json;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * A JSON-RPC error a handler throws. `status` is the HTTP status to use when the error answers the
 * whole HTTP request (validation before dispatch); errors raised inside a handler go out in-band.
 */
export class RpcError extends Error {
  readonly code: number;
  readonly status: number;
  readonly data: unknown;

  constructor(code: number, message: string, status = 400, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.status = status;
    this.data = data;
  }
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is JsonRpcId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

export type Kind = 'request' | 'notification' | 'response' | 'invalid';

/** JSON-RPC 2.0 §4/§5: what a single parsed message is. `params` must be an object when present. */
export function kindOf(msg: unknown): Kind {
  if (!isObject(msg) || msg.jsonrpc !== '2.0') return 'invalid';
  if (typeof msg.method === 'string') {
    if (msg.params !== undefined && !isObject(msg.params)) return 'invalid';
    if (!('id' in msg)) return 'notification';
    return isId(msg.id) ? 'request' : 'invalid';
  }
  if (isId(msg.id) && ('result' in msg) !== ('error' in msg)) return 'response';
  return 'invalid';
}

/** The id to echo in an error for a message we could not accept (null when there is none). */
export function idOf(msg: unknown): JsonRpcId | null {
  return isObject(msg) && isId(msg.id) ? msg.id : null;
}

export function errorResponse(id: JsonRpcId | null, e: RpcError): RpcResponse {
  const error: RpcResponse['error'] = { code: e.code, message: e.message };
  if (e.data !== undefined) error.data = e.data;
  return { jsonrpc: '2.0', id, error };
}

/**
 * Decodes an `Mcp-Name` / `Mcp-Param-*` header value (2026-07-28 streamable-http "Value
 * encoding"): `=?base64?{Base64(UTF-8)}?=` is decoded, anything else is literal. Returns null for a
 * sentinel with an invalid Base64 payload (the server MUST reject those).
 */
export function decodeHeaderValue(value: string): string | null {
  if (!(value.startsWith('=?base64?') && value.endsWith('?=') && value.length >= 11)) return value;
  const b64 = value.slice(9, -2);
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  const bytes = Buffer.from(b64, 'base64');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return text;
}

/** The era a single message belongs to: a body `_meta` protocol-version claim makes it modern. */
export function claimedVersion(msg: unknown): unknown {
  if (!isObject(msg) || !isObject(msg.params) || !isObject(msg.params._meta)) return undefined;
  return msg.params._meta[META_PROTOCOL_VERSION];
}

export function isModernVersion(v: unknown): boolean {
  return typeof v === 'string' && (MODERN_VERSIONS as readonly string[]).includes(v);
}

export function isLegacyVersion(v: unknown): boolean {
  return typeof v === 'string' && (LEGACY_VERSIONS as readonly string[]).includes(v);
}
