import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Principal } from '../pipeline/types.ts';
import { MemorySessionStore, SessionLimitError, type Session } from './sessions.ts';

const alice: Principal = { subject: 'alice', method: 'jwt', issuer: 'https://idp-a.example' };
const aliceOtherIdp: Principal = { subject: 'alice', method: 'jwt', issuer: 'https://idp-b.example' };
const bob: Principal = { subject: 'bob', method: 'jwt', issuer: 'https://idp-a.example' };

describe('MemorySessionStore', () => {
  let store: MemorySessionStore | undefined;
  afterEach(() => store?.close());

  const open = (s: MemorySessionStore, principal: Principal): Session =>
    s.create({ route: 'r', principal, protocolVersion: '2025-11-25', upstreamSessionId: 'up' });

  it('answers a session id only to the principal that created it (issuer and subject)', () => {
    store = new MemorySessionStore({ idleTtlMs: 60_000 });
    const s = open(store, alice);
    assert.equal(store.get(s.id, alice)?.id, s.id);
    // A refreshed token of the same caller (other auth method, same iss+sub) keeps the session.
    assert.equal(store.get(s.id, { ...alice, method: 'introspection' })?.id, s.id);
    assert.equal(store.get(s.id, bob), undefined);
    assert.equal(store.get(s.id, aliceOtherIdp), undefined, 'same sub from another issuer is someone else');
  });

  it('caps sessions per principal without touching other callers', () => {
    store = new MemorySessionStore({ idleTtlMs: 60_000, maxPerPrincipal: 2 });
    const a1 = open(store, alice);
    open(store, alice);
    assert.equal(store.canCreate(alice), false);
    assert.throws(() => open(store!, alice), SessionLimitError);
    assert.ok(store.canCreate(bob));
    open(store, bob);
    // Ending one frees a slot.
    store.delete(a1.id);
    assert.ok(store.canCreate(alice));
    open(store, alice);
  });

  it('at the global cap, evicts the oldest idle session and reports it', () => {
    const evicted: string[] = [];
    store = new MemorySessionStore({ idleTtlMs: 60_000, maxSessions: 2, onEvict: (s) => evicted.push(s.id) });
    const first = open(store, alice);
    open(store, bob);
    open(store, bob);
    assert.deepEqual(evicted, [first.id]);
    assert.equal(store.get(first.id, alice), undefined);
    assert.equal(store.size, 2);
  });
});
