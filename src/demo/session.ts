/**
 * 2025-era sessions (2025-11-25 basic/transports "Session Management"): created by `initialize`,
 * named by a crypto-random `Mcp-Session-Id`, ended by DELETE. A session owns its SSE streams (for
 * resumption), the server→client requests awaiting a POSTed answer, and the client requests in
 * flight (so `notifications/cancelled` can stop them).
 */
import { randomBytes } from 'node:crypto';
import { SseStream } from './sse.ts';
import type { Json } from './protocol.ts';

/** Idle standalone streams get a comment this often, so intermediaries do not time them out. */
const KEEPALIVE_MS = 15_000;
/** Finished-but-undelivered streams kept per session for `Last-Event-ID` replay. */
const MAX_RETAINED_STREAMS = 32;
/** An unanswered server→client request fails after this long. */
const ASK_TIMEOUT_MS = 5 * 60_000;

interface Pending {
  resolve(v: Json): void;
  reject(e: Error): void;
}

export class Session {
  /** 128 random bits, hex: visible ASCII only, as the spec requires; "cryptographically secure". */
  readonly id = randomBytes(16).toString('hex');
  readonly version: string;
  readonly clientCapabilities: Json;
  initialized = false;
  logLevel: string | undefined;
  standalone: SseStream | null = null;
  private nextStream = 1;
  private nextAsk = 1;
  private readonly streams = new Map<number, SseStream>();
  private readonly pending = new Map<string, Pending>();
  /** Client request id (JSON-encoded, so 1 and "1" differ) → its canceller. */
  readonly inflight = new Map<string, AbortController>();

  constructor(version: string, clientCapabilities: Json) {
    this.version = version;
    this.clientCapabilities = clientCapabilities;
  }

  /** A new POST or GET stream, registered for resumption until delivered. */
  newStream(standalone = false): SseStream {
    const s = new SseStream(this.nextStream++, true, standalone ? KEEPALIVE_MS : 0);
    this.streams.set(s.id, s);
    s.onDone = () => {
      this.streams.delete(s.id);
      if (this.standalone === s) this.standalone = null;
    };
    if (this.streams.size > MAX_RETAINED_STREAMS) {
      for (const old of this.streams.values()) {
        if (this.streams.size <= MAX_RETAINED_STREAMS) break;
        if (old.ended && !old.attached) old.destroy();
      }
    }
    return s;
  }

  stream(id: number): SseStream | undefined {
    return this.streams.get(id);
  }

  /** Sends a server→client request on `stream` and waits for the client's POSTed response. */
  ask(stream: SseStream, method: string, params: Json, signal: AbortSignal): Promise<Json> {
    const id = `demo-${this.nextAsk++}`;
    return new Promise<Json>((resolve, reject) => {
      const done = (): void => {
        this.pending.delete(id);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no answer to ${method} within ${ASK_TIMEOUT_MS / 1000} s`));
      }, ASK_TIMEOUT_MS);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      });
      stream.send({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** A JSON-RPC response POSTed by the client. Unknown ids are ignored (it may have timed out). */
  answer(msg: Json): void {
    if (typeof msg.id !== 'string') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    if ('error' in msg) {
      const e = msg.error as { message?: unknown } | null;
      p.reject(new Error(`client error: ${typeof e?.message === 'string' ? e.message.slice(0, 200) : 'unknown'}`));
    } else {
      p.resolve((msg.result ?? {}) as Json);
    }
  }

  close(): void {
    for (const c of this.inflight.values()) c.abort(new Error('session ended'));
    for (const p of this.pending.values()) p.reject(new Error('session ended'));
    for (const s of [...this.streams.values()]) s.destroy();
    this.standalone = null;
  }
}

export class SessionStore {
  private readonly map = new Map<string, Session>();
  private readonly max: number;
  created = 0;

  constructor(max = 10_000) {
    this.max = max;
  }

  get size(): number {
    return this.map.size;
  }

  create(version: string, clientCapabilities: Json): Session {
    // Bounded: the oldest session goes first (Map keeps insertion order). A client of an evicted
    // session gets 404 and re-initializes, as the spec asks of it.
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    const s = new Session(version, clientCapabilities);
    this.map.set(s.id, s);
    this.created++;
    return s;
  }

  get(id: string): Session | undefined {
    return this.map.get(id);
  }

  delete(id: string): boolean {
    const s = this.map.get(id);
    if (!s) return false;
    this.map.delete(id);
    s.close();
    return true;
  }

  closeAll(): void {
    for (const id of [...this.map.keys()]) this.delete(id);
  }
}
