/**
 * The upstream exchange on undici's dispatch API, with a direct lane for pass-through bodies.
 *
 * `Pool#request` wraps every response body in a Readable and the relay then iterates it
 * asynchronously: a stream object, an async iterator and a few promise/tick hops per response.
 * When no inspector needs a JSON body (the pass-through case), the gateway only has to copy the
 * bytes to the client, so this handler lets the caller claim the body at the response head and
 * receive each chunk synchronously as undici parses it, with backpressure through the dispatch
 * controller (pause/resume). Every other response (SSE, errors, inspected bodies) gets a Readable
 * body exactly like `Pool#request`'s, so the rest of the relay code is unchanged.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errors as undiciErrors } from 'undici';
import { GatewayError } from '../core/errors.ts';

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/** A body readable from the relay: a Node Readable plus `dump()` (discard, bounded). */
export class UpstreamBody extends Readable {
  #controller: Dispatcher.DispatchController | undefined;
  #ended = false;

  constructor(controller: Dispatcher.DispatchController) {
    super({ highWaterMark: 64 * 1024 });
    this.#controller = controller;
  }

  /** From the handler: a chunk arrived. Pauses the socket when the consumer is behind. */
  deliver(chunk: Buffer): void {
    if (!this.push(chunk)) this.#controller?.pause();
  }

  finish(): void {
    this.#ended = true;
    this.push(null);
  }

  override _read(): void {
    const c = this.#controller;
    if (c?.paused) c.resume();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    // The consumer gave up before the end: stop the upstream response (frees the connection).
    if (!this.#ended && this.#controller && !this.#controller.aborted) {
      this.#controller.abort(err ?? new undiciErrors.RequestAbortedError());
    }
    this.#controller = undefined;
    cb(err);
  }

  /** Reads and discards the rest of the body; gives up (and aborts) after `limit` bytes. */
  async dump(limit = 128 * 1024): Promise<void> {
    let size = 0;
    try {
      for await (const chunk of this) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          this.destroy();
          return;
        }
      }
    } catch {
      // A failing body being discarded is not an error for the caller.
    }
  }
}

export interface UpstreamResponse {
  statusCode: number;
  headers: UpstreamHeaders;
  body: UpstreamBody;
}

/**
 * Where a directly relayed body goes. `write` returns false to ask for a pause; the sink then
 * calls the `resume` it was given at `start`. `fail` is called at most once, instead of `end`.
 */
export interface DirectSink {
  start(resume: () => void, abort: (reason: Error) => void): void;
  write(chunk: Buffer): boolean;
  end(): void;
  fail(err: Error): void;
}

/** At the response head: claim the body (return a sink) or leave it to a Readable (undefined). */
export type ClaimBody = (statusCode: number, headers: UpstreamHeaders) => DirectSink | undefined;

export type DispatchResult =
  | { direct: false; response: UpstreamResponse }
  | { direct: true; statusCode: number; headers: UpstreamHeaders; done: Promise<void> };

/**
 * Sends one request through `dispatcher` and resolves at the response head. Rejects with the
 * undici error if no head arrives (connect failure, headers timeout, abort).
 */
export function dispatchUpstream(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal | undefined,
  claim: ClaimBody | undefined,
): Promise<DispatchResult> {
  return new Promise<DispatchResult>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let body: UpstreamBody | undefined;
    let sink: DirectSink | undefined;
    let settleDone: { resolve: () => void; reject: (e: Error) => void } | undefined;
    let headSeen = false;
    const onAbort = () => controller?.abort(signal?.reason instanceof Error ? signal.reason : new undiciErrors.RequestAbortedError());
    const cleanup = () => signal?.removeEventListener('abort', onAbort);

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) onAbort();
      },
      onResponseStart(c, statusCode, headers) {
        // 1xx informational heads (RFC 9110 §15.2) are not the response.
        if (statusCode < 200) return;
        const h = headers as UpstreamHeaders;
        const coding = contentCoding(h['content-encoding']);
        if (coding !== undefined) {
          // The gateway asks for `identity` (client.ts); a body in any other coding could not be
          // inspected, and relayed as is it would reach the client without its Content-Encoding.
          c.abort(new GatewayError('upstream_protocol', `upstream sent a ${coding}-encoded body; the gateway asks for identity and inspects only unencoded bodies`));
          return;
        }
        headSeen = true;
        sink = claim?.(statusCode, h);
        if (sink) {
          const done = new Promise<void>((res, rej) => {
            settleDone = { resolve: res, reject: rej };
          });
          // Nobody may await `done` when the caller fails first; never an unhandled rejection.
          done.catch(() => {});
          sink.start(
            () => {
              if (c.paused) c.resume();
            },
            (reason) => c.abort(reason),
          );
          resolve({ direct: true, statusCode, headers: h, done });
          return;
        }
        body = new UpstreamBody(c);
        resolve({ direct: false, response: { statusCode, headers: h, body } });
      },
      onResponseData(c, chunk) {
        if (sink) {
          if (!sink.write(chunk)) c.pause();
        } else {
          body?.deliver(chunk);
        }
      },
      onResponseEnd() {
        cleanup();
        if (sink) {
          sink.end();
          settleDone?.resolve();
        } else {
          body?.finish();
        }
      },
      onResponseError(_c, err) {
        cleanup();
        if (!headSeen) {
          reject(err);
        } else if (sink) {
          sink.fail(err);
          settleDone?.reject(err);
        } else {
          body?.destroy(err);
        }
      },
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      dispatcher.dispatch(options, handler);
    } catch (err) {
      cleanup();
      reject(err);
    }
  });
}

/**
 * The response's content coding when it is anything but identity (RFC 9110 §8.4), as a short
 * token for the error message (an upstream-chosen string is not echoed verbatim), else undefined.
 */
function contentCoding(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const codings = (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return undefined;
  const first = codings[0]!;
  return /^[a-z0-9._-]{1,32}$/.test(first) ? first : 'unknown';
}
