/**
 * What both eras share once a request is accepted: the server state, and running one JSON-RPC
 * request to its response (or to nothing, when it was cancelled).
 */
import { handle } from './catalog.ts';
import type { CallContext } from './context.ts';
import { CODES, RpcError, errorResponse, isObject, type Json, type JsonRpcId, type RpcResponse } from './protocol.ts';
import type { SessionStore } from './session.ts';

export type ResponseMode = 'json' | 'sse' | 'auto';

export interface State {
  mode: ResponseMode;
  loopbackOnly: boolean;
  sessions: SessionStore;
  requests: number;
  cancelled: number;
  closing: boolean;
}

export const invalid = (msg: string, status = 400): RpcError => new RpcError(CODES.invalidRequest, `Invalid Request: ${msg}`, status);

export function progressToken(meta: unknown): string | number | undefined {
  const t = isObject(meta) ? meta.progressToken : undefined;
  return typeof t === 'string' || typeof t === 'number' ? t : undefined;
}

/** Runs one request to its response; null when it was cancelled (no response is sent then). */
export async function execute(st: State, ctx: CallContext, id: JsonRpcId, method: string, params: Json, setLogLevel: (l: string) => void): Promise<RpcResponse | null> {
  st.requests++;
  let response: RpcResponse;
  try {
    response = { jsonrpc: '2.0', id, result: await handle(ctx, method, params, setLogLevel) };
  } catch (err) {
    response = errorResponse(id, err instanceof RpcError ? err : new RpcError(CODES.internal, 'Internal error', 500));
  }
  if (ctx.signal.aborted) {
    if (!st.closing) st.cancelled++;
    return null;
  }
  return response;
}
