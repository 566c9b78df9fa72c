/**
 * Where the data path meets the audit trail: facts about exchanges, streams, findings and
 * refused credentials, handed to the audit thread (audit/threaded.ts), which turns them into
 * records (audit/record.ts) and delivers them (audit/pipeline.ts). Everything here is synchronous
 * and cheap: it gathers facts the exchange already holds.
 *
 * Records per call: one API Activity record when the exchange ends (the decision, every
 * inspector's verdict, digests of arguments and result, bytes, timing), one Data Security
 * Finding per finding type, and for SSE streams an `opened` record, `segment` records as events
 * pass (every SEGMENT_EVENTS events, or `audit.streamSegmentMs` after a segment's first) and exactly one `closed` record saying how it ended —
 * completed, cancelled (the client left: what it received is the partial record), cut (the
 * gateway ended it) or failed (the upstream broke).
 */
import type { IncomingMessage } from 'node:http';
import type { Entry, ThreadedAudit } from '../audit/threaded.ts';
import type { ApprovalFacts, ExchangeContext, ExchangeFacts, InspectorFacts, StreamEventFacts, TargetFacts, VerdictKind } from '../audit/facts.ts';
import { inspectorFacts } from '../audit/record.ts';
import type { JsonRpcId } from '../codec/jsonrpc.ts';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import type { BatchElement, Exchange, ExchangeOutcome } from './context.ts';
import type { Principal } from '../pipeline/types.ts';

/** Events per stream segment record: one record per event would double the trail for chatty streams. */
const SEGMENT_EVENTS = 100;
/** Response bodies kept by reference for their digest only up to this size. */
export const MAX_DIGESTED_BODY = 1024 * 1024;

/** A credential's logon is recorded again after this long (one record per credential per hour). */
const LOGON_WINDOW_MS = 3_600_000;
/** Credentials remembered for that (oldest forgotten first). */
const MAX_LOGONS = 10_000;

/** How the caller tried to authenticate, from what it presented (before any was verified). */
function attemptedMethod(req: IncomingMessage, apiKeyHeader: string | undefined): string {
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
const MAX_CLIENT_NAME = 1024;

function capped(s: string, max = MAX_CLIENT_FIELD): string {
  return s.length > max ? s.slice(0, max) : s;
}

function cappedId(id: JsonRpcId): JsonRpcId {
  return typeof id === 'string' ? capped(id) : id;
}

/**
 * Where a request came from: the peer address and its User-Agent (self-reported). An exchange
 * passes the address it read at its start: Node forgets it once the socket closes, and a
 * stream's records are written after its client left.
 */
function clientOf(req: IncomingMessage, address = req.socket.remoteAddress): { address?: string; userAgent?: string } {
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
function verdictOf(ex: Exchange, code: ErrorCode | undefined, outcomes: readonly ExchangeOutcome[]): VerdictKind {
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

/** What a message is about, by its method (the param the upstream reads). */
function targetFacts(method: string, params: unknown): TargetFacts | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const p = params as Record<string, unknown>;
  const named = (type: TargetFacts['type'], v: unknown): TargetFacts | undefined => (typeof v === 'string' ? { type, name: capped(v, MAX_CLIENT_NAME) } : undefined);
  switch (method) {
    case 'tools/call':
      return named('tool', p['name']);
    case 'prompts/get':
      return named('prompt', p['name']);
    case 'resources/read':
      return named('resource', p['uri']);
    default:
      return undefined;
  }
}

function targetOf(ex: Exchange): TargetFacts | undefined {
  if (ex.request) return targetFacts(ex.request.method, ex.request.message['params']);
  const c = ex.clientMessage;
  return c?.kind === 'request' ? targetFacts(c.method, c.message['params']) : undefined;
}

/** The id of the client's request, refused or not. */
function rpcIdOf(ex: Exchange): JsonRpcId | undefined {
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
function batchGroups(ex: Exchange, batch: readonly BatchElement[]): { groups: BatchGroup[]; unrecorded: number; unattributed: ExchangeOutcome[] } {
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

/** 2026-07-28: the client says who it is in each request's `_meta` (there is no initialize). */
function modernClientInfo(ex: Exchange): { name?: string; version?: string } | undefined {
  if (ex.era !== 'modern') return undefined;
  const meta = (ex.request?.message['params'] as { _meta?: Record<string, unknown> } | undefined)?._meta;
  const ci = meta?.['io.modelcontextprotocol/clientInfo'] as { name?: unknown; version?: unknown } | undefined;
  if (ci === null || typeof ci !== 'object') return undefined;
  return {
    ...(typeof ci.name === 'string' && { name: ci.name.slice(0, MAX_CLIENT_FIELD) }),
    ...(typeof ci.version === 'string' && { version: ci.version.slice(0, MAX_CLIENT_FIELD) }),
  };
}

export class AuditTap {
  readonly #audit: ThreadedAudit;
  readonly #policyVersion: () => string | undefined;
  readonly #contexts = new WeakMap<Exchange, ExchangeContext>();
  /** Last logon record per route and credential (insertion order: oldest first). */
  readonly #logons = new Map<string, number>();

  readonly #includeContent: boolean;

  /** A segment is recorded at most this long after its first event, however few it holds. */
  readonly #segmentMs: number;

  constructor(audit: ThreadedAudit, policyVersion: () => string | undefined, opts: { includeContent?: 'none' | 'redacted'; streamSegmentMs?: number } = {}) {
    this.#segmentMs = opts.streamSegmentMs ?? 5000;
    this.#audit = audit;
    this.#policyVersion = policyVersion;
    this.#includeContent = opts.includeContent === 'redacted';
  }

  /**
   * Content for the record (`audit.includeContent: redacted`): the arguments and the result as
   * they were forwarded, after the route's redaction. Only on a route that redacts (a DLP or
   * redact inspector): elsewhere "after redaction" would be the raw content, so only digests.
   */
  #redactedContent(ex: Exchange): { redacted?: { arguments?: unknown; result?: unknown } } {
    if (!this.#includeContent || !ex.route.cfg.inspectors.some((i) => i.type === 'dlp' || i.type === 'redact')) return {};
    // Only what was actually sent on: a request refused before it went upstream (a DLP block
    // among them) and an answer blocked on its way back leave their digests, never their text.
    const request = ex.upstreamSent ? ((ex.forwarded ?? ex.request?.message)?.['params'] as Record<string, unknown> | undefined) : undefined;
    const answer = ex.responseForwarded;
    const redacted = {
      ...(request && 'arguments' in request && { arguments: request['arguments'] }),
      ...(answer && { result: answer['result'] ?? answer['error'] }),
    };
    return Object.keys(redacted).length > 0 ? { redacted } : {};
  }

  /** Fail-closed posture: a call the trail could not record is refused before it starts. */
  refusal(): GatewayError | undefined {
    if (this.#audit.log.accepting()) return undefined;
    return new GatewayError('audit_unavailable', this.#audit.log.refusal());
  }

  /**
   * A credential accepted: Authentication record, success (a logon), once per credential and
   * route per LOGON_WINDOW_MS — per request it would double the trail and say nothing new; the
   * API Activity records carry the principal of every call.
   */
  authSuccess(route: string, req: IncomingMessage, principal: Principal): void {
    if (principal.method === 'none') return;
    const key = `${route}\u0000${principal.credentialId ?? principal.subject}`;
    const now = Date.now();
    const last = this.#logons.get(key);
    if (last !== undefined && now - last < LOGON_WINDOW_MS) return;
    this.#logons.delete(key);
    this.#logons.set(key, now);
    if (this.#logons.size > MAX_LOGONS) this.#logons.delete(this.#logons.keys().next().value!);
    this.#audit.log.append(
      this.#audit.records.auth({ time: now, outcome: 'success', activity: 'logon', method: principal.method, principal, route, client: clientOf(req) }),
    );
  }

  /** A refused credential (RFC 6750 failures): Authentication record, failure. */
  authFailure(route: string, req: IncomingMessage, code: ErrorCode, apiKeyHeader?: string): void {
    const { records, log } = this.#audit;
    log.append(
      records.auth({
        time: Date.now(),
        outcome: 'failure',
        method: attemptedMethod(req, apiKeyHeader),
        reason: code,
        route,
        client: clientOf(req),
      }),
    );
  }

  /**
   * A request refused at the edge for its Origin or Host (DNS rebinding defence): HTTP Activity,
   * blocked. Other early refusals (unknown path, wrong method) are not security decisions and
   * would only let a scanner fill the trail.
   */
  edgeRefusal(req: IncomingMessage, code: ErrorCode, status: number): void {
    if (code !== 'origin_forbidden' && code !== 'host_forbidden') return;
    const { records, log } = this.#audit;
    log.append(
      records.refusal({
        time: Date.now(),
        code,
        status,
        httpMethod: req.method ?? '',
        path: capped((req.url ?? '/').split('?', 1)[0]!, MAX_CLIENT_NAME),
        ...(typeof req.headers.origin === 'string' && { origin: capped(req.headers.origin) }),
        ...(typeof req.headers.host === 'string' && { host: capped(req.headers.host) }),
        client: clientOf(req),
      }),
    );
  }

  context(ex: Exchange): ExchangeContext {
    let ctx = this.#contexts.get(ex);
    if (ctx) return ctx;
    const info = ex.session?.clientInfo ?? modernClientInfo(ex);
    const target = targetOf(ex);
    const policyVersion = this.#policyVersion();
    ctx = {
      exchangeId: ex.id,
      principal: ex.principal,
      client: {
        ...(info?.name !== undefined ? { name: capped(info.name) } : {}),
        ...(info?.version !== undefined ? { version: capped(info.version) } : {}),
        ...clientOf(ex.req, ex.clientAddress),
      },
      route: ex.route.name,
      upstream: { name: ex.route.name, url: ex.route.cfg.upstream.url },
      // Refused before its message was read: what its headers said, or unknown.
      era: ex.eraFromHeaders ?? ex.era,
      ...(ex.protocolVersion ? { protocolVersion: capped(ex.protocolVersion, 64) } : {}),
      ...(ex.session ? { sessionId: ex.session.id } : {}),
      method: capped(ex.rpcMethod ?? ex.req.method ?? ''),
      ...(rpcIdOf(ex) !== undefined ? { rpcId: cappedId(rpcIdOf(ex)!) } : {}),
      ...(target ? { target } : {}),
      ...(policyVersion ? { policyVersion } : {}),
    };
    this.#contexts.set(ex, ctx);
    return ctx;
  }

  /** Hooks for one client-facing SSE stream: opened on the first event, segments, closed once. */
  watchStream(ex: Exchange, stream: RelayStream): { onEmit: (text: string, seq: number) => void; onClose: () => void } {
    const started = Date.now();
    let opened = false;
    let segment: { first: number; texts: string[]; bytes: number; timer: NodeJS.Timeout } | undefined;
    const base = (): Pick<StreamEventFacts, 'context' | 'streamId' | 'transport'> => ({ context: this.context(ex), streamId: stream.id, transport: 'sse' });
    const flush = (): void => {
      if (!segment) return;
      const s = segment;
      segment = undefined;
      clearTimeout(s.timer);
      this.#audit.log.append(this.#audit.records.stream({ ...base(), time: Date.now(), phase: 'segment', firstIndex: s.first, count: s.texts.length, bytes: s.bytes, messages: s.texts }));
    };
    return {
      onEmit: (text, seq) => {
        if (!opened) {
          opened = true;
          this.#audit.log.append(this.#audit.records.stream({ ...base(), time: Date.now(), phase: 'opened' }));
        }
        if (!segment) {
          // A slow stream's events reach the trail within streamSegmentMs, not only at its end.
          const timer = setTimeout(flush, this.#segmentMs);
          timer.unref();
          segment = { first: seq, texts: [], bytes: 0, timer };
        }
        segment.texts.push(text);
        segment.bytes += Buffer.byteLength(text);
        if (segment.texts.length >= SEGMENT_EVENTS) flush();
      },
      onClose: () => {
        flush();
        const end = stream.ending ?? 'cancelled';
        // A 2025 client may leave and never resume while the upstream finishes: the stream
        // completed, the client got part of it. `sent` is what reached the client.
        const partial = stream.eventsDelivered < stream.eventsSent;
        this.#audit.log.append(
          this.#audit.records.stream({
            ...base(),
            time: Date.now(),
            phase: 'closed',
            end,
            ...(stream.endCause ? { cause: stream.endCause } : partial ? { cause: 'client-disconnect' } : {}),
            sent: { events: stream.eventsDelivered, bytes: stream.bytesDelivered },
            ...(partial ? { partial, produced: { events: stream.eventsSent, bytes: stream.bytesSent } } : {}),
            durationMs: Date.now() - started,
          }),
        );
      },
    };
  }

  /**
   * The exchange is over (its HTTP response finished or was abandoned): decision + findings.
   * `status`: the HTTP status the client was sent, 0 when none went out; `bytesOut`: what the
   * socket carried of the response. A response that closed before it finished
   * (`res.writableFinished`) is partial: the client left, or the gateway cut it.
   */
  exchangeEnd(ex: Exchange, status: number, bytesOut: number): void {
    const completed = ex.res.writableFinished;
    // Why the client did not get the whole answer: an error says it; else shutdown cut it
    // (gateway.ts notes it), or the client left.
    const cause = completed || ex.errorCode !== undefined ? undefined : ex.notes['shutdown'] === 'cut' ? 'shutdown' : 'client-disconnect';
    const { records, log } = this.#audit;
    const ctx = this.context(ex);
    const now = Date.now();
    const approval = ex.notes['approval'] as { channel?: string; decision?: string; by?: string } | undefined;
    const params = ex.request?.message['params'] as Record<string, unknown> | undefined;
    const findings = ex.findings ?? [];
    // Facts of the HTTP exchange as a whole (a batch's records share them).
    const shared = {
      time: ex.startedAt,
      endTime: now,
      ...(ex.outcomesDropped > 0 ? { inspectorsDropped: ex.outcomesDropped } : {}),
      ...(approval?.decision
        ? { approval: { outcome: approvalOutcome(approval.decision), ...(approval.channel ? { channel: approval.channel } : {}), ...(typeof approval.by === 'string' ? { by: approval.by } : {}) } }
        : {}),
      bytes: { ...(ex.bytesIn !== undefined ? { request: ex.bytesIn } : {}), response: bytesOut },
      ...(status > 0 ? { upstreamStatus: status } : {}),
      ...(!completed ? { partial: true } : {}),
      ...(cause !== undefined ? { cause } : {}),
      ...(Object.keys(ex.notes).length > 0 ? { notes: ex.notes } : {}),
    } satisfies Partial<ExchangeFacts>;
    const events: Entry[] = [];
    const findingsOf = (c: ExchangeContext, list: typeof findings) => {
      // One Data Security Finding per inspector, direction and action.
      const groups = new Map<string, typeof findings>();
      for (const f of list) {
        const key = `${f.inspector}\u0000${f.direction}\u0000${f.action}`;
        const g = groups.get(key);
        if (g) g.push(f);
        else groups.set(key, [f]);
      }
      for (const g of groups.values()) {
        const first = g[0]!;
        events.push(
          ...records.findings({
            context: c,
            time: now,
            inspector: first.inspector,
            direction: first.direction,
            action: first.action,
            findings: g.map((f) => ({
              type: f.type,
              pointer: capped(f.pointer, MAX_CLIENT_NAME),
              ...(f.start !== undefined ? { start: f.start } : {}),
              ...(f.end !== undefined ? { end: f.end } : {}),
              ...(f.fingerprint !== undefined ? { fingerprint: f.fingerprint } : {}),
            })),
          }),
        );
      }
    };

    if (ex.batch) {
      const { groups, unrecorded, unattributed } = batchGroups(ex, ex.batch);
      const contexts = groups.map((g): ExchangeContext => ({
        ...ctx,
        method: g.method,
        ...(g.ids[0] !== undefined ? { rpcId: g.ids[0] } : {}),
        ...(g.target ? { target: g.target } : {}),
      }));
      groups.forEach((g, i) => {
        const inspectors = [...g.outcomes, ...unattributed].slice(0, 64);
        const types = findings.filter((f) => (f.frameId !== undefined && g.frameIds.has(f.frameId)) || (f.answers !== undefined && g.idSet.has(f.answers))).map((f) => f.type);
        events.push(
          records.exchange({
            ...contexts[i]!,
            ...shared,
            verdict: g.verdict,
            ...(g.reasons.size > 0 ? { reasons: [...g.reasons] } : {}),
            ...(g.errorCode !== undefined ? { errorCode: g.errorCode } : {}),
            ...(inspectors.length > 0 ? { inspectors: inspectorFacts(inspectors) } : {}),
            ...(types.length > 0 ? { findingTypes: types } : {}),
            ...(g.arguments.length > 0 ? { arguments: g.arguments.length === 1 ? g.arguments[0] : g.arguments } : {}),
            // The answer is one body for the whole batch: digested once, on the first record.
            ...(i === 0 && ex.responseBytes?.length ? { resultBytes: ex.responseBytes } : {}),
            batch: { size: ex.batch!.length, elements: g.elements, ids: g.ids, ...(unrecorded > 0 ? { unrecorded } : {}) },
          }),
        );
      });
      // Findings go with the elements they are about; the rest with the batch's first record.
      const claimed = new Set<(typeof findings)[number]>();
      groups.forEach((g, i) => {
        const mine = findings.filter((f) => !claimed.has(f) && ((f.frameId !== undefined && g.frameIds.has(f.frameId)) || (f.answers !== undefined && g.idSet.has(f.answers))));
        for (const f of mine) claimed.add(f);
        findingsOf(contexts[i]!, mine);
      });
      const rest = findings.filter((f) => !claimed.has(f));
      if (rest.length > 0) findingsOf(contexts[0] ?? ctx, rest);
      log.append(events);
      return;
    }

    const verdict = verdictOf(ex, ex.errorCode, ex.outcomes);
    const reasons = [...new Set(ex.outcomes.flatMap((o) => o.reasons))].slice(0, 32).map((r) => capped(r));
    const inspectors: InspectorFacts[] = inspectorFacts(ex.outcomes);
    events.push(
      records.exchange({
        ...ctx,
        ...shared,
        verdict,
        ...(reasons.length > 0 ? { reasons } : {}),
        ...(ex.errorCode !== undefined ? { errorCode: ex.errorCode } : {}),
        ...(inspectors.length > 0 ? { inspectors } : {}),
        ...(findings.length > 0 ? { findingTypes: findings.map((f) => f.type) } : {}),
        ...(params && 'arguments' in params ? { arguments: params['arguments'] } : {}),
        ...(ex.response ? { result: ex.response['result'] ?? ex.response['error'] } : ex.responseBytes?.length ? { resultBytes: ex.responseBytes } : {}),
        ...this.#redactedContent(ex),
      }),
    );
    findingsOf(ctx, findings);
    log.append(events);
  }
}

/** The approval as recorded: withdrawn ones (client left: cancelled; gateway stopping: withdrawn) are not "pending". */
function approvalOutcome(decision: string): ApprovalFacts['outcome'] {
  return decision === 'approved' || decision === 'denied' || decision === 'timeout' || decision === 'cancelled' || decision === 'withdrawn' ? decision : 'pending';
}
