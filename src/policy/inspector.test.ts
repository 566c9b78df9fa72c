import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame, InspectorContext, Principal, Verdict } from '../pipeline/types.ts';
import { compilePolicy } from './engine.ts';
import type { Policy } from './engine.ts';
import { createPolicyInspector, META_CLIENT_INFO, policyFacts } from './inspector.ts';
import type { PolicyInspectorOptions } from './inspector.ts';
import { filterListResult, filtersList } from './list-filter.ts';

function context(principal: Principal, notes: Record<string, unknown> = {}): InspectorContext {
  return {
    session: { era: 'legacy', protocolVersion: '2025-11-25', sessionId: 'sess-1', principal },
    route: 'main',
    request: undefined,
    signal: new AbortController().signal,
    note(key, value) {
      notes[key] = value;
    },
  };
}

function frame(method: string, params: Record<string, unknown>, over: Partial<Frame> = {}): Frame {
  const target = typeof params['name'] === 'string' ? params['name'] : typeof params['uri'] === 'string' ? params['uri'] : undefined;
  return {
    id: 'f1', direction: 'c2s', kind: 'request', method, rpcId: 1, target,
    message: { jsonrpc: '2.0', id: 1, method, params }, carrier: { transport: 'json', bytes: 0 }, ...over,
  };
}

const alice: Principal = { subject: 'alice', method: 'jwt', scopes: ['admin'] };
const bob: Principal = { subject: 'bob', method: 'jwt', scopes: [] };

const policy = compilePolicy({
  approvalTtlMs: 60_000,
  rules: [
    { name: 'tools', when: 'request.kind == "tool"', decision: 'allow', reason: 'tools' },
    { name: 'admin', when: 'tool.name.startsWith("admin_") && !("admin" in principal.scopes)', decision: 'deny', reason: 'admin-only', message: 'Admins only.' },
    { name: 'approve', when: 'tool.annotations.destructiveHint', decision: 'require-approval', reason: 'destructive', message: 'Needs approval' },
    { name: 'web', when: 'tool.annotations.openWorldHint && tool.annotations.readOnlyHint', decision: 'warn', reason: 'open-world', message: 'Leaves the org.', notify: true },
    { name: 'old-clients', when: 'client.name == "legacy-bot"', decision: 'deny', reason: 'client-blocked' },
    { name: 'docs', when: 'request.kind == "resource" && upstream.url.startsWith("https://docs.")', decision: 'allow', reason: 'docs' },
  ],
});

const readOnly = { readOnlyHint: true, openWorldHint: false };

function inspect(p: Policy, f: Frame, principal: Principal, facts?: PolicyInspectorOptions['facts'], notes: Record<string, unknown> = {}): Verdict {
  const inspector = createPolicyInspector({ policy: p, now: () => new Date('2025-01-07T10:00:00Z'), ...(facts ? { facts } : {}) });
  return inspector.onMessage!(frame(f.method, f.message['params'] as Record<string, unknown>, f), context(principal, notes)) as Verdict;
}

test('the inspector declares the governed methods, request phase, fail closed', () => {
  const i = createPolicyInspector({ policy });
  assert.equal(i.name, 'policy');
  assert.deepEqual(i.methods, { 'tools/call': 'request', 'resources/read': 'request', 'prompts/get': 'request' });
  assert.equal(i.onFailure, 'closed');
});

test('a tool call is blocked for one principal and allowed for another', () => {
  const call = frame('tools/call', { name: 'admin_reset', arguments: {} });
  const facts = () => ({ tool: { annotations: readOnly } });
  assert.deepEqual(inspect(policy, call, bob, facts), { kind: 'block', reasons: ['policy/admin-only'], message: 'Admins only.' });
  assert.deepEqual(inspect(policy, call, alice, facts), { kind: 'allow' });
});

test('tool annotations come from facts; without them a tool is treated as destructive', () => {
  const call = frame('tools/call', { name: 'drop_table', arguments: { table: 'users' } });
  const v = inspect(policy, call, alice);
  assert.equal(v.kind, 'require-approval');
  assert.ok(v.kind === 'require-approval');
  assert.deepEqual(v.reasons, ['policy/destructive']);
  assert.equal(v.ttlMs, 60_000);
  assert.match(v.summary, /^Needs approval — alice wants to call tool "drop_table" with \{"table":"users"\} \(arguments sha256:[0-9a-f]{12}\)$/);
  assert.equal(inspect(policy, call, alice, () => ({ tool: { annotations: readOnly } })).kind, 'allow');
});

test('the approval summary truncates long arguments but digests all of them', () => {
  const summaryOf = (text: string): string => {
    const v = inspect(policy, frame('tools/call', { name: 'write', arguments: { text } }), alice);
    assert.ok(v.kind === 'require-approval');
    return v.summary;
  };
  const a = summaryOf(`${'x'.repeat(1000)}A`);
  const b = summaryOf(`${'x'.repeat(1000)}B`);
  assert.ok(a.length < 450, `summary is ${a.length} chars`);
  assert.match(a, /…/);
  assert.notEqual(a, b, 'different arguments, different digest');
});

test('facts cannot change what is being decided', () => {
  const call = frame('tools/call', { name: 'admin_reset', arguments: {} });
  const lying = () => ({ tool: { name: 'search', annotations: readOnly }, principal: { scopes: ['admin'] } });
  assert.equal(inspect(policy, call, bob, lying).kind, 'block');
});

test('warn allows with the reason and notes the notice', () => {
  const notes: Record<string, unknown> = {};
  const v = inspect(policy, frame('tools/call', { name: 'fetch', arguments: {} }), alice, () => ({ tool: { annotations: { readOnlyHint: true } } }), notes);
  assert.deepEqual(v, { kind: 'allow', reasons: ['policy/open-world'] });
  assert.deepEqual((notes['policy'] as { notices: string[] }).notices, ['Leaves the org.']);
});

test('client info: legacy from facts, modern from _meta', () => {
  const facts = () => ({ client: { name: 'legacy-bot' }, tool: { annotations: readOnly } });
  assert.equal(inspect(policy, frame('tools/call', { name: 'search' }), alice, facts).kind, 'block');
  const modern = frame('tools/call', { name: 'search', _meta: { [META_CLIENT_INFO]: { name: 'legacy-bot', version: '1' } } });
  assert.equal(inspect(policy, modern, alice, () => ({ tool: { annotations: readOnly } })).kind, 'block');
  assert.equal(inspect(policy, frame('tools/call', { name: 'search' }), alice, () => ({ tool: { annotations: readOnly } })).kind, 'allow');
});

test('resource reads see the upstream URL from facts and default to deny', () => {
  const read = frame('resources/read', { uri: 'file:///a' });
  assert.equal(inspect(policy, read, alice, () => ({ upstream: { url: 'https://docs.example.com/mcp' } })).kind, 'allow');
  assert.deepEqual(inspect(policy, read, alice), { kind: 'block', reasons: ['policy/default-deny'], message: 'resources/read file:///a is not allowed by policy' });
});

test('dry-run lets a would-be deny through and records it', () => {
  const dry = compilePolicy({ mode: 'dry-run', rules: [{ name: 'no-bob', when: 'principal.subject == "bob"', decision: 'deny', reason: 'no-bob' }] });
  const notes: Record<string, unknown> = {};
  assert.deepEqual(inspect(dry, frame('tools/call', { name: 'x' }), bob, undefined, notes), { kind: 'allow' });
  assert.deepEqual(notes['policy'], {
    policyVersion: dry.policyVersion, decision: 'deny', enforced: 'allow', dryRun: true, reasons: ['no-bob'], matched: ['no-bob'],
  });
});

test('malformed target-bearing requests are blocked; other methods and directions pass', () => {
  assert.deepEqual(inspect(policy, frame('tools/call', { name: 42 }), alice), {
    kind: 'block', reasons: ['policy/malformed-request'], message: 'tools/call needs a string params.name',
  });
  assert.equal(inspect(policy, frame('tools/call', { name: 'x', arguments: [1] }), alice).kind, 'block');
  assert.equal(inspect(policy, frame('tools/list', {}), bob).kind, 'allow');
  assert.equal(inspect(policy, frame('tools/call', { name: 'admin_x' }, { direction: 's2c', kind: 'result' }), bob).kind, 'allow');
});

test('filterListResult removes hidden tools and keeps the rest of the result', () => {
  const result = { tools: [{ name: 'search', annotations: readOnly }, { name: 'admin_reset' }], nextCursor: 'c2' };
  const listFrame = frame('tools/list', {});
  const base = (p: Principal) => policyFacts(listFrame, context(p));
  assert.deepEqual(filterListResult(policy, 'tools/list', result, base(bob)), { tools: [{ name: 'search', annotations: readOnly }], nextCursor: 'c2' });
  assert.equal(filterListResult(policy, 'tools/list', result, base(alice)), result, 'nothing hidden: the same object');
  assert.equal(filterListResult(policy, 'tools/call', result, base(bob)), result);
  const odd = { tools: 'nope' };
  assert.equal(filterListResult(policy, 'tools/list', odd, base(bob)), odd, 'not a list result: untouched');
});

test('filtersList says which list results the policy filters', () => {
  const toolsOnly = compilePolicy({ methods: ['tools/call'] });
  assert.equal(filtersList(toolsOnly, 'tools/list'), true);
  assert.equal(filtersList(toolsOnly, 'prompts/list'), false, 'prompts/get is not governed');
  assert.equal(filtersList(compilePolicy({ mode: 'dry-run' }), 'tools/list'), false, 'dry-run hides nothing');
});
