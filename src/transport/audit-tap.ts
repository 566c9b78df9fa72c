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
import type { ThreadedAudit } from '../audit/threaded.ts';
import type { ExchangeContext, InspectorFacts, StreamEventFacts, TargetFacts, VerdictKind } from '../audit/facts.ts';
import { inspectorFacts } from '../audit/record.ts';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import type { Exchange } from './context.ts';
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
 * Where a request came from: the peer address and its User-Agent (self-reported). An exchange
 * passes the address it read at its start: Node forgets it once the socket closes, and a
 * stream's records are written after its client left.
 */
function clientOf(req: IncomingMessage, address = req.socket.remoteAddress): { address?: string; userAgent?: string } {
  const ua = req.headers['user-agent'];
  return { ...(address ? { address } : {}), ...(typeof ua === 'string' ? { userAgent: ua } : {}) };
}

const BLOCKING: ReadonlySet<ErrorCode> = new Set([
  'blocked',
  'policy_denied',
  'rate_limited',
  'approval_denied',
  'approval_timeout',
  'approval_state_invalid',
  'approval_required',
  'inspector_failed',
  'message_too_large',
]);

function targetOf(ex: Exchange): TargetFacts | undefined {
  const params = ex.request?.message['params'] as Record<string, unknown> | undefined;
  switch (ex.request?.method) {
    case 'tools/call':
      return typeof params?.['name'] === 'string' ? { type: 'tool', name: params['name'] } : undefined;
    case 'prompts/get':
      return typeof params?.['name'] === 'string' ? { type: 'prompt', name: params['name'] } : undefined;
    case 'resources/read':
      return typeof params?.['uri'] === 'string' ? { type: 'resource', name: params['uri'] } : undefined;
    default:
      return undefined;
  }
}

/** Longest self-reported client name or version kept (the client chooses them). */
const MAX_CLIENT_FIELD = 256;

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
    const request = (ex.forwarded ?? ex.request?.message)?.['params'] as Record<string, unknown> | undefined;
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
        path: (req.url ?? '/').split('?', 1)[0]!,
        ...(typeof req.headers.origin === 'string' && { origin: req.headers.origin }),
        ...(typeof req.headers.host === 'string' && { host: req.headers.host }),
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
        ...(info?.name !== undefined ? { name: info.name } : {}),
        ...(info?.version !== undefined ? { version: info.version } : {}),
        ...clientOf(ex.req, ex.clientAddress),
      },
      route: ex.route.name,
      upstream: { name: ex.route.name, url: ex.route.cfg.upstream.url },
      era: ex.era,
      ...(ex.protocolVersion ? { protocolVersion: ex.protocolVersion } : {}),
      ...(ex.session ? { sessionId: ex.session.id } : {}),
      method: ex.rpcMethod ?? ex.req.method ?? '',
      ...(ex.request?.rpcId !== undefined ? { rpcId: ex.request.rpcId } : {}),
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

  /** The exchange is over (its HTTP response finished or was abandoned): decision + findings. */
  exchangeEnd(ex: Exchange, status: number, bytesOut: number): void {
    const { records, log } = this.#audit;
    const ctx = this.context(ex);
    const now = Date.now();
    const inspectors: InspectorFacts[] = inspectorFacts(ex.outcomes);
    const reasons = [...new Set(ex.outcomes.flatMap((o) => o.reasons))];
    const verdict: VerdictKind =
      ex.errorCode !== undefined && BLOCKING.has(ex.errorCode)
        ? 'block'
        : ex.outcomes.some((o) => o.verdict === 'redact' || o.verdict === 'rewrite')
          ? 'redact'
          : 'allow';
    const approval = ex.notes['approval'] as { channel?: string; decision?: string; by?: string } | undefined;
    const params = ex.request?.message['params'] as Record<string, unknown> | undefined;
    const findings = ex.findings ?? [];
    const events = [
      records.exchange({
        ...ctx,
        time: ex.startedAt,
        endTime: now,
        verdict,
        ...(reasons.length > 0 ? { reasons } : {}),
        ...(ex.errorCode !== undefined ? { errorCode: ex.errorCode } : {}),
        ...(inspectors.length > 0 ? { inspectors } : {}),
        ...(ex.outcomesDropped > 0 ? { inspectorsDropped: ex.outcomesDropped } : {}),
        ...(approval?.decision
          ? { approval: { outcome: approvalOutcome(approval.decision), ...(approval.channel ? { channel: approval.channel } : {}), ...(typeof approval.by === 'string' ? { by: approval.by } : {}) } }
          : {}),
        ...(findings.length > 0 ? { findingTypes: findings.map((f) => f.type) } : {}),
        ...(params && 'arguments' in params ? { arguments: params['arguments'] } : {}),
        ...(ex.response ? { result: ex.response['result'] ?? ex.response['error'] } : ex.responseBytes?.length ? { resultBytes: ex.responseBytes } : {}),
        bytes: { ...(ex.bytesIn !== undefined ? { request: ex.bytesIn } : {}), response: bytesOut },
        ...this.#redactedContent(ex),
        upstreamStatus: status,
        ...(Object.keys(ex.notes).length > 0 ? { notes: ex.notes } : {}),
      }),
    ];
    // One Data Security Finding per inspector, direction and action.
    const groups = new Map<string, typeof findings>();
    for (const f of findings) {
      const key = `${f.inspector}\u0000${f.direction}\u0000${f.action}`;
      const g = groups.get(key);
      if (g) g.push(f);
      else groups.set(key, [f]);
    }
    for (const g of groups.values()) {
      const first = g[0]!;
      events.push(
        ...records.findings({
          context: ctx,
          time: now,
          inspector: first.inspector,
          direction: first.direction,
          action: first.action,
          findings: g.map((f) => ({
            type: f.type,
            pointer: f.pointer,
            ...(f.start !== undefined ? { start: f.start } : {}),
            ...(f.end !== undefined ? { end: f.end } : {}),
            ...(f.fingerprint !== undefined ? { fingerprint: f.fingerprint } : {}),
          })),
        }),
      );
    }
    log.append(events);
  }
}

function approvalOutcome(decision: string): 'pending' | 'approved' | 'denied' | 'timeout' {
  return decision === 'approved' || decision === 'denied' || decision === 'timeout' ? decision : 'pending';
}
