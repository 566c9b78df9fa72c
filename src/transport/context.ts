/**
 * What one HTTP exchange carries through the stages: the route, the session view, the client
 * request it is about (for correlating responses), and the shared gateway services.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReplayBudget } from '../session/event-store.ts';
import type { FindingMemory } from '../session/finding-memory.ts';
import type { TaskOwners } from '../session/task-owners.ts';
import type { ApprovalsConfig } from '../approval/config.ts';
import type { NonceStore } from '../approval/nonce-store.ts';
import type { ApprovalQueue } from '../approval/queue.ts';
import type { ApprovalStateSealer } from '../approval/sealed-state.ts';
import type { Classified, JsonRpcId } from '../codec/jsonrpc.ts';
import type { Config } from '../config/schema.ts';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import { inspectHead, type HeadResult } from '../pipeline/head.ts';
import { inspectFrame, type FrameResult, type InspectorOutcome } from '../pipeline/pipeline.ts';
import type { Direction, Era, ExchangeHead, FindingReport, Frame, InspectorContext, JsonRpcMessage, Principal, SessionView } from '../pipeline/types.ts';
import type { Route } from '../routing/route.ts';
import { RelayStream } from '../session/relay-stream.ts';
import type { AuditTap } from './audit-tap.ts';
import type { BodyDigest } from '../audit/body-digest.ts';
import { watchCredential } from './credential-watch.ts';
import { callerKey, type Session, type SessionStore } from '../session/sessions.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import type { Logger } from '../telemetry/logger.ts';

export interface ApprovalServices {
  readonly config: ApprovalsConfig;
  readonly queue: ApprovalQueue;
  readonly sealer: ApprovalStateSealer;
  readonly nonces: NonceStore;
  /** This replica's id, sealed into approval states (approval/replica.ts). */
  readonly replica: string;
  /** Version of the policy in force: sealed approval state is bound to it. */
  readonly policyVersion: string;
}

export interface GatewayServices {
  readonly config: Config;
  readonly sessions: SessionStore;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly approvals: ApprovalServices;
  /** Which caller created each task (transport/tasks.ts). */
  readonly tasks: TaskOwners;
  /** What each caller did and had found over time (`session.counters` for policy). */
  readonly memory: FindingMemory;
  /** The bound on replay text all streams keep together (session/event-store.ts). */
  readonly replayBudget: ReplayBudget;
  /** The audit trail, when enabled. */
  readonly audit?: AuditTap | undefined;
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly services: GatewayServices;
  readonly principal: Principal;
  /**
   * The socket's peer address, read when the exchange starts: Node forgets it once the socket
   * closes, and a 2025 stream is still inspected after its client left. Anonymous callers are
   * told apart by it (callerKey).
   */
  readonly clientAddress: string | undefined;
  era: Era;
  /**
   * What the request's headers said of its era (MCP-Protocol-Version, Mcp-Session-Id), until
   * the message itself settles it (classify-era.ts): the era of a request refused before it
   * was read, for its audit record and metrics. 'unknown' when the headers say nothing.
   */
  eraFromHeaders?: Era | 'unknown';
  protocolVersion: string;
  session: Session | undefined;
  /** The JSON-RPC method of the client's message (for metrics and logs), when known. */
  rpcMethod: string | undefined;
  /** 2025-03-26 batch: method of each request id, for correlating the responses. */
  batchMethods?: Map<JsonRpcId, string>;
  /** 2025-03-26 batch: its elements as the client sent them, and what the gateway made of each (audit). */
  batch?: BatchElement[];
  /** The client request this exchange carries, when it is one. */
  request: Frame | undefined;
  /**
   * The client's message once it is a valid JSON-RPC message, before any check of it: a record
   * of a call refused before it became `request` (a header mismatch, an unknown session) still
   * names its method, id and tool.
   */
  clientMessage?: Classified;
  /** Aborts the upstream request (client gone in the modern era, timeouts). */
  readonly abort: AbortController;
  readonly notes: Record<string, unknown>;
  frameSeq: number;
  /** A person approved this call (its upstream's input_required rounds are not asked again). */
  approved?: boolean;
  /** The answer may create or list tasks: it is read for their bindings (transport/tasks.ts). */
  tracksTasks?: boolean;
  /** Unique per exchange: correlates its audit records, logs and findings. */
  readonly id: string;
  /** ms since epoch. */
  readonly startedAt: number;
  /** Inspector outcomes of this exchange, in order (bounded; `outcomesDropped` counts the rest). */
  readonly outcomes: ExchangeOutcome[];
  outcomesDropped: number;
  /** The error put on the wire for this exchange, if any. */
  errorCode?: ErrorCode;
  /** What content inspectors found, by direction (bounded; for audit). */
  findings?: Array<FindingReport & { direction: Direction } & FrameTag>;
  /** The response message, when the gateway parsed it (its result is digested for audit). */
  response?: JsonRpcMessage;
  /** The bytes of a response body relayed unparsed (or on the chunk path), for its audit digest. */
  responseBody?: BodyDigest;
  /** The request as forwarded, when inspection changed it (redaction, an approved rewrite). */
  forwarded?: JsonRpcMessage;
  /**
   * The client's message was handed to the upstream (post.ts forward): the gateway let it
   * through, whatever became of it. Audit records content only of what was sent, and tells a
   * call refused before it went upstream from one that failed after.
   */
  upstreamSent?: boolean;
  /** The answer as the client got it (after redaction), when it was parsed. */
  responseForwarded?: JsonRpcMessage;
  /** Request body size (bytes). */
  bytesIn?: number;
}

/**
 * Which message an outcome or finding is about: the client message's frame, or the request a
 * server→client answer answers. Audit attributes a batch's decisions to its elements by it.
 */
export interface FrameTag {
  frameId?: string;
  answers?: JsonRpcId;
}

export type ExchangeOutcome = InspectorOutcome & FrameTag;

/** One element of a 2025-03-26 batch. */
export interface BatchElement {
  /** The element as the client sent it (not necessarily a valid message). */
  readonly message: unknown;
  /** Its client→server frame, once it was classified and inspected. */
  frameId?: string;
  /** The inspectors refused it (the whole batch was refused): their reasons. */
  refused?: readonly string[];
}

const MAX_FINDINGS = 256;

/** Outcomes kept per exchange for audit; a long stream's later ones are only counted. */
const MAX_OUTCOMES = 64;

/**
 * Which param names a method's target (what method-deny rules and policy match as
 * `method:target`). By method, never "the first of name or uri": a `resources/read` that also
 * carries a decoy `name` must be judged by the `uri` the upstream reads.
 */
export const TARGET_PARAM: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
  'notifications/resources/updated': 'uri',
};

export function targetOf(message: JsonRpcMessage): string | undefined {
  const params = message['params'];
  if (typeof params !== 'object' || params === null) return undefined;
  const p = params as Record<string, unknown>;
  const key = TARGET_PARAM[String(message['method'])];
  if (key !== undefined) return typeof p[key] === 'string' ? p[key] : undefined;
  // Other methods (extensions): whichever they carry, name first.
  if (typeof p['name'] === 'string') return p['name'];
  return typeof p['uri'] === 'string' ? p['uri'] : undefined;
}

export function makeFrame(
  ex: Exchange,
  direction: Direction,
  c: Classified,
  method: string,
  carrier: Frame['carrier'],
): Frame {
  return {
    id: `${direction}-${ex.frameSeq++}`,
    direction,
    kind: c.kind,
    method,
    rpcId: c.id,
    target: c.kind === 'request' || c.kind === 'notification' ? targetOf(c.message) : ex.request?.target,
    message: c.message,
    carrier,
  };
}

export function sessionView(ex: Exchange): SessionView {
  const s = ex.session;
  return {
    era: ex.era,
    protocolVersion: ex.protocolVersion,
    sessionId: s?.id,
    principal: ex.principal,
    clientAddress: ex.clientAddress,
    clientInfo: s?.clientInfo,
    counters: s?.counters,
  };
}

/** The tag of a frame: a client message by its frame id, an answer by the request it answers. */
function frameTag(frame: Frame | undefined): FrameTag {
  if (!frame) return {};
  if (frame.direction === 'c2s') return { frameId: frame.id };
  return (frame.kind === 'result' || frame.kind === 'error') && frame.rpcId !== undefined ? { answers: frame.rpcId } : {};
}

export function inspectorContext(ex: Exchange, direction: Direction, frame?: Frame): InspectorContext {
  const tag = frameTag(frame);
  return {
    session: sessionView(ex),
    route: ex.route.name,
    request: direction === 's2c' ? ex.request : undefined,
    signal: ex.abort.signal,
    note: (key, value) => {
      ex.notes[key] = value;
    },
    finding: (f) => {
      const list = (ex.findings ??= []);
      if (list.length < MAX_FINDINGS) list.push({ ...f, direction, ...tag });
    },
  };
}

export function observer(ex: Exchange, frame?: Frame): (o: InspectorOutcome) => void {
  const m = ex.services.metrics;
  const tag = frameTag(frame);
  return (o) => {
    m.countVerdict(o.inspector, { kind: o.verdict === 'pass' ? 'allow' : o.verdict, reasons: o.reasons });
    m.observeInspector(o.inspector, o.ms / 1000);
    if (ex.outcomes.length < MAX_OUTCOMES) ex.outcomes.push(tag.frameId !== undefined || tag.answers !== undefined ? { ...o, ...tag } : o);
    else ex.outcomesDropped++;
  };
}

/** Runs one frame through the route's plan. Returns undefined when no inspector wants it. */
export async function inspect(ex: Exchange, frame: Frame): Promise<FrameResult | undefined> {
  const hasMethod = frame.kind === 'request' || frame.kind === 'notification';
  const plan = ex.route.plan.plan(frame.direction, hasMethod, frame.method);
  if (plan.inspectors.length === 0) return undefined;
  const result = await inspectFrame(plan.inspectors, frame, inspectorContext(ex, frame.direction, frame), ex.route.cfg.inspectorTimeoutMs, observer(ex, frame));
  logVerdict(ex, frame, 'message', result);
  return result;
}

/**
 * The head phase for one client→server message (see pipeline/head.ts). Returns undefined when no
 * head inspector wants its method.
 */
export async function inspectExchangeHead(ex: Exchange, frame: Frame): Promise<HeadResult | undefined> {
  const inspectors = ex.route.plan.head(frame.kind === 'request' || frame.kind === 'notification', frame.method);
  if (inspectors.length === 0) return undefined;
  const result = await inspectHead(inspectors, exchangeHead(ex, frame), inspectorContext(ex, 'c2s', frame), ex.route.cfg.inspectorTimeoutMs, observer(ex, frame));
  logVerdict(ex, frame, 'head', result);
  return result;
}

/** Every decision that says something is logged: refusals, rewrites, and allows with reasons
 *  (policy warnings, dry-run would-be decisions). */
function logVerdict(ex: Exchange, frame: Frame, phase: 'head' | 'message', result: Pick<FrameResult, 'verdict' | 'outcomes'>): void {
  if (result.verdict.kind !== 'allow' || (result.verdict.reasons?.length ?? 0) > 0 || result.outcomes.some((o) => o.reasons.length > 0)) {
    ex.services.logger.info(
      { route: ex.route.name, direction: frame.direction, phase, method: frame.method, verdict: result.verdict.kind, reasons: result.verdict.reasons ?? result.outcomes.flatMap((o) => o.reasons) },
      'inspection verdict',
    );
  }
}

/** Client headers a head inspector never sees: credentials (the principal stands for them). */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'] as const;

export function exchangeHead(ex: Exchange, frame: Frame): ExchangeHead {
  const headers = { ...ex.req.headers };
  for (const h of CREDENTIAL_HEADERS) delete headers[h];
  const keyHeader = ex.route.cfg.auth.apiKeys?.header;
  if (keyHeader) delete headers[keyHeader.toLowerCase()];
  const url = ex.req.url ?? '';
  const q = url.indexOf('?');
  return {
    httpMethod: ex.req.method ?? 'POST',
    path: q < 0 ? url : url.slice(0, q),
    headers,
    remoteAddress: ex.clientAddress,
    kind: frame.kind,
    method: frame.method,
    rpcId: frame.rpcId,
    target: frame.target,
  };
}

export function rpcIdOf(c: Classified): JsonRpcId | null {
  return c.id ?? null;
}

/** One value of a client request header (the first, if repeated). */
export function requestHeader(ex: Exchange, name: string): string | undefined {
  const v = ex.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A client-facing stream for this exchange, registered in its session so Last-Event-ID can find
 * it. Resumable only in a 2025 session; modern streams end with their connection.
 */
/**
 * Streams one 2025 session holds at most. Each keeps a replay buffer (up to
 * `streams.eventReplayBytes`) while its client is away: a client must not multiply that by
 * opening streams and walking off. At the cap, the oldest stream no client is attached to is
 * dropped; with every one attached, the new stream is refused.
 */
const MAX_STREAMS_PER_SESSION = 16;

export function openRelayStream(ex: Exchange, prefix: 'p' | 'g'): RelayStream {
  const cfg = ex.services.config;
  const session = ex.session;
  if (session && session.streams.size >= MAX_STREAMS_PER_SESSION) {
    const detached = [...session.streams.values()].find((s) => !s.attached);
    if (!detached) throw new GatewayError('session_limit', `at most ${MAX_STREAMS_PER_SESSION} streams open in one session`);
    detached.end('cut', 'stream_limit');
    detached.abortUpstream?.();
    detached.close();
  }
  const id = session ? `${prefix}${session.nextStream++}` : prefix;
  const stream = new RelayStream({
    id,
    resumable: ex.era === 'legacy' && session !== undefined,
    capacity: cfg.streams.eventReplayBuffer,
    capacityBytes: cfg.streams.eventReplayBytes,
    budget: ex.services.replayBudget,
    caller: callerKey(ex.principal, ex.clientAddress),
    keepAliveMs: cfg.streams.keepAliveMs,
    detachedTtlMs: Math.min(cfg.sessions.idleTtlMs, 300_000),
    onEmit: (text, seq) => audit?.onEmit(text, seq),
    onEmitStreamed: (seq, bytes) => audit?.onEmitStreamed(seq, bytes),
    onClose: () => {
      session?.streams.delete(id);
      stopWatch();
      audit?.onClose();
    },
  });
  const audit = ex.services.audit?.watchStream(ex, stream);
  const stopWatch = watchCredential(ex, stream);
  session?.streams.set(id, stream);
  return stream;
}
