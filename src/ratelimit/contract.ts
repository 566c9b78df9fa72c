/**
 * The behaviour every RateLimitStore must have, as one reusable node:test suite. The memory store
 * runs it in `memory-store.test.ts`; a Redis store runs the same function against a real server,
 * so "works like the memory store" is checked, not assumed.
 *
 * Each test uses fresh random keys, so an implementation backed by a shared server needs no
 * flushing between tests. Time is always passed in explicitly: no test sleeps.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RateLimitStore, RateOp } from './store.ts';

export function rateLimitStoreContract(
  name: string,
  makeStore: () => Promise<RateLimitStore>,
  cleanup: (store: RateLimitStore) => Promise<void> = (s) => s.close(),
): void {
  describe(`RateLimitStore contract: ${name}`, () => {
    let store: RateLimitStore;
    before(async () => {
      store = await makeStore();
    });
    after(() => cleanup(store));

    const key = (label: string) => `contract:${label}:${randomUUID()}`;
    const T0 = 1_700_000_000_000;

    describe('token bucket', () => {
      it('starts full: admits a burst of exactly capacity, counting remaining down', async () => {
        const k = key('burst');
        const remaining: number[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await store.take(k, 5, 1, 1, T0);
          assert.equal(r.allowed, true, `take ${i + 1} of 5`);
          assert.equal(r.retryAfterMs, 0);
          remaining.push(r.remaining);
        }
        assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
        const denied = await store.take(k, 5, 1, 1, T0);
        assert.equal(denied.allowed, false);
        assert.equal(denied.remaining, 0);
        assert.equal(denied.retryAfterMs, 1000);
      });

      it('refills continuously at refillPerSec', async () => {
        const k = key('refill');
        for (let i = 0; i < 10; i++) assert.equal((await store.take(k, 10, 2, 1, T0)).allowed, true);
        // 2 tokens/s: 1 token after 500 ms, not before.
        assert.deepEqual(await store.take(k, 10, 2, 1, T0 + 499), { allowed: false, remaining: 0, retryAfterMs: 1 });
        assert.deepEqual(await store.take(k, 10, 2, 1, T0 + 500), { allowed: true, remaining: 0, retryAfterMs: 0 });
        // 2.5 s later: 5 tokens back.
        const r = await store.take(k, 10, 2, 1, T0 + 3000);
        assert.deepEqual(r, { allowed: true, remaining: 4, retryAfterMs: 0 });
      });

      it('never refills beyond capacity, however long the bucket sat idle', async () => {
        const k = key('cap');
        await store.take(k, 3, 100, 3, T0);
        const r = await store.take(k, 3, 100, 1, T0 + 86_400_000);
        assert.deepEqual(r, { allowed: true, remaining: 2, retryAfterMs: 0 });
        assert.equal((await store.take(k, 3, 100, 3, T0 + 86_400_000)).allowed, false);
      });

      for (const [rate, cost] of [
        [3, 1],
        [0.5, 1],
        [7, 3],
        [1000, 2],
        [0.01, 1],
      ] as const) {
        it(`retryAfterMs is exact (rate ${rate}/s, cost ${cost}): denied 1 ms before, admitted at it`, async () => {
          const k = key('retry');
          const capacity = 4;
          // Drain to a fractional level: take everything, then wait a third of a token.
          for (let left = capacity; left >= cost; left -= cost) await store.take(k, capacity, rate, cost, T0);
          const t1 = T0 + Math.floor(1000 / rate / 3);
          const denied = await store.take(k, capacity, rate, cost, t1);
          assert.equal(denied.allowed, false);
          assert.ok(denied.retryAfterMs > 0 && Number.isInteger(denied.retryAfterMs), `retryAfterMs ${denied.retryAfterMs}`);
          if (denied.retryAfterMs > 1) {
            assert.equal((await store.take(k, capacity, rate, cost, t1 + denied.retryAfterMs - 1)).allowed, false);
          }
          assert.equal((await store.take(k, capacity, rate, cost, t1 + denied.retryAfterMs)).allowed, true);
        });
      }

      it('charges cost > 1 and reports the wait for the whole cost', async () => {
        const k = key('cost');
        assert.deepEqual(await store.take(k, 10, 1, 4, T0), { allowed: true, remaining: 6, retryAfterMs: 0 });
        assert.deepEqual(await store.take(k, 10, 1, 4, T0), { allowed: true, remaining: 2, retryAfterMs: 0 });
        // 2 left, 4 needed at 1/s: 2 s.
        assert.deepEqual(await store.take(k, 10, 1, 4, T0), { allowed: false, remaining: 2, retryAfterMs: 2000 });
      });

      it('a denied take consumes nothing', async () => {
        const k = key('nodrain');
        await store.take(k, 5, 1, 3, T0);
        assert.equal((await store.take(k, 5, 1, 3, T0)).allowed, false);
        assert.deepEqual(await store.take(k, 5, 1, 2, T0), { allowed: true, remaining: 0, retryAfterMs: 0 });
      });

      it('a clock that goes backwards refills nothing and does not fail', async () => {
        const k = key('skew');
        await store.take(k, 2, 1, 2, T0 + 10_000);
        const r = await store.take(k, 2, 1, 1, T0);
        assert.equal(r.allowed, false);
        assert.ok(r.retryAfterMs > 0);
      });

      it('rejects a cost above capacity instead of answering', async () => {
        await assert.rejects(store.take(key('bad'), 2, 1, 3, T0), RangeError);
        await assert.rejects(store.take(key('bad'), 2, 0, 1, T0), RangeError);
        await assert.rejects(store.take(key('bad'), 2, 1, 0, T0), RangeError);
      });
    });

    describe('fixed window', () => {
      it('admits limit per window, then reports the time to the window end', async () => {
        const k = key('window');
        const t = T0 + 1500; // T0 is a multiple of 1000, so this window is [T0+1000, T0+2000).
        for (let i = 0; i < 3; i++) assert.deepEqual(await store.incrementWindow(k, 1000, 3, 1, t), { allowed: true, remaining: 2 - i, retryAfterMs: 0 });
        assert.deepEqual(await store.incrementWindow(k, 1000, 3, 1, t + 100), { allowed: false, remaining: 0, retryAfterMs: 400 });
      });

      it('resets at the window boundary, aligned to the epoch', async () => {
        const k = key('reset');
        for (let i = 0; i < 3; i++) await store.incrementWindow(k, 1000, 3, 1, T0 + 1999);
        assert.equal((await store.incrementWindow(k, 1000, 3, 1, T0 + 1999)).allowed, false);
        assert.deepEqual(await store.incrementWindow(k, 1000, 3, 1, T0 + 2000), { allowed: true, remaining: 2, retryAfterMs: 0 });
      });

      it('counts cost > 1 and a denied increment counts nothing', async () => {
        const k = key('wcost');
        assert.deepEqual(await store.incrementWindow(k, 60_000, 10, 4, T0), { allowed: true, remaining: 6, retryAfterMs: 0 });
        assert.deepEqual(await store.incrementWindow(k, 60_000, 10, 4, T0), { allowed: true, remaining: 2, retryAfterMs: 0 });
        assert.equal((await store.incrementWindow(k, 60_000, 10, 4, T0)).allowed, false);
        assert.deepEqual(await store.incrementWindow(k, 60_000, 10, 2, T0), { allowed: true, remaining: 0, retryAfterMs: 0 });
      });
    });

    it('keeps keys independent', async () => {
      const a = key('a');
      const b = key('b');
      await store.take(a, 1, 1, 1, T0);
      assert.equal((await store.take(a, 1, 1, 1, T0)).allowed, false);
      assert.equal((await store.take(b, 1, 1, 1, T0)).allowed, true);
      await store.incrementWindow(a, 1000, 1, 1, T0);
      assert.equal((await store.incrementWindow(b, 1000, 1, 1, T0)).allowed, true);
    });

    describe('consume (all-or-nothing)', () => {
      it('applies every op when all admit', async () => {
        const a = key('ca');
        const w = key('cw');
        const ops: RateOp[] = [
          { kind: 'bucket', key: a, capacity: 2, refillPerSec: 1, cost: 1 },
          { kind: 'window', key: w, windowMs: 1000, limit: 2, cost: 1 },
        ];
        const r = await store.consume(ops, T0);
        assert.equal(r.allowed, true);
        assert.deepEqual(r.results.map((x) => x.remaining), [1, 1]);
        assert.equal((await store.consume(ops, T0)).allowed, true);
        assert.equal((await store.take(a, 2, 1, 1, T0)).allowed, false);
        assert.equal((await store.incrementWindow(w, 1000, 2, 1, T0)).allowed, false);
      });

      it('applies nothing when one op denies, and says which with its retry time', async () => {
        const a = key('na');
        const b = key('nb');
        await store.take(b, 1, 0.5, 1, T0);
        const r = await store.consume(
          [
            { kind: 'bucket', key: a, capacity: 3, refillPerSec: 1, cost: 1 },
            { kind: 'bucket', key: b, capacity: 1, refillPerSec: 0.5, cost: 1 },
          ],
          T0,
        );
        assert.equal(r.allowed, false);
        assert.deepEqual(r.results[1], { allowed: false, remaining: 0, retryAfterMs: 2000 });
        // Bucket a was not charged: its full burst of 3 is still there.
        for (let i = 0; i < 3; i++) assert.equal((await store.take(a, 3, 1, 1, T0)).allowed, true);
        assert.equal((await store.take(a, 3, 1, 1, T0)).allowed, false);
      });
    });

    describe('concurrency', () => {
      it('many concurrent takes never over-admit', async () => {
        const k = key('race');
        const results = await Promise.all(Array.from({ length: 200 }, () => store.take(k, 50, 1, 1, T0)));
        assert.equal(results.filter((r) => r.allowed).length, 50);
      });

      it('many concurrent window increments never over-admit', async () => {
        const k = key('wrace');
        const results = await Promise.all(Array.from({ length: 200 }, () => store.incrementWindow(k, 60_000, 30, 1, T0)));
        assert.equal(results.filter((r) => r.allowed).length, 30);
      });

      it('many concurrent multi-key consumes never over-admit any key', async () => {
        const shared = key('shared');
        const ops = (i: number): RateOp[] => [
          { kind: 'bucket', key: shared, capacity: 20, refillPerSec: 1, cost: 1 },
          { kind: 'bucket', key: `${shared}:${i % 4}`, capacity: 3, refillPerSec: 1, cost: 1 },
        ];
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.consume(ops(i), T0)));
        // Each of the 4 sub-keys admits 3: 12 in total, all within the shared 20.
        assert.equal(results.filter((r) => r.allowed).length, 12);
        const leftInShared = await store.take(shared, 20, 1, 8, T0);
        assert.deepEqual(leftInShared, { allowed: true, remaining: 0, retryAfterMs: 0 });
      });
    });
  });
}
