import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeywordScanner } from './prefilter.ts';

function naive(keywords: readonly string[], text: string): string[] {
  const lower = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const out: string[] = [];
  keywords.forEach((k, ki) => {
    for (let at = lower.indexOf(k); at >= 0; at = lower.indexOf(k, at + 1)) out.push(`${at}:${ki}`);
  });
  return out.sort();
}

function hits(s: KeywordScanner, text: string): string[] {
  const h = s.scan(text);
  const out: string[] = [];
  for (let i = 0; i < h.count; i++) out.push(`${h.start[i]}:${h.keyword[i]}`);
  return out.sort();
}

test('finds every keyword occurrence, case-insensitively, overlapping ones included', () => {
  const s = new KeywordScanner(['ghp_', 'akia', 'aki', 'secret']);
  assert.deepEqual(hits(s, 'x GHP_abc AkIa SECRETsecret'), ['10:1', '10:2', '15:3', '2:0', '21:3'].sort());
});

test('rejects keywords that cannot be matched reliably', () => {
  assert.throws(() => new KeywordScanner(['Upper']), /lowercase/);
  assert.throws(() => new KeywordScanner(['zürich']), /ASCII/);
  assert.throws(() => new KeywordScanner(['']), /empty/);
});

test('non-ASCII characters never match an ASCII keyword', () => {
  const s = new KeywordScanner(['akia']);
  // U+0130 (İ) lower-cases to "i̇" in JS: a naive toLowerCase scan would shift offsets.
  assert.deepEqual(hits(s, 'AKİA akia'), ['5:0']);
});

const alphabet = fc.constantFrom('a', 'b', 'c', '_', '-', 'A', 'B', '.', ' ', 'é');
const word = fc.array(fc.constantFrom('a', 'b', 'c', '_', '-', '.'), { minLength: 1, maxLength: 6 }).map((x) => x.join(''));

test('property: equals a naive indexOf search for any keyword set and text', () => {
  fc.assert(
    fc.property(fc.uniqueArray(word, { minLength: 1, maxLength: 8 }), fc.array(alphabet, { maxLength: 200 }), (kws, chars) => {
      const text = chars.join('');
      assert.deepEqual(hits(new KeywordScanner(kws), text), naive(kws, text));
    }),
    { numRuns: 1500 },
  );
});
