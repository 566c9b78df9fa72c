/**
 * The pass-through lane for JSON responses no inspector needs to see.
 *
 * When the route's plan wants nothing from a response (and it is not one the gateway itself
 * reads, like initialize), the bytes only have to reach the client intact, promptly and within the
 * size limit. The sink below takes them straight from undici's parser (see upstream/dispatch.ts):
 * no body stream, no async iteration. Anything but a plain 200 JSON answer (SSE, 202, errors,
 * a declared length over the limit) is left to the general relay.
 */
import type { ServerResponse } from 'node:http';
import type { BodyDigest } from '../audit/body-digest.ts';
import { GatewayError } from '../core/errors.ts';
import type { ClaimBody, DirectSink, UpstreamHeaders } from '../upstream/dispatch.ts';
import { pickHeaders } from './respond.ts';

function isJson(headers: UpstreamHeaders): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/json');
}

/** The claim for a pass-through JSON response to `res`, bounded by `maxBytes`. */
export function claimPassThroughJson(res: ServerResponse, maxBytes: number, keep?: BodyDigest): ClaimBody {
  return (statusCode, headers) => {
    if (statusCode !== 200 || !isJson(headers)) return undefined;
    const declared = headers['content-length'];
    const length = typeof declared === 'string' ? Number(declared) : undefined;
    if (length !== undefined && !(length <= maxBytes)) return undefined; // the general relay refuses it
    return new PassThroughJsonSink(res, pickHeaders(headers), length, maxBytes, keep);
  };
}

/**
 * Writes the body to the client as it comes, one chunk behind: a body of one chunk (the common
 * case) goes out in a single write with its Content-Length (the upstream's, or its own length),
 * and an upstream failing before its second chunk still gets the client a JSON-RPC error.
 */
class PassThroughJsonSink implements DirectSink {
  readonly #res: ServerResponse;
  readonly #headers: Record<string, string>;
  readonly #length: number | undefined;
  readonly #max: number;
  #size = 0;
  #held: Buffer | undefined;
  #resume: () => void = () => {};
  /** Audit: the body's bytes, for its digest. */
  readonly #keep: BodyDigest | undefined;
  #abort: (reason: Error) => void = () => {};

  constructor(res: ServerResponse, headers: Record<string, string>, length: number | undefined, max: number, keep?: BodyDigest) {
    this.#keep = keep;
    this.#res = res;
    this.#headers = headers;
    this.#length = length;
    this.#max = max;
  }

  start(resume: () => void, abort: (reason: Error) => void): void {
    this.#resume = resume;
    this.#abort = abort;
    if (this.#length !== undefined) this.#headers['content-length'] = String(this.#length);
  }

  write(chunk: Buffer): boolean {
    const res = this.#res;
    if (res.destroyed) {
      // The client left: stop reading the upstream response.
      this.#abort(new GatewayError('upstream_unavailable', 'client left'));
      return true;
    }
    this.#size += chunk.length;
    if (this.#size > this.#max || (this.#length !== undefined && this.#size > this.#length)) {
      this.#abort(new GatewayError('upstream_event_too_large'));
      return true;
    }
    this.#keep?.add(chunk);
    // One chunk is held back: the head goes out only when a second one arrives or the body ends,
    // so an upstream failing after its first bytes still becomes a JSON-RPC error, not a cut.
    const held = this.#held;
    this.#held = chunk;
    if (held === undefined) return true;
    if (!res.headersSent) res.writeHead(200, this.#headers);
    if (res.write(held)) return true;
    res.once('drain', this.#resume);
    return false;
  }

  end(): void {
    const res = this.#res;
    if (res.destroyed) return;
    if (!res.headersSent) {
      this.#headers['content-length'] ??= String(this.#held?.length ?? 0);
      res.writeHead(200, this.#headers);
    }
    res.end(this.#held);
  }

  fail(): void {
    // Bytes may already be on the wire: only a cut keeps the client from taking a partial
    // document as whole. Before that, the caller answers with a JSON-RPC error.
    if (this.#res.headersSent) this.#res.destroy();
    else this.#keep?.discard();
  }
}
