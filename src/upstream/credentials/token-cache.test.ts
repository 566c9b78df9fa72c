import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssuedToken } from './token-endpoint.ts';
import { TokenCache } from './token-cache.ts';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('TokenCache', () => {
  it('shares one in-flight fetch among concurrent callers', async () => {
    const cache = new TokenCache({ maxEntries: 10, skewMs: 0, now: () => 0 });
    const d = deferred<IssuedToken>();
    let fetches = 0;
    const fetch = () => {
      fetches++;
      return d.promise;
    };
    const all = Promise.all([cache.get('k', fetch), cache.get('k', fetch), cache.get('k', fetch)]);
    d.resolve({ accessToken: 't1', expiresAt: 60_000 });
    assert.deepEqual(await all, ['t1', 't1', 't1']);
    assert.equal(fetches, 1);
  });

  it('reuses a token until skew before expiry, then fetches anew', async () => {
    let now = 0;
    const cache = new TokenCache({ maxEntries: 10, skewMs: 30_000, now: () => now });
    let n = 0;
    const fetch = async (): Promise<IssuedToken> => ({ accessToken: `t${++n}`, expiresAt: now + 60_000 });
    assert.equal(await cache.get('k', fetch), 't1');
    now = 29_999;
    assert.equal(await cache.get('k', fetch), 't1');
    now = 30_000;
    assert.equal(await cache.get('k', fetch), 't2');
  });

  it('never keeps a token past notAfter', async () => {
    let now = 0;
    const cache = new TokenCache({ maxEntries: 10, skewMs: 0, now: () => now });
    let n = 0;
    const fetch = async (): Promise<IssuedToken> => ({ accessToken: `t${++n}`, expiresAt: now + 3_600_000 });
    await cache.get('k', fetch, 10_000);
    now = 10_000;
    assert.equal(await cache.get('k', fetch, 10_000), 't2');
  });

  it('does not cache failures: the next call retries', async () => {
    const cache = new TokenCache({ maxEntries: 10, skewMs: 0, now: () => 0 });
    await assert.rejects(cache.get('k', () => Promise.reject(new Error('down'))), /down/);
    assert.equal(await cache.get('k', async () => ({ accessToken: 'ok', expiresAt: 1000 })), 'ok');
  });

  it('keeps at most maxEntries tokens and forgets on invalidate', async () => {
    const cache = new TokenCache({ maxEntries: 2, skewMs: 0, now: () => 0 });
    for (const k of ['a', 'b', 'c']) await cache.get(k, async () => ({ accessToken: k, expiresAt: 1000 }));
    assert.equal(cache.size, 2);
    cache.invalidate('c');
    assert.equal(await cache.get('c', async () => ({ accessToken: 'c2', expiresAt: 1000 })), 'c2');
  });
});
