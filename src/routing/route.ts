/**
 * A route at runtime: its config, its inspectors (built once, in order), the buffering plan
 * computed from them, and its upstream pool. Rebuilt as a whole on config reload, so an
 * exchange keeps the route it started with.
 */
import type { Config } from '../config/schema.ts';
import { createMethodDenyInspector } from '../inspectors/method-deny.ts';
import { createRedactInspector } from '../inspectors/redact.ts';
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
}

export function buildInspector(cfg: InspectorConfig): Inspector {
  switch (cfg.type) {
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

export function buildRoute(cfg: RouteConfig, extraInspectors: readonly Inspector[] = []): Route {
  return {
    name: cfg.name,
    path: cfg.path,
    cfg,
    paramHeaders: new ParamHeaderIndex(),
    tools: new ToolCatalog(),
    plan: new RoutePlan([...cfg.inspectors.map(buildInspector), ...extraInspectors]),
    upstream: new UpstreamClient({
      url: cfg.upstream.url,
      headers: cfg.upstream.headers,
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
