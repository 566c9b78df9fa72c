import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../config/issues.ts';
import { PolicySchema } from './config.ts';
import { compilePolicy } from './engine.ts';

function issues(config: unknown): string[] {
  const r = PolicySchema.safeParse(config);
  assert.equal(r.success, false, 'expected the policy to be rejected');
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const rule = { name: 'r', when: 'true', decision: 'allow', reason: 'ok' } as const;

test('defaults: enforce, default deny, the three target methods, no rules', () => {
  const p = PolicySchema.parse({});
  assert.equal(p.mode, 'enforce');
  assert.equal(p.default, 'deny');
  assert.deepEqual(p.methods, ['tools/call', 'resources/read', 'prompts/get']);
  assert.deepEqual(p.rules, []);
});

test('a CEL syntax error names the rule and the column', () => {
  assert.deepEqual(issues({ rules: [{ ...rule, name: 'deny-bob', when: 'principal.subject == ' }] }), [
    'rules.0.when: rule "deny-bob": Unexpected token: EOF at column 22',
  ]);
});

test('a misspelt field is a load error, not a rule that fails at run time', () => {
  const [msg] = issues({ rules: [{ ...rule, name: 'typo', when: 'request.kind == "tool" &&\n  principal.subjetc == "bob"' }] });
  assert.match(msg ?? '', /rule "typo": No such key: subjetc at line 2, column 13/);
});

test('an unknown variable and a type mismatch are load errors', () => {
  assert.match(issues({ rules: [{ ...rule, when: 'princpal.subject == "x"' }] })[0] ?? '', /Unknown variable: princpal/);
  assert.match(issues({ rules: [{ ...rule, when: 'tool.name == 1' }] })[0] ?? '', /no such overload: string == int/);
});

test('a rule that cannot evaluate to bool is rejected', () => {
  assert.match(issues({ rules: [{ ...rule, when: 'tool.name' }] })[0] ?? '', /must evaluate to bool, this evaluates to string/);
});

test('compilePolicy throws a ConfigError that points at the rule', () => {
  assert.throws(
    () => compilePolicy({ rules: [rule, { ...rule, name: 'broken', when: 'tool.name ==' }] }, 'policy.yaml'),
    (err: unknown) => err instanceof ConfigError && /^policy\.yaml rules\[1\]\.when: rule "broken": /.test(err.message),
  );
});

test('duplicate rule names, reserved reasons, notify off warn and unknown keys are rejected', () => {
  assert.deepEqual(issues({ rules: [rule, rule] }), ['rules.1.name: duplicate name "r" (also at [0])']);
  assert.match(issues({ rules: [{ ...rule, reason: 'default-deny' }] })[0] ?? '', /reserved for the engine/);
  assert.match(issues({ rules: [{ ...rule, notify: true }] })[0] ?? '', /notify applies to warn rules only/);
  assert.match(issues({ defualt: 'allow' })[0] ?? '', /Unrecognized key/);
});
