import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TtlLru } from './lru.ts';

describe('TtlLru', () => {
  it('returns values until they expire', () => {
    let now = 1000;
    const c = new TtlLru<string, number>(10, () => now);
    c.set('a', 1, 2000);
    assert.equal(c.get('a'), 1);
    now = 2000;
    assert.equal(c.get('a'), undefined);
    assert.equal(c.size, 0);
  });

  it('does not store an already-expired entry', () => {
    const c = new TtlLru<string, number>(10, () => 1000);
    c.set('a', 1, 1000);
    assert.equal(c.get('a'), undefined);
  });

  it('evicts the least recently used entry when full', () => {
    const c = new TtlLru<string, number>(2, () => 0);
    c.set('a', 1, 10);
    c.set('b', 2, 10);
    assert.equal(c.get('a'), 1); // a is now more recent than b
    c.set('c', 3, 10);
    assert.deepEqual([c.get('a'), c.get('b'), c.get('c')], [1, undefined, 3]);
    assert.equal(c.size, 2);
  });

  it('rejects a non-positive capacity', () => {
    assert.throws(() => new TtlLru(0));
  });
});
