/**
 * What an exchange's audit record says, from the facts the exchange holds: its verdict (a
 * control's refusal vs another refusal), its target, the groups a 2025-03-26 batch is recorded
 * as, and client-controlled strings capped so no client can inflate every record it causes.
 * Pure helpers of audit-tap.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { ApprovalFacts, TargetFacts, VerdictKind } from '../audit/facts.ts';
import type { JsonRpcId } from '../codec/jsonrpc.ts';
import type { ErrorCode } from '../core/errors.ts';
import { TARGET_PARAM, type BatchElement, type Exchange, type ExchangeOutcome } from './context.ts';

/** How the caller tried to authenticate, from what it presented (before any was verified). */
export function attemptedMethod(req: IncomingMessage, apiKeyHeader: string | undefined): string {
  if (typeof req.headers.authorization === 'string') return /^bearer\s/i.test(req.headers.authorization) ? 'bearer' : 'authorization';
  if (apiKeyHeader !== undefined && req.headers[apiKeyHeader.toLowerCase()] !== undefined) return 'api-key';
  const socket = req.socket as { getPeerCertificate?: () => { subject?: unknown } };
  if (typeof socket.getPeerCertificate === 'function' && socket.getPeerCertificate()?.subject) return 'mtls';
  return 'none';
}

/**
 * Longest client-chosen string kept in a record: self-reported client name and version, User-
 * Agent, JSON-RPC method and id, protocol version, Origin and Host, reasons. Each is copied into
 * a record (a 2025 session's clientInfo into every record of the session): unbounded, one
 * request could make every record megabytes.
 */
export const MAX_CLIENT_FIELD = 256;
/** Longest tool or prompt name, resource URI, request path or JSON pointer kept. */
export const MAX_CLIENT_NAME = 1024;

export function capped(s: string, max = MAX_CLIENT_FIELD): string {
  return s.length > max ? s.slice(0, max) : s;
}

export function cappedId(id: JsonRpcId): JsonRpcId {
  return typeof id === 'string' ? capped(id) : id;
}

/**
 * Where a request came from: the peer address and its User-Agent (self-reported). An exchange
 * passes the address it read at its start: Node forgets it once the socket closes, and a
 * stream's records are written after its client left.
 */
export function clientOf(req: IncomingMessage, address = req.socket.remoteAddress): { address?: string; userAgent?: string } {
  const ua = req.headers['user-agent'];
  return { ...(address ? { address } : {}), ...(typeof ua === 'string' ? { userAgent: capped(ua) } : {}) };
}

/**
 * Refusals by a control of the gateway: verdict `block` (OCSF Denied / Blocked). Policy, the
 * inspectors and approvals; rate and session limits; the session binding (a session id that is
 * not the caller's is answered like an unknown one, so both are recorded as blocks); the defences
 * against requests read one way here and another upstream (header/body mismatch, ambiguous or
 * duplicate members, a request disguised as a notification, a charset other than UTF-8).
 */
const CONTROL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'blocked',
  'policy_denied',
  'rate_limited',
  'approval_denied',
  'approval_timeout',
  'approval_state_invalid',
  'approval_required',
  'inspector_failed',
  'message_too_large',
  'session_limit',
  'session_not_found',
  'task_not_found',
  'credential_expired',
  'header_mismatch',
  'ambiguous_json',
  'duplicate_request_id',
  'request_as_notification',
  'unsupported_charset',
]);

/** Failures of the upstream leg: a call that went upstream and failed there was still allowed. */
const UPSTREAM: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'upstream_unavailable',
  'upstream_timeout',
  'upstream_protocol',
  'upstream_event_too_large',
  'idle_timeout',
  'upstream_auth_failed',
]);

/**
 * The verdict the record gives the exchange: `block` when a control refused it; `error` when it
 * was refused otherwise before it went upstream (malformed, unsupported, too large, the client
 * gone mid-upload, a check it needed could not be made); else what the inspectors made of what
 * went through (`redact`, `allow`: a call that then failed upstream was still allowed; its
 * status says it failed), or `require-approval` when it is waiting for a person.
 */
export function verdictOf(ex: Exchange, code: ErrorCode | undefined, outcomes: readonly ExchangeOutcome[]): VerdictKind {
  if (code !== undefined) {
    if (CONTROL.has(code)) return 'block';
    // GET and DELETE go upstream without a decision of the gateway: an upstream failure of theirs
    // is one of the forward.
    const sent = ex.upstreamSent === true || (ex.req.method !== 'POST' && UPSTREAM.has(code));
    if (!sent) return 'error';
  }
  if (outcomes.some((o) => o.verdict === 'redact' || o.verdict === 'rewrite')) return 'redact';
  if (code === undefined && ex.upstreamSent !== true && outcomes.some((o) => o.verdict === 'require-approval')) return 'require-approval';
  return 'allow';
}

/** What a message is about, by its method: the same param method-deny and policy judge (context.ts TARGET_PARAM). */
function targetFacts(method: string, params: unknown): TargetFacts | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const key = TARGET_PARAM[method];
  const v = key === undefined ? undefined : (params as Record<string, unknown>)[key];
  if (typeof v !== 'string') return undefined;
  const type: TargetFacts['type'] = key === 'uri' ? 'resource' : method === 'prompts/get' ? 'prompt' : 'tool';
  return { type, name: capped(v, MAX_CLIENT_NAME) };
}

export function targetOf(ex: Exchange): TargetFacts | undefined {
  if (ex.request) return targetFacts(ex.request.method, ex.request.message['params']);
  const c = ex.clientMessage;
  return c?.kind === 'request' ? targetFacts(c.method, c.message['params']) : undefined;
}

/** The id of the client's request, refused or not. */
export function rpcIdOf(ex: Exchange): JsonRpcId | undefined {
  if (ex.request) return ex.request.rpcId;
  return ex.clientMessage?.kind === 'request' ? ex.clientMessage.id : undefined;
}

/** Records one batch makes at most: one per distinct method, target and outcome of its elements. */
const MAX_BATCH_RECORDS = 32;
/** Element ids listed per batch record. */
const MAX_BATCH_IDS = 16;

/** What the trail says of one group of a batch's elements (same method, target and outcome). */
interface BatchGroup {
  method: string;
  target: TargetFacts | undefined;
  verdict: VerdictKind;
  errorCode: ErrorCode | undefined;
  reasons: Set<string>;
  outcomes: ExchangeOutcome[];
  frameIds: Set<string>;
  /** Its elements' ids (all, as sent: answers are matched by them). */
  idSet: Set<JsonRpcId>;
  /** The first MAX_BATCH_IDS, as recorded. */
  ids: JsonRpcId[];
  arguments: unknown[];
  elements: number;
  first: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A 2025-03-26 batch as records a query finds: one per distinct (method, target, verdict, error)
 * of its elements, blocks first, at most MAX_BATCH_RECORDS. An element's verdict is its own: the
 * inspectors' outcomes for it and for its answer; a batch refused for one element refuses all of
 * them (`batch/element-refused` for the others); an error of the batch as a whole (malformed, an
 * upstream failure) is every element's.
 */
export function batchGroups(ex: Exchange, batch: readonly BatchElement[]): { groups: BatchGroup[]; unrecorded: number; unattributed: ExchangeOutcome[] } {
  const views = batch.map((el) => {
    const m = isRecord(el.message) ? el.message : {};
    const method = typeof m['method'] === 'string' ? capped(m['method']) : '';
    const id = typeof m['id'] === 'string' || typeof m['id'] === 'number' ? (m['id'] as JsonRpcId) : undefined;
    return { el, method, id, params: m['params'] };
  });
  const frames = new Set(batch.flatMap((el) => (el.frameId !== undefined ? [el.frameId] : [])));
  const ids = new Set(views.flatMap((v) => (v.id !== undefined ? [v.id] : [])));
  const own = (v: (typeof views)[number]) =>
    ex.outcomes.filter((o) => (o.frameId !== undefined && o.frameId === v.el.frameId) || (o.answers !== undefined && v.id !== undefined && o.answers === v.id));
  const unattributed = ex.outcomes.filter((o) => !(o.frameId !== undefined && frames.has(o.frameId)) && !(o.answers !== undefined && ids.has(o.answers)));
  const refusedAny = batch.some((el) => el.refused !== undefined);
  const owned = views.map(own);
  const blocks = owned.map((os) => os.some((o) => o.verdict === 'block'));
  const anyOwnBlock = blocks.some(Boolean);
  const groups = new Map<string, BatchGroup>();
  views.forEach((v, i) => {
    const outcomes = owned[i]!;
    let verdict: VerdictKind;
    let errorCode: ErrorCode | undefined;
    let reasons: readonly string[] = outcomes.flatMap((o) => o.reasons);
    if (v.el.refused !== undefined) {
      [verdict, errorCode, reasons] = ['block', 'blocked', v.el.refused];
    } else if (refusedAny) {
      [verdict, errorCode, reasons] = ['block', 'blocked', ['batch/element-refused']];
    } else if (blocks[i]) {
      [verdict, errorCode] = ['block', ex.errorCode ?? 'blocked'];
    } else if (ex.errorCode !== undefined && !(anyOwnBlock && CONTROL.has(ex.errorCode))) {
      [verdict, errorCode] = [verdictOf(ex, ex.errorCode, outcomes), ex.errorCode];
    } else {
      verdict = verdictOf(ex, undefined, outcomes);
    }
    const target = targetFacts(v.method, v.params);
    const key = JSON.stringify([v.method, target?.type, target?.name, verdict, errorCode]);
    let g = groups.get(key);
    if (!g) {
      g = { method: v.method, target, verdict, errorCode, reasons: new Set(), outcomes: [], frameIds: new Set(), idSet: new Set(), ids: [], arguments: [], elements: 0, first: i };
      groups.set(key, g);
    }
    g.elements++;
    for (const r of reasons) if (g.reasons.size < 32) g.reasons.add(capped(r));
    for (const o of outcomes) if (g.outcomes.length < 64) g.outcomes.push(o);
    if (v.el.frameId !== undefined) g.frameIds.add(v.el.frameId);
    if (v.id !== undefined) g.idSet.add(v.id);
    if (v.id !== undefined && g.ids.length < MAX_BATCH_IDS) g.ids.push(cappedId(v.id));
    if (isRecord(v.params) && 'arguments' in v.params) g.arguments.push(v.params['arguments']);
  });
  // Blocks first: a refused element stays findable however many others the batch carries.
  const all = [...groups.values()].sort((a, b) => Number(b.verdict === 'block') - Number(a.verdict === 'block') || a.first - b.first);
  const kept = all.slice(0, MAX_BATCH_RECORDS);
  const unrecorded = all.slice(MAX_BATCH_RECORDS).reduce((n, g) => n + g.elements, 0);
  return { groups: kept, unrecorded, unattributed };
}

/**
 * A self-reported clientInfo (2025 initialize, 2026 `_meta`), bounded: it is kept for a session's
 * life and copied into every record, so a client must not be able to inflate them.
 */
export function cappedClientInfo(v: unknown): { name?: string; version?: string } | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const ci = v as { name?: unknown; version?: unknown };
  return {
    ...(typeof ci.name === 'string' && { name: ci.name.slice(0, MAX_CLIENT_FIELD) }),
    ...(typeof ci.version === 'string' && { version: ci.version.slice(0, MAX_CLIENT_FIELD) }),
  };
}

/** 2026-07-28: the client says who it is in each request's `_meta` (there is no initialize). */
export function modernClientInfo(ex: Exchange): { name?: string; version?: string } | undefined {
  if (ex.era !== 'modern') return undefined;
  const meta = (ex.request?.message['params'] as { _meta?: Record<string, unknown> } | undefined)?._meta;
  return cappedClientInfo(meta?.['io.modelcontextprotocol/clientInfo']);
}

/** The approval as recorded: withdrawn ones (client left: cancelled; gateway stopping: withdrawn) are not "pending". */
export function approvalOutcome(decision: string): ApprovalFacts['outcome'] {
  return decision === 'approved' || decision === 'denied' || decision === 'timeout' || decision === 'cancelled' || decision === 'withdrawn' ? decision : 'pending';
}
