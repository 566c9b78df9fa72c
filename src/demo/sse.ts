/**
 * One SSE response stream, and (2025 era) its replay buffer.
 *
 * Legacy streams (2025-03-26 … 2025-11-25 "Resumability and Redelivery") put an `id` on every
 * event. Ids are `<stream>:<seq>`: unique across the session's streams and they name the
 * originating stream, so a GET with `Last-Event-ID` can replay that stream only ("MUST NOT replay
 * messages that would have been delivered on a different stream"). The stream outlives its HTTP
 * connection: a disconnect is not cancellation in the 2025 era, so events written while detached
 * are kept (bounded) and replayed on resume.
 *
 * Modern streams (2026-07-28) carry no ids: "Resumable SSE streams via Last-Event-ID are not
 * supported", and closing the stream is cancellation (handled by the HTTP layer).
 */
import type { ServerResponse } from 'node:http';

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  // streamable-http: servers SHOULD send this so buffering proxies pass events through live.
  'x-accel-buffering': 'no',
});

/** Replay bounds per stream; past these the oldest events go and an older resume point is refused. */
const MAX_FRAMES = 512;
const MAX_BYTES = 8 * 1024 * 1024;

interface Frame {
  seq: number;
  text: string;
}

export function openSse(res: ServerResponse, headers?: Record<string, string>): void {
  res.writeHead(200, { ...SSE_HEADERS, ...headers });
  // Send the head now: a client (or gateway) must see the stream open before the first event.
  res.flushHeaders();
}

export class SseStream {
  /** Stream number within its session (0 for modern streams, which carry no ids). */
  readonly id: number;
  private readonly withIds: boolean;
  private readonly keepAliveMs: number;
  private res: ServerResponse | null = null;
  private seq = 0;
  private frames: Frame[] = [];
  private bytes = 0;
  private keepAlive: NodeJS.Timeout | undefined;
  /** Set when the final message was written; nothing more goes on the stream. */
  ended = false;
  /** Called when the stream is finished and nobody can resume it any more. */
  onDone: (() => void) | undefined;

  constructor(id: number, withIds: boolean, keepAliveMs = 0) {
    this.id = id;
    this.withIds = withIds;
    this.keepAliveMs = keepAliveMs;
  }

  get attached(): boolean {
    return this.res !== null;
  }

  /**
   * Binds a live response. `prime` sends the 2025-11-25 priming event (an id and empty data) so
   * the client can resume even if the connection drops before the first real event.
   */
  attach(res: ServerResponse, opts: { prime?: boolean; headers?: Record<string, string> } = {}): void {
    this.res = res;
    if (!res.headersSent) openSse(res, opts.headers);
    res.on('close', () => this.detach(res));
    // A write racing a disconnect must not become an unhandled 'error' (and crash the process).
    res.on('error', () => this.detach(res));
    if (opts.prime && this.withIds) res.write(`id: ${this.id}:0\ndata: \n\n`);
    if (this.keepAliveMs > 0) {
      // A comment line; clients must ignore it (streamable-http keep-alive note).
      clearInterval(this.keepAlive);
      this.keepAlive = setInterval(() => this.res?.write(':\n\n'), this.keepAliveMs);
      this.keepAlive.unref();
    }
  }

  /** Re-binds after a `Last-Event-ID` GET; false when events after `afterSeq` were already dropped. */
  resume(res: ServerResponse, afterSeq: number, headers?: Record<string, string>): boolean {
    const first = this.frames[0];
    const lost = first ? first.seq > afterSeq + 1 : afterSeq < this.seq;
    if (lost || afterSeq > this.seq) return false;
    this.res?.end();
    openSse(res, headers);
    for (const f of this.frames) if (f.seq > afterSeq) res.write(f.text);
    if (this.ended) {
      res.end();
      this.finish();
      return true;
    }
    this.attach(res);
    return true;
  }

  /** Writes one JSON-RPC message. Buffered for replay (legacy) whether or not a client is attached. */
  send(msg: unknown): void {
    if (this.ended) return;
    const data = JSON.stringify(msg);
    let text: string;
    if (this.withIds) {
      const seq = ++this.seq;
      text = `id: ${this.id}:${seq}\nevent: message\ndata: ${data}\n\n`;
      this.frames.push({ seq, text });
      this.bytes += text.length;
      while (this.frames.length > 1 && (this.frames.length > MAX_FRAMES || this.bytes > MAX_BYTES)) {
        this.bytes -= (this.frames.shift() as Frame).text.length;
      }
    } else {
      text = `event: message\ndata: ${data}\n\n`;
    }
    this.res?.write(text);
  }

  /** Ends the stream after its final message. If a client is attached, delivery is done. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.res) {
      this.res.end();
      this.finish();
    }
  }

  /** Server shutdown / session end: drop everything. */
  destroy(): void {
    this.ended = true;
    this.res?.end();
    this.finish();
  }

  private detach(res: ServerResponse): void {
    if (this.res !== res) return;
    this.res = null;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    // Without ids nothing can be resumed, so a detached stream is finished.
    if (!this.withIds) this.finish();
  }

  private finish(): void {
    clearInterval(this.keepAlive);
    this.frames = [];
    this.bytes = 0;
    const done = this.onDone;
    this.onDone = undefined;
    done?.();
  }
}

/** Parses `<stream>:<seq>` from a Last-Event-ID header. */
export function parseEventId(v: string): { stream: number; seq: number } | undefined {
  const m = /^(\d{1,9}):(\d{1,12})$/.exec(v.trim());
  return m ? { stream: Number(m[1]), seq: Number(m[2]) } : undefined;
}
