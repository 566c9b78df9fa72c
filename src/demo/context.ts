/**
 * What a method handler gets to see of the request it serves. The HTTP layer builds one per
 * JSON-RPC request; handlers stay transport-agnostic.
 */
import type { Era, Json } from './protocol.ts';

export interface CallContext {
  readonly era: Era;
  /** Negotiated (legacy) or per-request (modern) protocol version. */
  readonly version: string;
  /** Aborted on cancellation: legacy `notifications/cancelled`, modern client disconnect. */
  readonly signal: AbortSignal;
  readonly clientCapabilities: Json;
  /** `params._meta.progressToken` when the client opted in to progress. */
  readonly progressToken: string | number | undefined;
  /** Modern: `_meta["io.modelcontextprotocol/logLevel"]`; legacy: the session's `logging/setLevel`. */
  readonly logLevel: string | undefined;
  /** True when this request is answered as an SSE stream, so notifications can precede the result. */
  readonly streaming: boolean;
  /** Sends a notification on this request's own stream (dropped when not streaming). */
  notify(method: string, params: Json): void;
  /**
   * Legacy only: sends a server→client request on this request's SSE stream and resolves with the
   * client's POSTed answer (2025-11-25 transports: requests MAY precede the response and SHOULD
   * relate to the originating request).
   */
  ask(method: string, params: Json): Promise<Json>;
  /** Legacy only: sends on the session's standalone GET stream; false when none is open. */
  notifyStandalone(method: string, params: Json): boolean;
}

/** RFC 5424 severities as MCP logging uses them, least to most severe. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

/** Whether a message at `level` passes a client's chosen minimum. */
export function levelEnabled(min: string | undefined, level: string): boolean {
  if (min === undefined) return true;
  const m = (LOG_LEVELS as readonly string[]).indexOf(min);
  return m < 0 || (LOG_LEVELS as readonly string[]).indexOf(level) >= m;
}
