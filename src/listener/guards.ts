/**
 * DNS-rebinding protection: Origin and Host validation, before anything else is read.
 *
 * MCP streamable-http (2025-11-25 and 2026-07-28): "Servers MUST validate the Origin header on
 * all incoming connections to prevent DNS rebinding attacks. If the Origin header is present and
 * invalid, servers MUST respond with HTTP 403 Forbidden." The conformance scenario
 * `dns-rebinding-protection` also sends a foreign Host, so Host is checked too: a rebinding
 * attacker controls the name the browser resolved, which shows up in Host.
 */
import { isIP } from 'node:net';
import { GatewayError } from '../core/errors.ts';

export interface GuardConfig {
  /** Exact origins (scheme://host[:port]); empty = loopback origins only. */
  allowedOrigins: readonly string[];
  /**
   * Host header values (name or name:port). Empty = the defaults below; `["*"]` = any Host (an
   * explicit opt-out of the rebinding check on Host; Origin is still checked).
   */
  allowedHosts: readonly string[];
  /** The listener's bind address. */
  bindHost: string;
  /** The gateway's canonical public URL, if configured: its host and origin are always allowed. */
  publicUrl?: string | undefined;
  /**
   * What an empty `allowedOrigins` accepts: 'loopback' (the data plane: browser-based MCP clients
   * on localhost) or 'none' (the admin listener, which no browser page needs to reach).
   * Default 'loopback'.
   */
  defaultOrigins?: 'loopback' | 'none';
  /** The detail of a refused Host (which setting to use). Default HOST_HINT. */
  hostHint?: string;
  /**
   * Listed `allowedHosts` add to the defaults instead of replacing them (the admin listener:
   * listing the name Prometheus scrapes must not lock out the kubelet, which probes by address).
   * Default false.
   */
  keepDefaultHosts?: boolean;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);

/** The client-visible hint of a refused Host (never echoes the value: it is request data). */
export const HOST_HINT = 'list the name clients use in security.allowedHosts, or set server.publicUrl';

export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Strip the port from a Host header value (`name:port`, `[v6]:port`). */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

/**
 * Which Host values pass (DNS-rebinding protection, on by default whatever the bind address):
 *
 * - `allowedHosts: ["*"]`: any.
 * - `allowedHosts` listed: exactly those, plus `publicUrl`'s host. Nothing else, loopback names
 *   included: the list is the whole answer.
 * - Empty (the default): loopback names, `publicUrl`'s host and the bind address; and, when bound
 *   off loopback, any IP literal. A rebinding attack needs a DNS name the attacker controls (the
 *   browser sends that name as Host); an IP literal or a loopback name cannot be one, so a
 *   `--host 0.0.0.0` quick start is reachable by address (also through NAT or a container port
 *   mapping, where the address is not the listener's own) while an unlisted DNS name is refused
 *   with a hint saying which setting to use.
 */
export class RequestGuard {
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;
  /** `allowedHosts: ["*"]`: the operator opted out of Host checks. */
  private readonly anyHost: boolean;
  /** No `allowedHosts`: the defaults above apply. */
  private readonly defaults: boolean;
  private readonly loopbackOnly: boolean;
  private readonly loopbackOrigins: boolean;
  private readonly hostHint: string;

  constructor(cfg: GuardConfig) {
    this.loopbackOrigins = (cfg.defaultOrigins ?? 'loopback') === 'loopback';
    this.hostHint = cfg.hostHint ?? HOST_HINT;
    this.origins = new Set(cfg.allowedOrigins.map((o) => o.toLowerCase().replace(/\/$/, '')));
    const listed = cfg.allowedHosts.map((h) => h.trim().toLowerCase());
    this.anyHost = listed.includes('*');
    this.defaults = listed.length === 0 || cfg.keepDefaultHosts === true;
    this.hosts = new Set(listed.filter((h) => h !== '*'));
    this.loopbackOnly = isLoopbackAddress(cfg.bindHost);
    if (cfg.publicUrl) {
      const u = new URL(cfg.publicUrl);
      this.origins.add(u.origin.toLowerCase());
      this.hosts.add(u.host.toLowerCase());
      this.hosts.add(u.hostname.toLowerCase());
    }
    const bind = cfg.bindHost.trim().toLowerCase();
    if (this.defaults && !WILDCARD_BINDS.has(bind)) {
      this.hosts.add(isIP(bind) === 6 ? `[${bind}]` : bind);
    }
  }

  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined || host.trim() === '') return false;
    if (this.anyHost) return true;
    const lower = host.trim().toLowerCase();
    const name = hostName(lower);
    if (this.hosts.has(lower) || this.hosts.has(name)) return true;
    if (!this.defaults) return false;
    if (LOOPBACK_NAMES.has(name)) return true;
    // Off loopback: an address, never a name (see the class comment).
    return !this.loopbackOnly && isIP(/^\[(.*)\]$/.exec(name)?.[1] ?? name) !== 0;
  }

  private originAllowed(origin: string): boolean {
    const lower = origin.toLowerCase().replace(/\/$/, '');
    if (this.origins.has(lower)) return true;
    if (this.origins.size > 0 || !this.loopbackOrigins) return false;
    // Default: loopback origins only (any port, http or https).
    try {
      const u = new URL(lower);
      return (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK_NAMES.has(u.hostname);
    } catch {
      return false;
    }
  }

  /** Throws a GatewayError (403) when the request must be refused. */
  check(host: string | undefined, origin: string | undefined): void {
    if (!this.hostAllowed(host)) throw new GatewayError('host_forbidden', this.hostHint);
    if (origin !== undefined && !this.originAllowed(origin)) throw new GatewayError('origin_forbidden');
  }
}
