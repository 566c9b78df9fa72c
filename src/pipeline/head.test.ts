import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectHead } from './head.ts';
import type { InspectorOutcome } from './pipeline.ts';
import { RoutePlan } from './plan.ts';
import type { ExchangeHead, Inspector, InspectorContext, Verdict } from './types.ts';
import { testContext } from './testkit.ts';

const ctx: InspectorContext = testContext();

const head: ExchangeHead = {
  httpMethod: 'POST', path: '/mcp', headers: {}, remoteAddress: '127.0.0.1',
  kind: 'request', method: 'tools/call', rpcId: 1, target: 'delete_everything',
};

type Answer = Verdict | (() => Verdict | Promise<Verdict>);

function headOnly(name: string, answer: Answer, onFailure: 'open' | 'closed' = 'closed', methods: Inspector['methods'] = { 'tools/call': 'request' }): Inspector {
  return { name, methods, needs: 'head', onFailure, onExchange: typeof answer === 'function' ? answer : () => answer };
}

test('a block stops the chain: later head inspectors never run', async () => {
  let ran = false;
  const later = headOnly('later', () => { ran = true; return { kind: 'allow' }; });
  const seen: InspectorOutcome[] = [];
  const r = await inspectHead([headOnly('deny', { kind: 'block', reasons: ['policy/tool-denied'] }), later], head, ctx, 100, (o) => seen.push(o));
  assert.deepEqual(r.verdict, { kind: 'block', reasons: ['policy/tool-denied'] });
  assert.equal(ran, false);
  assert.deepEqual(seen.map((o) => [o.inspector, o.verdict]), [['deny', 'block']]);
});

test('the inspector sees the envelope it was given', async () => {
  let got: ExchangeHead | undefined;
  const look: Inspector = { ...headOnly('look', { kind: 'allow' }), onExchange: (h) => { got = h; return { kind: 'allow' }; } };
  await inspectHead([look], head, ctx, 100);
  assert.equal(got?.target, 'delete_everything');
  assert.equal(got?.method, 'tools/call');
});

test('allow with reasons folds to allow and records the reasons as outcomes', async () => {
  const seen: InspectorOutcome[] = [];
  const r = await inspectHead([headOnly('warn', { kind: 'allow', reasons: ['policy/dry-run'] }), headOnly('ok', { kind: 'allow' })], head, ctx, 100, (o) => seen.push(o));
  assert.equal(r.verdict.kind, 'allow');
  assert.deepEqual(r.outcomes.map((o) => [o.inspector, o.verdict, o.reasons]), [['warn', 'allow', ['policy/dry-run']], ['ok', 'allow', []]]);
  assert.equal(seen.length, 2);
});

test('require-approval is kept but a later block still wins', async () => {
  const approval: Verdict = { kind: 'require-approval', reasons: ['approval/x'], summary: 's', ttlMs: 1 };
  const a = await inspectHead([headOnly('a', approval), headOnly('b', { kind: 'allow' })], head, ctx, 100);
  assert.equal(a.verdict.kind, 'require-approval');
  const b = await inspectHead([headOnly('a', approval), headOnly('b', { kind: 'block', reasons: ['policy/y'] })], head, ctx, 100);
  assert.equal(b.verdict.kind, 'block');
});

test('a throw blocks (fail closed) unless the inspector is fail-open', async () => {
  const boom = (): Verdict => { throw new Error('bug'); };
  const closed = await inspectHead([headOnly('a', boom)], head, ctx, 100);
  assert.deepEqual(closed.verdict, { kind: 'block', reasons: ['gateway/inspector-failed'], message: 'inspector a failed' });
  assert.equal(closed.outcomes[0]?.failed, true);
  const open = await inspectHead([headOnly('a', boom, 'open')], head, ctx, 100);
  assert.equal(open.verdict.kind, 'allow');
  assert.deepEqual(open.outcomes[0]?.reasons, ['gateway/inspector-failed']);
});

test('a rejected promise blocks like a throw', async () => {
  const r = await inspectHead([headOnly('a', () => Promise.reject(new Error('down')))], head, ctx, 100);
  assert.equal(r.verdict.kind, 'block');
});

test('an inspector over its time budget blocks with a timeout reason; fail-open allows', async () => {
  const slow = () => new Promise<Verdict>((r) => setTimeout(() => r({ kind: 'allow' }), 200));
  const r = await inspectHead([headOnly('slow', slow)], head, ctx, 20);
  assert.deepEqual(r.verdict.kind === 'block' && r.verdict.reasons, ['gateway/inspector-timeout']);
  const open = await inspectHead([headOnly('slow', slow, 'open')], head, ctx, 20);
  assert.equal(open.verdict.kind, 'allow');
});

test('a redact from a head inspector is a failure: there is no message to patch', async () => {
  const redact: Verdict = { kind: 'redact', patches: [], reasons: ['dlp/x'] };
  const r = await inspectHead([headOnly('a', redact)], head, ctx, 100);
  assert.equal(r.verdict.kind, 'block');
});

test('the plan picks head inspectors by method and phase, in configured order', () => {
  const call = headOnly('call', { kind: 'allow' });
  const all = headOnly('all', { kind: 'allow' }, 'closed', { '*': 'both' });
  const resp = headOnly('resp', { kind: 'allow' }, 'closed', { 'tools/*': 'response' });
  const plan = new RoutePlan([call, all, resp]);
  assert.deepEqual(plan.head(true, 'tools/call').map((i) => i.name), ['call', 'all']);
  assert.deepEqual(plan.head(true, 'tools/list').map((i) => i.name), ['all']);
  assert.deepEqual(plan.head(false, 'tools/list').map((i) => i.name), ['all', 'resp']);
});

test('head-only inspectors force no parsing or buffering of messages', () => {
  const plan = new RoutePlan([headOnly('h', { kind: 'allow' }, 'closed', { '*': 'both' })]);
  assert.equal(plan.isEmpty, true, 'responses may stream through unparsed');
  assert.equal(plan.plan('s2c', false, 'tools/call').buffering, 'none');
  assert.equal(plan.plan('c2s', true, 'tools/call').buffering, 'none');
});

test('needs contradicting the hooks is refused when the plan is built', () => {
  const msg = () => ({ kind: 'allow' }) as Verdict;
  assert.throws(() => new RoutePlan([{ ...headOnly('h', { kind: 'allow' }), onMessage: msg }]), /needs 'head' but has onMessage/);
  assert.throws(() => new RoutePlan([{ name: 'h', methods: { '*': 'both' }, needs: 'head', onFailure: 'closed' }]), /no onExchange/);
  assert.throws(() => new RoutePlan([{ name: 's', methods: { '*': 'both' }, needs: 'stream', onFailure: 'closed', onMessage: msg }]), /no onChunk/);
});

test("needs 'message' keeps oversized messages off the chunk path even with onChunk", () => {
  const both: Inspector = {
    name: 'm', methods: { '*': 'both' }, needs: 'message', onFailure: 'closed',
    onMessage: () => ({ kind: 'allow' }), onChunk: () => ({ kind: 'pass' }),
  };
  assert.equal(new RoutePlan([both]).plan('s2c', false, 'tools/call').buffering, 'message');
  assert.equal(new RoutePlan([{ ...both, needs: 'stream' }]).plan('s2c', false, 'tools/call').buffering, 'chunks');
});
