/**
 * What the data path knows about an exchange, in its own terms: the plain typed input of the
 * record builders (record.ts). The gateway fills these; it never needs to know OCSF.
 *
 * Raw values (arguments, results, stream messages) are accepted only to be digested; the
 * `redacted` fields carry content that has already been through redaction and are recorded only
 * when `includeContent` is 'redacted'. Nothing here may hold a credential: principals carry a
 * keyed `credentialId`, never a token.
 */
import type { JsonRpcId, MessageKind } from '../codec/jsonrpc.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { Direction, Era, Principal, Verdict } from '../pipeline/types.ts';

export interface ClientFacts {
  /** Self-reported clientInfo name/version (legacy initialize). */
  name?: string;
  version?: string;
  address?: string;
  userAgent?: string;
}

export interface TargetFacts {
  type: 'tool' | 'resource' | 'prompt';
  /** Tool or prompt name, or resource URI. */
  name: string;
}

/** What stays the same for every record of one exchange; build it once per exchange. */
export interface ExchangeContext {
  /** Unique per exchange; becomes `metadata.correlation_uid` on all its records. */
  exchangeId: string;
  principal: Principal;
  client?: ClientFacts;
  route: string;
  upstream?: { name?: string; url?: string };
  /** 'unknown': refused before its message was read, and its headers did not say. */
  era: Era | 'unknown';
  protocolVersion?: string;
  /** Stored as a keyed digest: a 2025-era session id lets its holder act in the session. */
  sessionId?: string;
  /** JSON-RPC method of the client request. */
  method: string;
  rpcId?: JsonRpcId;
  target?: TargetFacts;
  policyVersion?: string;
}

/**
 * The pipeline's verdicts, and `error`: refused before it went upstream, but not by a control of
 * the gateway (malformed, unsupported, too large, the client gone mid-upload, a check that could
 * not be made). A refusal by a control is `block`.
 */
export type VerdictKind = Verdict['kind'] | 'error';

export interface InspectorFacts {
  name: string;
  /** 'pass' is a chunk verdict (streamed leaves). */
  verdict: VerdictKind | 'pass';
  reasons?: readonly string[];
  durationMs?: number;
  /** The inspector threw or timed out (its verdict is what its failure policy made of it). */
  failed?: boolean;
  direction?: Direction;
}

export interface ApprovalFacts {
  /** `cancelled`: the client left while it waited; `withdrawn`: the gateway stopped. The call was not run. */
  outcome: 'pending' | 'approved' | 'denied' | 'timeout' | 'cancelled' | 'withdrawn';
  channel?: 'elicitation' | 'queue' | 'input-required' | string;
  /** Who decided (operator name); never a token. */
  by?: string;
}

/** The decision on one exchange (a request and, when it completed, its response). */
export interface ExchangeFacts extends ExchangeContext {
  /** Start of the exchange (ms since epoch). */
  time: number;
  endTime?: number;
  /** The folded verdict that took effect. */
  verdict: VerdictKind;
  reasons?: readonly string[];
  /** The error put on the wire when the call was refused or failed. */
  errorCode?: ErrorCode;
  inspectors?: readonly InspectorFacts[];
  /** Inspector outcomes not kept (a long exchange keeps the first ones and counts the rest). */
  inspectorsDropped?: number;
  approval?: ApprovalFacts;
  /** DLP finding types seen in this exchange (the details go in Data Security Findings). */
  findingTypes?: readonly string[];
  /** Raw arguments and result: only their keyed digests are recorded. */
  arguments?: unknown;
  result?: unknown;
  /** The response body as relayed unparsed (pass-through): digested as bytes (`result_bytes`). */
  resultBytes?: readonly Uint8Array[];
  /** The same digest, made as a large body passed (body-digest.ts): recorded as it is. */
  resultBytesDigest?: string;
  /** Already-redacted content, recorded only when `includeContent` is 'redacted'. */
  redacted?: { arguments?: unknown; result?: unknown };
  bytes?: { request?: number; response?: number };
  /** The HTTP status the client was sent, when one was (the upstream's, relayed, or the gateway's). */
  upstreamStatus?: number;
  /** The client did not get the whole answer. `bytes.response` is what reached it. */
  partial?: boolean;
  /**
   * Why, when no error code says it: 'client-disconnect' (the client left: status Cancelled) or
   * the gateway's reason, e.g. 'shutdown' (status Failure).
   */
  cause?: string;
  /**
   * One of the records of a 2025-03-26 batch (they share the exchange id): `size` elements in
   * all, `elements` of them with this record's method, target and outcome, the first of their
   * ids; `unrecorded`: elements in none of the batch's records (past the per-batch cap).
   */
  batch?: { size: number; elements: number; ids: readonly JsonRpcId[]; unrecorded?: number };
  /** Notes inspectors attached (`ctx.note`); keep them free of secrets. */
  notes?: Readonly<Record<string, unknown>>;
}

export type StreamEnd = 'completed' | 'cancelled' | 'cut' | 'failed';

export interface StreamEventFacts {
  context: ExchangeContext;
  time: number;
  streamId: string;
  /**
   * 'opened' when the first byte goes to the client, 'segment' for one or more events as they
   * pass (record every event, or batch them: `count`), 'closed' when the stream ends any way.
   */
  phase: 'opened' | 'segment' | 'closed';
  transport?: 'sse' | 'json';
  // segment
  firstIndex?: number;
  count?: number;
  lastEventId?: string;
  eventKinds?: readonly MessageKind[];
  eventMethods?: readonly string[];
  bytes?: number;
  /** The messages of the segment: digested, never stored. */
  messages?: unknown;
  redacted?: unknown;
  verdict?: VerdictKind;
  reasons?: readonly string[];
  // closed
  end?: StreamEnd;
  /** Why it ended early, e.g. 'client-disconnect', 'policy/...', 'credential_expired'. */
  cause?: string;
  /** What reached the client: with `end` != 'completed' or `partial` this is the partial record. */
  sent?: { events: number; bytes: number; lastEventId?: string };
  /** What the stream carried, when more than reached the client (a 2025 client left, never resumed). */
  produced?: { events: number; bytes: number };
  /** The client did not receive the whole stream, whatever `end` says of the upstream side. */
  partial?: boolean;
  received?: { events: number; bytes: number };
  durationMs?: number;
}

export interface FindingLocation {
  /** Finding type, e.g. 'aws-access-key' (the redact pattern or detector name). */
  type: string;
  /** RFC 6901 JSON pointer into the message. */
  pointer: string;
  /** UTF-16 offsets in the string leaf. */
  start?: number;
  end?: number;
  /** Keyed fingerprint of the matched value (never the value). */
  fingerprint?: string;
}

export interface FindingFacts {
  context: ExchangeContext;
  time: number;
  inspector: string;
  direction: Direction;
  frameId?: string;
  action: 'redacted' | 'blocked' | 'observed';
  findings: readonly FindingLocation[];
}

export interface AuthFacts {
  time: number;
  outcome: 'success' | 'failure';
  /** 'jwt', 'introspection', 'api-key', 'mtls', 'none'. */
  method: string;
  principal?: Principal;
  /** Failure reason as a stable code, e.g. 'invalid_token'. */
  reason?: string;
  route: string;
  client?: ClientFacts;
  activity?: 'logon' | 'logoff';
  correlationId?: string;
}

/**
 * A request refused at the HTTP edge before it reached a route's pipeline: a browser Origin or a
 * Host outside the allow lists (DNS rebinding, MCP transports §Security Warning).
 */
export interface RefusalFacts {
  time: number;
  /** Stable error code (core/errors.ts), e.g. 'origin_forbidden'. */
  code: string;
  /** HTTP status sent. */
  status: number;
  httpMethod: string;
  /** Request path, without the query string. */
  path: string;
  origin?: string;
  host?: string;
  client?: ClientFacts;
}

export interface Control {
  name: string;
  detail: string;
}

export interface LifecycleFacts {
  time: number;
  activity: 'start' | 'stop' | 'reload';
  policyVersion?: string;
  /** Digest of the effective configuration (never the configuration, which holds secrets). */
  configDigest?: string;
  /** The controls in force, for the evidence report. */
  controls?: readonly Control[];
  message?: string;
}
