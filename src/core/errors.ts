/**
 * The one table of stable error codes.
 *
 * Every error the gateway puts on the wire comes from this table: an HTTP status, a JSON-RPC
 * error code and a fixed message. The `code` string is the stable key used in logs, metrics and
 * audit records; clients see `data.code` with it.
 *
 * JSON-RPC code ranges (why the gateway's own codes are where they are):
 * - -32700 and -32600…-32603 are JSON-RPC 2.0's predefined errors.
 * - -32020…-32099 are reserved by MCP 2026-07-28 ("Implementations MUST NOT emit any code from
 *   this sub-range that is not defined by this specification"); we emit only the defined ones
 *   (-32020 HeaderMismatch, -32021 MissingRequiredClientCapability, -32022
 *   UnsupportedProtocolVersion).
 * - -32000…-32019 are "legacy or implementation-defined, new implementations SHOULD NOT use them".
 * - So the gateway's own decisions use -31000…-31099, outside the JSON-RPC reserved block
 *   (-32768…-32000), which JSON-RPC 2.0 leaves to the application.
 */

export interface ErrorSpec {
  /** HTTP status when the error answers an HTTP request as a whole. */
  readonly status: number;
  /** JSON-RPC error code. */
  readonly rpc: number;
  /** Human message; stable, never contains request data. */
  readonly message: string;
}

export const ERRORS = {
  // JSON-RPC 2.0 predefined.
  parse_error: { status: 400, rpc: -32700, message: 'Parse error: the body is not valid JSON' },
  invalid_request: { status: 400, rpc: -32600, message: 'Invalid Request' },
  method_not_found: { status: 404, rpc: -32601, message: 'Method not found' },
  invalid_params: { status: 400, rpc: -32602, message: 'Invalid params' },
  // MCP 2026-07-28 defined codes.
  header_mismatch: { status: 400, rpc: -32020, message: 'Header mismatch' },
  missing_client_capability: { status: 400, rpc: -32021, message: 'Missing required client capability' },
  unsupported_protocol_version: { status: 400, rpc: -32022, message: 'Unsupported protocol version' },
  // HTTP-level refusals, before any JSON-RPC is read (JSON-RPC body without id).
  origin_forbidden: { status: 403, rpc: -31001, message: 'Origin not allowed' },
  host_forbidden: { status: 403, rpc: -31002, message: 'Host not allowed' },
  unsupported_media_type: { status: 415, rpc: -31003, message: 'Content-Type must be application/json' },
  not_acceptable: { status: 406, rpc: -31004, message: 'Accept must list application/json and text/event-stream' },
  body_too_large: { status: 413, rpc: -31005, message: 'Request body too large' },
  method_not_allowed: { status: 405, rpc: -31006, message: 'HTTP method not allowed' },
  not_found: { status: 404, rpc: -31007, message: 'No MCP endpoint at this path' },
  headers_too_large: { status: 431, rpc: -31008, message: 'Request headers too large' },
  unauthenticated: { status: 401, rpc: -31009, message: 'Authentication required' },
  // Identity and access (RFC 6750 §3.1 error names in the detail / WWW-Authenticate).
  invalid_token: { status: 401, rpc: -31040, message: 'Invalid or expired access token' },
  insufficient_scope: { status: 403, rpc: -31041, message: 'Insufficient scope' },
  credential_expired: { status: 401, rpc: -31042, message: 'Credential expired or revoked during the stream' },
  policy_denied: { status: 403, rpc: -31043, message: 'Denied by policy' },
  rate_limited: { status: 429, rpc: -31044, message: 'Rate limit exceeded' },
  approval_denied: { status: 403, rpc: -31045, message: 'Approval denied' },
  approval_timeout: { status: 403, rpc: -31046, message: 'Approval timed out' },
  approval_state_invalid: { status: 400, rpc: -31047, message: 'Invalid or replayed approval state' },
  upstream_auth_failed: { status: 502, rpc: -31048, message: 'Could not obtain upstream credentials' },
  // Audit (fail-closed posture: a call that could not be recorded is not made).
  audit_unavailable: { status: 503, rpc: -31050, message: 'Audit trail unavailable: calls are refused until it recovers' },
  // Sessions (2025 era).
  session_required: { status: 400, rpc: -31010, message: 'Mcp-Session-Id header required' },
  session_not_found: { status: 404, rpc: -31011, message: 'Session not found' },
  batch_not_allowed: { status: 400, rpc: -31012, message: 'JSON-RPC batches are only allowed for protocol 2025-03-26' },
  resume_not_found: { status: 404, rpc: -31013, message: 'Unknown Last-Event-ID for this session' },
  session_limit: { status: 429, rpc: -31014, message: 'Too many open sessions for this caller' },
  // A task is bound to the caller that created it (MCP 2025-11-25 tasks, Security): another
  // caller's task is answered like one that does not exist.
  // Always answered in-band (a JSON-RPC error, HTTP 200); were a status ever the answer, 400, not
  // 404: a 2025 client reads a 404 to its session's POST as the session's end.
  task_not_found: { status: 400, rpc: -31015, message: 'Task not found' },
  // Inspection pipeline.
  blocked: { status: 403, rpc: -31020, message: 'Blocked by gateway policy' },
  inspector_failed: { status: 503, rpc: -31021, message: 'Blocked: an inspector failed (fail closed)' },
  message_too_large: { status: 413, rpc: -31022, message: 'Message exceeds the inspection limit' },
  approval_required: { status: 403, rpc: -31023, message: 'Human approval required' },
  // Parser differentials: the gateway forwards the client's bytes after judging its own parse of
  // them, so input another parser could read differently is refused, never passed on.
  unsupported_charset: { status: 415, rpc: -31060, message: 'Content-Type charset must be utf-8' },
  ambiguous_json: { status: 400, rpc: -31061, message: 'Ambiguous JSON member names' },
  duplicate_request_id: { status: 400, rpc: -31062, message: 'Duplicate id in a JSON-RPC batch' },
  request_as_notification: { status: 400, rpc: -31063, message: 'Only notifications/* methods may be sent without an id' },
  // Upstream.
  upstream_unavailable: { status: 502, rpc: -31030, message: 'Upstream unavailable' },
  upstream_timeout: { status: 504, rpc: -31031, message: 'Upstream timed out' },
  upstream_protocol: { status: 502, rpc: -31032, message: 'Upstream sent an invalid response' },
  upstream_event_too_large: { status: 502, rpc: -31033, message: 'Upstream event exceeds the size limit' },
  idle_timeout: { status: 504, rpc: -31034, message: 'Stream idle timeout' },
  // The client left before its request arrived in full (a cut upload). Nobody is left to send it
  // to: it is the stable code of logs, metrics and the audit record (nginx's 499 for the status).
  client_closed: { status: 499, rpc: -31096, message: 'Client closed the request' },
  not_ready: { status: 503, rpc: -31097, message: 'Gateway starting' },
  auth_unavailable: { status: 503, rpc: -31098, message: 'Authorization server unavailable' },
  // Last resort.
  internal: { status: 500, rpc: -31099, message: 'Internal gateway error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * A local error carrying a stable code. It never goes on the wire as-is: `toRpcError` maps it
 * through the table, so no stack trace or internal detail leaks to a client.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  /** Safe, client-visible detail (never secrets, never raw request data). */
  readonly detail: string | undefined;
  /** Extra JSON-RPC `data` fields (e.g. `supported` for -32022). */
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, data?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.detail = detail;
    this.data = data;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

export function rpcError(code: ErrorCode, detail?: string, data?: Record<string, unknown>): RpcErrorObject {
  const spec = ERRORS[code];
  return {
    code: spec.rpc,
    message: detail ? `${spec.message}: ${detail}` : spec.message,
    data: { code, ...data },
  };
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('internal', undefined, undefined, { cause: err });
}
