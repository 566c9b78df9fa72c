/**
 * Writing answers to the client: JSON-RPC errors with the right HTTP status (from the one error
 * table), JSON bodies, and the headers every SSE response carries.
 */
import type { ServerResponse } from 'node:http';
import type { UpstreamResponse } from '../upstream/client.ts';
import type { JsonRpcId } from '../codec/jsonrpc.ts';
import { ERRORS, GatewayError, rpcError, type ErrorCode } from '../core/errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** An HTTP-level refusal: status from the table, JSON-RPC error body (id null unless known). */
export function sendError(
  res: ServerResponse,
  err: GatewayError | ErrorCode,
  id: JsonRpcId | null = null,
  headers?: Record<string, string>,
): void {
  const e = typeof err === 'string' ? new GatewayError(err) : err;
  sendJson(res, ERRORS[e.code].status, errorMessage(id, e), headers);
}

export function errorMessage(id: JsonRpcId | null, e: GatewayError): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error: rpcError(e.code, e.detail, e.data) };
}

/**
 * Headers for an SSE response. `X-Accel-Buffering: no` tells nginx-style proxies in front of us
 * not to buffer (MCP 2026-07-28 streamable-http: servers SHOULD include it).
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
});

/** Response headers relayed from the upstream (an allow list: nothing else crosses back). */
export const RELAYED_HEADERS = ['content-type', 'cache-control', 'allow', 'retry-after'] as const;

export function pickHeaders(from: UpstreamResponse['headers'], names: readonly string[] = RELAYED_HEADERS): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = from[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/** Upstream answered with a status the gateway relays as is: status, safe headers, bounded body. */
export async function relayUpstreamStatus(res: ServerResponse, up: UpstreamResponse): Promise<void> {
  const headers = pickHeaders(up.headers);
  const body = await readStatusBody(up);
  res.writeHead(up.statusCode, headers);
  res.end(body);
}

/** The body of an upstream error status, bounded (64 KiB); the rest is discarded. */
export async function readStatusBody(up: UpstreamResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of up.body) {
    size += (c as Buffer).length;
    if (size > 65536) break;
    chunks.push(c as Buffer);
  }
  up.body.destroy();
  return Buffer.concat(chunks);
}

/** The error a block verdict puts on the wire: its own code (default `blocked`) and reasons. */
export function blockError(v: { reasons: readonly string[]; message?: string | undefined; code?: ErrorCode | undefined; retryAfterMs?: number | undefined }): GatewayError {
  return new GatewayError(v.code ?? 'blocked', v.message, {
    reasons: v.reasons,
    ...(v.retryAfterMs !== undefined ? { retryAfterMs: Math.ceil(v.retryAfterMs) } : {}),
  });
}

/** `Retry-After` (RFC 9110 §10.2.3: whole seconds, rounded up) for an error that carries one. */
export function retryAfterHeader(e: GatewayError): Record<string, string> | undefined {
  const ms = e.data?.['retryAfterMs'];
  if (typeof ms !== 'number' || !(ms >= 0)) return undefined;
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) };
}
