import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNonceStore, NonceStoreFullError, type NonceStore } from './nonce-store.ts';
import { SqliteNonceStore } from './sqlite-nonce-store.ts';

type Make = (opts: { maxEntries?: number; now?: () => number }) => NonceStore & { readonly size: number };

/** One contract for every NonceStore. */
const opened: SqliteNonceStore[] = [];
after(() => {
  for (const s of opened) s.close();
});
const sqlite = (o: { maxEntries?: number; now?: () => number }) => {
  const s = new SqliteNonceStore(':memory:', o);
  opened.push(s);
  return s;
};
for (const [name, make] of [
  ['MemoryNonceStore', (o) => new MemoryNonceStore(o)],
  ['SqliteNonceStore', sqlite],
] as Array<[string, Make]>) {
describe(name, () => {
  it('accepts a nonce once until it expires', async () => {
    let now = 1000;
    const store = make({ now: () => now });
    assert.equal(await store.markUsed('n1', 2000), true);
    assert.equal(await store.markUsed('n1', 2000), false);
    assert.equal(await store.markUsed('n2', 2000), true);
    now = 2000;
    // The state it guarded has expired, so its own exp check now refuses it; the slot is free.
    assert.equal(await store.markUsed('n1', 3000), true);
  });

  it('lets exactly one of concurrent callers win', async () => {
    const store = make({ now: () => 0 });
    const wins = await Promise.all(Array.from({ length: 10 }, () => store.markUsed('same', 1000)));
    assert.equal(wins.filter(Boolean).length, 1);
  });

  it('never forgets an unexpired nonce to make room: refuses instead', async () => {
    let now = 0;
    const store = make({ maxEntries: 2, now: () => now });
    await store.markUsed('a', 100);
    await store.markUsed('b', 500);
    await assert.rejects(store.markUsed('c', 500), NonceStoreFullError);
    assert.equal(await store.markUsed('a', 100), false, 'a is still remembered');
    now = 100; // a expires: its slot is reused
    assert.equal(await store.markUsed('c', 500), true);
    assert.equal(await store.markUsed('b', 500), false);
    assert.equal(store.size, 2);
  });

  it('does not store already-expired nonces', async () => {
    const store = make({ now: () => 1000 });
    assert.equal(await store.markUsed('old', 999), true);
    assert.equal(store.size, 0);
  });

  it('rejects empty nonces and bad options', async () => {
    await assert.rejects(make({}).markUsed('', 1), TypeError);
    assert.throws(() => make({ maxEntries: 0 }), RangeError);
  });
});
}

describe('SqliteNonceStore on disk', () => {
  it('remembers a used nonce across a restart (a state redeemed before it is not good again after it)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nonces-')), 'approval-nonces.db');
    const first = new SqliteNonceStore(path, { now: () => 0 });
    assert.equal(await first.markUsed('n', 10_000), true);
    first.close();
    const second = new SqliteNonceStore(path, { now: () => 1 });
    assert.equal(await second.markUsed('n', 10_000), false);
    assert.equal(second.size, 1);
    second.close();
  });
});
