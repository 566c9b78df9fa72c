/**
 * Every rule finds its documented format (samples drawn at run time by the eval generators, so
 * no secret-looking literal is committed), and the near-misses stay silent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expand, SECRET_TEMPLATES } from '../../../eval/secret-formats.ts';
import { Rng } from '../../../eval/rng.ts';
import { scanText } from '../index.ts';
import { SECRET_RULES } from './index.ts';

const secrets = (t: string) => scanText(t, { families: ['secret'] });

test('the pack has at least 100 rules with unique kebab-case ids and ≥ 4-character keywords', () => {
  assert.ok(SECRET_RULES.length >= 100, `${SECRET_RULES.length} rules`);
  assert.equal(new Set(SECRET_RULES.map((r) => r.id)).size, SECRET_RULES.length);
  for (const r of SECRET_RULES) {
    assert.match(r.id, /^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    for (const k of r.keywords) assert.ok(k.length >= 4 && k === k.toLowerCase(), `${r.id}: keyword ${JSON.stringify(k)}`);
  }
});

test('every rule detects its documented format, with the right type and span', () => {
  const r = new Rng(1234);
  for (const rule of SECRET_RULES) {
    const templates = SECRET_TEMPLATES[rule.id];
    assert.ok(templates, `no sample template for ${rule.id}`);
    for (const tpl of templates) {
      for (let k = 0; k < 3; k++) {
        const s = expand(tpl, r, rule.id);
        const found = secrets(s.text).filter((f) => f.start < s.end && f.end > s.start);
        assert.ok(found.some((f) => f.type === rule.id), `${rule.id} missed in ${JSON.stringify(s.text.slice(0, 80))}: ${found.map((f) => f.type)}`);
        const f = found.find((x) => x.type === rule.id)!;
        assert.ok(f.start <= s.start && f.end >= s.end - 1, `${rule.id}: span [${f.start},${f.end}) vs expected [${s.start},${s.end})`);
      }
    }
  }
});

test('documented example keys and placeholders are not reported', () => {
  const examples = [
    'aws_access_key_id = AKIA' + 'IOSFODNN7' + 'EXAMPLE',
    'GITHUB_TOKEN=ghp_' + 'x'.repeat(36),
    'token: ghp_' + 'X'.repeat(36),
    'STRIPE_KEY=sk_live_' + '<your-key-here>',
    'api_key = "${API_KEY}"',
    'password: "********"',
    'password = "changeme"',
    'DATABASE_URL=postgres://user:' + 'password' + '@localhost/db',
    'see https://example.com/docs?token=abc',
    'const token = getAccessTokenFromEnvironment();',
  ];
  for (const t of examples) assert.deepEqual(secrets(t), [], t);
});

test('a GitHub token with a broken CRC-32 is below the default threshold', () => {
  const r = new Rng(9);
  const good = expand('«{ghp}»', r, 'github-pat').text;
  const bad = good.slice(0, -6) + (good.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
  assert.equal(secrets(good)[0]?.confidence, 0.99);
  assert.deepEqual(secrets(bad), []);
  assert.ok(scanText(bad, { families: ['secret'], minConfidence: 0 }).some((f) => f.type === 'github-pat'));
});

test('a token that runs on is not the token (length and boundaries matter)', () => {
  const r = new Rng(3);
  const key = 'AKIA' + r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16);
  assert.equal(secrets(`id ${key} ok`).length, 1);
  assert.deepEqual(secrets(`id ${key}Q ok`), []);
  assert.deepEqual(secrets(`id X${key} ok`), []);
});

test('a private key is reported from its header to its END line, and a header in prose is not', () => {
  const r = new Rng(5);
  const pem = expand('«{pemRsa}»', r, 'private-key-rsa').text;
  const text = `before\n${pem}\nafter`;
  const f = secrets(text).find((x) => x.type === 'private-key-rsa')!;
  assert.equal(text.slice(f.start, f.end), pem);
  assert.deepEqual(secrets('Keys begin with -----BEGIN RSA PRIVATE KEY----- and then a body; never paste one.'), []);
});

test('a vendor rule wins over the generic assignment rule on the same value', () => {
  const r = new Rng(11);
  const s = expand('GITHUB_TOKEN="«{ghp}»"', r, 'github-pat');
  assert.deepEqual(secrets(s.text).map((f) => f.type), ['github-pat']);
});

test('URL passwords are redacted alone, stock passwords are not reported', () => {
  const t = 'mongodb+srv://app:' + 'Vq8' + '#zP41mK' + '@cluster0.abcde.mongodb.net/db';
  const f = secrets(t);
  assert.equal(f.length, 1);
  assert.equal(t.slice(f[0]!.start, f[0]!.end), 'Vq8#zP41mK');
  assert.deepEqual(secrets('redis://default:postgres@cache:6379'), []);
});
