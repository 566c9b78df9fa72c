/**
 * Small HTTP helpers for the demo upstream: reading bounded bodies, writing JSON answers and
 * JSON-RPC errors, and the Host/Origin check against DNS rebinding.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorResponse, type JsonRpcId, type RpcError } from './protocol.ts';

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An HTTP-level refusal: the error's status, a JSON-RPC error body (id null unless known). */
export function sendError(res: ServerResponse, e: RpcError, id: JsonRpcId | null = null, headers?: Record<string, string>): void {
  sendJson(res, e.status, errorResponse(id, e), headers);
}

/** 202 with no body: accepted notifications and responses (2025-11-25 / 2026-07-28 transports). */
export function accepted(res: ServerResponse): void {
  res.writeHead(202, { 'content-length': 0 });
  res.end();
}

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > max) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new BodyTooLarge());
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_NAMES.has(h) || h === '::1' || h.startsWith('127.');
}

function hostnameOf(authority: string): string | undefined {
  try {
    return new URL(`http://${authority}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * DNS-rebinding defence (2025-11-25 / 2026-07-28 streamable-http "Security Warning": servers MUST
 * validate Origin; a present, invalid Origin gets 403). Bound to loopback, the Host header must
 * name loopback too (what the conformance `dns-rebinding-protection` scenario checks). An Origin
 * must be loopback or the same authority as Host. Returns the reason to refuse, or undefined.
 */
export function hostOriginProblem(req: IncomingMessage, loopbackOnly: boolean): string | undefined {
  const host = header(req, 'host');
  if (loopbackOnly) {
    const name = host === undefined ? undefined : hostnameOf(host);
    if (name === undefined || !isLoopbackHost(name)) return 'Forbidden: Host header is not a loopback name';
  }
  const origin = header(req, 'origin');
  if (origin === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'Forbidden: invalid Origin';
  }
  const okScheme = url.protocol === 'http:' || url.protocol === 'https:';
  if (okScheme && (isLoopbackHost(url.hostname) || url.host === host)) return undefined;
  return 'Forbidden: Origin not allowed';
}
