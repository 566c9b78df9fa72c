/**
 * Signed webhook sink: POST each batch as JSON to a URL the operator runs.
 *
 *   POST <url>
 *   content-type: application/json
 *   x-portcullis-timestamp: <unix seconds>
 *   x-portcullis-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *   x-portcullis-seq: <first>-<last>
 *   body: {"records":[…]}
 *
 * The signature (RFC 2104 HMAC) proves the batch came from the gateway and was not altered; the
 * timestamp is inside the signed bytes, so a captured request cannot be replayed later with a
 * fresh timestamp, and `verifyWebhook` rejects ones older than its tolerance. Within the
 * tolerance a receiver deduplicates by record seq. A 2xx acknowledges the batch.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';
import { DeliveredMark } from './delivered-mark.ts';
import { SeqState } from './state-file.ts';
import { HttpPoster, oneLine } from './http-post.ts';

export interface WebhookSinkOptions {
  url: string;
  secret: string;
  statePath?: string;
  name?: string;
  timeoutMs?: number;
  tls?: ConnectionOptions;
  now?: () => number;
}

export const SIGNATURE_HEADER = 'x-portcullis-signature';
export const TIMESTAMP_HEADER = 'x-portcullis-timestamp';

export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return 'v1=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export type WebhookCheck = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'bad-signature' };

/** For receivers: check signature and freshness (default tolerance 300 s either way). */
export function verifyWebhook(opts: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string | Buffer;
  nowMs?: number;
  toleranceSec?: number;
}): WebhookCheck {
  const { timestamp, signature } = opts;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'missing' };
  const age = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (age > (opts.toleranceSec ?? 300)) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(webhookSignature(opts.secret, timestamp, opts.body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
  return { ok: true };
}

export class WebhookSink implements AuditSink {
  readonly name: string;
  readonly #opts: WebhookSinkOptions;
  readonly #mark: DeliveredMark;
  readonly #http: HttpPoster;

  private constructor(opts: WebhookSinkOptions, state: SeqState) {
    this.name = opts.name ?? 'webhook';
    this.#opts = opts;
    this.#mark = new DeliveredMark(this.name, state);
    this.#http = new HttpPoster({ ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }), ...(opts.tls && { tls: opts.tls }) });
  }

  static async open(opts: WebhookSinkOptions): Promise<WebhookSink> {
    return new WebhookSink(opts, await SeqState.open(opts.statePath));
  }

  write(batch: readonly AuditRecord[]): Promise<void> {
    return this.#mark.write(batch, async (fresh) => {
      const body = JSON.stringify({ records: fresh });
      const timestamp = String(Math.floor((this.#opts.now ?? Date.now)() / 1000));
      const res = await this.#http.post(this.#opts.url, body, {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: webhookSignature(this.#opts.secret, timestamp, body),
        'x-portcullis-seq': `${fresh[0]!.seq}-${fresh[fresh.length - 1]!.seq}`,
      });
      if (res.status < 200 || res.status > 299) throw new Error(`webhook answered ${res.status}: ${oneLine(res.text)}`);
    });
  }

  lastSeq(): Promise<number | undefined> {
    return this.#mark.lastSeq();
  }

  close(): Promise<void> {
    return this.#mark.close(() => this.#http.close());
  }
}
