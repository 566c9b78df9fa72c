/**
 * Audit under load: 100,000 tool calls through the gateway (every 20th one streaming), with a
 * second sink (a signed webhook) down for part of the run and then back. Afterwards every call
 * has its records, counted exactly, in order, in both sinks, and the chain verifies.
 *
 *   AUDIT_LOAD_CALLS=20000 node --test test/load/audit-load.test.ts   # a shorter run
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { runAuditCli, verifyWebhook } from '../../src/audit/index.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';

const CALLS = Number(process.env['AUDIT_LOAD_CALLS'] ?? 100_000);
const CONCURRENCY = 64;
const STREAM_EVERY = 20;
const SECRET = 'load-test-webhook-secret';
const MODERN = '2026-07-28';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

/** A webhook receiver that can be taken down (connections refused) and brought back on its port. */
class Receiver {
  seqs: number[] = [];
  exchangeIds = new Set<string>();
  badSignatures = 0;
  #server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const check = verifyWebhook({
          secret: SECRET,
          body,
          timestamp: req.headers['x-portcullis-timestamp'] as string | undefined,
          signature: req.headers['x-portcullis-signature'] as string | undefined,
          toleranceSec: 600,
        });
        if (!check.ok) {
          this.badSignatures++;
          res.writeHead(401);
          res.end();
          return;
        }
        for (const r of JSON.parse(body.toString('utf8')).records as Array<{ seq: number; class_uid: number; metadata: { correlation_uid?: string }; unmapped?: { stream?: unknown } }>) {
          this.seqs.push(r.seq);
          if (r.class_uid === 6003 && r.metadata.correlation_uid && !r.unmapped?.stream) this.exchangeIds.add(r.metadata.correlation_uid);
        }
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

describe(`audit under load: ${CALLS.toLocaleString('en-US')} calls, a sink down for part of the run`, { timeout: 600_000 }, () => {
  let demo: DemoServer;
  let gw: Gateway | undefined;
  let dir: string;
  const receiver = new Receiver();
  const started: string[] = [];

  before(async () => {
    demo = await startDemoServer({ port: 0 });
    await receiver.start();
    dir = tempDataDir('portcullis-load-');
    gw = await startGateway({
      config: ConfigSchema.parse({
        server: { port: 0 },
        logging: { level: 'silent' },
        routes: [{ name: 'tools', path: '/mcp', upstream: { url: demo.url } }],
        audit: {
          sinks: [{ type: 'sqlite', path: '.portcullis/audit.db' }, { type: 'webhook', name: 'siem', url: `http://127.0.0.1:${receiver.port}/audit`, secret: SECRET }],
          posture: 'fail-closed',
        },
      }),
      admin: false,
      logger: silentLogger,
      dataDir: dir,
    });
  });
  after(async () => {
    await gw?.close();
    await receiver.stop();
    await demo.close();
  });

  it('every call has its records, exactly once, in order, in both sinks; the chain verifies', { timeout: 600_000 }, async () => {
    const pool = new Pool(gw!.url, { connections: CONCURRENCY, pipelining: 1 });
    let next = 0;
    let errors = 0;
    let streamed = 0;
    const downAt = Math.floor(CALLS * 0.2);
    const upAt = Math.floor(CALLS * 0.5);
    const worker = async () => {
      while (next < CALLS) {
        const n = next++;
        if (n === downAt) void receiver.stop(); // the SIEM goes down…
        if (n === upAt) void receiver.start(); // …and comes back
        const streaming = n % STREAM_EVERY === 0;
        const params = streaming
          ? { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, _meta: { ...meta, progressToken: `p${n}` } }
          : { name: 'echo', arguments: { text: `call ${n}` }, _meta: meta };
        const r = await pool.request({
          path: '/mcp',
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': params.name },
          body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params }),
        });
        const text = await r.body.text();
        if (r.statusCode !== 200 || !text.includes('"result"')) errors++;
        if (streaming) streamed++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await pool.close();
    assert.equal(errors, 0, 'every call succeeded (the sink outage did not refuse calls: the spool absorbed it)');
    void started;

    // Let the webhook lane catch up after its outage, then stop the gateway (drains and closes).
    const db = new DatabaseSync(join(dir, '.portcullis', 'audit.db'), { readOnly: true });
    const total = () => (db.prepare('SELECT count(*) AS n FROM audit_records').get() as { n: number }).n;
    for (let i = 0; i < 600 && receiver.seqs.length < total() - 5; i++) await new Promise((r) => setTimeout(r, 100));
    await gw!.close();
    gw = undefined;

    const rows = db.prepare('SELECT seq, json AS record FROM audit_records ORDER BY seq').all() as Array<{ seq: number; record: string }>;
    db.close();
    const exchangeIds = new Set<string>();
    let streamClosed = 0;
    let prev = 0;
    for (const row of rows) {
      assert.equal(row.seq, prev + 1, `SQLite seq ${row.seq} follows ${prev}: nothing missing, nothing reordered`);
      prev = row.seq;
      const r = JSON.parse(row.record) as { class_uid: number; metadata: { correlation_uid?: string }; unmapped?: { stream?: { phase?: string } } };
      if (r.class_uid !== 6003 || !r.metadata.correlation_uid) continue;
      if (r.unmapped?.stream) {
        if (r.unmapped.stream.phase === 'closed') streamClosed++;
      } else {
        assert.ok(!exchangeIds.has(r.metadata.correlation_uid), 'one exchange record per call');
        exchangeIds.add(r.metadata.correlation_uid);
      }
    }
    assert.equal(exchangeIds.size, CALLS, 'one exchange record for every call');
    assert.equal(streamClosed, streamed, 'one stream-closed record for every streaming call');

    // The webhook sink: the same records, each exactly once, in chain order, despite the outage.
    assert.equal(receiver.badSignatures, 0);
    assert.deepEqual(receiver.seqs, rows.map((r) => r.seq), 'the webhook received every record once, in order');
    assert.equal(receiver.exchangeIds.size, CALLS);

    let out = '';
    const code = await runAuditCli(['verify', '--db', join(dir, '.portcullis', 'audit.db'), '--keys', join(dir, '.portcullis', 'audit-keys')], { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((out += s), true) } } as never);
    assert.equal(code, 0, out);
  });
});
