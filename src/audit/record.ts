/**
 * The audit record model: OCSF 1.x events (https://schema.ocsf.io) plus the chain fields.
 *
 * Four OCSF classes cover what the gateway does:
 * - API Activity [6003] (category Application Activity [6]): one per exchange decision and per
 *   stream lifecycle step (opened, segments as they pass, closed / cancelled / cut / failed).
 * - Data Security Finding [2006] (category Findings [2]): one per DLP finding type in a message;
 *   types and JSON-pointer locations only, never the matched text (`data_security.pattern_match`
 *   is deliberately never set).
 * - Authentication [3002] (category Identity & Access Management [3]): credential checks.
 * - Application Lifecycle [6002]: gateway start, stop, configuration reload.
 * Chain housekeeping (checkpoints, gap markers, retention anchors, see chain.ts) uses Base Event [0].
 *
 * Security outcomes use the Security Control profile (`action_id`, `disposition_id`, `policy`).
 * What OCSF has no attribute for (era, route, per-inspector verdicts, digests, stream state)
 * goes in `unmapped`, which OCSF defines for exactly that; `unmapped.kind` says which builder
 * made the record. The chain fields `seq`, `prev_hash`, `hash` sit at the top level (a Portcullis
 * extension) so a verifier need not know OCSF; `metadata.sequence` repeats `seq` for OCSF readers.
 *
 * Builders take plain typed facts so the data path fills them without knowing OCSF. They never
 * throw on hostile content: values are digested, and optional redacted content is sanitized and
 * capped (see `boundedJson`). Lone surrogates anywhere in a record are fixed when it is chained
 * (chain.ts `linkAt`), where its text is made anyway. The OCSF enumerations and the object shapes
 * several classes share are in ocsf-fields.ts.
 */
import { randomUUID } from 'node:crypto';
import type { AuthFacts, RefusalFacts, ExchangeContext, ExchangeFacts, FindingFacts, FindingLocation, LifecycleFacts, StreamEventFacts } from './facts.ts';
import type { Digester } from './digest.ts';
import { boundedJson } from './bounded-json.ts';
import { AUTH_PROTOCOL, HTTP_ACTIVITY, OUTCOME, SEVERITY, apiActivity, apiContextInto, endpointJson, hostParts, inspectorJson, numbers, userJson, type SeverityId } from './ocsf-fields.ts';

export { inspectorFacts } from './ocsf-fields.ts';

export const OCSF_VERSION = '1.5.0';

export interface OcsfMetadata {
  version: string;
  product: { name: string; vendor_name: string; version: string };
  /** The record id (OCSF: "the logging system-assigned unique identifier of an event"). */
  uid: string;
  correlation_uid?: string;
  sequence?: number;
  log_name: string;
  profiles?: string[];
  event_code?: string;
}

/** Any OCSF event: the base-event attributes every class has, plus class attributes. */
export interface AuditEvent {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  severity_id: number;
  severity: string;
  time: number;
  metadata: OcsfMetadata;
  unmapped: { kind: RecordKind; [k: string]: unknown };
  [attribute: string]: unknown;
}

export type RecordKind = 'exchange' | 'stream' | 'finding' | 'auth' | 'refusal' | 'lifecycle' | 'checkpoint' | 'gap' | 'anchor';

/** An event once it is in the chain (chain.ts assigns these). */
export interface AuditRecord extends AuditEvent {
  seq: number;
  prev_hash: string;
  hash: string;
}

export type {
  ApprovalFacts,
  AuthFacts,
  ClientFacts,
  Control,
  ExchangeContext,
  ExchangeFacts,
  FindingFacts,
  FindingLocation,
  InspectorFacts,
  LifecycleFacts,
  StreamEnd,
  StreamEventFacts,
  TargetFacts,
  VerdictKind,
} from './facts.ts';

export interface BuilderOptions {
  digester: Digester;
  includeContent: 'none' | 'redacted';
  productVersion?: string;
  /** Largest redacted content kept per field, in UTF-8 bytes of JSON. */
  maxContentBytes?: number;
  newId?: () => string;
}

// ---------------------------------------------------------------------------------------------


/**
 * What OCSF has no attribute for, on every record of an exchange: the protocol era (2025
 * sessions or 2026-07-28 stateless) and the gateway route it came in on (`api.service.name` is
 * the upstream).
 */
function exchangeUnmapped(c: ExchangeContext): Record<string, unknown> {
  return { era: c.era, route: c.route };
}

export class RecordBuilder {
  readonly #opts: Required<Omit<BuilderOptions, 'productVersion'>> & { productVersion: string };

  constructor(opts: BuilderOptions) {
    this.#opts = {
      productVersion: '0.1.0',
      maxContentBytes: 64 * 1024,
      newId: randomUUID,
      ...opts,
    };
  }

  get digester(): Digester {
    return this.#opts.digester;
  }

  /**
   * Set attribute by attribute in the order of the JSON text, not as spreads merged with
   * `Object.assign`: the same text (record-text.test.ts) with fewer intermediate objects.
   */
  exchange(f: ExchangeFacts): AuditEvent {
    const [activityId, activityName] = apiActivity(f.method);
    const outcome = OUTCOME[f.verdict] ?? OUTCOME.block;
    // Failure: the gateway put an error on the wire (or cut the answer with one), or relayed the
    // upstream's HTTP error. Cancelled (as a stream's `closed` says it): the client left first.
    const cancelled = f.errorCode === undefined && f.partial === true && f.cause === 'client-disconnect';
    const failed = !cancelled && (f.errorCode !== undefined || f.partial === true || (f.upstreamStatus !== undefined && f.upstreamStatus >= 400));
    const e = this.#base(6003, 'API Activity', 6, 'Application Activity', activityId, activityName, f.time, outcome.severity, 'exchange', f.exchangeId);
    e.metadata.profiles = ['security_control'];
    e.metadata.event_code = f.method;
    const u = e.unmapped;
    u['era'] = f.era;
    u['route'] = f.route;
    const api = apiContextInto(e, f, this.#opts.digester);
    e['status_id'] = failed ? 2 : cancelled ? 99 : 1;
    e['status'] = failed ? 'Failure' : cancelled ? 'Cancelled' : 'Success';
    if (f.errorCode !== undefined) e['status_code'] = f.errorCode;
    if (f.reasons?.length) e['status_detail'] = f.reasons.join(' ');
    else if (f.cause !== undefined) e['status_detail'] = f.cause;
    if (f.endTime !== undefined && Number.isFinite(f.endTime) && Number.isFinite(f.time)) {
      // OCSF timing: whole milliseconds, a duration never negative.
      e['start_time'] = Math.trunc(f.time);
      e['end_time'] = Math.trunc(f.endTime);
      e['duration'] = Math.max(0, Math.round(f.endTime - f.time));
    }
    e['action_id'] = outcome.action[0];
    e['action'] = outcome.action[1];
    e['disposition_id'] = outcome.disposition[0];
    e['disposition'] = outcome.disposition[1];
    if (f.verdict !== 'allow') e['is_alert'] = f.verdict === 'block';
    const redacted = this.#opts.includeContent === 'redacted' ? f.redacted : undefined;
    if (redacted?.arguments !== undefined) (api['request'] as Record<string, unknown>)['data'] = this.#content(redacted.arguments);
    if (f.errorCode !== undefined || f.upstreamStatus !== undefined || redacted?.result !== undefined) {
      const response: Record<string, unknown> = {};
      if (f.errorCode !== undefined) response['error'] = f.errorCode;
      if (f.upstreamStatus !== undefined) response['code'] = f.upstreamStatus;
      if (redacted?.result !== undefined) response['data'] = this.#content(redacted.result);
      api['response'] = response;
    }
    const d = this.#opts.digester;
    u['verdict'] = f.verdict;
    if (f.reasons?.length) u['reasons'] = [...f.reasons];
    if (f.inspectors?.length) u['inspectors'] = f.inspectors.map(inspectorJson);
    if (f.inspectorsDropped) u['inspectors_dropped'] = f.inspectorsDropped;
    if (f.approval) u['approval'] = { ...f.approval };
    if (f.findingTypes?.length) u['finding_types'] = [...new Set(f.findingTypes)];
    const digests: Record<string, unknown> = { key_id: d.keyId };
    if ('arguments' in f) digests['arguments'] = d.digest(f.arguments);
    if ('result' in f) digests['result'] = d.digest(f.result);
    if (f.resultBytesDigest !== undefined) digests['result_bytes'] = f.resultBytesDigest;
    else if (f.resultBytes) digests['result_bytes'] = d.digestBytes(f.resultBytes);
    u['digests'] = digests;
    if (f.bytes) u['bytes'] = numbers(f.bytes);
    if (f.partial) u['partial'] = true;
    if (f.cause !== undefined) u['cause'] = f.cause;
    if (f.batch) {
      const b = f.batch;
      u['batch'] = b.unrecorded ? { size: b.size, elements: b.elements, ids: [...b.ids], unrecorded: b.unrecorded } : { size: b.size, elements: b.elements, ids: [...b.ids] };
    }
    if (f.notes) u['notes'] = boundedJson(f.notes, 8 * 1024);
    return e;
  }

  stream(f: StreamEventFacts): AuditEvent {
    const c = f.context;
    const [activityId, activityName] = apiActivity(c.method);
    const verdict = f.verdict ?? 'allow';
    const cut = f.phase === 'closed' && f.end !== undefined && f.end !== 'completed';
    const severity: SeverityId = f.end === 'cut' || f.verdict === 'block' ? 3 : f.verdict && f.verdict !== 'allow' ? 2 : 1;
    const e = this.#base(6003, 'API Activity', 6, 'Application Activity', activityId, activityName, f.time, severity, 'stream', c.exchangeId);
    e.metadata.event_code = c.method;
    apiContextInto(e, c, this.#opts.digester);
    Object.assign(e.unmapped, exchangeUnmapped(c));
    if (f.phase === 'closed') {
      const end = f.end ?? 'completed';
      Object.assign(e, {
        status_id: end === 'completed' ? 1 : end === 'cancelled' ? 99 : 2,
        status: end === 'completed' ? 'Success' : end === 'cancelled' ? 'Cancelled' : 'Failure',
        ...(f.cause !== undefined && { status_detail: f.cause }),
        ...(f.durationMs !== undefined && Number.isFinite(f.durationMs) && { duration: Math.round(f.durationMs) }),
      });
    }
    if (f.phase === 'segment' && f.verdict !== undefined) {
      const o = OUTCOME[verdict] ?? OUTCOME.block;
      e.metadata.profiles = ['security_control'];
      Object.assign(e, { action_id: o.action[0], action: o.action[1], disposition_id: o.disposition[0], disposition: o.disposition[1] });
    }
    const stream: Record<string, unknown> = { id: f.streamId, phase: f.phase };
    if (f.transport) stream['transport'] = f.transport;
    if (f.phase === 'segment') {
      Object.assign(stream, {
        ...(f.firstIndex !== undefined && { first_index: f.firstIndex }),
        count: f.count ?? 1,
        ...(f.lastEventId !== undefined && { last_event_id: f.lastEventId }),
        ...(f.eventKinds?.length && { event_kinds: [...f.eventKinds] }),
        ...(f.eventMethods?.length && { event_methods: [...new Set(f.eventMethods)] }),
        ...(f.bytes !== undefined && { bytes: f.bytes }),
        ...('messages' in f && { digest: this.#opts.digester.digest(f.messages) }),
        ...(this.#opts.includeContent === 'redacted' && f.redacted !== undefined && { content: this.#content(f.redacted) }),
      });
    }
    if (f.phase === 'closed') {
      Object.assign(stream, {
        end: f.end ?? 'completed',
        partial: cut || f.partial === true,
        ...(f.cause !== undefined && { cause: f.cause }),
        ...(f.sent && { sent: { ...numbers({ events: f.sent.events, bytes: f.sent.bytes }), ...(f.sent.lastEventId !== undefined && { last_event_id: f.sent.lastEventId }) } }),
        ...(f.produced && { produced: numbers(f.produced) }),
        ...(f.received && { received: numbers(f.received) }),
      });
    }
    Object.assign(e.unmapped, {
      ...(f.verdict !== undefined && { verdict: f.verdict }),
      ...(f.reasons?.length && { reasons: [...f.reasons] }),
      stream,
    });
    return e;
  }

  /** One Data Security Finding per finding type in the message (locations grouped by type). */
  findings(f: FindingFacts): AuditEvent[] {
    const byType = new Map<string, FindingLocation[]>();
    for (const loc of f.findings) {
      const list = byType.get(loc.type) ?? [];
      list.push(loc);
      byType.set(loc.type, list);
    }
    const [actionId, action, dispositionId, disposition] =
      f.action === 'blocked' ? [2, 'Denied', 2, 'Blocked'] : f.action === 'redacted' ? [4, 'Modified', 11, 'Corrected'] : [3, 'Observed', 15, 'Detected'];
    const c = f.context;
    return [...byType].map(([type, locations]) => {
      const e = this.#base(2006, 'Data Security Finding', 2, 'Findings', 1, 'Create', f.time, f.action === 'blocked' ? 4 : 3, 'finding', c.exchangeId);
      e.metadata.profiles = ['security_control'];
      const ctx = this.#context(c);
      Object.assign(e.unmapped, exchangeUnmapped(c));
      Object.assign(e, {
        actor: ctx['actor'],
        src_endpoint: ctx['src_endpoint'],
        ...(ctx['dst_endpoint'] !== undefined && { dst_endpoint: ctx['dst_endpoint'] }),
        ...(ctx['resources'] !== undefined && { resources: ctx['resources'] }),
        finding_info: {
          uid: this.#opts.newId(),
          title: `Sensitive data (${type}) in ${f.direction === 'c2s' ? 'a request' : 'a response'}`,
          types: [type],
          analytic: { name: f.inspector, type_id: 1, type: 'Rule' },
        },
        // OCSF data_security: detection_system_id 2 = DLP Gateway, data_lifecycle_state_id 2 = Data in-Transit.
        data_security: {
          detection_pattern: type,
          detection_system_id: 2,
          detection_system: 'DLP Gateway',
          data_lifecycle_state_id: 2,
          data_lifecycle_state: 'Data in-Transit',
        },
        count: locations.length,
        action_id: actionId,
        action,
        disposition_id: dispositionId,
        disposition,
        is_alert: f.action === 'blocked',
      });
      Object.assign(e.unmapped, {
        finding_types: [type],
        direction: f.direction,
        method: c.method,
        route: c.route,
        ...(f.frameId !== undefined && { frame_id: f.frameId }),
        locations: locations.slice(0, 1000).map((l) => ({
          pointer: l.pointer,
          ...(l.start !== undefined && { start: l.start }),
          ...(l.end !== undefined && { end: l.end }),
          ...(l.fingerprint !== undefined && { fingerprint: l.fingerprint }),
        })),
      });
      return e;
    });
  }

  auth(f: AuthFacts): AuditEvent {
    const ok = f.outcome === 'success';
    const logoff = f.activity === 'logoff';
    const e = this.#base(3002, 'Authentication', 3, 'Identity & Access Management', logoff ? 2 : 1, logoff ? 'Logoff' : 'Logon', f.time, ok ? 1 : 3, 'auth', f.correlationId);
    const [protoId, proto] = AUTH_PROTOCOL[f.method] ?? (f.method === 'none' ? [0, 'Unknown'] : [99, f.method]);
    const p = f.principal;
    Object.assign(e, {
      user: p ? userJson(p) : { uid: 'unknown' },
      auth_protocol_id: protoId,
      auth_protocol: proto,
      status_id: ok ? 1 : 2,
      status: ok ? 'Success' : 'Failure',
      ...(f.reason !== undefined && { status_detail: f.reason }),
      service: { name: f.route },
      src_endpoint: endpointJson(f.client),
      is_remote: true,
    });
    Object.assign(e.unmapped, {
      auth_method: f.method,
      route: f.route,
      ...(p?.issuer !== undefined && { issuer: p.issuer }),
      ...(p?.clientId !== undefined && { client_id: p.clientId }),
      ...(p?.scopes?.length && { scopes: [...p.scopes] }),
    });
    return e;
  }

  /** HTTP Activity (4002): a request the edge refused (Origin / Host), denied and blocked. */
  refusal(f: RefusalFacts): AuditEvent {
    const activity = HTTP_ACTIVITY[f.httpMethod] ?? [99, 'Other'];
    const e = this.#base(4002, 'HTTP Activity', 4, 'Network Activity', activity[0], activity[1], f.time, 3, 'refusal', undefined);
    Object.assign(e, {
      http_request: {
        http_method: f.httpMethod,
        url: { path: f.path, ...hostParts(f.host) },
        ...(f.client?.userAgent !== undefined && { user_agent: f.client.userAgent }),
      },
      http_response: { code: f.status },
      src_endpoint: endpointJson(f.client),
      action_id: 2,
      action: 'Denied',
      disposition_id: 2,
      disposition: 'Blocked',
      status_id: 2,
      status: 'Failure',
      status_code: f.code,
      is_alert: true,
    });
    Object.assign(e.unmapped, { reason: f.code, ...(f.origin !== undefined && { origin: f.origin }), ...(f.host !== undefined && { host: f.host }) });
    return e;
  }

  lifecycle(f: LifecycleFacts): AuditEvent {
    const [id, name] = f.activity === 'start' ? [3, 'Start'] : f.activity === 'stop' ? [4, 'Stop'] : [99, 'Reload Configuration'];
    const e = this.#base(6002, 'Application Lifecycle', 6, 'Application Activity', id, name, f.time, 1, 'lifecycle', undefined);
    Object.assign(e, {
      app: { name: 'Portcullis', vendor_name: 'Portcullis', version: this.#opts.productVersion },
      status_id: 1,
      status: 'Success',
      ...(f.message !== undefined && { message: f.message }),
    });
    Object.assign(e.unmapped, {
      ...(f.policyVersion !== undefined && { policy_version: f.policyVersion }),
      ...(f.configDigest !== undefined && { config_digest: f.configDigest }),
      ...(f.controls && { controls: f.controls.map((c) => ({ name: String(c.name), detail: String(c.detail) })) }),
    });
    return e;
  }

  #base(
    classUid: number,
    className: string,
    categoryUid: number,
    categoryName: string,
    activityId: number,
    activityName: string,
    time: number,
    severity: SeverityId,
    kind: RecordKind,
    correlation: string | undefined,
  ): AuditEvent {
    const uid = this.#opts.newId();
    const product = { name: 'Portcullis', vendor_name: 'Portcullis', version: this.#opts.productVersion };
    return {
      class_uid: classUid,
      class_name: className,
      category_uid: categoryUid,
      category_name: categoryName,
      activity_id: activityId,
      activity_name: activityName,
      // OCSF: type_uid = class_uid * 100 + activity_id.
      type_uid: classUid * 100 + activityId,
      type_name: `${className}: ${activityName}`,
      severity_id: severity,
      severity: SEVERITY[severity],
      time: Number.isFinite(time) ? Math.trunc(time) : Date.now(),
      metadata:
        correlation !== undefined
          ? { version: OCSF_VERSION, product, uid, correlation_uid: correlation, log_name: 'audit' }
          : { version: OCSF_VERSION, product, uid, log_name: 'audit' },
      unmapped: { kind },
    };
  }

  /** The API Activity attributes shared by an exchange's records. */
  #context(c: ExchangeContext): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    apiContextInto(out, c, this.#opts.digester);
    return out;
  }

  #content(value: unknown): unknown {
    return boundedJson(value, this.#opts.maxContentBytes);
  }
}
