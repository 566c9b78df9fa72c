import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expand } from '../../eval/secret-formats.ts';
import { Rng } from '../../eval/rng.ts';
import { fingerprint, holdBackWindow, MAX_MATCH_LENGTH, scanText } from './index.ts';

const r = new Rng(5);
const key = expand('«AKIA{b32:16}»', r, 'aws-access-key-id').text;

test('findings carry type, offsets, confidence and severity, never the text', () => {
  const text = `config: ${key} mail ana@acme-corp.com`;
  const fs = scanText(text);
  assert.deepEqual(fs.map((f) => [f.detector, f.type, text.slice(f.start, f.end)]), [['secret', 'aws-access-key-id', key], ['pii', 'email', 'ana@acme-corp.com']]);
  for (const f of fs) {
    assert.deepEqual(Object.keys(f).sort(), ['confidence', 'detector', 'end', 'severity', 'start', 'type']);
    assert.ok(!JSON.stringify(f).includes(key));
  }
});

test('families and the confidence floor select what runs and what is kept', () => {
  const text = `${key} ana@acme-corp.com CONFIDENTIAL`;
  assert.deepEqual(scanText(text, { families: ['pii'] }).map((f) => f.type), ['email']);
  assert.deepEqual(scanText(text, { families: ['marker'] }).map((f) => f.type), ['confidential-label']);
  // The AWS key id scores 0.95, the address 0.9: a 0.92 floor keeps only the key.
  assert.deepEqual(scanText(text, { minConfidence: 0.92 }).map((f) => f.type), ['aws-access-key-id']);
});

test('offsets are in the original text when invisible or fullwidth characters were normalized', () => {
  const fullwidth = [...key].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
  const text = `🙂 note\u200b: ${fullwidth}!`;
  const [f] = scanText(text, { families: ['secret'] });
  assert.equal(text.slice(f!.start, f!.end), fullwidth);
});

test('overlapping matches: a secret wins over PII on the same characters', () => {
  const text = 'postgres://svc:Zq7' + '#tP0vLm9' + '@db.example.net/app';
  assert.deepEqual(scanText(text).map((f) => f.type), ['db-url-postgres']);
});

test('fingerprints are keyed, stable, short and do not reveal the value', () => {
  const a = fingerprint('k1', 'aws-access-key-id', key);
  assert.equal(a, fingerprint('k1', 'aws-access-key-id', key));
  assert.notEqual(a, fingerprint('k2', 'aws-access-key-id', key));
  assert.notEqual(a, fingerprint('k1', 'github-pat', key));
  assert.match(a, /^[A-Za-z0-9_-]{22}$/);
  assert.ok(!a.includes(key.slice(4, 10)));
});

test('hold-back windows are bounded and cover the longest match of each enabled family', () => {
  assert.ok(MAX_MATCH_LENGTH.secret > 0 && MAX_MATCH_LENGTH.secret <= 2048, `secret ${MAX_MATCH_LENGTH.secret}`);
  assert.ok(holdBackWindow({ families: ['pii'] }) > MAX_MATCH_LENGTH.pii);
  assert.ok(holdBackWindow() >= MAX_MATCH_LENGTH.secret);
  assert.equal(holdBackWindow({ families: ['custom'], custom: { regexes: [{ id: 'x', pattern: 'x', maxLength: 5000 }] } }), 5000 + 64);
});
