import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RE2JS } from 're2js';
import { analyzePattern, assertLinear, PatternError, sampleMatch } from './linear.ts';
import { MARKER_RULES } from './markers.ts';
import { PII_PATTERNS } from './pii/index.ts';
import { SECRET_RULES } from './secrets/index.ts';

test('rejects shapes that can backtrack without bound', () => {
  for (const bad of ['a+', 'a*b', '[a-z]{3,}', '(a{1,3}){2}', '(?:a|ab){2,5}', '(?=x)y', '(?<n>x)', '(a)\\1', 'a{1,3}?', 'x|']) {
    assert.throws(() => assertLinear(bad), PatternError, bad);
  }
});

test('counts ambiguity only where the follower can start like the repeated class', () => {
  // Disjoint follower: greedy run then one exit point.
  assert.equal(analyzePattern('[a-z]{1,40}=[0-9]{1,10}').paths, 1);
  // Overlapping follower: every split point is a path.
  assert.equal(analyzePattern('[a-z]{1,40}[a-c]').paths, 40);
  assert.equal(analyzePattern('(?:ab|cd|ef)x').paths, 1);
  assert.equal(analyzePattern('(?:ab|ac)x').paths, 2);
});

test('longest match is the sum of the bounds', () => {
  assert.equal(analyzePattern('ghp_[A-Za-z0-9]{36}').maxLength, 40);
  assert.equal(analyzePattern('a(?:bc|de){0,3}f?').maxLength, 1 + 6 + 1);
});

const builtins: [string, string, '' | 'i'][] = [
  ...[...SECRET_RULES, ...MARKER_RULES].map((r) => [r.id, r.pattern, r.flags ?? ''] as [string, string, '' | 'i']),
  ...Object.entries(PII_PATTERNS).map(([k, p]) => [`pii-${k}`, p, ''] as [string, string, '' | 'i']),
];

test('every built-in pattern is in the linear subset and is valid RE2', () => {
  for (const [id, pattern, flags] of builtins) {
    assertLinear(pattern, flags, id);
    assert.doesNotThrow(() => RE2JS.compile(pattern, flags === 'i' ? RE2JS.CASE_INSENSITIVE : 0), id);
  }
});

test('the JS engine and RE2 agree on a sample match of every built-in pattern', () => {
  let seed = 1;
  const pick = (n: number): number => {
    seed = (seed * 48271) % 2147483647;
    return seed % n;
  };
  for (const [id, pattern, flags] of builtins) {
    const sample = sampleMatch(analyzePattern(pattern, flags).ast, pick);
    const js = new RegExp(pattern, flags).exec(sample);
    const re2 = RE2JS.compile(pattern, flags === 'i' ? RE2JS.CASE_INSENSITIVE : 0).matcher(sample);
    assert.ok(js !== null, `${id}: JS does not match its own sample ${JSON.stringify(sample)}`);
    assert.ok(re2.find(), `${id}: RE2 does not match ${JSON.stringify(sample)}`);
    assert.equal(re2.start(), js.index, id);
  }
});
