import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/issues.ts';
import { loadPolicyFile } from './load.ts';
import { formatReport, runPolicyTestFile } from './test-runner.ts';

const FIXTURES = new URL('../../test/fixtures/policy/', import.meta.url);

async function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'policy-test-'));
  try {
    const path = join(dir, 'case.test.yaml');
    await writeFile(path, text);
    await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const INLINE = `
policy:
  default: allow
  rules:
    - name: no-bob
      when: principal.subject == "bob"
      decision: deny
      reason: no-bob
cases:
  - name: alice is fine
    input: { principal: { subject: alice }, tool: { name: x } }
    expect: allow
  - name: bob is refused
    input: { principal: { subject: bob }, tool: { name: x } }
    expect: deny
    reason: policy/no-bob
  - name: wrong expectation
    input: { principal: { subject: carol }, tool: { name: x } }
    expect: deny
  - name: wrong reason
    input: { principal: { subject: bob }, tool: { name: x } }
    expect: deny
    reason: something-else
`;

test('the example fixture passes', async () => {
  const report = await runPolicyTestFile(new URL('policy.test.yaml', FIXTURES).pathname);
  assert.deepEqual(report.failed, []);
  assert.ok(report.passed >= 10);
  assert.equal(report.passed, report.cases.length);
});

test('failing cases are reported with what was expected and what happened', async () => {
  await withFile(INLINE, async (path) => {
    const report = await runPolicyTestFile(path);
    assert.equal(report.passed, 2);
    assert.deepEqual(report.failed, [
      { name: 'wrong expectation', expected: 'deny', got: 'allow', reasons: ['default-allow'], matched: [], errors: [] },
      { name: 'wrong reason', expected: 'deny', expectedReason: 'something-else', got: 'deny', reasons: ['no-bob'], matched: ['no-bob'], errors: [] },
    ]);
    const text = formatReport(report);
    assert.match(text, /^ {2}ok {4}alice is fine$/m);
    assert.match(text, /^ {2}FAIL {2}wrong expectation: expected deny, got allow \(reasons: default-allow\)$/m);
    assert.match(text, /^ {2}FAIL {2}wrong reason: expected deny \(reason something-else\), got deny \(reasons: no-bob\)$/m);
    assert.match(text, /^2 passed, 2 failed$/m);
  });
});

test('a bad rule in an inline policy is reported at its line', async () => {
  const text = 'policy:\n  rules:\n    - name: broken\n      when: tool.name ==\n      decision: deny\n      reason: x\ncases:\n  - { name: a, expect: deny }\n';
  await withFile(text, async (path) => {
    await assert.rejects(runPolicyTestFile(path), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${path}:4:7 policy.rules[0].when: rule "broken": Unexpected token: EOF at column 13`);
      return true;
    });
  });
});

test('a misspelt input section is an error, not a silently weaker case', async () => {
  const text = 'policy: { default: allow }\ncases:\n  - name: a\n    input: { principle: { subject: bob } }\n    expect: deny\n';
  await withFile(text, async (path) => {
    await assert.rejects(runPolicyTestFile(path), /case\.test\.yaml:4:14 cases\[0\]\.input\.principle: unknown key \(did you mean "principal"\?\)/);
  });
});

test('a policy path is read relative to the test file, and a missing one is a clear error', async () => {
  await withFile('policy: ./nope.yaml\ncases:\n  - { name: a, expect: deny }\n', async (path) => {
    await assert.rejects(runPolicyTestFile(path), /nope\.yaml: cannot read the file \(ENOENT\)/);
  });
});

test('loadPolicyFile compiles the example policy', async () => {
  const policy = await loadPolicyFile(new URL('policy.yaml', FIXTURES).pathname);
  assert.equal(policy.label, 'example-1');
  assert.equal(policy.governs('tools/call'), true);
});
