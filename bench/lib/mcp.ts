/**
 * The MCP requests the benchmark sends, as raw HTTP pieces (path, headers, body).
 *
 * - 2026-07-28 (main case): stateless POSTs with the per-request `_meta` envelope and the
 *   mirrored MCP-Protocol-Version / Mcp-Method / Mcp-Name headers.
 * - 2025-11-25 (second row): a session opened with initialize + notifications/initialized, then
 *   POSTs carrying Mcp-Session-Id.
 */
import type { Pool } from 'undici';
import { dispatchOnce, type RequestSpec } from './load.ts';

export const MODERN = '2026-07-28';
export const LEGACY = '2025-11-25';
const ACCEPT = 'application/json, text/event-stream';
const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';

/** A typical short tool argument with nothing a redactor would mask (the common case). */
export const ECHO_TEXT =
  'Summarise the build log: 3 warnings in src/transport, all about unused imports; tests passed in 41 s on node 24. ' +
  'Next step: open a pull request against main and ask for review from the platform team.';

export function modernToolCall(path: string, id: number, name: string, args: Record<string, unknown>, meta: Record<string, unknown> = {}): RequestSpec {
  return {
    path,
    headers: {
      'content-type': 'application/json',
      accept: ACCEPT,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': name,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: args, _meta: { [META_VERSION]: MODERN, [META_CAPS]: {}, ...meta } },
    }),
  };
}

export function legacyToolCall(path: string, sid: string, id: number, name: string, args: Record<string, unknown>): RequestSpec {
  return {
    path,
    headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  };
}

/** Opens a 2025-11-25 session (initialize + notifications/initialized); returns its id. */
export async function openLegacySession(pool: Pool, path: string): Promise<string> {
  let sid: string | undefined;
  const init = await new Promise<{ status: number }>((resolve, reject) => {
    let status = 0;
    pool.dispatch(
      {
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: ACCEPT },
        body: JSON.stringify({
          jsonrpc: '2.0', id: 0, method: 'initialize',
          params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'portcullis-bench', version: '0.1.0' } },
        }),
      },
      {
        onRequestStart() {},
        onResponseStart(_c, statusCode, headers) {
          status = statusCode;
          const v = headers['mcp-session-id'];
          sid = Array.isArray(v) ? v[0] : v;
        },
        onResponseData() {},
        onResponseEnd() {
          resolve({ status });
        },
        onResponseError(_c, err) {
          reject(err);
        },
      },
    );
  });
  if (init.status !== 200 || !sid) throw new Error(`initialize failed: HTTP ${init.status}, session ${sid ?? 'none'}`);
  const ack = await dispatchOnce(pool, {
    path,
    headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  if (ack.status !== 202) throw new Error(`notifications/initialized got HTTP ${ack.status}`);
  return sid;
}

/** Serialises a request as raw HTTP/1.1 bytes (for the raw-socket stream tests). */
export function rawHttp(spec: RequestSpec, host: string): Buffer {
  const body = Buffer.from(spec.body);
  let head = `POST ${spec.path} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n`;
  for (const [k, v] of Object.entries(spec.headers)) head += `${k}: ${v}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`), body]);
}
