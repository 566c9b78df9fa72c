/**
 * One HTTP POST through undici for the HTTP sinks (Splunk HEC, webhook): a dedicated Agent per
 * sink (keep-alive, bounded timeouts), the body read fully so the connection is reused, and an
 * error message that names the status but never the request headers (which carry credentials).
 */
import { Agent, request } from 'undici';
import type { ConnectionOptions } from 'node:tls';

export interface HttpPosterOptions {
  timeoutMs?: number;
  /** Extra TLS options for https URLs (e.g. `ca` for a private CA). */
  tls?: ConnectionOptions;
}

export interface HttpResponse {
  status: number;
  text: string;
}

export class HttpPoster {
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  constructor(opts: HttpPosterOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#agent = new Agent({
      connections: 2,
      connectTimeout: Math.min(this.#timeoutMs, 10_000),
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      ...(opts.tls && { connect: opts.tls }),
    });
  }

  async post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<HttpResponse> {
    const res = await request(url, { method: 'POST', body, headers, dispatcher: this.#agent });
    // Bound what we keep of an error body: it only goes into an error message.
    const text = (await res.body.text()).slice(0, 2000);
    return { status: res.statusCode, text };
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** Strip characters that could forge log lines when a response body ends up in an error. */
export function oneLine(s: string, max = 200): string {
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, max);
}
