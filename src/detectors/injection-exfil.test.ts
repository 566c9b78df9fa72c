import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { exfiltrationStarts } from './injection-exfil.ts';
import { PHRASES } from './injection-patterns.ts';

const rule = PHRASES.find((p) => p.type === 'exfiltration')!;
const sticky = new RegExp(rule.re.source, 'iy');
const matchesAt = (t: string, p: number) => {
  sticky.lastIndex = p;
  return sticky.test(t);
};

test('exactly the positions the exfiltration rule matches from are kept', () => {
  const parts = ['send ', 'Send ', 'email', ' submit ', 'token ', 'tokens ', 'API keys ', 'user data ', 'env variables ', 'to ', 'at ', 'To', 'into ', 'x@y ', 'a@', '@b', 'http://', 'WWW.', 'webhook', '.', '\n', ' ', 'x'.repeat(19), 'y'.repeat(40), '_', '\u00a0'];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...parts), { maxLength: 40 }), (pieces) => {
      const t = pieces.join('');
      const every = Array.from({ length: t.length }, (_, i) => i);
      assert.deepEqual(exfiltrationStarts(t, every), every.filter((p) => matchesAt(t, p)));
    }),
    { numRuns: 5000 },
  );
});

test('each gap is held to its length: 40, 40 and 20 characters, and no break in it', () => {
  const line = (a: number, b: number, c: number, gap = ' ') => `send${gap.repeat(a)}tokens${gap.repeat(b)}to${gap.repeat(c)}x@y.example`;
  for (const [a, b, c] of [[40, 40, 20], [41, 1, 1], [1, 41, 1], [1, 1, 21], [1, 1, 20]] as const) {
    const t = line(a, b, c);
    assert.deepEqual(exfiltrationStarts(t, [0]), matchesAt(t, 0) ? [0] : [], `${a}/${b}/${c}`);
  }
  assert.deepEqual(exfiltrationStarts(line(1, 1, 1), [0]), [0]);
  assert.deepEqual(exfiltrationStarts('send tokens. to x@y', [0]), []);
  assert.deepEqual(exfiltrationStarts(`send tokens to ${'l'.repeat(90)}@y`, [0]), [], 'an address whose local part is longer than 64 characters (even from 20 characters in) is none');
});
