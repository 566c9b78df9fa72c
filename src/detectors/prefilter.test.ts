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

test('property: triggers report every even offset whose trigram they list, case kept', () => {
  const trigger = { trigrams: ['a:b', 'ABC', '::1'] };
  const chars = fc.constantFrom('a', 'b', 'A', 'B', 'C', ':', '1', 'x', ' ', 'é');
  fc.assert(
    fc.property(fc.array(chars, { maxLength: 120 }), fc.boolean(), (cs, withKeywords) => {
      const text = cs.join('');
      const s = new KeywordScanner(withKeywords ? ['ab:c', 'xab'] : [], [trigger]);
      const got = s.scan(text).triggered[0]!;
      const want: number[] = [];
      for (let e = 0; e + 3 <= text.length; e += 2) if (trigger.trigrams.includes(text.slice(e, e + 3))) want.push(e);
      assert.deepEqual([...got.at.subarray(0, got.count)], want);
    }),
    { numRuns: 1500 },
  );
});

test('keywords are found whichever 4 characters of them the scan looks for', () => {
  const kws = ['controlled unclassified information', 'internal use only', 'aws_secret', 'sk_live_'];
  const s = new KeywordScanner(kws);
  const text = 'x CONTROLLED UNCLASSIFIED INFORMATION; Internal Use Only AWS_SECRET=1 sk_live_abc internal use onl';
  assert.deepEqual(hits(s, text), naive(s.keywords, text));
});
