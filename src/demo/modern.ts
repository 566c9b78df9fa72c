/**
 * MCP 2026-07-28 over Streamable HTTP: stateless POSTs carrying per-request `_meta`, validated
 * against the mirrored `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers; closing the
 * response stream cancels the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasMethod } from './catalog.ts';
import type { CallContext } from './context.ts';
import { execute, invalid, progressToken, type State } from './exec.ts';
import { accepted, header, sendError, sendJson } from './http.ts';
import {
  CODES, MODERN_VERSIONS, META_CLIENT_CAPABILITIES, META_LOG_LEVEL, META_PROTOCOL_VERSION, RpcError, decodeHeaderValue, idOf,
  isModernVersion, isObject, type Json, type JsonRpcId, type Kind,
} from './protocol.ts';
import { SseStream } from './sse.ts';
import { needsStream, requiredCapability } from './tools.ts';

const mismatch = (msg: string): RpcError => new RpcError(CODES.headerMismatch, `Header mismatch: ${msg}`, 400);

/**
 * The modern validation ladder, earliest failure wins (streamable-http "Request metadata",
 * basic/index "Per-request protocol fields"; order as the TS SDK v2 / conformance suite apply it).
 */
function validateModern(req: IncomingMessage, method: string, params: Json): RpcError | undefined {
  const meta = isObject(params._meta) ? params._meta : {};
  const claim = meta[META_PROTOCOL_VERSION];
  if (typeof claim !== 'string') return new RpcError(CODES.invalidParams, `Invalid params: _meta["${META_PROTOCOL_VERSION}"] is required`, 400);
  const hv = header(req, 'mcp-protocol-version');
  const hm = header(req, 'mcp-method');
  if (hv !== undefined && hv !== claim) return mismatch('MCP-Protocol-Version does not match the body protocol version');
  if (hm !== undefined && hm !== method) return mismatch('Mcp-Method does not match the body method');
  if (!isModernVersion(claim)) {
    // data.supported must be a subset of server/discover supportedVersions (conformance server-stateless).
    return new RpcError(CODES.unsupportedProtocolVersion, 'Unsupported protocol version', 400, { supported: [...MODERN_VERSIONS], requested: claim.slice(0, 64) });
  }
  const caps = meta[META_CLIENT_CAPABILITIES];
  if (!isObject(caps)) return new RpcError(CODES.invalidParams, `Invalid params: _meta["${META_CLIENT_CAPABILITIES}"] is required`, 400);
  if (hv === undefined) return mismatch('MCP-Protocol-Version header is required');
  if (hm === undefined) return mismatch('Mcp-Method header is required');
  const field = method === 'tools/call' || method === 'prompts/get' ? 'name' : method === 'resources/read' ? 'uri' : undefined;
  if (field !== undefined) {
    const hn = header(req, 'mcp-name');
    if (hn === undefined) {
      if (params[field] !== undefined) return mismatch('Mcp-Name header is required');
    } else {
      const decoded = decodeHeaderValue(hn);
      if (decoded === null) return mismatch('Mcp-Name has an invalid Base64 value');
      if (decoded !== params[field]) return mismatch(`Mcp-Name does not match params.${field}`);
    }
  }
  if (!hasMethod('modern', method)) return new RpcError(CODES.methodNotFound, `Method not found: ${method.slice(0, 128)}`, 404);
  const cap = method === 'tools/call' ? requiredCapability(params.name) : undefined;
  if (cap && !isObject(caps[cap])) {
    return new RpcError(CODES.missingClientCapability, 'Missing required client capability', 400, { requiredCapabilities: { [cap]: {} } });
  }
  return undefined;
}

export async function modernPost(st: State, req: IncomingMessage, res: ServerResponse, m: Json, kind: Kind): Promise<void> {
  if (kind === 'response') return sendError(res, invalid('clients must not send JSON-RPC responses in 2026-07-28'), idOf(m));
  // No client notifications are defined over HTTP in 2026-07-28; accept and ignore any.
  if (kind === 'notification') return accepted(res);
  const id = m.id as JsonRpcId;
  const method = m.method as string;
  const params = (m.params ?? {}) as Json;
  const problem = validateModern(req, method, params);
  if (problem) return sendError(res, problem, id);

  const meta = params._meta as Json;
  const logLevel = typeof meta[META_LOG_LEVEL] === 'string' ? (meta[META_LOG_LEVEL] as string) : undefined;
  const streaming = st.mode === 'sse' || (method === 'tools/call' && needsStream('modern', params.name, logLevel));
  // streamable-http "Cancellation": closing the response stream MUST be treated as cancellation.
  const ac = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) ac.abort(new Error('client disconnected'));
  });
  const stream = streaming ? new SseStream(0, false) : undefined;
  stream?.attach(res);
  const ctx: CallContext = {
    era: 'modern',
    version: meta[META_PROTOCOL_VERSION] as string,
    signal: ac.signal,
    clientCapabilities: meta[META_CLIENT_CAPABILITIES] as Json,
    progressToken: progressToken(meta),
    logLevel,
    streaming,
    notify: (method, p) => stream?.send({ jsonrpc: '2.0', method, params: p }),
    ask: () => Promise.reject(new Error('2026-07-28 servers must not send requests; use input_required')),
    notifyStandalone: () => false,
  };
  const response = await execute(st, ctx, id, method, params, () => {});
  if (response === null) return; // cancelled: "MUST NOT send any further messages for it"
  if (stream) {
    stream.send(response);
    stream.end();
  } else {
    // In-band errors are HTTP 200, except -32021 whose 400 the spec mandates outright.
    sendJson(res, response.error?.code === CODES.missingClientCapability ? 400 : 200, response);
  }
}

