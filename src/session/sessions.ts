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
}

export interface SessionStore {
  create(init: { route: string; principal: Principal; protocolVersion: string; upstreamSessionId: string | undefined }): Session;
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

  constructor(opts: { idleTtlMs: number; maxSessions?: number; onEvict?: (s: Session) => void }) {
    this.idleTtlMs = opts.idleTtlMs;
    this.maxSessions = opts.maxSessions ?? 10_000;
    this.onEvict = opts.onEvict;
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, this.idleTtlMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  create(init: { route: string; principal: Principal; protocolVersion: string; upstreamSessionId: string | undefined }): Session {
    if (this.sessions.size >= this.maxSessions) this.evictOldestIdle();
    const now = Date.now();
    const session: Session = {
      id: newSessionId(),
      ...init,
      createdAt: now,
      lastSeen: now,
      streams: new Map(),
      pendingServerRequests: new Map(),
      nextStream: 0,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string, principal: Principal): Session | undefined {
    const s = this.sessions.get(id);
    if (!s || s.principal.subject !== principal.subject) return undefined;
    s.lastSeen = Date.now();
    return s;
  }

  delete(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
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
