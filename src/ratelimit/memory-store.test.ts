import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimitStoreContract } from './contract.ts';
import { MemoryRateLimitStore } from './memory-store.ts';

rateLimitStoreContract('memory', async () => new MemoryRateLimitStore());

describe('MemoryRateLimitStore bounds', () => {
  const T0 = 1_700_000_000_000;

  it('sweep() forgets refilled buckets and ended windows, keeps live ones', async () => {
    const store = new MemoryRateLimitStore({ sweepPerOp: 0 });
    await store.take('full-soon', 10, 10, 5, T0); // refills in 500 ms
    await store.take('slow', 10, 0.001, 5, T0); // refills in ~83 min
    await store.incrementWindow('day', 86_400_000, 5, 1, T0);
    await store.incrementWindow('second', 1000, 5, 1, T0);
    assert.equal(store.size, 4);
    assert.equal(store.sweep(T0 + 1000), 2);
    assert.equal(store.size, 2);
    // Forgetting changed no decision: the live bucket still has only 5 tokens.
    assert.equal((await store.take('slow', 10, 0.001, 6, T0 + 1000)).allowed, false);
  });

  it('sweeps idle entries incrementally as operations happen', async () => {
    const store = new MemoryRateLimitStore({ sweepPerOp: 4 });
    for (let i = 0; i < 100; i++) await store.take(`k${i}`, 2, 1, 1, T0);
    assert.equal(store.size, 100);
    // An hour later every bucket has refilled; ongoing traffic on one key cleans the rest up.
    for (let i = 0; i < 60; i++) await store.take('busy', 1000, 1, 1, T0 + 3_600_000);
    assert.equal(store.size, 1);
  });

  it('holds at most maxKeys, evicting the least recently used live entry', async () => {
    const store = new MemoryRateLimitStore({ maxKeys: 3, sweepPerOp: 0 });
    await store.take('a', 5, 0.001, 5, T0);
    await store.take('b', 5, 0.001, 5, T0);
    await store.take('c', 5, 0.001, 5, T0);
    await store.take('a', 5, 0.001, 1, T0 + 1_000_000); // a is now the most recently written
    await store.take('d', 5, 0.001, 5, T0 + 1_000_000); // evicts b
    assert.equal(store.size, 3);
    assert.equal(store.evictions, 1);
    assert.equal((await store.take('b', 5, 0.001, 5, T0 + 1_000_000)).allowed, true, 'b was forgotten (reset)');
    assert.equal((await store.take('d', 5, 0.001, 1, T0 + 1_000_000)).allowed, false, 'd is still drained');
  });

  it('prefers dropping idle entries over evicting live ones when full', async () => {
    const store = new MemoryRateLimitStore({ maxKeys: 2, sweepPerOp: 0 });
    await store.take('idle', 1, 1000, 1, T0); // refilled 1 ms later
    await store.take('live', 5, 0.001, 5, T0);
    await store.take('new', 5, 0.001, 5, T0 + 10);
    assert.equal(store.evictions, 0);
    assert.equal((await store.take('live', 5, 0.001, 1, T0 + 10)).allowed, false);
  });

  it('rejects use after close', async () => {
    const store = new MemoryRateLimitStore();
    await store.close();
    await assert.rejects(store.take('x', 1, 1, 1, T0), /closed/);
  });

  it('rejects invalid options', () => {
    assert.throws(() => new MemoryRateLimitStore({ maxKeys: 0 }), RangeError);
    assert.throws(() => new MemoryRateLimitStore({ sweepPerOp: -1 }), RangeError);
  });
});
