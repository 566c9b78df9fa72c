/**
 * JSON-RPC 2.0 message classification for MCP (https://www.jsonrpc.org/specification).
 *
 * Stricter than bare JSON-RPC where MCP is (basic/index "Messages"):
 * - request ids are a string or an integer, never null; we further require a *safe* integer,
 *   because an id beyond 2^53 does not survive JSON.parse → JSON.stringify unchanged, and a proxy
 *   that altered an id would break the client's request/response correlation;
 * - `params`, when present, is an object (MCP never uses by-position arrays).
 * An error response may carry `id: null` (JSON-RPC §5: the id could not be determined) or, per the
 * MCP 2025-11-25 schema (`JSONRPCErrorResponse.id?`), no id at all.
 */

export type JsonRpcId = string | number;
export type MessageKind = 'request' | 'notification' | 'result' | 'error';
export type JsonRpcObject = Record<string, unknown>;

export interface RequestMessage {
  kind: 'request';
  id: JsonRpcId;
  method: string;
  message: JsonRpcObject;
}
export interface NotificationMessage {
  kind: 'notification';
  id?: undefined;
  method: string;
  message: JsonRpcObject;
}
export interface ResultMessage {
  kind: 'result';
  id: JsonRpcId;
  method?: undefined;
  message: JsonRpcObject;
}
export interface ErrorMessage {
  kind: 'error';
  /** undefined when the error response's id is null or absent. */
  id?: JsonRpcId;
  method?: undefined;
  message: JsonRpcObject;
}
export type Classified = RequestMessage | NotificationMessage | ResultMessage | ErrorMessage;

export type ClassifyOutcome =
  | { ok: true; value: Classified }
  /** `id`: the message's id when it is a valid one, else null (what an error reply must echo). */
  | { ok: false; reason: string; id: JsonRpcId | null };

export type ParseBodyOutcome = { ok: true; batch: boolean; items: unknown[] } | { ok: false; reason: string; tooDeep?: boolean };

function isObject(v: unknown): v is JsonRpcObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isValidId(v: unknown): v is JsonRpcId {
  return typeof v === 'string' || Number.isSafeInteger(v);
}

function invalid(reason: string, msg: JsonRpcObject): ClassifyOutcome {
  return { ok: false, reason, id: isValidId(msg['id']) ? msg['id'] : null };
}

export function classify(msg: unknown): ClassifyOutcome {
  if (!isObject(msg)) {
    return { ok: false, reason: Array.isArray(msg) ? 'message is an array, not an object' : 'message is not a JSON object', id: null };
  }
  // "jsonrpc: A String specifying the version of the JSON-RPC protocol. MUST be exactly '2.0'."
  if (msg['jsonrpc'] !== '2.0') return invalid('jsonrpc must be "2.0"', msg);
  const id = msg['id'];
  const hasId = id !== undefined;
  const hasResult = 'result' in msg;
  const hasError = 'error' in msg;

  if ('method' in msg) {
    const method = msg['method'];
    if (typeof method !== 'string') return invalid('method must be a string', msg);
    if (method === '') return invalid('method must not be empty', msg);
    if (hasResult || hasError) return invalid('a message cannot have both method and result/error', msg);
    const params = msg['params'];
    if (params !== undefined && !isObject(params)) return invalid('params must be an object', msg);
    // "A Notification is a Request object without an 'id' member."
    if (!hasId) return { ok: true, value: { kind: 'notification', method, message: msg } };
    if (id === null) return invalid('request id must not be null', msg);
    if (!isValidId(id)) return invalid('request id must be a string or an integer', msg);
    return { ok: true, value: { kind: 'request', id, method, message: msg } };
  }

  if (hasResult && hasError) return invalid('a response cannot have both result and error', msg);
  if (hasResult) {
    // "id: This member is REQUIRED. It MUST be the same as the value of the id member in the
    // Request Object." MCP requests never have a null id, so neither can their results.
    if (!hasId) return invalid('result response has no id', msg);
    if (!isValidId(id)) return invalid('result id must be a string or an integer', msg);
    return { ok: true, value: { kind: 'result', id, message: msg } };
  }
  if (hasError) {
    if (hasId && id !== null && !isValidId(id)) return invalid('error id must be a string, an integer or null', msg);
    const err = msg['error'];
    if (!isObject(err)) return invalid('error must be an object', msg);
    // "code: A Number that indicates the error type that occurred. This MUST be an integer."
    if (!Number.isInteger(err['code'])) return invalid('error.code must be an integer', msg);
    if (typeof err['message'] !== 'string') return invalid('error.message must be a string', msg);
    const value: ErrorMessage = { kind: 'error', message: msg };
    if (hasId && id !== null) value.id = id as JsonRpcId;
    return { ok: true, value };
  }
  return invalid('not a request, notification or response (no method, result or error)', msg);
}

export function isRequest(c: Classified): c is RequestMessage {
  return c.kind === 'request';
}
export function isNotification(c: Classified): c is NotificationMessage {
  return c.kind === 'notification';
}
export function isResponse(c: Classified): c is ResultMessage | ErrorMessage {
  return c.kind === 'result' || c.kind === 'error';
}

/**
 * Parse an HTTP body. An array is a batch (JSON-RPC §6); "an Array with at least one value", so
 * `[]` is invalid. The reason never quotes the body (V8's JSON errors can include a snippet of
 * it, which may hold a secret); only the position is kept.
 */
/**
 * Deepest nesting of arrays and objects a message may have: the same bound as the chunk path
 * (json-stream.ts maxDepth) and policy input (policy/cel.ts). Everything that walks a parsed
 * message (string leaves with their pointers, copy-on-write patches, canonical JSON digests)
 * costs more per level, some of it recursively: an upstream answer nested 100,000 deep pegged
 * the event loop for tens of seconds and then exhausted the heap.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Does the JSON text nest arrays/objects deeper than `max`? One pass, strings skipped with
 * indexOf; run before JSON.parse so a hostile document is refused before it is built. Text that
 * is not JSON may get either answer; the parse reports it.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: one preceded by an even number of backslashes.
      for (let q = text.indexOf('"', i + 1); ; q = text.indexOf('"', q + 1)) {
        if (q < 0) return false;
        let b = q - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if ((q - 1 - b) % 2 === 0) {
          i = q;
          break;
        }
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

export function parseBody(text: string): ParseBodyOutcome {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, reason: `nesting deeper than ${MAX_JSON_DEPTH} levels`, tooDeep: true };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (text.trim() === '') return { ok: false, reason: 'body is empty' };
    const detail = err instanceof Error ? err.message : '';
    if (detail.startsWith('Unexpected end of JSON input')) return { ok: false, reason: 'invalid JSON: unexpected end of input' };
    const at = /at position (\d+)/.exec(detail);
    return { ok: false, reason: at ? `invalid JSON at position ${at[1]}` : 'invalid JSON' };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { ok: false, reason: 'empty batch' };
    return { ok: true, batch: true, items: value };
  }
  return { ok: true, batch: false, items: [value] };
}

/** A JSON-RPC error response; `data` is omitted when undefined. */
export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcObject {
  const error: JsonRpcObject = { code, message };
  if (data !== undefined) error['data'] = data;
  return { jsonrpc: '2.0', id, error };
}


/**
 * MCP notifications are the `notifications/*` methods (schema: every ClientNotification). A
 * request method sent without an id is a JSON-RPC notification (§4.1) to the gateway, which
 * answers nothing and inspects it as such (policy and pinning judge requests), while an upstream
 * that dispatches on `method` first runs it: only notification methods may travel without an id.
 */
export function isNotificationMethod(method: string): boolean {
  return method.startsWith('notifications/');
}

/**
 * The first id shared by two requests (or two responses) of a batch, if any. JSON-RPC 2.0 §6:
 * the client matches the responses of a batch by id; MCP (basic/index, Requests): "The request
 * ID MUST NOT have been previously used by the requestor within the same session". Ids are
 * compared as text: an id 7 and an id "7" are one id to a receiver that normalises ids.
 */
export function duplicateBatchId(items: readonly Classified[]): JsonRpcId | undefined {
  const requests = new Set<string>();
  const responses = new Set<string>();
  for (const c of items) {
    if (c.id === undefined) continue;
    const seen = c.kind === 'request' ? requests : responses;
    const key = String(c.id);
    if (seen.has(key)) return c.id;
    seen.add(key);
  }
  return undefined;
}
