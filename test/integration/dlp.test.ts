/**
 * Streaming DLP end to end: secrets in tool arguments, in results, in SSE events (also split
 * across two of them), in oversized JSON bodies (the chunk path), a blocking rule that ends a
 * stream cleanly with an error, and session memory feeding policy.
 *
 * Test secrets are assembled at run time so no credential-shaped literal sits in the source.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { fingerprint } from '../../src/detectors/index.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader, MODERN, parseJson, post, sseData, type Loose } from './support/hostile-harness.ts';
import { startHostileUpstream, type HostileUpstream } from './support/hostile-upstream.ts';

const AWS = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const STRIPE = 'sk_' + 'live_' + '4eC39HqLyjWDarjtT1zdp7dc';
const PEM = '-----BEGIN ' + 'RSA PRIVATE KEY-----';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

describe('streaming DLP through the gateway', () => {
  let up: HostileUpstream;
  let gw: Gateway;
  let dataDir: string;

  before(async () => {
    up = await startHostileUpstream();
    const input: ConfigInput = {
      server: { port: 0 },
      logging: { level: 'silent' },
      limits: { maxBufferedMessageBytes: 64 * 1024 },
      routes: [
        {
          name: 'tools',
          path: '/mcp',
          upstream: { url: up.url },
          // A hold well above the 5 ms gaps below, so a busy CI machine cannot make the second
          // part "late"; the late-part test waits 1.2 s, well past it.
          inspectors: [{ type: 'dlp', crossEventHoldMs: 400, actions: { default: 'redact', types: { 'private-key-rsa': 'block', 'private-key-header': 'block' } } }],
        },
      ],
      // Session memory: a caller who already leaked two secrets this hour is stopped.
      policy: { default: 'allow', rules: [{ name: 'leaky-caller', when: 'session.counters[?"secret_findings_1h"].orValue(0) >= 2', decision: 'deny', reason: 'too-many-secret-findings' }] },
    };
    dataDir = tempDataDir();
    gw = await startGateway({ config: ConfigSchema.parse(input), identify: identifyByHeader, admin: false, logger: silentLogger, dataDir });
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  const call = (who: string, name: string, args: Record<string, unknown>, id: number) =>
    post(gw.port, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: meta } }, {
      'x-test-user': who,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': name,
    });
  const events = (text: string): Loose[] => sseData(text).map((d) => JSON.parse(d));

  it("a secret in the client's arguments is redacted before the upstream sees it", async () => {
    const r = parseJson(await call('a1', 'ok', { text: `deploy with ${AWS} please` }, 1));
    assert.equal(r.result.content[0].text, 'deploy with [REDACTED:aws-access-key-id] please');
    assert.ok(!up.seen.some((s) => JSON.stringify(s).includes(AWS)), 'the upstream never received the key');
  });

  it("the audit trail's finding carries the key's fingerprint under the trail's digest key, never the key", async () => {
    const key = Buffer.from(readFileSync(join(dataDir, '.portcullis', 'audit-keys', 'audit-digest.key'), 'utf8').trim(), 'base64');
    const expected = fingerprint(key, 'aws-access-key-id', AWS);
    let text = '';
    for (let i = 0; i < 100 && !text.includes(expected); i++) {
      await new Promise((r) => setTimeout(r, 50));
      const reader = new SqliteSink({ path: join(dataDir, '.portcullis', 'audit.db'), readOnly: true });
      text = '';
      for await (const r of reader.read({ kind: 'finding' })) text += JSON.stringify(r);
      await reader.close();
    }
    assert.ok(text.includes(`"fingerprint":"${expected}"`), text.slice(0, 500));
    assert.ok(!text.includes(AWS), 'never the key itself');
  });

  it('a streamed result leaking a key split across two SSE events arrives redacted', async () => {
    const cut = 9;
    const r = await call('a2', 'parts-sse', { partsB64: [`the key is ${AWS.slice(0, cut)}`, `${AWS.slice(cut)} and more text`, 'clean'].map(b64), gapMs: 10 }, 2);
    assert.equal(r.status, 200);
    const all = events(r.text);
    const texts = all.filter((e) => e.method).map((e) => e.params.data as string);
    assert.equal(texts.length, 3);
    assert.ok(!texts.join('').includes(AWS), 'no part of the stream carries the key');
    // The first part is cut from the held event; the mask stands where the rest began.
    assert.equal(texts[0], 'the key is ');
    assert.equal(texts[1], '[REDACTED:aws-access-key-id] and more text');
    assert.equal(all.at(-1).result.content[0].text, 'done');
  });

  it('a key split across two SSE events at every offset, after a space or inside a JSON string, never reaches the client', async () => {
    let id = 100;
    for (const lead of ['the key is ', '{"k": "']) {
      for (let cut = 1; cut < AWS.length; cut++) {
        // A caller per call: session memory would otherwise stop a caller after two findings.
        const r = await call(`split-${id}`, 'parts-sse', { partsB64: [`${lead}${AWS.slice(0, cut)}`, `${AWS.slice(cut)} and more text`].map(b64), gapMs: 5 }, id++);
        const texts = events(r.text).filter((e) => e.method).map((e) => e.params.data as string);
        assert.deepEqual(texts, [lead, '[REDACTED:aws-access-key-id] and more text'], `cut at ${cut} after ${JSON.stringify(lead)}`);
      }
    }
  });

  it('a second part that comes after the hold: the first part went out, the rest is still masked', async () => {
    const cut = 12;
    const r = await call('late', 'parts-sse', { partsB64: [`the key is ${AWS.slice(0, cut)}`, `${AWS.slice(cut)} and more text`].map(b64), gapMs: 1200 }, 150);
    const texts = events(r.text).filter((e) => e.method).map((e) => e.params.data as string);
    assert.deepEqual(texts, [`the key is ${AWS.slice(0, cut)}`, '[REDACTED:aws-access-key-id] and more text']);
  });

  it('a blocking rule ends the stream cleanly: what came before, then the error for the call', async () => {
    const r = await call('a3', 'parts-sse', { partsB64: ['first part', `here it is: ${PEM}`, 'never sent'].map(b64), gapMs: 5 }, 3);
    assert.equal(r.status, 200);
    const all = events(r.text);
    assert.equal(all[0].params.data, 'first part');
    const last = all.at(-1);
    assert.equal(last.id, 3);
    assert.equal(last.error?.data?.code, 'blocked');
    assert.ok(last.error.data.reasons.some((x: string) => x.startsWith('dlp/private-key')), JSON.stringify(last.error.data));
    assert.ok(!r.text.includes('never sent') && !r.text.includes('PRIVATE KEY'), 'nothing after the block, and not the key');
  });

  it('a blocked key block split across two events: the first event goes out without its part, then the error', async () => {
    let id = 200;
    for (const cut of [1, 5, 11, 16, 23, 30]) {
      const r = await call(`pem-${cut}`, 'parts-sse', { partsB64: [`here it is: ${PEM.slice(0, cut)}`, `${PEM.slice(cut)}\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn`, 'never sent'].map(b64), gapMs: 5 }, id);
      const all = events(r.text);
      assert.deepEqual(all.filter((e) => e.method).map((e) => e.params.data), ['here it is: '], `cut ${cut}`);
      assert.equal(all.at(-1).id, id++);
      assert.equal(all.at(-1).error?.data?.code, 'blocked', `cut ${cut}`);
      assert.ok(!r.text.includes('MIIE') && !r.text.includes('never sent'), `cut ${cut}`);
    }
  });

  it('an oversized JSON result (chunk path) has its secrets redacted wherever the chunks fall', async () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(6000); // ~160 KB: over the 64 KiB buffer
    const text = `${filler}${STRIPE} ${filler}${AWS} ${filler}`;
    const big = parseJson(await call('a4', 'ok', { textB64: b64(text) }, 5));
    const out = big.result.content[0].text as string;
    assert.ok(!out.includes(STRIPE) && !out.includes(AWS));
    assert.ok(out.includes('[REDACTED:stripe-secret-key]') && out.includes('[REDACTED:aws-access-key-id]'));
    assert.equal(out.length, text.length - STRIPE.length - AWS.length + '[REDACTED:stripe-secret-key]'.length + '[REDACTED:aws-access-key-id]'.length);
  });

  it('session memory: after two secret findings this hour, policy stops the caller', async () => {
    for (const id of [6, 7]) assert.ok(parseJson(await call('leaker', 'ok', { text: `try ${AWS}` }, id)).result);
    const third = parseJson(await call('leaker', 'ok', { text: 'harmless now' }, 8));
    assert.equal(third.error?.data?.code, 'policy_denied');
    assert.deepEqual(third.error.data.reasons, ['policy/too-many-secret-findings']);
    assert.ok(parseJson(await call('someone-else', 'ok', { text: 'fine' }, 9)).result, 'other callers are unaffected');
  });
});
