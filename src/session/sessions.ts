/**
 * 2025-era sessions as the gateway sees them.
 *
 * The gateway issues its own `Mcp-Session-Id` (128 random bits, visible ASCII as the spec
 * requires) and maps it to the upstream's. The client never learns the upstream id, so a leaked
 * upstream id is useless against the gateway, and a gateway id is bound to the principal that
 * created it (callerKey: on an anonymous route, the caller's address too): presented by anyone
 * else it is answered like an unknown id (404), which leaks nothing about which sessions exist.
 *
 * The store is behind a small interface; memory now, Redis when replicas share sessions.
 */
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { JsonRpcId } from '../codec/jsonrpc.ts';
import type { Principal } from '../pipeline/types.ts';
import type { RelayStream } from './relay-stream.ts';

export interface Session {
  readonly id: string;
  readonly route: string;
  readonly principal: Principal;
  /** The client's address when the session was created (part of its owner when anonymous). */
  readonly clientAddress: string | undefined;
  /** The upstream's session id, if it issued one. */
  upstreamSessionId: string | undefined;
  /** Negotiated protocol version (from the initialize result). */
  protocolVersion: string;
  readonly createdAt: number;
  lastSeen: number;
  /** Client-facing SSE streams of this session, by gateway stream id (for Last-Event-ID). */
  readonly streams: Map<string, RelayStream>;
  /** Server→client requests awaiting the client's answer: id → method (for correlation). */
  readonly pendingServerRequests: Map<JsonRpcId, string>;
  /** Counter for gateway stream ids within the session. */
  nextStream: number;
  /** What the client said about itself at initialize (self-reported: context, not proof). */
  clientInfo: { name?: string; version?: string } | undefined;
  /** Capabilities the client declared at initialize (e.g. elicitation, for approval prompts). */
  clientCapabilities: Readonly<Record<string, unknown>> | undefined;
  /** Per-session counters policy can read (`session.counters`), e.g. tool_calls, dlp_findings. */
  readonly counters: Map<string, number>;
  /** Requests the gateway itself sent the client (approval prompts): id → where the answer goes. */
  readonly gatewayRequests: Map<JsonRpcId, (answer: Readonly<Record<string, unknown>>) => void>;
  /** Ended (DELETE, eviction, shutdown): a call of it still waiting (an approval) must not run. */
  ended: boolean;
}

/**
 * An authenticated caller: issuer and subject together (the same `sub` from two issuers is two
 * people), so a refreshed token of the same caller keeps its session. A principal without an
 * issuer (an API key, an mTLS certificate) is keyed by its method too (an introspection answer
 * without `iss` is named by its server, identity/introspection.ts): the certificate "CN=svc" and the API key whose subject is "svc" are two callers,
 * not one sharing sessions, budgets and approvals. Per-caller state uses callerKey, which adds
 * the address for anonymous callers.
 */
export function principalKey(p: Principal): string {
  // An issuer is a URL: it never starts with NUL, so the two forms cannot meet.
  return p.issuer !== undefined ? `${p.issuer}\u0000${p.subject}` : `\u0000${p.method}\u0000${p.subject}`;
}

/**
 * Who a caller is, for everything the gateway keeps per caller: session caps and ownership,
 * finding memory, rate limits. An authenticated principal is its principalKey wherever it calls
 * from. An unauthenticated one (method 'none') is every caller of an open route at once, so on
 * its own it would let one client's sessions, findings and spent quota count against all the
 * others: it is told apart by the address it connects from.
 *
 * The address is the TCP peer as the gateway saw it (`req.socket.remoteAddress`). The gateway has
 * no trusted-proxy setting, so X-Forwarded-For / Forwarded are never read: any client can write
 * them. Behind a reverse proxy every anonymous caller therefore shares the proxy's address, which
 * is the old lumping, never worse. See addressKey for how an address becomes part of the key.
 */
export function callerKey(p: Principal, clientAddress: string | undefined): string {
  if (p.method !== 'none') return principalKey(p);
  // principalKey starts with an issuer URL or NUL, never U+0001: an anonymous key cannot equal an
  // authenticated one (an API key whose subject happens to read like an address included).
  return `\u0001${p.subject}\u0000${addressKey(clientAddress)}`;
}

/**
 * The part of a client address that names one caller. IPv4 (also IPv4-mapped IPv6, how a
 * dual-stack listener reports it): the address. IPv6: its /56. Per address, a host could mint
 * callers at will (it is given at least a /64 and privacy extensions rotate addresses on their
 * own); per /64, a site could still mint 256 of them, since ISPs delegate a /56 (or a /48) to one
 * customer (RFC 6177 §2; RIPE-690 §4.2 recommends /56 as the minimum for residential sites). A
 * /56 is what a NAT's public IPv4 address is. Link-local addresses (fe80::/10): anyone on the
 * link picks their own interface id, so the link (the zone) is the caller. Unknown (the socket
 * already gone): one shared key, as before.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  const zone = address.indexOf('%');
  const bare = (zone < 0 ? address : address.slice(0, zone)).toLowerCase();
  if (!isIPv6(bare)) return address;
  const groups = ipv6Groups(bare);
  if ((groups[0]! & 0xffc0) === 0xfe80) return `fe80::/10${zone < 0 ? '' : address.slice(zone)}`;
  return `${groups
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}:${(groups[3]! & 0xff00).toString(16)}::/56`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted quad folded). */
function ipv6Groups(a: string): number[] {
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (quad) {
    const [b0, b1, b2, b3] = quad.slice(1).map(Number) as [number, number, number, number];
    a = `${a.slice(0, quad.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.map((g) => parseInt(g, 16));
}

export class SessionLimitError extends Error {}

/**
 * Every method that asks "whose?" takes the client's address beside the principal (undefined when
 * unknown, never omitted): the owner is callerKey(principal, clientAddress).
 */
export interface SessionStore {
  /** Throws SessionLimitError when the caller already holds its maximum. */
  create(init: SessionInit): Session;
  /** False when this caller already holds its maximum of sessions. */
  canCreate(principal: Principal, clientAddress: string | undefined): boolean;
  /** The session if it exists and belongs to this caller, else undefined. */
  get(id: string, principal: Principal, clientAddress: string | undefined): Session | undefined;
  delete(id: string): void;
  readonly size: number;
  close(): void;
}

export interface SessionInit {
  route: string;
  principal: Principal;
  clientAddress: string | undefined;
  protocolVersion: string;
  upstreamSessionId: string | undefined;
}

export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleTtlMs: number;
  private readonly sweeper: NodeJS.Timeout;
  private readonly onEvict: ((s: Session) => void) | undefined;

  private readonly maxSessions: number;
  private readonly maxPerPrincipal: number;
  private readonly perPrincipal = new Map<string, number>();

  constructor(opts: { idleTtlMs: number; maxSessions?: number; maxPerPrincipal?: number; onEvict?: (s: Session) => void }) {
    this.idleTtlMs = opts.idleTtlMs;
    this.maxSessions = opts.maxSessions ?? 10_000;
    this.maxPerPrincipal = opts.maxPerPrincipal ?? Number.POSITIVE_INFINITY;
    this.onEvict = opts.onEvict;
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, this.idleTtlMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  create(init: SessionInit): Session {
    // One caller must not be able to fill the table and push everyone else's sessions out.
    const owner = callerKey(init.principal, init.clientAddress);
    const held = this.perPrincipal.get(owner) ?? 0;
    if (held >= this.maxPerPrincipal) throw new SessionLimitError(`at most ${this.maxPerPrincipal} sessions per caller`);
    // A hard cap: an idle session makes room, else the new one is refused (sessions holding a
    // stream open are not pushed out, nor let past the cap).
    if (this.sessions.size >= this.maxSessions && !this.evictLeastRecentIdle()) throw new SessionLimitError(`the gateway holds its maximum of ${this.maxSessions} sessions, all busy`);
    this.perPrincipal.set(owner, held + 1);
    const now = Date.now();
    const session: Session = {
      id: newSessionId(),
      ...init,
      createdAt: now,
      lastSeen: now,
      streams: new Map(),
      pendingServerRequests: new Map(),
      nextStream: 0,
      clientInfo: undefined,
      clientCapabilities: undefined,
      counters: new Map(),
      gatewayRequests: new Map(),
      ended: false,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  canCreate(principal: Principal, clientAddress: string | undefined): boolean {
    return (this.perPrincipal.get(callerKey(principal, clientAddress)) ?? 0) < this.maxPerPrincipal;
  }

  /**
   * Anyone but the session's owner gets undefined, which the transport answers like an unknown
   * id (404 session_not_found). On an anonymous route that includes the same 'anonymous'
   * principal calling from another address: MCP's security best practices (Session Hijacking,
   * 2025-11-25) say servers "MUST NOT use sessions for authentication" and bind session ids to
   * user-specific information, and on an open route the address is the only such information
   * there is. Without it, a session id that leaked (a log, a proxy, a shared machine) would let
   * any client anywhere replay the session's streams (Last-Event-ID) and answer its pending
   * server→client requests, the injection through a shared session the page describes.
   *
   * The cost falls on an anonymous client whose address legitimately changes (roaming between
   * networks, a carrier NAT pool picking another egress address, a dual-stack client switching
   * between IPv4 and IPv6): it gets the 404 too. The 2025 transports say a client answered 404
   * for its session id MUST initialize a new session, so it recovers, losing only the session's
   * replay buffer and pending requests; IPv6 privacy-address rotation stays within the /56
   * (addressKey) and costs nothing. Callers who need sessions that survive an address change
   * should authenticate: an authenticated session is bound to the principal, not the address.
   */
  get(id: string, principal: Principal, clientAddress: string | undefined): Session | undefined {
    const s = this.sessions.get(id);
    if (!s || callerKey(s.principal, s.clientAddress) !== callerKey(principal, clientAddress)) return undefined;
    s.lastSeen = Date.now();
    return s;
  }

  delete(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.ended = true;
    this.sessions.delete(id);
    const owner = callerKey(s.principal, s.clientAddress);
    const held = (this.perPrincipal.get(owner) ?? 1) - 1;
    if (held > 0) this.perPrincipal.set(owner, held);
    else this.perPrincipal.delete(owner);
    for (const stream of s.streams.values()) stream.close();
  }

  /**
   * At the cap, the least recently seen session with no attached stream makes room (by last use,
   * not creation: a long-lived session in use is not the first to go). False when all are busy.
   */
  private evictLeastRecentIdle(): boolean {
    let victim: Session | undefined;
    for (const s of this.sessions.values()) {
      if ((victim === undefined || s.lastSeen < victim.lastSeen) && ![...s.streams.values()].some((st) => st.attached)) victim = s;
    }
    if (!victim) return false;
    this.delete(victim.id);
    this.onEvict?.(victim);
    return true;
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleTtlMs;
    for (const s of this.sessions.values()) {
      const busy = [...s.streams.values()].some((st) => st.attached);
      if (!busy && s.lastSeen < cutoff) {
        this.delete(s.id);
        this.onEvict?.(s);
      }
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.sessions.keys()]) this.delete(id);
  }
}
