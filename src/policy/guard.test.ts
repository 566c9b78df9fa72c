import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy } from './engine.ts';
import { toolNameGuard } from './guard.ts';
import { completeInput } from './vocabulary.ts';

test('recognises a leading tool-name guard only when it bounds the whole rule', () => {
  assert.equal(toolNameGuard('tool.name == "deploy" && principal.subject != "ops"'), 'deploy');
  assert.equal(toolNameGuard('tool.name == "deploy" && (a || b)'), 'deploy');
  assert.equal(toolNameGuard('tool.name == "x" && "a||b" in principal.scopes'), 'x');
  assert.equal(toolNameGuard('tool.name == "deploy" && a || b'), undefined, 'the guard is only one branch');
  assert.equal(toolNameGuard('tool.name == "deploy" && a ? b : c'), undefined);
  assert.equal(toolNameGuard('principal.subject == "x" && tool.name == "deploy"'), undefined);
  assert.equal(toolNameGuard('tool.name == "de\\"ploy" && true'), undefined);
  assert.equal(toolNameGuard('tool.name.startsWith("de") && true'), undefined);
});

test('skipping guarded rules never changes a decision', () => {
  const policy = compilePolicy({
    default: 'deny',
    rules: [
      { name: 'allow-read', when: 'tool.name == "read" && principal.subject == "alice"', decision: 'allow', reason: 'r' },
      { name: 'deny-read-bob', when: 'tool.name == "read" && principal.subject == "bob" || tool.name == "write"', decision: 'deny', reason: 'w' },
      { name: 'allow-write', when: 'tool.name == "write" && true', decision: 'allow', reason: 'aw' },
    ],
  });
  const decide = (subject: string, tool: string) =>
    policy.decide(completeInput({ principal: { subject, method: 'jwt' }, request: { method: 'tools/call', era: 'modern', protocolVersion: '2026-07-28' }, tool: { name: tool, arguments: {} } })).decision;
  assert.equal(decide('alice', 'read'), 'allow');
  assert.equal(decide('bob', 'read'), 'deny');
  assert.equal(decide('alice', 'write'), 'deny', 'the unindexed rule with || still applies to write');
  assert.equal(decide('alice', 'other'), 'deny');
});
