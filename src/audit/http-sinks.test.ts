/**
 * The HTTP sinks against real local HTTP servers: Splunk HEC and the signed webhook.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditSinkContract, makeContractRecords } from './contract.ts';
import { SplunkHecSink, hecEndpoint } from './splunk-hec-sink.ts';
import { WebhookSink, verifyWebhook, webhookSignature } from './webhook-sink.ts';
import { Chain } from './chain.ts';
import type { AuditRecord } from './record.ts';

const dir = mkdtempSync(join(tmpdir(), 'audit-http-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

const TOKEN = 'hec-token-0123456789abcdef';

/** A minimal HEC: checks the token and the event envelope, keeps events in arrival order. */
function hecHandler(events: AuditRecord[], fail: { next: number }): Handler {
  return (req, body, res) => {
    const json = (status: number, v: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (req.url !== '/services/collector/event') return json(404, { text: 'not found', code: 404 });
    if (req.headers.authorization !== `Splunk ${TOKEN}`) return json(401, { text: 'Invalid token', code: 4 });
    if (fail.next > 0) {
      fail.next--;
      return json(503, { text: 'Server is busy', code: 9 });
    }
    const batch: AuditRecord[] = [];
    for (const line of body.toString('utf8').split('\n')) {
      const e = JSON.parse(line) as { time: number; sourcetype: string; source: string; index?: string; event: AuditRecord };
      assert.equal(e.sourcetype, 'ocsf');
      assert.equal(e.source, 'portcullis');
      assert.equal(e.index, 'audit');
      assert.equal(e.time, e.event.time / 1000);
      batch.push(e.event);
    }
    events.push(...batch);
    json(200, { text: 'Success', code: 0 });
  };
}

{
  const events: AuditRecord[] = [];
  const { server, url } = await serve(hecHandler(events, { next: 0 }));
  auditSinkContract(
    'splunk-hec (local HEC server)',
    () => SplunkHecSink.open({ url, token: TOKEN, index: 'audit', statePath: join(dir, 'hec-state.json') }),
    async () => [...events],
    { cleanup: async () => void server.close() },
  );
}

const SECRET = 'webhook-secret-0123456789';

{
  const received: AuditRecord[] = [];
  const { server, url } = await serve((req, body, res) => {
    const check = verifyWebhook({
      secret: SECRET,
      timestamp: req.headers['x-portcullis-timestamp'] as string | undefined,
      signature: req.headers['x-portcullis-signature'] as string | undefined,
      body,
    });
    if (!check.ok) {
      res.writeHead(401).end(check.reason);
      return;
    }
    received.push(...(JSON.parse(body.toString('utf8')) as { records: AuditRecord[] }).records);
    res.writeHead(204).end();
  });
  auditSinkContract(
    'webhook (local receiver verifying signatures)',
    () => WebhookSink.open({ url: `${url}/audit`, secret: SECRET, statePath: join(dir, 'webhook-state.json') }),
    async () => [...received],
    { cleanup: async () => void server.close() },
  );
}

describe('SplunkHecSink', () => {
  it('appends the event endpoint to a base URL only', () => {
    assert.equal(hecEndpoint('https://splunk:8088'), 'https://splunk:8088/services/collector/event');
    assert.equal(hecEndpoint('https://splunk:8088/services/collector/event'), 'https://splunk:8088/services/collector/event');
  });

  it('rejects a batch HEC refuses, without the token in the error, and delivers it on retry', async () => {
    const events: AuditRecord[] = [];
    const fail = { next: 1 };
    const { server, url } = await serve(hecHandler(events, fail));
    const sink = await SplunkHecSink.open({ url, token: TOKEN, index: 'audit' });
    const recs = makeContractRecords(new Chain(), 4);
    await assert.rejects(sink.write(recs), (err: Error) => /503: \{"text":"Server is busy"/.test(err.message) && !err.message.includes(TOKEN));
    assert.equal(await sink.lastSeq(), undefined);
    await sink.write(recs);
    assert.deepEqual(events, recs);
    await sink.close();
    server.close();
  });

  it('treats a wrong token as a failed delivery', async () => {
    const events: AuditRecord[] = [];
    const { server, url } = await serve(hecHandler(events, { next: 0 }));
    const sink = await SplunkHecSink.open({ url, token: 'wrong-token-000000000', index: 'audit' });
    await assert.rejects(sink.write(makeContractRecords(new Chain(), 1)), /401/);
    assert.deepEqual(events, []);
    await sink.close();
    server.close();
  });
});

describe('WebhookSink signatures', () => {
  it('signs timestamp.body with HMAC-SHA256 (checked independently)', async () => {
    let seen: { ts: string; sig: string; body: Buffer } | undefined;
    const { server, url } = await serve((req, body, res) => {
      seen = { ts: String(req.headers['x-portcullis-timestamp']), sig: String(req.headers['x-portcullis-signature']), body };
      assert.equal(req.headers['x-portcullis-seq'], '1-2');
      res.writeHead(200).end();
    });
    const sink = await WebhookSink.open({ url, secret: SECRET, now: () => 1_750_000_000_123 });
    await sink.write(makeContractRecords(new Chain(), 2));
    await sink.close();
    server.close();
    assert.equal(seen?.ts, '1750000000');
    const expected = createHmac('sha256', SECRET).update(`1750000000.${seen!.body.toString('utf8')}`).digest('hex');
    assert.equal(seen?.sig, `v1=${expected}`);
  });

  it('lets a receiver reject a replayed (stale), altered or unsigned request', () => {
    const body = '{"records":[]}';
    const ts = '1750000000';
    const sig = webhookSignature(SECRET, ts, body);
    const nowMs = 1_750_000_000_000;
    assert.deepEqual(verifyWebhook({ secret: SECRET, timestamp: ts, signature: sig, body, nowMs }), { ok: true });
    assert.deepEqual(verifyWebhook({ secret: SECRET, timestamp: ts, signature: sig, body, nowMs: nowMs + 301_000 }), { ok: false, reason: 'stale' });
    assert.deepEqual(verifyWebhook({ secret: SECRET, timestamp: '1750000100', signature: sig, body, nowMs }), { ok: false, reason: 'bad-signature' });
    assert.deepEqual(verifyWebhook({ secret: SECRET, timestamp: ts, signature: sig, body: body + ' ', nowMs }), { ok: false, reason: 'bad-signature' });
    assert.deepEqual(verifyWebhook({ secret: 'another-secret-000000', timestamp: ts, signature: sig, body, nowMs }), { ok: false, reason: 'bad-signature' });
    assert.deepEqual(verifyWebhook({ secret: SECRET, timestamp: undefined, signature: sig, body, nowMs }), { ok: false, reason: 'missing' });
  });

  it('fails the batch on a non-2xx answer', async () => {
    const { server, url } = await serve((_req, _body, res) => res.writeHead(500).end('boom'));
    const sink = await WebhookSink.open({ url, secret: SECRET });
    await assert.rejects(sink.write(makeContractRecords(new Chain(), 1)), /webhook answered 500: boom/);
    await sink.close();
    server.close();
  });
});

describe('HTTP sink timeout from config', () => {
  it('a receiver that never answers fails the delivery after audit.sinks[].timeoutMs, not the 15 s default', async () => {
    const { openSink } = await import('./open.ts');
    const { AuditSinkSchema } = await import('./config.ts');
    const { server, url } = await serve(() => {
      // Accepts the request and never answers.
    });
    try {
      for (const cfg of [
        { type: 'webhook', url: `${url}/hook`, secret: 'webhook-secret-0123456789', timeoutMs: 300 },
        { type: 'splunk-hec', url, token: TOKEN, timeoutMs: 300 },
      ]) {
        const parsed = AuditSinkSchema.parse(cfg);
        const sink = await openSink(parsed, `slow-${cfg.type}`, { baseDir: dir, statePath: join(dir, `slow-${cfg.type}.json`) });
        const started = Date.now();
        await assert.rejects(sink.write(makeContractRecords(new Chain(), 1)));
        const took = Date.now() - started;
        assert.ok(took < 5000, `${cfg.type}: gave up after ${took} ms`);
        await sink.close();
      }
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('refuses a timeout below 100 ms', async () => {
    const { AuditSinkSchema } = await import('./config.ts');
    assert.equal(AuditSinkSchema.safeParse({ type: 'webhook', url: 'https://x.example/h', secret: 'webhook-secret-0123456789', timeoutMs: 10 }).success, false);
  });
});
