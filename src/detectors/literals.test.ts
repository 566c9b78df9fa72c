import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RuleSet } from './engine.ts';
import { assertLinear, sampleMatch } from './linear.ts';
import { containsLiteral, hasInOrder, meets, requiredLiterals, requirementOf } from './literals.ts';
import { MARKER_RULES } from './markers.ts';
import { SECRET_RULES } from './secrets/index.ts';
import type { PatternRule } from './types.ts';

const lits = (p: string, flags: '' | 'i' = '') => requiredLiterals(assertLinear(p, flags).ast);

test('required literals: runs of single characters in the top-level sequence, in order', () => {
  assert.deepEqual(lits('abc[0-9]de'), ['abc', 'de']);
  assert.deepEqual(lits('(?:ab|cd)x'), ['x']);
  assert.deepEqual(lits('a?b'), ['b']);
  assert.deepEqual(lits('ab{2}c'), ['a', 'c']);
  assert.deepEqual(lits('(ab)c'), ['abc']);
  assert.deepEqual(lits('(a|b)c'), ['c']);
  assert.deepEqual(lits(String.raw`\bfoo\b`), ['foo']);
  assert.deepEqual(lits(String.raw`x\.y\-z`), ['x.y-z']);
  assert.deepEqual(lits('[A][B]'), ['AB']);
  assert.deepEqual(lits('ab1-c', 'i'), ['1-']);
  assert.deepEqual(lits('ab|cd'), []);
  assert.deepEqual(lits('[ab]{3}'), []);
  assert.deepEqual(lits('é'), []);
  assert.ok(containsLiteral(assertLinear('[a-z]{3}Q~[a-z]').ast, 'Q~'));
  assert.ok(!containsLiteral(assertLinear('[a-z]{3}Q~[a-z]', 'i').ast, 'Q~'));
});

test('requirements: a second literal at a fixed distance, and one option of an alternation', () => {
  const req = (p: string, flags: '' | 'i' = '') => requirementOf(assertLinear(p, flags).ast);
  assert.deepEqual(req(String.raw`pat[A-Za-z0-9]{14}\.[a-f0-9]{64}`), { literals: ['pat', '.'], secondAt: 17, anyOf: [] });
  assert.deepEqual(req('ab(?:c|d)e[0-9]?f').secondAt, 3);
  assert.deepEqual(req('ab[0-9]?e').secondAt, -1);
  assert.deepEqual(req('ab(?:c|dd)e').secondAt, -1);
  assert.deepEqual(req(String.raw`ab\b(?:c|d)[x-z]{2}e`).secondAt, 5);
  assert.deepEqual(req('[A-Z0-9_]{0,40}(?:PASSWORD|PASSWD|PASS|PWD)[A-Z0-9_]{0,20}=').anyOf, [['PASS', 'PWD']]);
  assert.deepEqual(req('x(?:ab|[0-9])y').anyOf, []);
  assert.deepEqual(req('(?:=|:|:=|=>|,)').anyOf, [['=', ':', ',']]);
  const pat = req(String.raw`pat[A-Za-z0-9]{14}\.[a-f0-9]{64}`);
  assert.ok(meets('x update ' + 'pat' + 'A'.repeat(14) + '.', pat));
  assert.ok(!meets('update path.to.something pattern.', pat));
  assert.ok(meets('pat' + 'x'.repeat(30) + 'pat' + 'B'.repeat(14) + '.', pat), 'a later first literal');
  assert.ok(!meets('pass PWd Pass', req('(?:PASS|PWD)=')));
  assert.ok(meets('FOO_PWD=', req('(?:PASS|PWD)=')));
});

test('hasInOrder: greedy, in order, without overlap', () => {
  assert.ok(hasInOrder('xx://yy@zz', ['://', '@']));
  assert.ok(!hasInOrder('xx@yy://zz', ['://', '@']));
  assert.ok(!hasInOrder('aba', ['ab', 'ba']));
  assert.ok(hasInOrder('abba', ['ab', 'ba']));
  assert.ok(hasInOrder('anything', []));
  assert.ok(hasInOrder('\r\né://@', ['://', '@']));
});

test('every sample match of every built-in rule meets its requirement (so skipping windows that do not loses nothing)', () => {
  let seed = 11;
  const pick = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let checked = 0;
  for (const rule of [...SECRET_RULES, ...MARKER_RULES]) {
    const shape = assertLinear(rule.pattern, rule.flags ?? '', rule.id);
    const required = requirementOf(shape.ast);
    const re = new RegExp(`^(?:${rule.pattern})$`, rule.flags ?? '');
    for (let k = 0; k < 25; k++) {
      const sample = sampleMatch(shape.ast, pick);
      if (!re.test(sample)) continue; // `\b` / `$` in a sample can fail; the others are matches
      checked++;
      assert.ok(meets(sample, required), `${rule.id}: ${JSON.stringify(sample)} lacks ${JSON.stringify(required)}`);
    }
  }
  assert.ok(checked > 3000, `${checked}`);
});

test('property: a rule whose windows are ruled out by literals finds what a regex pass finds', () => {
  // The URL-password shape: `://` then `@` later; windows come from the `http://` keyword.
  const rule: PatternRule = {
    id: 'url-pw', family: 'secret', description: 'x', keywords: ['http://'], pattern: String.raw`http://[a-z]{0,8}:([a-z0-9]{1,8})@`, group: 1, boundary: 'none',
    confidence: 0.9, severity: 'high',
  };
  const set = new RuleSet([rule]);
  assert.deepEqual(set.compiled[0]!.required.literals, ['http://', ':', '@']);
  const pieces = fc.constantFrom('http://', 'HTTP://', 'user', ':', 'pw1', '@', 'host', ' ', '\r\n', 'é', 'x'.repeat(30), '@@', '::');
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 40 }), (ps) => {
      const text = ps.join('');
      const want: string[] = [];
      const re = new RegExp(rule.pattern, 'gd');
      for (let m = re.exec(text); m !== null; m = re.exec(text)) want.push(`${m.indices![1]![0]}-${m.indices![1]![1]}`);
      assert.deepEqual(set.scan(text).map((m) => `${m.start}-${m.end}`), want, JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});
