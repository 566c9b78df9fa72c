/**
 * DLP on JSON numbers (dlp-numbers.ts), through the inspector: numbers are masked where they are
 * content, read with the name they are filed under, and left alone where the protocol puts its
 * own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatches } from '../pipeline/patch.ts';
import type { Frame, Patch, Verdict } from '../pipeline/types.ts';
import { createDlpInspector, type DlpOptions } from './dlp.ts';

const dlp = (over: Partial<DlpOptions> = {}) =>
  createDlpInspector({ families: ['secret', 'pii', 'marker'], minConfidence: 0.5, direction: 'both', crossEventHoldMs: 50, actions: { default: 'redact', families: {}, types: {} }, ...over });

describe('DLP inspector: JSON numbers', () => {
  const ctx = { session: { era: 'modern' as const, protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 's', method: 'none' } }, route: 'r', request: undefined, signal: new AbortController().signal, note: () => {} };
  const CARD = Number('4111' + '1111' + '1111' + '1111');
  const SSN = Number('536' + '22' + '4719');
  const result = (structuredContent: unknown) => ({ id: 'f', direction: 's2c' as const, kind: 'result' as const, method: 'tools/call', rpcId: 1, target: 'lookup', message: { jsonrpc: '2.0', id: 1, result: { content: [], structuredContent } }, carrier: { transport: 'json' as const, bytes: 0 } });

  it('a card number and an SSN sent as numbers in structuredContent are masked (the value becomes the mask)', () => {
    const f = result({ rows: [{ name: 'Ada', card: CARD, ssn: SSN, visits: 1234567 }] });
    const v = dlp().onMessage!(f, ctx) as Verdict & { patches?: Patch[] };
    assert.equal(v.kind, 'redact', JSON.stringify(v));
    const out = applyPatches(f.message, v.patches!) as { result: { structuredContent: { rows: Array<Record<string, unknown>> } } };
    assert.deepEqual(out.result.structuredContent.rows[0], { name: 'Ada', card: '[REDACTED:credit-card]', ssn: '[REDACTED:us-ssn]', visits: 1234567 });
  });

  it('a blocking rule blocks a tool call whose arguments carry a card number as a number', () => {
    const block = dlp({ actions: { default: 'redact', families: { pii: 'block' }, types: {} } });
    const f: Frame = { id: 'f', direction: 'c2s', kind: 'request', method: 'tools/call', rpcId: 1, target: 'pay', message: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'pay', arguments: { card: CARD } } }, carrier: { transport: 'json', bytes: 0 } };
    assert.equal((block.onMessage!(f, ctx) as Verdict).kind, 'block');
  });

  it('short numbers, timestamps and numbers JSON.parse has rounded are left alone', () => {
    const f = result({ count: 12345, created: 1732425600000, big: 4111111111111111111, ratio: 4111111111111111.5 / 1e6 });
    assert.equal((dlp().onMessage!(f, ctx) as Verdict).kind, 'allow');
  });

  it('a number filed in an array, or under a snake_case or camelCase name, is read with that name as context', () => {
    const f = result({ ssn: [SSN], social_security_number: SSN, socialSecurityNumber: SSN });
    const v = dlp().onMessage!(f, ctx) as Verdict & { patches?: Patch[] };
    assert.equal(v.kind, 'redact', JSON.stringify(v));
    const out = applyPatches(f.message, v.patches!) as { result: { structuredContent: Record<string, unknown> } };
    assert.deepEqual(out.result.structuredContent, { ssn: ['[REDACTED:us-ssn]'], social_security_number: '[REDACTED:us-ssn]', socialSecurityNumber: '[REDACTED:us-ssn]' });
  });

  it("a protocol field's path in another message is content: a card number under /result/ttl of a tool result, or /params/progress of a call, is masked", () => {
    const ttl = result(undefined);
    (ttl.message.result as Record<string, unknown>)['ttl'] = CARD;
    assert.equal((dlp().onMessage!(ttl, ctx) as Verdict).kind, 'redact');
    const call: Frame = { id: 'f', direction: 'c2s', kind: 'request', method: 'tools/call', rpcId: 1, target: 'pay', message: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'pay', progress: CARD } }, carrier: { transport: 'json', bytes: 0 } };
    assert.equal((dlp().onMessage!(call, ctx) as Verdict).kind, 'redact');
    // tasks/result answers with the task's content, not a Task: its top-level times are content.
    const taskResult: Frame = { ...ttl, method: 'tasks/result' };
    assert.equal((dlp().onMessage!(taskResult, ctx) as Verdict).kind, 'redact');
  });

  it("the protocol's own numbers (progress, task lifetimes, error codes) are left alone where the protocol puts them; a card-length number is content even there", () => {
    // A rule that flags any nine digits: only the exemption keeps these numbers whole.
    const strict = dlp({ custom: { regexes: [{ id: 'nine-digits', pattern: '[0-9]{9}' }] } });
    const N = 123_456_789;
    const progress: Frame = { id: 'f', direction: 's2c', kind: 'notification', method: 'notifications/progress', rpcId: undefined, target: undefined, message: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: N, total: N } }, carrier: { transport: 'sse', bytes: 0 } };
    const task = result(undefined);
    (task.message.result as Record<string, unknown>)['task'] = { taskId: 'x', status: 'working', ttl: N, pollInterval: N };
    const got: Frame = { ...task, method: 'tasks/get', message: { jsonrpc: '2.0', id: 1, result: { taskId: 'x', status: 'working', ttl: N, pollInterval: N } } };
    const error: Frame = { ...task, kind: 'error', message: { jsonrpc: '2.0', id: 1, error: { code: N, message: 'x' } } };
    const list: Frame = { ...task, method: 'tasks/list', message: { jsonrpc: '2.0', id: 1, result: { tasks: [{ taskId: 'x', status: 'working', ttl: N, pollInterval: N }] } } };
    for (const f of [progress, task, got, error, list]) assert.equal((strict.onMessage!(f, ctx) as Verdict).kind, 'allow', `${f.method} ${f.kind}`);
    // The same numbers as content are masked by that rule; a card number is masked even in progress.
    assert.equal((strict.onMessage!(result({ count: N }), ctx) as Verdict).kind, 'redact');
    const cardProgress: Frame = { ...progress, message: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: CARD } } };
    assert.equal((dlp().onMessage!(cardProgress, ctx) as Verdict).kind, 'redact');
  });

  describe('on the chunk path (a message over the buffer limit), numbers are handed out whole', () => {
    const chunk = (pointer: string, text: string, method = 'tools/call') => ({ frameId: 's2c-1', direction: 's2c' as const, method, pointer, text, offset: 0, end: true, number: true as const });

    it('only numbers the whole path would scan are asked for', () => {
      const inspector = dlp();
      assert.equal(inspector.readsNumber!(String(CARD)), true);
      assert.equal(inspector.readsNumber!('1e6'), true, 'an integer however written');
      for (const t of ['12345', '1.5', '4111111111111111111', '-0']) assert.equal(inspector.readsNumber!(t), false, t);
    });

    it('a card number is masked to a string, an SSN read with its member name, a blocking rule blocks', () => {
      const v = dlp().onChunk!(chunk('/result/structuredContent/rows/0/card', String(CARD)), ctx) as { kind: string; emit?: string };
      assert.deepEqual([v.kind, v.emit], ['pass', '[REDACTED:credit-card]']);
      const ssn = dlp().onChunk!(chunk('/result/structuredContent/social_security_number', String(SSN)), ctx) as { emit?: string };
      assert.equal(ssn.emit, '[REDACTED:us-ssn]');
      const plain = dlp().onChunk!(chunk('/result/structuredContent/visits', '536224719'), ctx) as { emit?: string };
      assert.equal(plain.emit, undefined, 'nine digits under a neutral name are not an SSN');
      const block = dlp({ actions: { default: 'redact', families: { pii: 'block' }, types: {} } });
      assert.equal((block.onChunk!(chunk('/result/structuredContent/card', String(CARD)), ctx) as { kind: string }).kind, 'block');
    });

    it("the protocol's own numbers stay whole there too (an error's code, a task's ttl)", () => {
      const strict = dlp({ custom: { regexes: [{ id: 'nine-digits', pattern: '[0-9]{9}' }] } });
      const N = '123456789';
      assert.equal((strict.onChunk!(chunk('/error/code', N), ctx) as { emit?: string }).emit, undefined);
      assert.equal((strict.onChunk!(chunk('/result/ttl', N, 'tasks/get'), ctx) as { emit?: string }).emit, undefined);
      assert.equal((strict.onChunk!(chunk('/result/ttl', N, 'tasks/result'), ctx) as { emit?: string }).emit, '[REDACTED:nine-digits]', 'content elsewhere');
    });
  });
});
