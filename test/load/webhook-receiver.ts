/**
 * A signed-webhook receiver (the SIEM end of the webhook sink) whose behaviour a test switches:
 *
 *   up       verify the HMAC signature, take the records, answer 200 at once
 *   slow     the same, but answer 200 only after `slowMs` (a SIEM that keeps up, barely)
 *   stalled  accept the connection and the request, then never answer; nothing is taken. When
 *            the stall ends, each held request is answered 503 (still nothing taken), so the
 *            gateway must send those records again
 *   down     the listener is closed: new connections are refused (ECONNREFUSED); a request on a
 *            connection still open from before gets 503
 *
 * Records are checked as they ARRIVE, in arrival order (not read back sorted): each must carry
 * the next seq (`outOfOrder` counts the ones that do not: a duplicate, a skip or a reorder), and
 * each goes through a ChainVerifier in arrival order (hashes, links, checkpoint signatures).
 * What the test asserts per call is kept per record in `arrivals`.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ChainVerifier, verifyWebhook, type VerifyResult } from '../../src/audit/index.ts';

export type ReceiverMode = 'up' | 'slow' | 'stalled' | 'down';

/** What the load test needs of one received record. */
export interface Arrival {
  seq: number;
  hash: string;
  kind: string;
  /** api.request.uid: the JSON-RPC id of the call the record belongs to. */
  rpc: string | undefined;
  correlation: string | undefined;
  status: string | undefined;
  verdict: string | undefined;
  activity: string | undefined;
  stream: { phase?: string; end?: string; count?: number; sent?: { events?: number } } | undefined;
}

interface WireRecord {
  seq: number;
  hash: string;
  status?: string;
  activity_name?: string;
  metadata: { correlation_uid?: string };
  api?: { request?: { uid?: string } };
  unmapped: { kind: string; verdict?: string; stream?: Arrival['stream'] };
}

export class WebhookReceiver {
  readonly arrivals: Arrival[] = [];
  /** Records whose seq was not the next one expected, and the first few of them described. */
  outOfOrder = 0;
  readonly outOfOrderSamples: string[] = [];
  badSignatures = 0;
  /** Batches whose x-portcullis-seq header did not name their first and last record. */
  headerMismatches = 0;
  /** Requests held unanswered in a stall, and answered late in slow mode. */
  stalledRequests = 0;
  slowResponses = 0;
  port = 0;
  readonly #secret: string;
  readonly #slowMs: number;
  #mode: ReceiverMode = 'up';
  #server: Server | undefined;
  readonly #held = new Set<ServerResponse>();
  #verifier: ChainVerifier | undefined;
  #unverified: unknown[] = [];

  constructor(opts: { secret: string; slowMs: number }) {
    this.#secret = opts.secret;
    this.#slowMs = opts.slowMs;
  }

  get mode(): ReceiverMode {
    return this.#mode;
  }

  get lastSeq(): number {
    return this.arrivals.at(-1)?.seq ?? 0;
  }

  /** Verify the chain in arrival order with the gateway's public keys (records so far, then each as it comes). */
  verifyWith(publicKeys: ReadonlyMap<string, KeyObject>): void {
    this.#verifier = new ChainVerifier({ publicKeys });
    for (const r of this.#unverified) this.#verifier.push(r);
    this.#unverified = [];
  }

  verification(): VerifyResult {
    if (!this.#verifier) throw new Error('verifyWith was not called');
    return this.#verifier.finish();
  }

  async start(): Promise<void> {
    await this.#listen();
  }

  /** Switch behaviour. The flag flips at once (the next request sees it); listening follows. */
  async setMode(mode: ReceiverMode): Promise<void> {
    const prev = this.#mode;
    if (prev === mode) return;
    this.#mode = mode;
    if (prev === 'stalled') {
      for (const res of this.#held) if (!res.writableEnded) res.writeHead(503, { connection: 'close' }).end();
      this.#held.clear();
    }
    if (mode === 'down') await this.#unlisten();
    else if (prev === 'down') await this.#listen();
  }

  async stop(): Promise<void> {
    for (const res of this.#held) res.destroy();
    this.#held.clear();
    await this.#unlisten(true);
  }

  async #listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#handle(Buffer.concat(chunks), req.headers, res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stop accepting connections (new ones are refused); idle keep-alive connections close now. */
  async #unlisten(all = false): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    if (all) s.closeAllConnections();
    else s.closeIdleConnections();
    // A connection busy with a slow answer finishes it first; do not wait for that here.
    if (all) await closed;
  }

  #handle(body: Buffer, headers: Record<string, string | string[] | undefined>, res: ServerResponse): void {
    const mode = this.#mode;
    if (mode === 'stalled') {
      this.stalledRequests++;
      this.#held.add(res);
      res.on('close', () => this.#held.delete(res));
      return;
    }
    if (mode === 'down') {
      res.writeHead(503, { connection: 'close' }).end();
      return;
    }
    const check = verifyWebhook({
      secret: this.#secret,
      body,
      timestamp: headers['x-portcullis-timestamp'] as string | undefined,
      signature: headers['x-portcullis-signature'] as string | undefined,
      toleranceSec: 600,
    });
    if (!check.ok) {
      this.badSignatures++;
      res.writeHead(401).end();
      return;
    }
    const records = (JSON.parse(body.toString('utf8')) as { records: WireRecord[] }).records;
    if (headers['x-portcullis-seq'] !== `${records[0]?.seq}-${records.at(-1)?.seq}`) this.headerMismatches++;
    for (const r of records) this.#take(r);
    if (mode === 'slow') {
      this.slowResponses++;
      setTimeout(() => res.writeHead(200).end(), this.#slowMs);
    } else {
      res.writeHead(200).end();
    }
  }

  #take(r: WireRecord): void {
    const expected = this.lastSeq + 1;
    if (r.seq !== expected) {
      this.outOfOrder++;
      if (this.outOfOrderSamples.length < 10) this.outOfOrderSamples.push(`arrival #${this.arrivals.length + 1}: seq ${r.seq}, expected ${expected}`);
    }
    if (this.#verifier) this.#verifier.push(r);
    else this.#unverified.push(r);
    const u = r.unmapped;
    this.arrivals.push({
      seq: r.seq,
      hash: r.hash,
      kind: u.kind,
      rpc: r.api?.request?.uid,
      correlation: r.metadata.correlation_uid,
      status: r.status,
      verdict: u.verdict,
      activity: r.activity_name,
      stream: u.stream && { phase: u.stream.phase, end: u.stream.end, count: u.stream.count, sent: u.stream.sent && { events: u.stream.sent.events } },
    });
  }
}
