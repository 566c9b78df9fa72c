import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCel } from './cel.ts';
import { compilePolicy } from './engine.ts';
import { Prefilters, prejudge } from './guard.ts';
import { completeInput } from './vocabulary.ts';
import type { PolicyInputPatch } from './vocabulary.ts';

/** What the prefilter alone says about `when` for this input: true, false, or undefined (CEL decides). */
function prejudged(when: string, patch: PolicyInputPatch): boolean | undefined {
  const prefilters = new Prefilters();
  const p = prefilters.of(compileCel(when));
  return prejudge(p, prefilters.read(completeInput(patch)));
}

const deploy = { principal: { subject: 'ops', scopes: ['read'] }, tool: { name: 'deploy', arguments: {} }, time: { hour: 10 } };

test('a false literal conjunct settles the rule wherever it stands', () => {
  assert.equal(prejudged('tool.name == "other" && principal.subject != "ops"', deploy), false);
  assert.equal(prejudged('principal.subject == "x" && tool.name == "deploy"', deploy), false);
  assert.equal(prejudged('tool.arguments.x == 1 && "admin" in principal.scopes', deploy), false, 'even beside a conjunct that would error');
  assert.equal(prejudged('(tool.name == "deploy" && true) && tool.name.startsWith("x")', deploy), false);
  assert.equal(prejudged('tool.name == "de\\"ploy" && true', deploy), false);
});

test('all conjuncts known and true settle the rule as true', () => {
  assert.equal(prejudged('tool.name == "deploy"', deploy), true);
  assert.equal(prejudged('"read" in principal.scopes && time.hour >= 9 && 17 > time.hour', deploy), true);
  assert.equal(prejudged('tool.name in ["deploy", "build"] && !tool.annotations.readOnlyHint', deploy), true);
  assert.equal(prejudged("request.kind == r'tool' && tool.name.endsWith('oy')", deploy), true);
});

test('anything else is left to CEL', () => {
  assert.equal(prejudged('tool.name == "deploy" && principal.claims.dept == "x"', deploy), undefined);
  assert.equal(prejudged('tool.name == "other" && true || true', deploy), undefined, '|| at the top: the guard is one branch');
  assert.equal(prejudged('tool.name == "deploy" ? true : false', deploy), undefined);
  assert.equal(prejudged('tool.name.size() == 6', deploy), undefined);
  assert.equal(prejudged('time.hour + 1 == 11', deploy), undefined);
  // resource.uri is absent while filtering resource templates: unknown, never "not equal".
  const prefilters = new Prefilters();
  const p = prefilters.of(compileCel('resource.uri != "x"'));
  const input = completeInput({ resource: { uriTemplate: 'file:///{x}' } });
  delete input.resource.uri;
  assert.equal(prejudge(p, prefilters.read(input)), undefined);
});

test('skipping and settling rules in JS never changes a decision', () => {
  const policy = compilePolicy({
    default: 'deny',
    rules: [
      { name: 'allow-read', when: 'tool.name == "read" && principal.subject == "alice"', decision: 'allow', reason: 'r' },
      { name: 'deny-read-bob', when: 'tool.name == "read" && principal.subject == "bob" || tool.name == "write"', decision: 'deny', reason: 'w' },
      { name: 'allow-write', when: 'tool.name == "write" && true', decision: 'allow', reason: 'aw' },
      { name: 'odd-arg', when: 'tool.name == "read" && tool.arguments.n == 1', decision: 'deny', reason: 'odd' },
    ],
  });
  const decide = (subject: string, tool: string, args: Record<string, unknown> = { n: 2 }) =>
    policy.decide(completeInput({ principal: { subject, method: 'jwt' }, request: { method: 'tools/call', era: 'modern', protocolVersion: '2026-07-28' }, tool: { name: tool, arguments: args } }));
  assert.equal(decide('alice', 'read').decision, 'allow');
  assert.equal(decide('bob', 'read').decision, 'deny');
  assert.equal(decide('alice', 'write').decision, 'deny', 'the unindexed rule with || still applies to write');
  assert.equal(decide('alice', 'other').decision, 'deny');
  const missing = decide('alice', 'read', {});
  assert.deepEqual(missing.reasons, ['evaluation-error'], 'a rule the prefilter cannot settle still errors');
  assert.deepEqual(decide('alice', 'other', {}).errors, [], 'and one it settles as false does not');
});
