import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CustomRuleError, CustomRuleSet } from './custom.ts';
import { scanText } from './index.ts';

const markers = (t: string) => scanText(t, { families: ['marker'] }).map((f) => f.type);

test('classification labels are found; the same words in passing are not', () => {
  assert.deepEqual(markers('TOP SECRET//SI//NOFORN\nbody'), ['classification-banner']);
  assert.deepEqual(markers('CONFIDENTIAL'), ['confidential-label']);
  assert.deepEqual(markers('TLP:AMBER+STRICT'), ['tlp-restricted']);
  assert.deepEqual(markers('Data classification: Restricted'), ['classification-field']);
  assert.deepEqual(markers('Keep your password confidential.'), []);
  assert.deepEqual(markers('TLP:CLEAR may be shared.'), []);
});

test('a private-key header is a marker even with the secret family off', () => {
  assert.deepEqual(markers('-----BEGIN EC PRIVATE KEY-----'), ['private-key-header']);
});

test('code-shaped text is reported as one block; prose and JSON are not', () => {
  const code = 'const a = 1;\nfunction f(x) {\n  return x * 2;\n}\nexport default f;\n';
  const text = `Here is the module:\n${code}That is all.`;
  const f = scanText(text, { families: ['marker'] }).filter((x) => x.type === 'source-code');
  assert.equal(f.length, 1);
  assert.ok(text.slice(f[0]!.start, f[0]!.end).startsWith('const a = 1;'));
  assert.deepEqual(markers('{\n  "a": 1,\n  "b": [1, 2],\n  "c": {"d": true}\n}\n'), []);
  assert.deepEqual(markers('Dear Ana,\nthanks for the notes.\nSee you on Monday.\nBest, Joe\n'), []);
  assert.deepEqual(scanText(code, { families: ['marker'], sourceCode: false }), []);
});

test('custom dictionaries match whole words, case-insensitively unless asked', () => {
  const custom = { dictionaries: [{ id: 'codename', terms: ['Bluebird', 'Project Zürich'] }, { id: 'ticker', terms: ['ACME'], caseSensitive: true }] };
  const found = (t: string) => scanText(t, { families: ['custom'], custom }).map((f) => `${f.type}:${t.slice(f.start, f.end)}`);
  assert.deepEqual(found('launch of BLUEBIRD and project zürich'), ['codename:BLUEBIRD', 'codename:project zürich']);
  assert.deepEqual(found('bluebirds fly'), []);
  assert.deepEqual(found('acme and ACME'), ['ticker:ACME']);
});

test('custom regexes run in RE2: linear, and unsupported syntax is a clear error', () => {
  const custom = new CustomRuleSet({ regexes: [{ id: 'ticket', pattern: 'PRJ-[0-9]{4}', keywords: ['prj-'] }, { id: 'catastrophic', pattern: '(a+)+$' }] });
  const t = 'see PRJ-1234 and ' + 'a'.repeat(50000) + '!';
  const found = scanText(t, { families: ['custom'], custom });
  assert.deepEqual(found.map((f) => t.slice(f.start, f.end)), ['PRJ-1234']);
  assert.throws(() => new CustomRuleSet({ regexes: [{ id: 'lookahead', pattern: 'a(?=b)' }] }), CustomRuleError);
  assert.throws(() => new CustomRuleSet({ regexes: [{ id: 'backref', pattern: '(a)\\1' }] }), /RE2/);
  assert.throws(() => new CustomRuleSet({ regexes: [{ id: 'Bad Id', pattern: 'x' }] }), /kebab-case/);
  assert.throws(() => new CustomRuleSet({ regexes: [{ id: 'empty', pattern: 'x*' }] }), /empty string/);
});
