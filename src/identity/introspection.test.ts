import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAuthServer } from '../../test/support/auth-server.ts';
import type { AuthServer } from '../../test/support/auth-server.ts';
import { GatewayError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import { IntrospectionSchema } from './config.ts';
import type { IntrospectionConfig } from './config.ts';
import { tokenDigest } from './digest.ts';
import { Introspector } from './introspection.ts';

const RESOURCE = 'https://gw.example.com/mcp';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, detail?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (detail) assert.match(err.detail ?? '', detail);
    return true;
  });
}

describe('Introspector (RFC 7662)', () => {
  let as: AuthServer;
  let clock = Date.now();
  before(async () => {
    as = await startAuthServer();
  });
  after(() => as.close());

  function introspector(overrides: Partial<IntrospectionConfig> = {}): Introspector {
    const cfg = IntrospectionSchema.parse({ url: as.introspectionUrl, clientId: as.clientId, clientSecret: as.clientSecret, ...overrides });
    clock = Date.now();
    return new Introspector(cfg, { audiences: [RESOURCE], credentialIdSecret: undefined, now: () => clock });
  }
  const verify = (i: Introspector, token: string, fresh = false) => i.verify(token, tokenDigest(token), fresh);

  it('accepts an active opaque token and maps the answer to a Principal', async () => {
    const token = as.issueOpaque({ sub: 'alice', scope: 'a b', client_id: 'app', aud: RESOURCE });
    const p = await verify(introspector(), token);
    assert.deepEqual([p.subject, p.method, p.clientId, p.issuer], ['alice', 'introspection', 'app', as.issuer]);
    assert.deepEqual(p.scopes, ['a', 'b']);
    assert.ok(!JSON.stringify(p).includes(token));
  });

  it('names the authorization server of an answer without iss: the configured issuer, else the endpoint', async () => {
    const token = as.issueOpaque({ sub: 'svc', aud: RESOURCE, iss: undefined });
    assert.equal((await verify(introspector(), token)).issuer, as.introspectionUrl);
    assert.equal((await verify(introspector({ issuer: 'https://as.example' }), token)).issuer, 'https://as.example');
  });

  it('refuses an inactive (unknown or revoked) token', async () => {
    await rejectsWith(verify(introspector(), 'opaque-never-issued'), 'invalid_token', /not active/);
    const token = as.issueOpaque({ sub: 'bob', aud: RESOURCE });
    as.revoke(token);
    await rejectsWith(verify(introspector(), token), 'invalid_token', /not active/);
  });

  it('refuses an active token issued for another resource or by another issuer', async () => {
    await rejectsWith(verify(introspector(), as.issueOpaque({ sub: 'c', aud: 'https://elsewhere' })), 'invalid_token', /resource/);
    await rejectsWith(verify(introspector({ issuer: 'https://other-as' }), as.issueOpaque({ sub: 'c', aud: RESOURCE })), 'invalid_token', /issuer/);
  });

  it('refuses an answer without aud (RFC 8707 audience binding) unless allowMissingAudience', async () => {
    const token = as.issueOpaque({ sub: 'c' });
    await rejectsWith(verify(introspector(), token), 'invalid_token', /not issued for this resource/);
    assert.equal((await verify(introspector({ allowMissingAudience: true }), token)).subject, 'c');
    // The opt-out covers a missing aud only, never a wrong one.
    await rejectsWith(verify(introspector({ allowMissingAudience: true }), as.issueOpaque({ sub: 'c', aud: 'https://elsewhere' })), 'invalid_token', /resource/);
    assert.equal(IntrospectionSchema.parse({ url: as.introspectionUrl, clientId: 'x', clientSecret: 'y' }).allowMissingAudience, false);
  });

  it('refuses a DPoP-bound token (cnf.jkt in the answer, RFC 9449 §6.2)', async () => {
    const token = as.issueOpaque({ sub: 'c', aud: RESOURCE, cnf: { jkt: 'key-thumbprint' } });
    await rejectsWith(verify(introspector(), token), 'invalid_token', /DPoP/);
    await rejectsWith(verify(introspector(), as.issueOpaque({ sub: 'c', aud: RESOURCE, cnf: { jwk: {} } })), 'invalid_token', /confirmation/);
  });

  it('gives an answer without sub the subject client:<client_id>', async () => {
    const p = await verify(introspector(), as.issueOpaque({ client_id: 'alice', aud: RESOURCE }));
    assert.deepEqual([p.subject, p.clientId], ['client:alice', 'alice']);
    await rejectsWith(verify(introspector(), as.issueOpaque({ aud: RESOURCE })), 'invalid_token', /subject/);
  });

  it('caches answers by digest until the TTL, then asks again', async () => {
    const i = introspector({ cacheTtlMs: 60_000 });
    const token = as.issueOpaque({ sub: 'dana', aud: RESOURCE, expiresIn: 3600 });
    const base = as.counts.introspection;
    for (let n = 0; n < 5; n++) assert.equal((await verify(i, token)).subject, 'dana');
    assert.equal(as.counts.introspection - base, 1);
    // Revocation is seen only after the cache entry expires (RFC 7662 §4 trade-off).
    as.revoke(token);
    assert.equal((await verify(i, token)).subject, 'dana');
    clock += 60_001;
    await rejectsWith(verify(i, token), 'invalid_token', /not active/);
    assert.equal(as.counts.introspection - base, 2);
  });

  it('never serves a cached answer past the token exp', async () => {
    const i = introspector({ cacheTtlMs: 3_600_000 });
    const token = as.issueOpaque({ sub: 'erin', aud: RESOURCE, expiresIn: 60 });
    await verify(i, token);
    const base = as.counts.introspection;
    clock += 61_000;
    await rejectsWith(verify(i, token), 'invalid_token');
    assert.equal(as.counts.introspection - base, 1);
  });

  it('caches inactive answers too', async () => {
    const i = introspector();
    const base = as.counts.introspection;
    for (let n = 0; n < 3; n++) await rejectsWith(verify(i, 'opaque-bogus'), 'invalid_token');
    assert.equal(as.counts.introspection - base, 1);
  });

  it('fresh verification bypasses the cache and sees a revocation now', async () => {
    const i = introspector();
    const token = as.issueOpaque({ sub: 'finn', aud: RESOURCE });
    await verify(i, token);
    as.revoke(token);
    await rejectsWith(verify(i, token, true), 'invalid_token', /not active/);
    // …and the refreshed answer replaces the cached one.
    await rejectsWith(verify(i, token), 'invalid_token', /not active/);
  });

  it('shares one call among concurrent requests with the same token', async () => {
    const i = introspector();
    const token = as.issueOpaque({ sub: 'gus', aud: RESOURCE });
    const base = as.counts.introspection;
    const ps = await Promise.all(Array.from({ length: 10 }, () => verify(i, token)));
    assert.ok(ps.every((p) => p === ps[0]));
    assert.equal(as.counts.introspection - base, 1);
  });

  it('reports bad gateway credentials or an outage as internal, and does not cache it', async () => {
    const token = as.issueOpaque({ sub: 'hal', aud: RESOURCE });
    await rejectsWith(verify(introspector({ clientSecret: 'wrong' }), token), 'internal', /invalid_client/);
    const i = introspector();
    as.fail.introspection = 500;
    try {
      await rejectsWith(verify(i, token), 'internal');
    } finally {
      delete as.fail.introspection;
    }
    assert.equal((await verify(i, token)).subject, 'hal');
  });

  it('never puts the client secret in an error', async () => {
    const secret = 'super-secret-value-123';
    await assert.rejects(verify(introspector({ clientSecret: secret }), as.issueOpaque({ sub: 'x', aud: RESOURCE })), (err: Error) => {
      assert.ok(!err.message.includes(secret));
      return true;
    });
  });
});
