/**
 * Prometheus metrics for the gateway.
 *
 * `GatewayMetrics` owns its own prom-client `Registry` (never the global one) so tests, and a
 * process running several gateways, can hold independent instances. Callers use the typed helper
 * methods and never touch prom-client.
 *
 * Label cardinality is bounded by construction, because every label value becomes a time series
 * and an unbounded label is a memory leak an attacker can drive:
 * - `method` comes from a closed list of MCP methods; anything else is folded to "other".
 * - `status` is the HTTP status class ("2xx"…), never the raw status.
 * - `era`, `kind`, `direction`, `verdict`, `code`, `result` are closed unions, checked at runtime
 *   too (callers may hand us values from the wire).
 * - `route`, `inspector` and `reason` come from configuration; as a safety net each label keeps at
 *   most `maxLabelValues` distinct values and folds the rest to "other".
 *
 * Hot path: prom-client 15's `.labels(...)` children are bound closures that re-hash the label
 * object on every call, so caching them measured *slower* (≈330–480 ns/op) than passing a fresh
 * label object to `inc`/`observe` (≈260–340 ns/op) on Node 24. We therefore do not cache children.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERRORS } from '../core/errors.ts';
import type { Direction, Era, Verdict } from '../pipeline/types.ts';
import type { AuditMetrics } from '../audit/pipeline.ts';
import { registerAuditMetrics } from './audit-metrics.ts';

/** The fold target for any label value outside its closed list or over its cap. */
export const OTHER = 'other';

/**
 * MCP methods that may appear as a `method` label: both protocol eras (2025-03-26 … 2025-11-25
 * and 2026-07-28), requests and notifications. The list is closed on purpose: a wildcard such as
 * `notifications/*` would let any client mint new series with made-up method names.
 */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'server/discover',
  'subscriptions/listen',
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/message',
  'notifications/resources/updated',
  'notifications/resources/list_changed',
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/roots/list_changed',
  'notifications/elicitation/complete',
  'notifications/tasks/status',
  'notifications/subscriptions/acknowledged',
]);

/** `method` label value: the MCP method when it is on the closed list, else "other". */
export function foldMethod(method: unknown): string {
  return typeof method === 'string' && KNOWN_METHODS.has(method) ? method : OTHER;
}

/** `status` label value: the HTTP status class (RFC 9110 §15), "other" outside 100–599. */
export function statusClass(status: unknown): string {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return OTHER;
  return STATUS_CLASSES[Math.floor(status / 100) - 1] as string;
}
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export type StreamKind = 'post-sse' | 'get-sse';
/** Requests refused before the protocol era is known (bad Origin, 404, …) use "unknown". */
export type EraLabel = Era | 'unknown';
export type VerdictKind = Verdict['kind'];
export type ReloadResult = 'ok' | 'error';

const ERAS: ReadonlySet<string> = new Set<EraLabel>(['legacy', 'modern', 'unknown']);
const STREAM_KINDS: ReadonlySet<string> = new Set<StreamKind>(['post-sse', 'get-sse']);
const DIRECTIONS: ReadonlySet<string> = new Set<Direction>(['c2s', 's2c']);
const VERDICTS: ReadonlySet<string> = new Set<VerdictKind>(['allow', 'redact', 'rewrite', 'block', 'require-approval']);
const RELOAD_RESULTS: ReadonlySet<string> = new Set<ReloadResult>(['ok', 'error']);

function closed(set: ReadonlySet<string>, value: unknown): string {
  return typeof value === 'string' && set.has(value) ? value : OTHER;
}

/** Request and upstream latency: sub-millisecond JSON answers up to five-minute SSE streams. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];
/** Inspector decisions are expected in microseconds to milliseconds; 5 s is already pathological. */
export const INSPECTOR_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * Admits configuration-derived label values (route, inspector, reason) up to a cap, then folds
 * new ones to "other", so a misconfiguration or a buggy inspector cannot grow series unboundedly.
 */
class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  value(v: unknown): string {
    if (typeof v !== 'string' || v === '') return OTHER;
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.#max || v.length > MAX_LABEL_LENGTH) return OTHER;
    this.#seen.add(v);
    return v;
  }
}
const MAX_LABEL_LENGTH = 128;

/** A duration prom-client accepts; anything else (NaN, negative, ±Infinity) is not observed. */
function validSeconds(s: unknown): s is number {
  return typeof s === 'number' && Number.isFinite(s) && s >= 0;
}

export interface GatewayMetricsOptions {
  /** Collect Node process metrics (CPU, memory, event loop lag, GC) on the registry. Default true. */
  defaultMetrics?: boolean;
  /** Cap on distinct values of each configuration-derived label. Default 200. */
  maxLabelValues?: number;
}

export class GatewayMetrics {
  readonly registry: Registry;

  readonly #requests: Counter<'route' | 'method' | 'era' | 'status'>;
  readonly #requestDuration: Histogram<'route' | 'method' | 'era'>;
  readonly #upstreamDuration: Histogram<'route'>;
  readonly #openStreams: Gauge<'route' | 'kind'>;
  readonly #sseEvents: Counter<'route' | 'direction'>;
  readonly #verdicts: Counter<'inspector' | 'verdict' | 'reason'>;
  readonly #inspectorDuration: Histogram<'inspector'>;
  readonly #errors: Counter<'code'>;
  readonly #sessions: Gauge<'era'>;
  readonly #configReloads: Counter<'result'>;

  readonly #routes: BoundedLabel;
  readonly #inspectors: BoundedLabel;
  readonly #reasons: BoundedLabel;

  constructor(opts: GatewayMetricsOptions = {}) {
    const max = opts.maxLabelValues ?? 200;
    if (!Number.isInteger(max) || max < 1) {
      throw new TypeError(`maxLabelValues must be a positive integer, got ${String(opts.maxLabelValues)}`);
    }
    this.#routes = new BoundedLabel(max);
    this.#inspectors = new BoundedLabel(max);
    this.#reasons = new BoundedLabel(max);

    const register = new Registry();
    this.registry = register;
    const registers = [register];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register, prefix: 'portcullis_' });

    this.#requests = new Counter({
      name: 'portcullis_requests_total',
      help: 'HTTP requests answered by the gateway, by route, MCP method, protocol era and status class.',
      labelNames: ['route', 'method', 'era', 'status'] as const,
      registers,
    });
    this.#requestDuration = new Histogram({
      name: 'portcullis_request_duration_seconds',
      help: 'Time from request received to response finished (streams included), in seconds.',
      labelNames: ['route', 'method', 'era'] as const,
      buckets: [...DURATION_BUCKETS],
      registers,
    });
    this.#upstreamDuration = new Histogram({
      name: 'portcullis_upstream_duration_seconds',
      help: 'Time from request sent upstream to upstream response headers, in seconds.',
      labelNames: ['route'] as const,
      buckets: [...DURATION_BUCKETS],
      registers,
    });
    this.#openStreams = new Gauge({
      name: 'portcullis_open_streams',
      help: 'SSE streams currently open through the gateway.',
      labelNames: ['route', 'kind'] as const,
      registers,
    });
    this.#sseEvents = new Counter({
      name: 'portcullis_sse_events_total',
      help: 'SSE events relayed, by direction (c2s, s2c).',
      labelNames: ['route', 'direction'] as const,
      registers,
    });
    this.#verdicts = new Counter({
      name: 'portcullis_verdicts_total',
      help: 'Inspector verdicts, by inspector, verdict and primary reason (one count per verdict).',
      labelNames: ['inspector', 'verdict', 'reason'] as const,
      registers,
    });
    this.#inspectorDuration = new Histogram({
      name: 'portcullis_inspector_duration_seconds',
      help: 'Time an inspector took to reach a verdict, in seconds.',
      labelNames: ['inspector'] as const,
      buckets: [...INSPECTOR_BUCKETS],
      registers,
    });
    this.#errors = new Counter({
      name: 'portcullis_errors_total',
      help: 'Errors the gateway answered with, by stable gateway error code.',
      labelNames: ['code'] as const,
      registers,
    });
    this.#sessions = new Gauge({
      name: 'portcullis_sessions',
      help: 'Live sessions held by the gateway, by protocol era.',
      labelNames: ['era'] as const,
      registers,
    });
    // Export 0 for both eras from the start so "no sessions" is a value, not an absent series.
    this.#sessions.set({ era: 'legacy' }, 0);
    this.#sessions.set({ era: 'modern' }, 0);
    this.#configReloads = new Counter({
      name: 'portcullis_config_reloads_total',
      help: 'Configuration reload attempts, by result.',
      labelNames: ['result'] as const,
      registers,
    });
  }

  /** Prometheus exposition content type (text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Export the audit trail's health (see audit-metrics.ts), read at each scrape. */
  watchAudit(source: () => AuditMetrics): void {
    registerAuditMetrics(this.registry, source);
  }

  /** Prometheus text exposition of every metric on this instance's registry. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** One finished HTTP request: counts it and records its duration. */
  observeRequest(route: string, method: string, era: EraLabel, status: number, seconds: number): void {
    const r = this.#routes.value(route);
    const m = foldMethod(method);
    const e = closed(ERAS, era);
    this.#requests.inc({ route: r, method: m, era: e, status: statusClass(status) });
    if (validSeconds(seconds)) this.#requestDuration.observe({ route: r, method: m, era: e }, seconds);
  }

  /** Time to upstream response headers. */
  observeUpstream(route: string, seconds: number): void {
    if (validSeconds(seconds)) this.#upstreamDuration.observe({ route: this.#routes.value(route) }, seconds);
  }

  /**
   * Marks an SSE stream open; the returned function closes it. Calling it more than once is a
   * no-op, so callers can wire it to every end path (finish, close, error) without double counting.
   */
  streamOpened(route: string, kind: StreamKind): () => void {
    const labels = { route: this.#routes.value(route), kind: closed(STREAM_KINDS, kind) };
    this.#openStreams.inc(labels);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#openStreams.dec(labels);
    };
  }

  /** SSE events relayed on a route (`count` lets a caller batch). */
  sseEvent(route: string, direction: Direction, count = 1): void {
    if (!Number.isFinite(count) || count <= 0) return;
    this.#sseEvents.inc({ route: this.#routes.value(route), direction: closed(DIRECTIONS, direction) }, count);
  }

  /**
   * One inspector verdict, counted once under its first reason ("none" without reasons), so
   * `sum by (verdict)` counts verdicts, not reasons; the audit record carries the full list.
   */
  countVerdict(inspector: string, verdict: { readonly kind: VerdictKind; readonly reasons?: readonly string[] }): void {
    const first = verdict.reasons?.[0];
    this.#verdicts.inc({
      inspector: this.#inspectors.value(inspector),
      verdict: closed(VERDICTS, verdict.kind),
      reason: first === undefined ? 'none' : this.#reasons.value(first),
    });
  }

  /** Time an inspector took for one call. */
  observeInspector(inspector: string, seconds: number): void {
    if (validSeconds(seconds)) this.#inspectorDuration.observe({ inspector: this.#inspectors.value(inspector) }, seconds);
  }

  /** An error answered with a gateway error code (see core/errors.ts); unknown codes → "other". */
  countError(code: string): void {
    this.#errors.inc({ code: Object.hasOwn(ERRORS, code) ? code : OTHER });
  }

  /** Marks a session live; the returned function ends it (idempotent). Don't mix with setSessions. */
  sessionOpened(era: Era): () => void {
    const labels = { era: closed(ERAS, era) };
    this.#sessions.inc(labels);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#sessions.dec(labels);
    };
  }

  /** Sets the live session count for an era (for a store that knows its size). */
  setSessions(era: Era, count: number): void {
    if (Number.isInteger(count) && count >= 0) this.#sessions.set({ era: closed(ERAS, era) }, count);
  }

  /** One configuration reload attempt. */
  configReload(result: ReloadResult): void {
    this.#configReloads.inc({ result: closed(RELOAD_RESULTS, result) });
  }
}

/** Seconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
