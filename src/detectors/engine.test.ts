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
