/**
 * A route at runtime: its config, its inspectors (built once, in order), the buffering plan
 * computed from them, and its upstream pool. Rebuilt as a whole on config reload, so an
 * exchange keeps the route it started with.
 */
import type { Config } from '../config/schema.ts';
import { Authenticator } from '../identity/authenticator.ts';
import { createDlpInspector } from '../inspectors/dlp.ts';
import { createPromptInjectionInspector } from '../inspectors/prompt-injection.ts';
import { createToolPoisoningInspector } from '../inspectors/tool-poisoning.ts';
import { createMethodDenyInspector } from '../inspectors/method-deny.ts';
import { createRoutePolicyInspector } from '../inspectors/policy.ts';
import { createRateLimitInspector } from '../inspectors/rate-limit.ts';
import { createRedactInspector } from '../inspectors/redact.ts';
import type { Policy } from '../policy/engine.ts';
import type { RateLimiter } from '../ratelimit/limiter.ts';
import type { FindingMemory } from '../session/finding-memory.ts';
import type { Pinner } from '../pinning/pinner.ts';
import { createToolPinningInspector } from '../inspectors/tool-pinning.ts';
import { RoutePlan } from '../pipeline/plan.ts';
import type { Inspector } from '../pipeline/types.ts';
import { UpstreamClient } from '../upstream/client.ts';
import { ParamHeaderIndex } from '../transport/param-headers.ts';
import { ToolCatalog } from './tool-catalog.ts';

export type RouteConfig = Config['routes'][number];
type InspectorConfig = RouteConfig['inspectors'][number];

export interface Route {
  readonly name: string;
  readonly path: string;
  readonly cfg: RouteConfig;
  readonly plan: RoutePlan;
  readonly upstream: UpstreamClient;
  /** `x-mcp-header` annotations learned from relayed tools/list results. */
  readonly paramHeaders: ParamHeaderIndex;
  /** Tool definitions (annotations for policy) learned from relayed tools/list results. */
  readonly tools: ToolCatalog;
  /** Inbound authentication; undefined when the route configures none (callers are anonymous). */
  readonly auth: Authenticator | undefined;
  /** Tool pinning, when enabled (pins are kept per route name). */
  readonly pinner?: Pinner | undefined;
}

/** What every route of one config shares. */
export interface RouteServices {
  /** The gateway's URL as clients reach it (server.publicUrl, else the listener's URL). */
  readonly baseUrl: string;
  readonly policy?: Policy | undefined;
  readonly limiter?: RateLimiter | undefined;
  /** Findings per caller over time (session memory), shared by every route. */
  readonly memory?: FindingMemory | undefined;
  /** Tool names the other routes' upstreams listed (shadowing check), by route name. */
  readonly otherTools?: ((route: string) => ReadonlyMap<string, readonly string[]>) | undefined;
  /** Tool pinning (definitions hashed and held to what was approved), when enabled. */
  readonly pinner?: Pinner | undefined;
  /** Key of DLP findings' fingerprints: the audit digest key, so an auditor can match them. */
  readonly fingerprintKey?: Uint8Array | undefined;
  /** Inspectors appended after the configured ones (tests, embedding). */
  readonly extraInspectors?: readonly Inspector[] | undefined;
}

function hasAuth(cfg: RouteConfig['auth']): boolean {
  return cfg.required || cfg.jwt !== undefined || cfg.introspection !== undefined || cfg.apiKeys !== undefined || cfg.mtls !== undefined;
}

export function buildInspector(cfg: InspectorConfig, services?: Pick<RouteServices, 'memory' | 'otherTools' | 'fingerprintKey'>, route = ''): Inspector {
  switch (cfg.type) {
    case 'prompt-injection':
      return createPromptInjectionInspector({
        threshold: cfg.threshold,
        action: cfg.action,
        maxChars: cfg.maxChars,
        classifier: cfg.classifier,
        memory: services?.memory,
        ...(cfg.name ? { name: cfg.name } : {}),
      });
    case 'tool-poisoning':
      return createToolPoisoningInspector({
        upstream: route,
        otherUpstreams: () => services?.otherTools?.(route) ?? new Map(),
        hideSuspicious: cfg.hideSuspicious,
        maxDescriptionLength: cfg.maxDescriptionLength,
        ...(cfg.name ? { name: cfg.name } : {}),
      });
    case 'dlp':
      return createDlpInspector({
        families: cfg.families,
        minConfidence: cfg.minConfidence,
        direction: cfg.direction,
        actions: cfg.actions,
        custom: cfg.custom,
        crossEventHoldMs: cfg.crossEventHoldMs,
        memory: services?.memory,
        fingerprintKey: services?.fingerprintKey,
        ...(cfg.name ? { name: cfg.name } : {}),
      });
    case 'method-deny':
      return createMethodDenyInspector({ methods: cfg.methods, ...(cfg.name ? { name: cfg.name } : {}) });
    case 'redact':
      return createRedactInspector({
        patterns: cfg.patterns,
        replacement: cfg.replacement,
        windowChars: cfg.windowChars,
        ...(cfg.name ? { name: cfg.name } : {}),
      });
  }
}

export function buildRoute(cfg: RouteConfig, services: RouteServices): Route {
  const tools = new ToolCatalog();
  // Order: policy first (a denied call costs no rate budget), then rate limits, then the
  // configured content inspectors, then any embedder's.
  const builtins: Inspector[] = [];
  if (services.policy) builtins.push(createRoutePolicyInspector({ policy: services.policy, upstreamUrl: cfg.upstream.url, tools, memory: services.memory }));
  if (services.limiter && !services.limiter.empty) builtins.push(createRateLimitInspector({ limiter: services.limiter, upstream: cfg.upstream.url }));
  const resource = new URL(cfg.path, services.baseUrl).href;
  return {
    name: cfg.name,
    path: cfg.path,
    cfg,
    paramHeaders: new ParamHeaderIndex(),
    tools,
    pinner: services.pinner,
    auth: hasAuth(cfg.auth) ? new Authenticator(cfg.auth, { resource }) : undefined,
    // Pinning is innermost: server→client messages pass inspectors in reverse order, so it hashes
    // exactly what the upstream listed, before any other inspector rewrites it.
    plan: new RoutePlan([
      ...builtins,
      ...cfg.inspectors.map((i) => buildInspector(i, services, cfg.name)),
      ...(services.extraInspectors ?? []),
      ...(services.pinner ? [createToolPinningInspector({ pinner: services.pinner, upstream: cfg.name })] : []),
    ]),
    upstream: new UpstreamClient({
      url: cfg.upstream.url,
      headers: cfg.upstream.headers,
      auth: cfg.upstream.auth,
      connections: cfg.upstream.connections,
      insecureSkipVerify: cfg.upstream.insecureSkipVerify,
      connectMs: cfg.timeouts.connectMs,
    }),
  };
}

export class Router {
  private readonly byPath: Map<string, Route>;
  constructor(routes: readonly Route[]) {
    this.byPath = new Map(routes.map((r) => [r.path, r]));
  }
  byName(name: string): Route | undefined {
    for (const r of this.byPath.values()) if (r.name === name) return r;
    return undefined;
  }
  /** The route whose RFC 9728 metadata lives at this path, if any. */
  byMetadataPath(pathname: string): Route | undefined {
    for (const r of this.byPath.values()) {
      if (r.auth && new URL(r.auth.metadataUrl).pathname === pathname) return r;
    }
    return undefined;
  }
  match(pathname: string): Route | undefined {
    return this.byPath.get(pathname) ?? this.byPath.get(pathname.endsWith('/') ? pathname.slice(0, -1) : `${pathname}/`);
  }
  get routes(): Route[] {
    return [...this.byPath.values()];
  }
  async close(): Promise<void> {
    await Promise.all(this.routes.map((r) => r.upstream.close().catch(() => r.upstream.destroy())));
  }
}
