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
  /** Host header values (name or name:port); empty = derived from the bind address. */
  allowedHosts: readonly string[];
  /** The listener's bind address. */
  bindHost: string;
  /** The gateway's canonical public URL, if configured: its host and origin are always allowed. */
  publicUrl?: string | undefined;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

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

export class RequestGuard {
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;
  /** When true, any Host is accepted (bound to a non-loopback address with no allow list). */
  private readonly anyHost: boolean;
  private readonly loopbackOnly: boolean;

  constructor(cfg: GuardConfig) {
    this.origins = new Set(cfg.allowedOrigins.map((o) => o.toLowerCase().replace(/\/$/, '')));
    this.hosts = new Set(cfg.allowedHosts.map((h) => h.toLowerCase()));
    this.loopbackOnly = isLoopbackAddress(cfg.bindHost);
    if (cfg.publicUrl) {
      const u = new URL(cfg.publicUrl);
      this.origins.add(u.origin.toLowerCase());
      this.hosts.add(u.host.toLowerCase());
      this.hosts.add(u.hostname.toLowerCase());
    }
    this.anyHost = this.hosts.size === 0 && !this.loopbackOnly;
  }

  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined || host === '') return false;
    const lower = host.trim().toLowerCase();
    if (this.hosts.has(lower) || this.hosts.has(hostName(lower))) return true;
    if (this.anyHost) return true;
    // With no explicit list on a loopback listener, only loopback names (the rebinding case).
    return this.hosts.size === 0 && LOOPBACK_NAMES.has(hostName(lower));
  }

  private originAllowed(origin: string): boolean {
    const lower = origin.toLowerCase().replace(/\/$/, '');
    if (this.origins.has(lower)) return true;
    if (this.origins.size > 0) return false;
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
    if (!this.hostAllowed(host)) throw new GatewayError('host_forbidden');
    if (origin !== undefined && !this.originAllowed(origin)) throw new GatewayError('origin_forbidden');
  }
}
