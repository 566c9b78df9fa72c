import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { GatewayError } from '../core/errors.ts';
import { ApiKeyStore } from './api-keys.ts';
import { ApiKeysSchema } from './config.ts';
import { credentialIdOf, tokenDigest } from './digest.ts';

const KEY_A = 'pk_live_alpha_0123456789';
const KEY_B = 'pk_live_bravo_9876543210';

function store(): ApiKeyStore {
  const cfg = ApiKeysSchema.parse({
    keys: [
      { id: 'ci', sha256: tokenDigest(KEY_A), subject: 'ci-bot', scopes: ['tools:call'] },
      { id: 'ops', sha256: tokenDigest(KEY_B).toUpperCase(), subject: 'ops' },
    ],
  });
  return new ApiKeyStore(cfg, undefined);
}

describe('ApiKeyStore', () => {
  it('authenticates a configured key as its subject with its scopes', () => {
    const p = store().authenticate(tokenDigest(KEY_A));
    assert.deepEqual([p.subject, p.method, p.scopes, p.claims?.key_id], ['ci-bot', 'api-key', ['tools:call'], 'ci']);
    assert.equal(p.credentialId, credentialIdOf(tokenDigest(KEY_A)));
    assert.ok(!JSON.stringify(p).includes(KEY_A));
  });

  it('matches digests configured in upper case', () => {
    assert.equal(store().authenticate(tokenDigest(KEY_B)).subject, 'ops');
  });

  it('refuses a wrong key, including one differing in the last character', () => {
    for (const wrong of ['nope', `${KEY_A.slice(0, -1)}X`, `${KEY_A} `]) {
      assert.throws(
        () => store().authenticate(tokenDigest(wrong)),
        (err: unknown) => err instanceof GatewayError && err.code === 'invalid_token',
      );
    }
  });

  it('compares with timingSafeEqual against every key, without stopping at the first match', (t) => {
    const spy = t.mock.method(crypto, 'timingSafeEqual');
    const s = store();
    s.authenticate(tokenDigest(KEY_A));
    assert.equal(spy.mock.callCount(), 2);
    assert.throws(() => s.authenticate(tokenDigest('nope')));
    assert.equal(spy.mock.callCount(), 4);
  });

  it('knows whether a credential id still belongs to a configured key', () => {
    const s = store();
    assert.equal(s.has(credentialIdOf(tokenDigest(KEY_A))), true);
    assert.equal(s.has(credentialIdOf(tokenDigest('removed-key'))), false);
  });
});
