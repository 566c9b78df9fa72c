/**
 * The DLP inspector's own logic: whole messages, and secrets split across two SSE events at
 * every offset (through dlp-two-events.ts, the relay's semantics), including a second event
 * that comes after the hold, and a blocking rule. Test secrets are assembled at run time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprint } from '../detectors/index.ts';
import { createDlpInspector, mayContinue, type DlpOptions } from './dlp.ts';
import { twoEvents } from './dlp-two-events.ts';

const AWS = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const STRIPE = 'sk_' + 'live_' + '4eC39HqLyjWDarjtT1zdp7dc';
const PEM = ['-----BEGIN ' + 'RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF', '-----END ' + 'RSA PRIVATE KEY-----'].join('\n');

const dlp = (over: Partial<DlpOptions> = {}) =>
  createDlpInspector({ families: ['secret', 'pii', 'marker'], minConfidence: 0.5, direction: 'both', crossEventHoldMs: 50, actions: { default: 'redact', families: {}, types: {} }, ...over });

describe('DLP inspector across two SSE events', () => {
  for (const [name, secret, mask] of [
    ['AWS access key id', AWS, '[REDACTED:aws-access-key-id]'],
    ['Stripe secret key', STRIPE, '[REDACTED:stripe-secret-key]'],
  ] as const) {
    it(`a ${name} cut at every offset never reaches the client, and is reported once`, () => {
      for (const lead of ['the key is ', '{"k": "', 'key=']) {
        for (let cut = 1; cut < secret.length; cut++) {
          const r = twoEvents(dlp(), lead + secret.slice(0, cut), secret.slice(cut) + ' and more');
          assert.equal(r.texts.join(''), `${lead}${mask} and more`, `cut ${cut} after ${JSON.stringify(lead)}: ${JSON.stringify(r.texts)}`);
          assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
          assert.ok(!JSON.stringify(r.findings).includes(secret.slice(0, 8)), 'findings never carry the value');
        }
      }
    });
  }

  it('findings carry a keyed fingerprint of the value, alike whether the value came whole or split', () => {
    const key = Buffer.alloc(32, 7);
    const expected = fingerprint(key, 'aws-access-key-id', AWS);
    const whole = twoEvents(dlp({ fingerprintKey: key }), `the key is ${AWS} ok\n`, 'nothing here\n');
    const split = twoEvents(dlp({ fingerprintKey: key }), `the key is ${AWS.slice(0, 7)}`, `${AWS.slice(7)} ok`);
    assert.deepEqual([whole.findings.map((f) => f.fingerprint), split.findings.map((f) => f.fingerprint)], [[expected], [expected]]);
    const other = twoEvents(dlp({ fingerprintKey: Buffer.alloc(32, 8) }), `the key is ${AWS} ok\n`, 'x\n');
    assert.notEqual(other.findings[0]!.fingerprint, expected, 'another key, another fingerprint');
    assert.ok(!expected.includes(AWS.slice(4, 12)));
  });

  it('a second event after the hold: the first part went out as it was, the rest is masked', () => {
    const r = twoEvents(dlp(), `the key is ${AWS.slice(0, 12)}`, `${AWS.slice(12)} and more`, { secondLate: true });
    assert.deepEqual(r.texts, [`the key is ${AWS.slice(0, 12)}`, '[REDACTED:aws-access-key-id] and more']);
  });

  it('a blocking rule on a key cut at every offset: the held event goes out without its part, then the stream ends', () => {
    const block = dlp({ actions: { default: 'redact', families: {}, types: { 'aws-access-key-id': 'block' } } });
    for (let cut = 1; cut < AWS.length; cut++) {
      const r = twoEvents(block, `the key is ${AWS.slice(0, cut)}`, `${AWS.slice(cut)} and more`);
      assert.equal(r.blocked, true, `cut ${cut}`);
      assert.deepEqual(r.texts, ['the key is '], `cut ${cut}`);
    }
  });

  it('a blocked private key cut at every offset: the stream ends before any key material', () => {
    const body = PEM.split('\n')[1]!;
    const block = dlp({ actions: { default: 'redact', families: {}, types: { 'private-key-rsa': 'block', 'private-key-header': 'block' } } });
    for (let cut = 1; cut < PEM.length; cut++) {
      const r = twoEvents(block, `here it is: ${PEM.slice(0, cut)}`, PEM.slice(cut));
      assert.equal(r.blocked, true, `cut ${cut}`);
      const out = r.texts.join('');
      assert.ok(!out.includes(body.slice(0, 12)) && !out.includes(body.slice(-12)), `cut ${cut}: ${JSON.stringify(r.texts)}`);
    }
  });

  it('an event that ends with a finished line is not held', () => {
    const v = dlp().onMessage!(
      { id: 'e', direction: 's2c', kind: 'notification', method: 'notifications/message', rpcId: undefined, target: undefined, message: { jsonrpc: '2.0', method: 'notifications/message', params: { data: 'step 3 done.\n' } }, carrier: { transport: 'sse', bytes: 13 } },
      { session: { era: 'modern', protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 's', method: 'none' } }, route: 'r', request: undefined, signal: new AbortController().signal, note: () => {} },
    );
    assert.equal((v as { holdMs?: number }).holdMs, undefined);
  });
});

describe('mayContinue: could the text still grow into a secret in the next event?', () => {
  it('an unfinished line (mid-token, after a quote, a keyword or an assignment) or an open key block', () => {
    for (const t of ['the key is A', '{"k": "', 'password = ', 'aws_secret_access_key ', 'all done. ', '-----BEGIN RSA ', '---- BEGIN ', `${PEM.split('\n').slice(0, 2).join('\n')}\n`, '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nAAAA\n']) {
      assert.equal(mayContinue(t), true, JSON.stringify(t));
    }
  });
  it('not an empty text, a finished line, or a closed key block', () => {
    for (const t of ['', 'line one\n', 'step 3 done.\r\n', `${PEM}\n`]) assert.equal(mayContinue(t), false, JSON.stringify(t));
  });
});

describe('DLP inspector: base64 content', () => {
  const ctx = { session: { era: 'modern' as const, protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 's', method: 'none' } }, route: 'r', request: undefined, signal: new AbortController().signal, note: () => {} };
  const frameOf = (result: unknown) => ({ id: 'f', direction: 's2c' as const, kind: 'result' as const, method: 'resources/read', rpcId: 1, target: undefined, message: { jsonrpc: '2.0', id: 1, result }, carrier: { transport: 'json' as const, bytes: 0 } });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const apply = async (result: unknown) => {
    const { applyPatches } = await import('../pipeline/patch.ts');
    const f = frameOf(result);
    const v = dlp().onMessage!(f, ctx) as { kind: string; patches?: [] };
    return { v, out: v.kind === 'redact' ? (applyPatches(f.message, v.patches!) as { result: { contents: Array<Record<string, string>> } }).result : (f.message.result as { contents: Array<Record<string, string>> }) };
  };

  it('a text blob is scanned decoded and re-encoded whole with the mask', async () => {
    const { v, out } = await apply({ contents: [{ uri: 'file:///app/.env', mimeType: 'text/plain', blob: b64(`AWS_ACCESS_KEY_ID=${AWS}\nDEBUG=1\n`) }] });
    assert.equal(v.kind, 'redact');
    assert.equal(Buffer.from(out.contents[0]!['blob']!, 'base64').toString('utf8'), 'AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]\nDEBUG=1\n');
  });

  it('binary blobs and image data are neither scanned nor patched', async () => {
    const binary = b64(`\u0000\u0001 ${AWS} \u00ff`);
    const { v } = await apply({ contents: [{ uri: 'file:///x.bin', mimeType: 'application/octet-stream', blob: binary }], content: [{ type: 'image', mimeType: 'image/png', data: b64(`${AWS}`) }] });
    assert.equal(v.kind, 'allow');
  });
});
