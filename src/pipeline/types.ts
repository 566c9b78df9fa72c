/**
 * The one extension point for security logic: the Inspector.
 *
 * An inspector sees Frames (one JSON-RPC message each) flowing client→server (c2s) and
 * server→client (s2c), and answers each with an explicit Verdict. Identity, policy, DLP, audit
 * and approval are all inspectors; the transport code never makes security decisions itself.
 */
import type { JsonRpcId, MessageKind } from '../codec/jsonrpc.ts';
import type { ErrorCode } from '../core/errors.ts';

export type Direction = 'c2s' | 's2c';
/** Which directions of a method an inspector wants to see. */
export type Phase = 'off' | 'request' | 'response' | 'both';
/** `<family>/<detail>`, e.g. `dlp/aws-access-key`, `policy/tool-denied`. */
export type Reason = `${string}/${string}`;
export type Era = 'legacy' | 'modern';

export type JsonRpcMessage = Record<string, unknown>;

export interface Frame {
  /** Unique within the exchange, for audit correlation. */
  readonly id: string;
  readonly direction: Direction;
  readonly kind: MessageKind;
  /** For results and errors: the method of the correlated request ('' when unknown). */
  readonly method: string;
  readonly rpcId: JsonRpcId | undefined;
  /** Tool, prompt or resource the message is about (params.name / params.uri), when any. */
  readonly target: string | undefined;
  readonly message: Readonly<JsonRpcMessage>;
  readonly carrier: { transport: 'json' | 'sse'; sseEventId?: string; bytes: number };
}

/**
 * A piece of one oversized string leaf, streamed through the chunk path; or, with `number`, one
 * JSON number token of it, whole (only to inspectors whose `readsNumber` asks for it).
 */
export interface Chunk {
  readonly frameId: string;
  readonly direction: Direction;
  readonly method: string;
  readonly pointer: string;
  readonly text: string;
  readonly offset: number;
  readonly end: boolean;
  /** A number token (RFC 8259 §6) as it came; an `emit` replaces it with that text, as a JSON string. */
  readonly number?: true;
}

/** Replace `[start, end)` of the string leaf at `pointer` (UTF-16 offsets) with `replacement`. */
export interface Patch {
  pointer: string;
  start: number;
  end: number;
  replacement: string;
}

/**
 * Stream continuity, for inspectors that look across consecutive SSE events of one stream (a
 * secret split across several events). Ignored outside SSE streams.
 *
 * The relay keeps a bounded queue of held events (pipeline/held-events.ts; transport/relay-sse.ts):
 * events always go out in order, so the held ones are the last events of the stream before the
 * current one, each named by its frame id (`Frame.id`, unique within the exchange).
 *
 * - `holdMs`: keep THIS event back until the next one has been inspected, at most that long after
 *   it arrived (on a quiet stream).
 * - `keepHeld`: frame ids of events held before this one that must stay held with it (their part
 *   of a match may still need amending). Every held event before the oldest one listed goes out
 *   now; without `keepHeld` (or when this event is not held) every held event goes out, amended,
 *   before this one: the two-event behaviour.
 * - `amendHeld`: patches to held events, by frame id, in the offsets of each event as it was held
 *   (with the patches of its own inspection in); they accumulate until the event goes out (also on
 *   a block: the parts of what was blocked that held events carry are cut out of them). A patch
 *   for an event that already went out (its hold expired) is noted (`dlp_split_sent`).
 * - `amendPrevious`: patches to the held event just before this one (the most recent held), the
 *   two-event form of `amendHeld`.
 */
export interface StreamHints {
  holdMs?: number;
  keepHeld?: string[];
  amendHeld?: HeldAmend[];
  amendPrevious?: Patch[];
}

/** Patches for one held SSE event (StreamHints). */
export interface HeldAmend {
  /** The held event's frame id. */
  frame: string;
  patches: Patch[];
}

/**
 * The relay holds at most this many events, and this many characters of their text (always at
 * least the newest one): bounds on memory and delay whatever the inspectors ask. An event pushed
 * out by them goes out unamended, like one whose hold expired.
 */
export const HELD_EVENTS_MAX = 64;
export const HELD_CHARS_MAX = 1 << 20;
/**
 * An event kept held by later events of the same run waits as long as pieces keep coming within
 * the hold of one another, but never longer than this after its own arrival (or its own hold,
 * if longer): the bound on the delay a run adds.
 */
export const HELD_RUN_MAX_MS = 2_000;

export type Verdict =
  | ({ kind: 'allow'; reasons?: Reason[] } & StreamHints)
  | ({ kind: 'redact'; patches: Patch[]; reasons: Reason[] } & StreamHints)
  /**
   * Replace the message as a whole: for edits string patches cannot express, such as removing
   * the tools a caller may not see from a tools/list result. Folds like a redaction.
   */
  | { kind: 'rewrite'; message: JsonRpcMessage; reasons: Reason[] }
  /**
   * `code` picks the error from the table (default `blocked`), e.g. `policy_denied` or
   * `rate_limited`; `retryAfterMs` becomes `Retry-After` and `data.retryAfterMs`.
   */
  | ({ kind: 'block'; reasons: Reason[]; message?: string; code?: ErrorCode; retryAfterMs?: number } & Pick<StreamHints, 'amendPrevious' | 'amendHeld'>)
  /**
   * `describe`: the summary describes the call (policy/inspector.ts describeCall): the approval
   * step describes it again from the message as it will be forwarded, after every inspector
   * (a later DLP may have masked a secret in the arguments the summary quoted).
   */
  | { kind: 'require-approval'; reasons: Reason[]; summary: string; ttlMs: number; describe?: { subject: string; why?: string } };

/**
 * The answer to one chunk. `emit` is the text to forward now (undefined = the chunk unchanged);
 * an inspector that holds back a window returns a shorter `emit` and releases the held text with
 * a later chunk (it must release everything when `end` is true).
 */
/**
 * A verdict on one piece of an oversized message. On a streamed SSE answer (the SSE chunk path),
 * `amendHeld` patches events held before it (as StreamHints does), and `settlesHeld` says the
 * inspector is done with them: the relay may send them, amended, ahead of the answer
 * (inspectors/dlp-stream-lead.ts, transport/relay-sse-streamed.ts). Ignored elsewhere.
 */
export type ChunkVerdict =
  | { kind: 'pass'; emit?: string; reasons?: Reason[]; amendHeld?: HeldAmend[]; settlesHeld?: true }
  | { kind: 'block'; reasons: Reason[]; message?: string; amendHeld?: HeldAmend[] };

export type Awaitable<T> = T | Promise<T>;

export interface SessionView {
  readonly era: Era;
  readonly protocolVersion: string;
  /** Gateway-issued session id (legacy era) or undefined (modern era is stateless). */
  readonly sessionId: string | undefined;
  readonly principal: Principal;
  /**
   * The client's address as the gateway saw it (socket peer, never a forwarded header). With the
   * principal it names the caller for per-caller state: `callerKey` in session/sessions.ts.
   */
  readonly clientAddress?: string | undefined;
  /** What the client said about itself (legacy: initialize clientInfo). Self-reported. */
  readonly clientInfo?: { readonly name?: string; readonly version?: string } | undefined;
  /** Per-session counters (legacy session) that policy can read and inspectors may bump. */
  readonly counters?: Map<string, number> | undefined;
}

export interface Principal {
  /** Stable subject, 'anonymous' when the route needs no authentication. */
  readonly subject: string;
  /** How the caller proved it: 'none', 'jwt', 'introspection', 'api-key', 'mtls'. */
  readonly method: string;
  /** Token issuer (JWT `iss` / introspection `iss`), when any. */
  readonly issuer?: string;
  /** OAuth client the token was issued to (`client_id` / `azp`), when known. */
  readonly clientId?: string;
  /** Granted scopes (RFC 8693 §4.2 `scope`, space-separated in tokens). */
  readonly scopes?: readonly string[];
  /** Verified claims (JWT payload or introspection response), for policy. Never the raw token. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** When the credential stops being valid (ms since epoch); streams end then (continuous validation). */
  readonly expiresAt?: number;
  /**
   * A keyed digest identifying the credential (never the credential itself): lets the gateway
   * re-check revocation during long streams and lets audit correlate calls made with one token.
   */
  readonly credentialId?: string;
}

/**
 * What the head phase sees: the envelope of one client→server message, once per exchange (per
 * element of a 2025-03-26 batch), after routing, authentication and era classification and
 * before any inspector reads the body or anything goes upstream. Who is calling and in which
 * session is `ctx.session`. Not the arguments: reading those is the message phase's job.
 */
export interface ExchangeHead {
  readonly httpMethod: string;
  /** The request path, without the query string (which may carry credentials). */
  readonly path: string;
  /** Client request headers minus credentials (Authorization, Cookie, the API-key header). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly remoteAddress: string | undefined;
  readonly kind: MessageKind;
  /** The message's method; for a client's answer, the method of the server request it answers. */
  readonly method: string;
  readonly rpcId: JsonRpcId | undefined;
  /** Tool, prompt or resource the message is about (params.name / params.uri), when any. */
  readonly target: string | undefined;
}

export interface InspectorContext {
  readonly session: SessionView;
  readonly route: string;
  /** For s2c frames: the client request this message answers or relates to, when known. */
  readonly request: Frame | undefined;
  readonly signal: AbortSignal;
  /** Attach a note to the exchange (surfaces in audit). */
  note(key: string, value: unknown): void;
  /** Report what a content inspector found (audit Data Security Finding): never the value itself. */
  finding?(f: FindingReport): void;
}

export interface FindingReport {
  inspector: string;
  /** Finding type, e.g. `aws-access-key`. */
  type: string;
  /** RFC 6901 pointer to the string leaf in the message. */
  pointer: string;
  /** UTF-16 offsets in the leaf, when known. */
  start?: number;
  end?: number;
  action: 'redacted' | 'blocked' | 'observed';
  /**
   * Keyed fingerprint of the matched value (detectors `fingerprint`: HMAC with the audit digest
   * key): the same secret seen twice fingerprints alike, and a key holder can test a candidate,
   * but the value cannot be read back.
   */
  fingerprint?: string;
}

export interface Inspector {
  readonly name: string;
  /** Method pattern → phase. Patterns: exact method, `prefix/*`, or `*`. */
  readonly methods: Readonly<Record<string, Phase>>;
  /**
   * Drives buffering (RoutePlan checks it against the hooks): `head` = onExchange only, the
   * messages stream through unread; `message` = whole messages are buffered for onMessage (an
   * oversized one is refused even if the inspector has onChunk); `stream` = has onChunk, so an
   * oversized message takes the chunk path.
   */
  readonly needs: 'head' | 'message' | 'stream';
  /** A throw or timeout blocks by default (fail closed). */
  readonly onFailure: 'closed' | 'open';
  onExchange?(head: ExchangeHead, ctx: InspectorContext): Awaitable<Verdict>;
  onMessage?(frame: Frame, ctx: InspectorContext): Awaitable<Verdict>;
  onChunk?(chunk: Chunk, ctx: InspectorContext): Awaitable<ChunkVerdict>;
  /**
   * On the chunk path, numbers go to onChunk only when this says so for the token's text (most
   * numbers interest no inspector: asking first keeps a message of a million numbers cheap).
   */
  readsNumber?(text: string): boolean;
  /**
   * It may hold SSE events back (StreamHints) and, on a streamed answer, joins them to the
   * answer's first text before they go: the relay lets them go once every such inspector of the
   * route has said so (ChunkVerdict `settlesHeld`), not at the first.
   */
  readonly joinsHeld?: true;
}

export const ALLOW: Verdict = Object.freeze({ kind: 'allow' }) as Verdict;
