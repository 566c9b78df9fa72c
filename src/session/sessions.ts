/**
 * 2025-era sessions as the gateway sees them.
 *
 * The gateway issues its own `Mcp-Session-Id` (128 random bits, visible ASCII as the spec
 * requires) and maps it to the upstream's. The client never learns the upstream id, so a leaked
 * upstream id is useless against the gateway, and a gateway id is bound to the principal that
 * created it: presented by anyone else it is answered like an unknown id (404), which leaks
 * nothing about which sessions exist.
 *
 * The store is behind a small interface; memory now, Redis when replicas share sessions.
 */
import { randomBytes } from 'node:crypto';
import type { JsonRpcId } from '../codec/jsonrpc.ts';
import type { Principal } from '../pipeline/types.ts';
import type { RelayStream } from './relay-stream.ts';

export interface Session {
  readonly id: string;
  readonly route: string;
  readonly principal: Principal;
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
}

/**
 * Who a session belongs to: issuer and subject together (the same `sub` from two issuers is two
 * people). A refreshed token of the same caller keeps the session.
 */
export function principalKey(p: Principal): string {
  return `${p.issuer ?? ''}\u0000${p.subject}`;
}

export class SessionLimitError extends Error {}

export interface SessionStore {
  /** Throws SessionLimitError when the principal already holds its maximum. */
  create(init: { route: string; principal: Principal; protocolVersion: string; upstreamSessionId: string | undefined }): Session;
  /** False when this principal already holds its maximum of sessions. */
  canCreate(principal: Principal): boolean;
  /** The session if it exists and belongs to this principal, else undefined. */
  get(id: string, principal: Principal): Session | undefined;
  delete(id: string): void;
  readonly size: number;
  close(): void;
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

  create(init: { route: string; principal: Principal; protocolVersion: string; upstreamSessionId: string | undefined }): Session {
    // One caller must not be able to fill the table and push everyone else's sessions out.
    const owner = principalKey(init.principal);
    const held = this.perPrincipal.get(owner) ?? 0;
    if (held >= this.maxPerPrincipal) throw new SessionLimitError(`at most ${this.maxPerPrincipal} sessions per caller`);
    if (this.sessions.size >= this.maxSessions) this.evictOldestIdle();
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
    };
    this.sessions.set(session.id, session);
    return session;
  }

  canCreate(principal: Principal): boolean {
    return (this.perPrincipal.get(principalKey(principal)) ?? 0) < this.maxPerPrincipal;
  }

  get(id: string, principal: Principal): Session | undefined {
    const s = this.sessions.get(id);
    if (!s || principalKey(s.principal) !== principalKey(principal)) return undefined;
    s.lastSeen = Date.now();
    return s;
  }

  delete(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    const owner = principalKey(s.principal);
    const held = (this.perPrincipal.get(owner) ?? 1) - 1;
    if (held > 0) this.perPrincipal.set(owner, held);
    else this.perPrincipal.delete(owner);
    for (const stream of s.streams.values()) stream.close();
  }

  /** At the cap, the least recently created session with no attached stream makes room. */
  private evictOldestIdle(): void {
    for (const s of this.sessions.values()) {
      if (![...s.streams.values()].some((st) => st.attached)) {
        this.delete(s.id);
        this.onEvict?.(s);
        return;
      }
    }
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
