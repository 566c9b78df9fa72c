import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../core/errors.ts';
import { ApprovalQueue } from './queue.ts';
import type { ApprovalDecision, ApprovalQueueOptions, ApprovalRequest, DecisionEvent } from './queue.ts';

/** A clock plus a scheduler that fires only when the test advances time. */
function fakeTime(start = 1_700_000_000_000) {
  let now = start;
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  return {
    now: () => now,
    schedule: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn, cancelled: false };
      timers.push(t);
      return () => {
        t.cancelled = true;
      };
    },
    advance(ms: number) {
      now += ms;
      for (const t of timers) {
        if (!t.cancelled && t.at <= now) {
          t.cancelled = true;
          t.fn();
        }
      }
    },
    get live() {
      return timers.filter((t) => !t.cancelled).length;
    },
  };
}

const req = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  principal: 'alice',
  route: 'default',
  tool: 'delete_repo',
  argumentsPreview: '{"repo":"acme/web"}',
  summary: 'Deletes a repository',
  reasons: ['policy/needs-approval'],
  ttlMs: 60_000,
  ...over,
});

function setup(opts: ApprovalQueueOptions = {}) {
  const time = fakeTime();
  const queue = new ApprovalQueue({ now: time.now, schedule: time.schedule, ...opts });
  const events: DecisionEvent[] = [];
  queue.onDecision((e) => events.push(e));
  return { time, queue, events };
}

/** Resolves to the decision if already settled, else 'pending'. */
async function peek(p: Promise<ApprovalDecision>): Promise<ApprovalDecision | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
}

describe('ApprovalQueue', () => {
  it('lists a pending request with unguessable id and its expiry', () => {
    const { queue, time } = setup();
    const a = queue.request(req());
    const b = queue.request(req());
    assert.match(a.id, /^apr_[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a.id, b.id);
    const [first] = queue.list();
    assert.deepEqual(first, {
      id: a.id,
      principal: 'alice',
      route: 'default',
      tool: 'delete_repo',
      argumentsPreview: '{"repo":"acme/web"}',
      summary: 'Deletes a repository',
      reasons: ['policy/needs-approval'],
      createdAt: time.now(),
      expiresAt: time.now() + 60_000,
    });
    assert.equal(queue.list().length, 2);
  });

  it('approve resolves the decision, removes it from the list and emits an audit event', async () => {
    const { queue, events, time } = setup();
    const { id, decision } = queue.request(req());
    assert.equal(await peek(decision), 'pending');
    time.advance(5000);
    const r = queue.approve(id, 'bob', 'looks fine');
    assert.equal(r.ok, true);
    assert.equal(await decision, 'approved');
    assert.deepEqual(queue.list(), []);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.decision, 'approved');
    assert.equal(events[0]!.by, 'bob');
    assert.equal(events[0]!.note, 'looks fine');
    assert.equal(events[0]!.request.id, id);
    assert.equal(events[0]!.decidedAt, time.now());
    assert.equal(time.live, 0, 'the timeout timer was cancelled');
  });

  it('deny resolves denied', async () => {
    const { queue, events } = setup();
    const { id, decision } = queue.request(req());
    assert.equal(queue.deny(id, 'bob').ok, true);
    assert.equal(await decision, 'denied');
    assert.equal(events[0]!.decision, 'denied');
    assert.equal(events[0]!.note, undefined);
  });

  it('times out after the TTL, not before', async () => {
    const { queue, events, time } = setup();
    const { id, decision } = queue.request(req({ ttlMs: 30_000 }));
    time.advance(29_999);
    assert.equal(await peek(decision), 'pending');
    time.advance(1);
    assert.equal(await decision, 'timeout');
    assert.equal(events[0]!.decision, 'timeout');
    assert.equal(events[0]!.by, undefined);
    assert.equal(queue.get(id), undefined);
  });

  it('answers already_decided for a second decision and not_found for unknown ids', () => {
    const { queue, time } = setup();
    const a = queue.request(req());
    queue.approve(a.id, 'bob');
    assert.deepEqual(queue.deny(a.id, 'eve'), { ok: false, error: 'already_decided', decision: 'approved' });
    const b = queue.request(req({ ttlMs: 10 }));
    time.advance(10);
    assert.deepEqual(queue.approve(b.id, 'bob'), { ok: false, error: 'already_decided', decision: 'timeout' });
    assert.deepEqual(queue.approve('apr_nope', 'bob'), { ok: false, error: 'not_found' });
  });

  it('rejects new requests when full, with a clear error, and accepts again once one is decided', () => {
    const { queue } = setup({ maxPending: 2 });
    const a = queue.request(req());
    queue.request(req());
    assert.throws(
      () => queue.request(req()),
      (err: unknown) =>
        err instanceof GatewayError && err.code === 'approval_denied' && /too many approvals pending \(2\)/.test(err.message) && (err.data as { reason: string }).reason === 'queue_full',
    );
    queue.deny(a.id, 'bob');
    assert.ok(queue.request(req()).id);
  });

  it('rejects TTLs outside (0, maxTtlMs]', () => {
    const { queue } = setup({ maxTtlMs: 1000 });
    assert.throws(() => queue.request(req({ ttlMs: 0 })), RangeError);
    assert.throws(() => queue.request(req({ ttlMs: 1001 })), RangeError);
    assert.throws(() => queue.request(req({ ttlMs: Number.NaN })), RangeError);
  });

  it('keeps deciding when an audit listener throws, and stops notifying after unsubscribe', async () => {
    const { queue } = setup();
    const seen: string[] = [];
    queue.onDecision(() => {
      throw new Error('audit sink down');
    });
    const off = queue.onDecision((e) => seen.push(e.decision));
    const a = queue.request(req());
    assert.equal(queue.approve(a.id, 'bob').ok, true);
    assert.equal(await a.decision, 'approved');
    off();
    const b = queue.request(req());
    queue.deny(b.id, 'bob');
    assert.deepEqual(seen, ['approved']);
  });

  it('close() withdraws every pending request (shutdown, not a timeout), refuses new ones and tells waiters', async () => {
    const { queue, events } = setup();
    const a = queue.request(req());
    const b = queue.request(req());
    let told = 0;
    queue.onClose(() => told++);
    queue.close();
    queue.close();
    assert.deepEqual(await Promise.all([a.decision, b.decision]), ['withdrawn', 'withdrawn']);
    assert.deepEqual(events.map((e) => [e.decision, e.reason, e.by]), [['withdrawn', 'shutdown', undefined], ['withdrawn', 'shutdown', undefined]]);
    assert.deepEqual(queue.list(), []);
    assert.equal(told, 1, 'close listeners run once');
    assert.ok(queue.closed);
    assert.throws(
      () => queue.request(req()),
      (err: unknown) => err instanceof GatewayError && err.code === 'approval_denied' && (err.data as { reason?: string }).reason === 'shutdown',
    );
    let late = 0;
    queue.onClose(() => late++);
    assert.equal(late, 1, 'a listener added after close is told at once');
    assert.deepEqual(queue.approve(a.id, 'bob'), { ok: false, error: 'already_decided', decision: 'withdrawn', reason: 'shutdown' });
  });

  it('withdraw takes a request back: gone from the list, resolved withdrawn, a later approve is already_decided', async () => {
    const { queue, events, time } = setup();
    const a = queue.request(req());
    const r = queue.withdraw(a.id, 'client-disconnect');
    assert.equal(r.ok, true);
    assert.equal(await a.decision, 'withdrawn');
    assert.equal(queue.get(a.id), undefined);
    assert.deepEqual(queue.list(), []);
    assert.deepEqual([events[0]!.decision, events[0]!.reason], ['withdrawn', 'client-disconnect']);
    assert.deepEqual(queue.approve(a.id, 'bob'), { ok: false, error: 'already_decided', decision: 'withdrawn', reason: 'client-disconnect' });
    assert.deepEqual(queue.withdraw(a.id, 'client-disconnect'), { ok: false, error: 'already_decided', decision: 'withdrawn', reason: 'client-disconnect' });
    assert.equal(time.live, 0, 'its timer is cancelled');
    // Withdrawing a decided request changes nothing.
    const b = queue.request(req());
    queue.approve(b.id, 'bob');
    assert.deepEqual(queue.withdraw(b.id, 'client-disconnect'), { ok: false, error: 'already_decided', decision: 'approved' });
    assert.equal(await b.decision, 'approved');
  });

  it('cuts over-long text without splitting a surrogate pair', () => {
    const { queue } = setup({ maxTextChars: 5 });
    const { id } = queue.request(req({ argumentsPreview: 'abc😀def', summary: 'short' }));
    const p = queue.get(id)!;
    assert.equal(p.argumentsPreview, 'abc…');
    assert.equal(p.summary, 'short');
  });

  it('keeps the whole arguments for get() (not cut by maxTextChars), and leaves them out of list()', () => {
    const { queue } = setup({ maxTextChars: 5 });
    const json = JSON.stringify({ command: 'DROP TABLE users', pad: 'x'.repeat(100) });
    const { id } = queue.request(req({ arguments: { json, cut: false, length: json.length } }));
    assert.deepEqual(queue.get(id)!.arguments, { json, cut: false, length: json.length });
    assert.equal('arguments' in queue.list()[0]!, false);
  });

  it('forgets the oldest decided ids beyond maxDecided', () => {
    const { queue } = setup({ maxDecided: 1 });
    const a = queue.request(req());
    const b = queue.request(req());
    queue.approve(a.id, 'bob');
    queue.approve(b.id, 'bob');
    assert.deepEqual(queue.approve(a.id, 'bob'), { ok: false, error: 'not_found' });
    assert.equal(queue.approve(b.id, 'bob').ok, false);
  });
});
