import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { analyzePattern, charSets, sampleMatch, setMembers } from './linear.ts';
import { MARKER_RULES } from './markers.ts';
import { PII_PATTERNS } from './pii/index.ts';
import { SECRET_RULES } from './secrets/index.ts';
import { unrollForSearch } from './unroll.ts';

test('writes out the fixed part of leading counted repetitions', () => {
  assert.equal(unrollForSearch('[0-9]{8}-?[A-Z]'), '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-?[A-Z]');
  assert.equal(unrollForSearch('ab{2,5}c'), 'abbb{0,3}c');
  assert.equal(unrollForSearch('\\d{3}x'), '\\d\\d\\dx');
  // Groups, alternations, anchors and lazy quantifiers are left alone.
  for (const p of ['(a{3})b', 'a{3}|b', '^a{3}', 'a{2,4}?b', '\\bx{3}']) assert.equal(unrollForSearch(p), p);
});

const builtins: [string, string, '' | 'i'][] = [
  ...[...SECRET_RULES, ...MARKER_RULES].map((r) => [r.id, r.pattern, r.flags ?? ''] as [string, string, '' | 'i']),
  ...Object.entries(PII_PATTERNS).map(([k, p]) => [`pii-${k}`, p, ''] as [string, string, '' | 'i']),
];

function allMatches(re: RegExp, text: string): string[] {
  const out: string[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(`${m.index}:${m[0].length}:${JSON.stringify(m.indices)}`);
    if (m[0].length === 0) re.lastIndex++;
  }
  return out;
}

test('every built-in pattern matches exactly the same after unrolling', () => {
  let seed = 11;
  const pick = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const [id, pattern, flags] of builtins) {
    const a = new RegExp(pattern, `gd${flags}`);
    const b = new RegExp(unrollForSearch(pattern), `gd${flags}`);
    const ast = analyzePattern(pattern, flags).ast;
    // Samples, samples cut short or run on, and runs of each class the pattern uses.
    const chars = charSets(ast).flatMap((s) => setMembers(s).filter((c) => c > 32 && c < 127)).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...chars, ' ', '\n'), fc.constant('S')), { maxLength: 60 }), (parts) => {
        const text = parts.map((p) => (p === 'S' ? sampleMatch(ast, pick).slice(0, 1 + pick(80)) : p)).join('');
        assert.deepEqual(allMatches(b, text), allMatches(a, text), id);
      }),
      { numRuns: 60 },
    );
  }
});
