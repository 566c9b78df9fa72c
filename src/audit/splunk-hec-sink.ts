/**
 * Splunk HTTP Event Collector sink.
 *
 * POST {url}/services/collector/event with `Authorization: Splunk <token>`; the body is the
 * batch as concatenated event objects, which HEC accepts in one request
 * (https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector):
 *   {"time": <epoch seconds>, "host": …, "source": …, "sourcetype": …, "index": …, "event": <record>}
 * HEC answers 200 with {"text":"Success","code":0}; anything else rejects the batch (retried by
 * the audit log). HEC cannot deduplicate, so the last acknowledged seq is kept locally.
 * The token is a credential: it is only ever placed in the Authorization header.
 */
import { hostname } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';
import { DeliveredMark } from './delivered-mark.ts';
import { SeqState } from './state-file.ts';
import { HttpPoster, oneLine } from './http-post.ts';

export interface SplunkHecSinkOptions {
  /** HEC base URL (https://splunk:8088) or the full event endpoint. */
  url: string;
  token: string;
  index?: string;
  sourcetype?: string;
  source?: string;
  host?: string;
  statePath?: string;
  name?: string;
  timeoutMs?: number;
  tls?: ConnectionOptions;
}

export function hecEndpoint(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/services/collector/event';
  return u.toString();
}

export class SplunkHecSink implements AuditSink {
  readonly name: string;
  readonly #opts: SplunkHecSinkOptions;
  readonly #endpoint: string;
  readonly #mark: DeliveredMark;
  readonly #http: HttpPoster;

  private constructor(opts: SplunkHecSinkOptions, state: SeqState) {
    this.name = opts.name ?? 'splunk-hec';
    this.#opts = opts;
    this.#endpoint = hecEndpoint(opts.url);
    this.#mark = new DeliveredMark(this.name, state);
    this.#http = new HttpPoster({ ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }), ...(opts.tls && { tls: opts.tls }) });
  }

  static async open(opts: SplunkHecSinkOptions): Promise<SplunkHecSink> {
    return new SplunkHecSink(opts, await SeqState.open(opts.statePath));
  }

  write(batch: readonly AuditRecord[]): Promise<void> {
    return this.#mark.write(batch, async (fresh) => {
      const host = this.#opts.host ?? hostname();
      const body = fresh
        .map((r) =>
          JSON.stringify({
            time: r.time / 1000,
            host,
            source: this.#opts.source ?? 'portcullis',
            sourcetype: this.#opts.sourcetype ?? 'ocsf',
            ...(this.#opts.index !== undefined && { index: this.#opts.index }),
            event: r,
          }),
        )
        .join('\n');
      const res = await this.#http.post(this.#endpoint, body, {
        authorization: `Splunk ${this.#opts.token}`,
        'content-type': 'application/json',
      });
      let code: unknown;
      try {
        code = (JSON.parse(res.text) as { code?: unknown }).code;
      } catch {
        code = undefined;
      }
      if (res.status !== 200 || code !== 0) {
        throw new Error(`Splunk HEC answered ${res.status}: ${oneLine(res.text)}`);
      }
    });
  }

  lastSeq(): Promise<number | undefined> {
    return this.#mark.lastSeq();
  }

  close(): Promise<void> {
    return this.#mark.close(() => this.#http.close());
  }
}
