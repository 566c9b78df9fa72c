/**
 * `Mcp-Param-*` validation (2026-07-28 streamable-http, "Custom headers", SEP-2243).
 *
 * A tool's inputSchema property may carry `"x-mcp-header": "Region"`; the client then mirrors
 * that argument into `Mcp-Param-Region`. Intermediaries that process the body MUST check the
 * decoded header value against the body and reject mismatches with 400 / -32020. The gateway
 * learns the annotations from the `tools/list` results it relays (per route); a call for a tool
 * it has not seen listed makes it fetch the list itself first (upstream-tools.ts), so the check
 * holds after a restart, on another replica, or for a client that cached its list. A tool absent
 * from the upstream's whole list has nothing to check (the upstream will refuse the call).
 * Unrecognised `Mcp-Param-*` headers are forwarded untouched (MUST).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../core/errors.ts';
import type { Exchange } from './context.ts';
import { decodeHeaderValue } from './modern.ts';
import { fetchUpstreamToolPages, learnToolList } from './upstream-tools.ts';

/** A tool missing from the upstream's full list is not looked up again for this long. */
const ABSENT_TTL_MS = 60_000;

interface ParamHeader {
  header: string; // lower-case full header name, e.g. mcp-param-region
  property: string;
  type: string | undefined;
}

const MAX_TOOLS = 10_000;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export class ParamHeaderIndex {
  private readonly byTool = new Map<string, ParamHeader[]>();
  /** Every tool name seen in a list, with or without annotations. */
  private readonly known = new Set<string>();
  private readonly absentSince = new Map<string, number>();
  /** One fetch at a time per route: concurrent calls for unknown tools wait for the same one. */
  private fetching: Promise<void> | undefined;

  knows(tool: string): boolean {
    if (this.known.has(tool)) return true;
    const since = this.absentSince.get(tool);
    return since !== undefined && Date.now() - since < ABSENT_TTL_MS;
  }

  /** Learns the upstream's whole list once (shared by concurrent callers); afterwards `tool` is known. */
  async learnFromUpstream(ex: Exchange, tool: string): Promise<void> {
    this.fetching ??= fetchUpstreamToolPages(ex)
      .then((pages) => {
        for (const p of pages) learnToolList(ex.route, p);
      })
      .finally(() => {
        this.fetching = undefined;
      });
    await this.fetching;
    if (!this.known.has(tool)) {
      if (this.absentSince.size >= MAX_TOOLS) this.absentSince.clear();
      this.absentSince.set(tool, Date.now());
    }
  }

  /** Learn from a tools/list result (only top-level `properties` are reachable, per the spec). */
  learn(result: unknown): void {
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools) {
      const name = (tool as { name?: unknown }).name;
      const props = (tool as { inputSchema?: { properties?: unknown } }).inputSchema?.properties;
      if (typeof name !== 'string') continue;
      if (this.known.size < MAX_TOOLS) this.known.add(name);
      this.absentSince.delete(name);
      const list: ParamHeader[] = [];
      if (props && typeof props === 'object') {
        for (const [property, schema] of Object.entries(props as Record<string, unknown>)) {
          const h = (schema as Record<string, unknown> | null)?.['x-mcp-header'];
          if (typeof h === 'string' && TOKEN.test(h)) {
            const type = (schema as Record<string, unknown>)['type'];
            list.push({ header: `mcp-param-${h.toLowerCase()}`, property, type: typeof type === 'string' ? type : undefined });
          }
        }
      }
      if (list.length > 0) {
        if (this.byTool.size >= MAX_TOOLS && !this.byTool.has(name)) continue;
        this.byTool.set(name, list);
      } else {
        this.byTool.delete(name);
      }
    }
  }

  /** Throws header_mismatch when a mirrored argument and its header disagree. */
  check(tool: string | undefined, args: unknown, headers: IncomingHttpHeaders): void {
    if (tool === undefined) return;
    const list = this.byTool.get(tool);
    if (!list) return;
    const a = (args && typeof args === 'object' ? args : {}) as Record<string, unknown>;
    for (const p of list) {
      const raw = headers[p.header];
      const value = a[p.property];
      const headerValue = Array.isArray(raw) ? raw.join(',') : raw;
      if (value === undefined || value === null) {
        if (headerValue !== undefined) throw new GatewayError('header_mismatch', `${p.header} present but argument ${p.property} is absent`);
        continue;
      }
      if (headerValue === undefined) throw new GatewayError('header_mismatch', `${p.header} header is required`);
      const decoded = decodeHeaderValue(headerValue);
      const ok = typeof value === 'number' ? Number(decoded) === value && decoded !== '' : String(value) === decoded;
      if (!ok) throw new GatewayError('header_mismatch', `${p.header} does not match the body`);
    }
  }
}

/**
 * Checks a 2026-07-28 `tools/call`'s `Mcp-Param-*` headers against its arguments, learning the
 * tool's annotations from the upstream first when the route has not seen it listed. A list the
 * upstream will not give fails the call closed: its headers cannot be checked.
 */
export async function checkParamHeaders(ex: Exchange, tool: string | undefined, args: unknown): Promise<void> {
  if (tool === undefined) return;
  const index = ex.route.paramHeaders;
  if (!index.knows(tool)) await index.learnFromUpstream(ex, tool);
  index.check(tool, args, ex.req.headers);
}
