import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkChain, inspectFrame } from './pipeline.ts';
import { RoutePlan } from './plan.ts';
import type { Frame, Inspector, InspectorContext, Verdict } from './types.ts';
import { createRedactInspector } from '../inspectors/redact.ts';
import { createMethodDenyInspector } from '../inspectors/method-deny.ts';
import { testContext } from './testkit.ts';

const ctx: InspectorContext = testContext();

function frame(message: Record<string, unknown>, over: Partial<Frame> = {}): Frame {
  return {
    id: 'f1', direction: 'c2s', kind: 'request', method: String(message['method'] ?? ''), rpcId: 1,
    target: (message['params'] as { name?: string } | undefined)?.name, message, carrier: { transport: 'json', bytes: 0 }, ...over,
  };
}

function fixed(name: string, verdict: Verdict | (() => never) | (() => Promise<Verdict>), onFailure: 'open' | 'closed' = 'closed'): Inspector {
  return { name, methods: { '*': 'both' }, needs: 'message', onFailure, onMessage: typeof verdict === 'function' ? verdict : () => verdict };
}

const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'key sk-abcdefghijklmnopqrstuvwx here' } } };

test('first block stops the chain; later inspectors never run', async () => {
  let ran = false;
  const later: Inspector = { ...fixed('later', { kind: 'allow' }), onMessage: () => { ran = true; return { kind: 'allow' }; } };
  const r = await inspectFrame([fixed('a', { kind: 'block', reasons: ['policy/x'] }), later], frame(call), ctx, 100);
  assert.equal(r.verdict.kind, 'block');
  assert.equal(ran, false);
});

test('block beats require-approval beats redact', async () => {
  const approval: Verdict = { kind: 'require-approval', reasons: ['approval/x'], summary: 's', ttlMs: 1 };
  const r1 = await inspectFrame([fixed('a', approval), fixed('b', { kind: 'block', reasons: ['policy/y'] })], frame(call), ctx, 100);
  assert.equal(r1.verdict.kind, 'block');
  const redact = createRedactInspector({ patterns: [{ name: 'k', regex: 'sk-[a-z]{20,}' }] });
  const r2 = await inspectFrame([redact, fixed('a', approval)], frame(call), ctx, 100);
  assert.equal(r2.verdict.kind, 'require-approval');
});

test('an inspector that throws blocks (fail closed) unless it is fail-open', async () => {
  const boom = () => { throw new Error('bug'); };
  const closed = await inspectFrame([fixed('a', boom)], frame(call), ctx, 100);
  assert.deepEqual(closed.verdict, { kind: 'block', reasons: ['gateway/inspector-failed'], message: 'inspector a failed' });
  const open = await inspectFrame([fixed('a', boom, 'open')], frame(call), ctx, 100);
  assert.equal(open.verdict.kind, 'allow');
});

test('an inspector over its time budget blocks with a timeout reason', async () => {
  const slow = () => new Promise<Verdict>((r) => setTimeout(() => r({ kind: 'allow' }), 200));
  const r = await inspectFrame([fixed('slow', slow)], frame(call), ctx, 20);
  assert.equal(r.verdict.kind, 'block');
  assert.deepEqual(r.verdict.kind === 'block' && r.verdict.reasons, ['gateway/inspector-timeout']);
});

test('redaction rewrites the message; the next inspector sees the redacted text', async () => {
  const redact = createRedactInspector({ patterns: [{ name: 'demo-key', regex: 'sk-[a-z]{20,}' }] });
  let seen = '';
  const spy: Inspector = { ...fixed('spy', { kind: 'allow' }), onMessage: (f) => { seen = JSON.stringify(f.message); return { kind: 'allow' }; } };
  const r = await inspectFrame([redact, spy], frame(call), ctx, 100);
  assert.equal(r.verdict.kind, 'redact');
  assert.match(JSON.stringify(r.message), /key \[REDACTED:demo-key\] here/);
  assert.doesNotMatch(seen, /sk-abc/);
  assert.match(JSON.stringify(call), /sk-abc/, 'the original message is not mutated');
});

test('method-deny blocks a tool by glob and lets others through', async () => {
  const deny = createMethodDenyInspector({ methods: ['tools/call:delete_*'] });
  const del = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_repo' } };
  assert.equal((await inspectFrame([deny], frame(del), ctx, 100)).verdict.kind, 'block');
  assert.equal((await inspectFrame([deny], frame(call), ctx, 100)).verdict.kind, 'allow');
});

test('plan: phases select directions, s2c runs in reverse order, buffering follows needs', () => {
  const a: Inspector = { name: 'a', methods: { 'tools/call': 'request' }, needs: 'message', onFailure: 'closed', onMessage: () => ({ kind: 'allow' }) };
  const b = createRedactInspector({ name: 'b', patterns: [{ name: 'x', regex: 'x' }] });
  const plan = new RoutePlan([a, b]);
  assert.deepEqual(plan.plan('c2s', true, 'tools/call').inspectors.map((i) => i.name), ['a', 'b']);
  assert.deepEqual(plan.plan('s2c', false, 'tools/call').inspectors.map((i) => i.name), ['b']);
  assert.equal(plan.plan('c2s', true, 'tools/call').buffering, 'message', 'a has no onChunk');
  assert.equal(plan.plan('s2c', false, 'tools/call').buffering, 'chunks');
  assert.equal(new RoutePlan([]).plan('s2c', false, 'tools/call').buffering, 'none');
});

test('chunk path: a secret split across two chunks is still redacted', async () => {
  const redact = createRedactInspector({ patterns: [{ name: 'aws', regex: 'AKIA[A-Z0-9]{16}' }], windowChars: 64 });
  const secret = 'AKIAIOSFODNN7EXAMPLE';
  const text = `${'a'.repeat(100)} ${secret} ${'b'.repeat(100)}`;
  for (let cut = 90; cut < 130; cut++) {
    const chain = new ChunkChain([redact], ctx, 100);
    let out = '';
    for (const [piece, end] of [[text.slice(0, cut), false], [text.slice(cut), true]] as const) {
      const v = await chain.push({ frameId: `f${cut}`, direction: 's2c', method: 'tools/call', pointer: '/result/content/0/text', text: piece, end });
      assert.equal(v.kind, 'emit');
      if (v.kind === 'emit') out += v.text;
    }
    assert.equal(out, text.replace(secret, '[REDACTED:aws]'), `cut at ${cut}`);
  }
});

test('chunk path: a number goes only to the inspectors that read it, and its text keeps the string leaves\' offsets apart', async () => {
  const seen: string[] = [];
  const watcher = (name: string, reads?: (t: string) => boolean): Inspector => ({
    name,
    methods: { '*': 'response' },
    needs: 'stream',
    onFailure: 'closed',
    onChunk: (c) => {
      seen.push(`${name}:${c.number ? 'n' : 's'}:${c.offset}:${c.text}`);
      return { kind: 'pass', ...(c.number ? { emit: `<${c.text}>` } : {}) };
    },
    ...(reads ? { readsNumber: reads } : {}),
  });
  const chain = new ChunkChain([watcher('strings'), watcher('numbers', (t) => t.length > 3)], ctx, 100);
  assert.equal(chain.readsNumbers, true);
  assert.equal(new ChunkChain([watcher('strings')], ctx, 100).readsNumbers, false);
  const base = { frameId: 'f', direction: 's2c' as const, method: 'tools/call', pointer: '/result/x' };
  await chain.push({ ...base, text: 'ab', end: false });
  assert.deepEqual(await chain.push({ ...base, pointer: '/result/n', text: '12345', end: true, number: true }), { kind: 'emit', text: '<12345>' });
  assert.deepEqual(await chain.push({ ...base, pointer: '/result/m', text: '12', end: true, number: true }), { kind: 'emit', text: '12' });
  await chain.push({ ...base, text: 'cd', end: true });
  assert.deepEqual(seen, ['strings:s:0:ab', 'numbers:s:0:ab', 'numbers:n:0:12345', 'strings:s:2:cd', 'numbers:s:2:cd']);
});

test('a rewrite replaces the message whole, folds as a redaction, and the next inspector sees it', async () => {
  const list = { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'read' }, { name: 'delete_repo' }] } };
  const hide: Inspector = {
    ...fixed('hide', { kind: 'allow' }),
    onMessage: (f) => {
      const tools = ((f.message['result'] as { tools: Array<{ name: string }> }).tools).filter((t) => t.name !== 'delete_repo');
      return { kind: 'rewrite', message: { ...f.message, result: { tools } }, reasons: ['policy/hidden-tools'] };
    },
  };
  let seen = '';
  const spy: Inspector = { ...fixed('spy', { kind: 'allow' }), onMessage: (f) => { seen = JSON.stringify(f.message); return { kind: 'allow' }; } };
  const r = await inspectFrame([hide, spy], frame(list, { direction: 's2c', kind: 'result', method: 'tools/list' }), ctx, 100);
  assert.equal(r.verdict.kind, 'redact');
  assert.deepEqual(r.verdict.kind === 'redact' && r.verdict.reasons, ['policy/hidden-tools']);
  assert.doesNotMatch(JSON.stringify(r.message), /delete_repo/);
  assert.doesNotMatch(seen, /delete_repo/);
  // A later block still wins over the rewrite.
  const r2 = await inspectFrame([hide, fixed('b', { kind: 'block', reasons: ['policy/no'] })], frame(list, { direction: 's2c', kind: 'result' }), ctx, 100);
  assert.equal(r2.verdict.kind, 'block');
});

test('redact chunk path: two oversized messages streaming at once (same frame id) never share held-back text', () => {
  const redact = createRedactInspector({ patterns: [{ name: 'k', regex: 'sk-[a-z]{20,}' }], windowChars: 256 });
  const base = { frameId: 's2c-1', direction: 's2c' as const, method: 'tools/call', pointer: '/result/content/0/text', offset: 0 };
  const a = redact.onChunk!({ ...base, text: 'tenant A private text. '.repeat(20), end: false }, { ...ctx }) as { emit: string };
  const b = redact.onChunk!({ ...base, text: 'b'.repeat(10), end: true }, { ...ctx }) as { emit: string };
  assert.ok(a.emit.length < 23 * 20, 'A held its tail back');
  assert.equal(b.emit, 'b'.repeat(10));
});

test('redact chunk path: object keys pass unchanged (values only, as on whole messages)', () => {
  const redact = createRedactInspector({ patterns: [{ name: 'k', regex: 'sk-[a-z]{20,}' }] });
  const v = redact.onChunk!({ frameId: 's2c-1', direction: 's2c', method: 'tools/call', pointer: '/result/~key', text: 'sk-abcdefghijklmnopqrstuvwx', offset: 0, end: true }, { ...ctx }) as { kind: string; emit?: string };
  assert.deepEqual(v, { kind: 'pass' });
});
