import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classify, duplicateBatchId, errorResponse, isNotification, isNotificationMethod, isRequest, isResponse, nestsDeeperThan, parseBody, type Classified } from './jsonrpc.ts';

function ok(msg: unknown): Classified {
  const r = classify(msg);
  assert.ok(r.ok, `expected valid, got: ${r.ok ? '' : r.reason}`);
  return r.value;
}

function bad(msg: unknown, reason: RegExp, id: string | number | null = null): void {
  const r = classify(msg);
  assert.equal(r.ok, false, `expected invalid: ${JSON.stringify(msg)}`);
  if (r.ok) return;
  assert.match(r.reason, reason);
  assert.equal(r.id, id);
}

describe('classify', () => {
  it('classifies requests with string and integer ids', () => {
    const m = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } };
    assert.deepEqual(ok(m), { kind: 'request', id: 1, method: 'tools/call', message: m });
    assert.deepEqual(ok({ jsonrpc: '2.0', id: 'a-1', method: 'ping' }), {
      kind: 'request',
      id: 'a-1',
      method: 'ping',
      message: { jsonrpc: '2.0', id: 'a-1', method: 'ping' },
    });
    assert.equal(ok({ jsonrpc: '2.0', id: -5, method: 'ping' }).id, -5);
    assert.equal(ok({ jsonrpc: '2.0', id: '', method: 'ping' }).id, '');
  });

  it('classifies notifications (method, no id)', () => {
    const c = ok({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(c.kind, 'notification');
    assert.equal(c.method, 'notifications/initialized');
    assert.equal(c.id, undefined);
  });

  it('classifies results and errors', () => {
    const r = ok({ jsonrpc: '2.0', id: 'x', result: {} });
    assert.deepEqual([r.kind, r.id, r.method], ['result', 'x', undefined]);
    // A null result is still a result: "result" is present.
    assert.equal(ok({ jsonrpc: '2.0', id: 2, result: null }).kind, 'result');
    const e = ok({ jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'Method not found', data: [1] } });
    assert.deepEqual([e.kind, e.id], ['error', 3]);
  });

  it('accepts an error response with a null or absent id', () => {
    assert.deepEqual(ok({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }).kind, 'error');
    const c = ok({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' } });
    assert.equal(c.id, undefined);
  });

  it('rejects non-objects', () => {
    bad(null, /not a JSON object/);
    bad('x', /not a JSON object/);
    bad([{ jsonrpc: '2.0', method: 'ping' }], /array/);
  });

  it('rejects a wrong or missing jsonrpc version, echoing a valid id', () => {
    bad({ id: 1, method: 'ping' }, /jsonrpc/, 1);
    bad({ jsonrpc: '1.0', id: 'a', method: 'ping' }, /jsonrpc/, 'a');
    bad({ jsonrpc: 2.0, id: 1, method: 'ping' }, /jsonrpc/, 1);
  });

  it('rejects bad request ids (null, fractional, unsafe, wrong type) with id null', () => {
    bad({ jsonrpc: '2.0', id: null, method: 'ping' }, /must not be null/);
    bad({ jsonrpc: '2.0', id: 1.5, method: 'ping' }, /string or an integer/);
    bad({ jsonrpc: '2.0', id: 2 ** 60, method: 'ping' }, /string or an integer/);
    bad({ jsonrpc: '2.0', id: true, method: 'ping' }, /string or an integer/);
    bad({ jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }, /string or an integer/);
  });

  it('rejects bad methods and params', () => {
    bad({ jsonrpc: '2.0', id: 1, method: 5 }, /method must be a string/, 1);
    bad({ jsonrpc: '2.0', id: 1, method: '' }, /empty/, 1);
    bad({ jsonrpc: '2.0', id: 1, method: 'x', params: [1] }, /params/, 1);
    bad({ jsonrpc: '2.0', method: 'x', params: null }, /params/);
    bad({ jsonrpc: '2.0', id: 1, method: 'x', result: {} }, /both method/, 1);
  });

  it('rejects malformed responses', () => {
    bad({ jsonrpc: '2.0', id: 1, result: 1, error: { code: 1, message: 'm' } }, /both result and error/, 1);
    bad({ jsonrpc: '2.0', result: {} }, /no id/);
    bad({ jsonrpc: '2.0', id: null, result: {} }, /result id/);
    bad({ jsonrpc: '2.0', id: 1, error: 'oops' }, /error must be an object/, 1);
    bad({ jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'm' } }, /code must be an integer/, 1);
    bad({ jsonrpc: '2.0', id: 1, error: { code: '1', message: 'm' } }, /code must be an integer/, 1);
    bad({ jsonrpc: '2.0', id: 1, error: { code: 1 } }, /message must be a string/, 1);
    bad({ jsonrpc: '2.0', id: 1.5, error: { code: 1, message: 'm' } }, /error id/);
    bad({ jsonrpc: '2.0', id: 1 }, /no method, result or error/, 1);
  });

  it('narrows with the helpers', () => {
    const req = ok({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const note = ok({ jsonrpc: '2.0', method: 'notifications/progress' });
    const res = ok({ jsonrpc: '2.0', id: 1, result: {} });
    const err = ok({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } });
    assert.deepEqual([req, note, res, err].map(isRequest), [true, false, false, false]);
    assert.deepEqual([req, note, res, err].map(isNotification), [false, true, false, false]);
    assert.deepEqual([req, note, res, err].map(isResponse), [false, false, true, true]);
    if (isRequest(req)) {
      const id: string | number = req.id; // narrowed: no undefined
      assert.equal(id, 1);
    }
  });
});

describe('parseBody', () => {
  it('returns one item for an object and all items for a batch', () => {
    assert.deepEqual(parseBody('{"jsonrpc":"2.0","method":"ping","id":1}'), {
      ok: true,
      batch: false,
      items: [{ jsonrpc: '2.0', method: 'ping', id: 1 }],
    });
    assert.deepEqual(parseBody(' [1, {"a":2}] '), { ok: true, batch: true, items: [1, { a: 2 }] });
  });

  it('rejects an empty batch and an empty body', () => {
    assert.deepEqual(parseBody('[]'), { ok: false, reason: 'empty batch' });
    assert.deepEqual(parseBody(' \n'), { ok: false, reason: 'body is empty' });
  });

  it('gives a position for invalid JSON without quoting the body', () => {
    const r = parseBody('{"token":"sk-secret", }');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.reason, /^invalid JSON at position \d+$/);
    const r2 = parseBody('sk-secret');
    assert.ok(!r2.ok && !r2.reason.includes('secret'), JSON.stringify(r2));
    assert.deepEqual(parseBody('{"a":'), { ok: false, reason: 'invalid JSON: unexpected end of input' });
  });
});

describe('errorResponse', () => {
  it('builds a JSON-RPC error, omitting undefined data', () => {
    assert.deepEqual(errorResponse(7, -32601, 'Method not found'), {
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32601, message: 'Method not found' },
    });
    assert.deepEqual(errorResponse(null, -32700, 'Parse error', { at: 3 }), {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: 'Parse error', data: { at: 3 } },
    });
    assert.equal(classify(errorResponse('x', 1, 'm')).ok, true);
  });
});

describe('isNotificationMethod / duplicateBatchId', () => {
  it('only notifications/* travel without an id', () => {
    for (const m of ['notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/roots/list_changed']) {
      assert.equal(isNotificationMethod(m), true, m);
    }
    for (const m of ['tools/call', 'ping', 'initialize', 'notification/initialized', 'Notifications/initialized', 'x/notifications/y']) {
      assert.equal(isNotificationMethod(m), false, m);
    }
  });

  it('finds a request id used twice (7 and "7" are one id), not a request and a response sharing one', () => {
    const c = (m: unknown) => {
      const r = classify(m);
      assert.ok(r.ok);
      return r.value;
    };
    assert.equal(duplicateBatchId([c({ jsonrpc: '2.0', id: 7, method: 'tools/list' }), c({ jsonrpc: '2.0', id: 7, method: 'ping' })]), 7);
    assert.equal(duplicateBatchId([c({ jsonrpc: '2.0', id: 7, method: 'tools/list' }), c({ jsonrpc: '2.0', id: '7', method: 'ping' })]), '7');
    assert.equal(duplicateBatchId([c({ jsonrpc: '2.0', id: 'a', result: {} }), c({ jsonrpc: '2.0', id: 'a', result: {} })]), 'a');
    assert.equal(
      duplicateBatchId([
        c({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        c({ jsonrpc: '2.0', id: 1, result: {} }),
        c({ jsonrpc: '2.0', method: 'notifications/progress' }),
        c({ jsonrpc: '2.0', method: 'notifications/progress' }),
        c({ jsonrpc: '2.0', id: 2, method: 'ping' }),
      ]),
      undefined,
    );
  });
});

describe('nesting depth', () => {
  const nested = (n: number, open = '{"a":', close = '}') => `${open.repeat(n)}1${close.repeat(n)}`;
  it('finds nesting deeper than the bound, objects and arrays, and ignores brackets inside strings', () => {
    assert.equal(nestsDeeperThan(nested(64), 64), false);
    assert.equal(nestsDeeperThan(nested(65), 64), true);
    assert.equal(nestsDeeperThan(nested(65, '[', ']'), 64), true);
    assert.equal(nestsDeeperThan(`{"s":"${'['.repeat(500)}\\"${'{'.repeat(500)}"}`, 64), false);
    assert.equal(nestsDeeperThan(`{"s":"\\\\"${',{"a":'.repeat(1)}1}}`, 64), false);
    assert.equal(nestsDeeperThan(`["\\\\\\"[[[[", ${'['.repeat(70)}${']'.repeat(70)}]`, 64), true);
  });

  it('a body nested past MAX_JSON_DEPTH is refused by parseBody before it is built', () => {
    const r = parseBody(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${nested(100_000)}}}`);
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /deeper than 64/);
    assert.equal(parseBody(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${nested(50)}}}`).ok, true);
  });
});
