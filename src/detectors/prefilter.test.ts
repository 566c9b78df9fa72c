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

test('property: the trigram pass reads 32-bit words exactly as it reads bytes', async () => {
  const { BLOCK, bytesOf, candidates, newTrigramSet, addTrigram, trigramHits, wordsOf } = await import('./trigrams.ts');
  const set = newTrigramSet();
  for (const t of ['abc', 'bcd', 'ABC', ' a ', 'x\u00e9y', 'ab\u00e9', '\u00e9ab', 'zzz', '\n\r\n', 'b c', 'a-b']) addTrigram(set, t);
  const run = (text: string, words: boolean): number[] => {
    const b = bytesOf(text);
    const w = words ? wordsOf(b, text.length) : undefined;
    if (words) assert.ok(w !== undefined, 'words view');
    const out: number[] = [];
    for (let from = 0; from + 2 < text.length; from += BLOCK) {
      const count = trigramHits(b, text.length, set, from, w);
      for (let i = 0; i < count; i++) out.push(candidates[i]!);
    }
    return out;
  };
  const pieces = fc.constantFrom('a', 'b', 'c', 'd', 'A', 'B', 'C', ' ', 'z', 'é', 'x', 'y', '\n', '\r', '中', 'abc', 'zzz');
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 40 }), (ps) => {
      const text = ps.join('');
      assert.deepEqual(run(text, true), run(text, false), JSON.stringify(text));
    }),
    { numRuns: 2000 },
  );
  // Odd and even lengths at the very end of the text, after a longer text left bytes behind.
  run('zzzzzzzzzzzzzzzz', true);
  for (const text of ['ab', 'abc', 'abcd', 'zabc', 'zzzab', 'xxxxxxxxxxxxxxxxxabc', 'ab'.repeat(BLOCK) + 'c', 'a'.repeat(BLOCK + 1) + 'bc']) {
    assert.deepEqual(run(text, true), run(text, false), text);
  }
  // Every text length mod 4 (each tail of the two-steps-per-word loop), and around a block's end.
  const base = 'abcdzzabczabcd bcd';
  for (let len = 0; len <= base.length; len++) assert.deepEqual(run(base.slice(0, len), true), run(base.slice(0, len), false), base.slice(0, len));
  for (let k = -5; k <= 5; k++) {
    const text = 'z'.repeat(BLOCK + k) + 'abcabcd';
    assert.deepEqual(run(text, true), run(text, false), `BLOCK ${k}`);
  }
  // Characters above 0x7F (latin1 bytes) in each position of a trigram.
  for (const text of ['x\u00e9y', 'zx\u00e9y', 'ab\u00e9', 'zzab\u00e9', '\u00e9ab', 'z\u00e9ab']) assert.deepEqual(run(text, true), run(text, false), text);
  assert.deepEqual(run('x\u00e9y', true), [0]);
  assert.deepEqual(run('abc', true), [0]);
  assert.deepEqual(run('zabc', true), []);
  assert.deepEqual(run('zzabc', true), [2]);
  assert.deepEqual(run('zzzabcd', true), [0, 4]);
});
