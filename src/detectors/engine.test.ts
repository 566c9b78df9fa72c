import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuleSet } from './engine.ts';
import type { PatternRule } from './types.ts';

const rule = (id: string, keyword: string, pattern: string, validate?: PatternRule['validate']): PatternRule => ({
  id,
  family: 'secret',
  description: id,
  keywords: [keyword],
  pattern,
  confidence: 0.9,
  severity: 'high',
  ...(validate && { validate }),
});

const spans = (set: RuleSet, text: string) => set.scan(text).map((m) => `${m.type}@${m.start}-${m.end}`).sort();

test('one rule set scans text after text without carrying a window from one scan into the next', () => {
  const set = new RuleSet([rule('alpha', 'alpha-', 'alpha-[0-9]{4}'), rule('beta', 'beta-', 'beta-[0-9]{4}')]);
  assert.deepEqual(spans(set, 'x alpha-1234 y beta-5678'), ['alpha@2-12', 'beta@15-24']);
  // A window left open by the previous scan would run over this text at the old offsets.
  assert.deepEqual(spans(set, 'beta-9999'), ['beta@0-9']);
  assert.deepEqual(spans(set, 'nothing here at all, alpha-12 is too short'), []);
  assert.deepEqual(spans(set, 'alpha-0000 and again alpha-1111'), ['alpha@0-10', 'alpha@21-31']);
});

test('a rule that throws mid-scan leaves the rule set clean for the next scan', () => {
  const set = new RuleSet([
    rule('first', 'first-', 'first-[0-9]{4}'),
    rule('boom', 'boom-', 'boom-[0-9]{4}', (m) => {
      if (m === 'boom-0000') throw new Error('validator bug');
      return 0.9;
    }),
  ]);
  assert.throws(() => set.scan('first-1234 boom-0000'), /validator bug/);
  // Thrown while other windows were still open (the second boom- hit closes the first window).
  assert.throws(() => set.scan(`first-1234 boom-0000${' '.repeat(300)}boom-2222`), /validator bug/);
  assert.deepEqual(spans(set, 'boom-1111'), ['boom@0-9']);
  assert.deepEqual(spans(set, 'first-2222'), ['first@0-10']);
});

test('needle rules: only a literal every match holds is accepted', () => {
  const base = { id: 'n', family: 'secret' as const, description: 'n', keywords: [], confidence: 0.9, severity: 'high' as const };
  assert.doesNotThrow(() => new RuleSet([{ ...base, pattern: '[a-z]{3}[0-9]Q~[a-z]{4,8}', needle: 'Q~' }]));
  for (const bad of [
    { pattern: '[a-z]{3}(?:Q~|R~)[a-z]{4}', needle: 'Q~' },
    { pattern: '[a-z]{3}Q?~[a-z]{4}', needle: 'Q~' },
    { pattern: '[a-z]{3}Q~[a-z]{4}', needle: 'Q~', flags: 'i' as const },
    { pattern: '[a-z]{3}[Qq]~[a-z]{4}', needle: 'Q~' },
  ]) {
    assert.throws(() => new RuleSet([{ ...base, ...bad }]), /needle/, bad.pattern);
  }
  assert.throws(() => new RuleSet([{ ...base, keywords: ['abcd'], pattern: 'abcdQ~', needle: 'Q~' }]), /needle/);
});

test('property: a needle rule finds what the same rule finds over the whole text', async () => {
  const fc = (await import('fast-check')).default;
  let calls = 0;
  const shape = (needle?: string, validate?: PatternRule['validate'], extend?: PatternRule['extend']): PatternRule => ({
    id: 'azure-like', family: 'secret', description: 'x', keywords: [], pattern: '[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{6,9}', boundary: 'alnum',
    confidence: 0.9, severity: 'high', ...(needle && { needle }), ...(validate && { validate }), ...(extend && { extend }),
  });
  // Extends over a following run of `~` and spaces, past the end of the needle's window when long.
  const extend: PatternRule['extend'] = (text, _s, e, limit) => {
    let k = e;
    while (k < limit && (text[k] === '~' || text[k] === ' ')) k++;
    return { end: k };
  };
  // Rejects some matches, so the scan also resumes after rejected ones.
  const validate: PatternRule['validate'] = (m) => (calls++, m.includes('x') ? null : 0.9);
  const sets = [
    [new RuleSet([shape('Q~')]), new RuleSet([shape()])],
    [new RuleSet([shape('Q~', validate)]), new RuleSet([shape(undefined, validate)])],
    [new RuleSet([shape('Q~', undefined, extend)]), new RuleSet([shape(undefined, undefined, extend)])],
  ] as const;
  const pieces = fc.constantFrom('Q~', 'abc1Q~', 'abc1Q~defghij', 'x', 'A', '9', '_', '~', '.', '-', ' ', '\n', '\r\n', 'é', '中', 'abcdefghij'.repeat(3), 'Q', '~~', '1Q~xyzxyzxyz', ' ~'.repeat(20), '~'.repeat(25));
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 60 }), (ps) => {
      const text = ps.join('');
      for (const [needle, whole] of sets) assert.deepEqual(needle.scan(text), whole.scan(text), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
  // Windows are placed near the start and end of the text as well.
  for (const text of ['abc1Q~defghij', 'zz abc1Q~defghij', 'abc1Q~defghij\r\n', 'é abc1Q~defghijk é', 'x'.repeat(50) + 'abc1Q~defghij' + 'y'.repeat(50)]) {
    const got = sets[0][0].scan(text);
    assert.deepEqual(got, sets[0][1].scan(text), text);
  }
  // An extension that runs past the end of its window: the whole-text pass resumes after it.
  const far = 'abc1Q~defghij' + '~'.repeat(25) + '1Q~xyzxyzxyz';
  for (const text of [far, far + '.'.repeat(40) + far, 'abc1Q~defghij' + ' ~'.repeat(20) + '~~1Q~xyzxyzxyz']) {
    assert.deepEqual(sets[2][0].scan(text), sets[2][1].scan(text), text);
  }
  assert.equal(sets[0][0].scan('key: abc1Q~defghij').length, 1);
  assert.ok(calls > 0);
});
