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
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BodyDigest } from '../audit/body-digest.ts';
import type { Entry, ThreadedAudit } from '../audit/threaded.ts';
import type { ExchangeContext, ExchangeFacts, InspectorFacts, StreamEventFacts } from '../audit/facts.ts';
import { inspectorFacts } from '../audit/record.ts';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import type { Exchange } from './context.ts';
import type { Principal } from '../pipeline/types.ts';
import { approvalOutcome, attemptedMethod, batchGroups, capped, cappedId, clientOf, MAX_CLIENT_NAME, modernClientInfo, rpcIdOf, targetOf, verdictOf } from './audit-facts.ts';

/** Events per stream segment record: one record per event would double the trail for chatty streams. */
const SEGMENT_EVENTS = 100;

/** A credential's logon is recorded again after this long (one record per credential per hour). */
const LOGON_WINDOW_MS = 3_600_000;
/** Credentials remembered for that (oldest forgotten first). */
const MAX_LOGONS = 10_000;

export class AuditTap {
  readonly #audit: ThreadedAudit;
  readonly #policyVersion: () => string | undefined;
  readonly #contexts = new WeakMap<Exchange, ExchangeContext>();
  /** Last logon record per route and credential (insertion order: oldest first). */
  readonly #logons = new Map<string, number>();

  readonly #includeContent: boolean;

  /** A segment is recorded at most this long after its first event, however few it holds. */
  readonly #segmentMs: number;

  /** The trail's digest key, for bodies too large to hand to its thread (body-digest.ts). */
  readonly #digestKey: KeyObject;

  constructor(
    audit: ThreadedAudit,
    policyVersion: () => string | undefined,
    opts: { digestKey: Uint8Array; includeContent?: 'none' | 'redacted'; streamSegmentMs?: number },
  ) {
    this.#digestKey = createSecretKey(opts.digestKey);
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

  /** Collects a response body relayed unparsed, for the exchange record's `result_bytes` digest. */
  responseBody(): BodyDigest {
    return new BodyDigest(this.#digestKey);
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
  watchStream(ex: Exchange, stream: RelayStream): { onEmit: (text: string, seq: number) => void; onEmitStreamed: (seq: number, bytes: number) => void; onClose: () => void } {
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
    const open = (): void => {
      if (opened) return;
      opened = true;
      this.#audit.log.append(this.#audit.records.stream({ ...base(), time: Date.now(), phase: 'opened' }));
    };
    return {
      onEmit: (text, seq) => {
        open();
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
      // An event relayed as it arrived (relay-sse-streamed.ts): a segment of its own, counted and
      // sized (its text was never held whole); the answer it carries is digested in the exchange
      // record (`result_bytes`, body-digest.ts).
      onEmitStreamed: (seq, bytes) => {
        open();
        flush();
        this.#audit.log.append(this.#audit.records.stream({ ...base(), time: Date.now(), phase: 'segment', firstIndex: seq, count: 1, bytes }));
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
            ...(i === 0 && ex.responseBody ? ex.responseBody.facts() : {}),
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
        ...(ex.response ? { result: ex.response['result'] ?? ex.response['error'] } : ex.responseBody ? ex.responseBody.facts() : {}),
        ...this.#redactedContent(ex),
      }),
    );
    findingsOf(ctx, findings);
    log.append(events);
  }
}
