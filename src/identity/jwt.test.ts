import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAuthServer } from '../../test/support/auth-server.ts';
import type { AuthServer } from '../../test/support/auth-server.ts';
import { GatewayError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import { JwtSchema } from './config.ts';
import type { JwtConfig } from './config.ts';
import { tokenDigest } from './digest.ts';
import { JwtVerifier } from './jwt.ts';

const RESOURCE = 'https://gw.example.com/mcp';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, detail?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (detail) assert.match(err.detail ?? '', detail);
    return true;
  });
}

describe('JwtVerifier', () => {
  let as: AuthServer;
  before(async () => {
    as = await startAuthServer();
  });
  after(() => as.close());

  function verifier(overrides: Partial<JwtConfig> = {}): JwtVerifier {
    const cfg = JwtSchema.parse({ issuer: as.issuer, jwksUrl: as.jwksUrl, jwksCooldownMs: 0, ...overrides });
    return new JwtVerifier(cfg, { audiences: [RESOURCE], credentialIdSecret: undefined, now: Date.now });
  }
  const verify = (v: JwtVerifier, token: string) => v.verify(token, tokenDigest(token));

  it('accepts a valid token and builds the Principal from its claims', async () => {
    const token = await as.issue({ sub: 'alice', aud: RESOURCE, scope: 'tools:read tools:call', client_id: 'app-1' });
    const p = await verify(verifier(), token);
    assert.equal(p.subject, 'alice');
    assert.equal(p.method, 'jwt');
    assert.equal(p.issuer, as.issuer);
    assert.equal(p.clientId, 'app-1');
    assert.deepEqual(p.scopes, ['tools:read', 'tools:call']);
    assert.equal(typeof p.expiresAt, 'number');
    assert.ok(p.expiresAt! > Date.now());
    assert.match(p.credentialId ?? '', /^[0-9a-f]{32}$/);
    assert.ok(!JSON.stringify(p).includes(token), 'the principal must not contain the raw token');
    assert.ok(Object.isFrozen(p.claims));
  });

  it('accepts an audience list that includes the resource', async () => {
    const token = await as.issue({ sub: 'alice', aud: ['https://other.example', RESOURCE] });
    assert.equal((await verify(verifier(), token)).subject, 'alice');
  });

  it('refuses expired and not-yet-valid tokens (beyond clock tolerance)', async () => {
    const v = verifier();
    await rejectsWith(verify(v, await as.issue({ sub: 'a', aud: RESOURCE, expiresIn: -120 })), 'invalid_token', /expired/);
    await rejectsWith(verify(v, await as.issue({ sub: 'a', aud: RESOURCE, notBefore: 3600 })), 'invalid_token', /not yet valid/);
  });

  it('tolerates small clock skew on exp', async () => {
    const token = await as.issue({ sub: 'a', aud: RESOURCE, expiresIn: -5 });
    assert.equal((await verify(verifier(), token)).subject, 'a');
    await rejectsWith(verify(verifier({ clockToleranceSec: 0 }), token), 'invalid_token', /expired/);
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    await rejectsWith(verify(verifier(), await as.issue({ sub: 'a', aud: RESOURCE, iss: 'https://evil.example' })), 'invalid_token', /issuer/);
    await rejectsWith(verify(verifier(), await as.issue({ sub: 'a', aud: 'https://other.example/mcp' })), 'invalid_token', /resource/);
    await rejectsWith(verify(verifier(), await as.issue({ sub: 'a' })), 'invalid_token', /resource/);
  });

  it('refuses a token without exp or without any subject', async () => {
    await rejectsWith(verify(verifier(), await as.issue({ sub: 'a', aud: RESOURCE, exp: undefined })), 'invalid_token');
    await rejectsWith(verify(verifier(), await as.issue({ aud: RESOURCE })), 'invalid_token', /subject/);
    await rejectsWith(verify(verifier(), await as.issue({ sub: 42 as unknown as string, client_id: 'app', aud: RESOURCE })), 'invalid_token', /sub/);
  });

  it('gives a token without sub a client subject that cannot collide with a user (RFC 9068 §2.2)', async () => {
    const v = verifier();
    const client = await verify(v, await as.issue({ client_id: 'alice', aud: RESOURCE }));
    assert.deepEqual([client.subject, client.clientId], ['client:alice', 'alice']);
    assert.equal((await verify(v, await as.issue({ azp: 'app-2', aud: RESOURCE }))).subject, 'client:app-2');
    // With sub, sub is the subject whatever the client (RFC 9068: for client credentials sub is the client id).
    assert.equal((await verify(v, await as.issue({ sub: 'alice', client_id: 'app', aud: RESOURCE }))).subject, 'alice');
    // A user's sub cannot take the clients' namespace: it would be the client to everything keyed by subject.
    await rejectsWith(verify(v, await as.issue({ sub: 'client:alice', aud: RESOURCE })), 'invalid_token', /prefix/);
  });

  it('refuses a DPoP-bound token (cnf.jkt, RFC 9449 §6) instead of accepting it as a bearer token', async () => {
    const v = verifier();
    const token = await as.issue({ sub: 'a', aud: RESOURCE, cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } });
    await rejectsWith(verify(v, token), 'invalid_token', /DPoP/);
    // Not cached as valid either: a second attempt is refused the same way.
    await rejectsWith(verify(v, token), 'invalid_token', /DPoP/);
    // Certificate binding (x5t#S256) is verifiable, per request (mtls.ts): the token verifies here.
    assert.equal((await verify(v, await as.issue({ sub: 'a', aud: RESOURCE, cnf: { 'x5t#S256': 'abc' } }))).subject, 'a');
  });

  it('refuses alg none and HS256 keyed with the public key without fetching keys', async () => {
    const v = verifier();
    const jwks = as.counts.jwks;
    await rejectsWith(verify(v, as.bad.algNone({ sub: 'a', aud: RESOURCE })), 'invalid_token', /algorithm/);
    await rejectsWith(verify(v, await as.bad.hs256WithPublicKey({ sub: 'a', aud: RESOURCE })), 'invalid_token', /algorithm/);
    assert.equal(as.counts.jwks, jwks);
  });

  it('refuses an algorithm outside the allow-list even when the key is published', async () => {
    const es = await as.issue({ sub: 'a', aud: RESOURCE, alg: 'ES256' });
    assert.equal((await verify(verifier(), es)).subject, 'a');
    await rejectsWith(verify(verifier({ algorithms: ['RS256'] }), es), 'invalid_token', /algorithm/);
  });

  it('refuses a bad signature and an unknown kid', async () => {
    await rejectsWith(verify(verifier(), await as.bad.wrongSignature({ sub: 'a', aud: RESOURCE })), 'invalid_token', /signature/);
    await rejectsWith(verify(verifier(), await as.bad.unknownKid({ sub: 'a', aud: RESOURCE })), 'invalid_token', /unknown kid/);
  });

  it('refuses a token of the wrong typ when one is required', async () => {
    const v = verifier({ typ: 'at+jwt' });
    assert.equal((await verify(v, await as.issue({ sub: 'a', aud: RESOURCE, typ: 'at+jwt' }))).subject, 'a');
    await rejectsWith(verify(v, await as.issue({ sub: 'a', aud: RESOURCE, typ: 'JWT' })), 'invalid_token', /type/);
  });

  it('fetches the JWKS once for many different tokens', async () => {
    const v = verifier({ jwksCooldownMs: 30_000 });
    const base = as.counts.jwks;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => as.issue({ sub: `user-${i}`, aud: RESOURCE })));
    const principals = await Promise.all(tokens.map((t) => verify(v, t)));
    assert.deepEqual(principals.map((p) => p.subject), tokens.map((_, i) => `user-${i}`));
    for (const t of tokens) await verify(v, t);
    assert.equal(as.counts.jwks - base, 1);
  });

  it('returns the cached Principal for a repeated token', async () => {
    const v = verifier();
    const token = await as.issue({ sub: 'cached', aud: RESOURCE });
    assert.equal(await verify(v, token), await verify(v, token));
  });

  it('bounds JWKS refetches caused by unknown kids with the cooldown', async () => {
    const v = verifier({ jwksCooldownMs: 60_000 });
    await verify(v, await as.issue({ sub: 'a', aud: RESOURCE }));
    const base = as.counts.jwks;
    for (let i = 0; i < 5; i++) await rejectsWith(verify(v, await as.bad.unknownKid({ sub: 'a', aud: RESOURCE })), 'invalid_token');
    assert.equal(as.counts.jwks, base);
  });

  it('follows key rotation: a new kid triggers one refetch, old keys stay cached', async () => {
    const v = verifier();
    const oldToken = await as.issue({ sub: 'old', aud: RESOURCE });
    const oldToken2 = await as.issue({ sub: 'old-2', aud: RESOURCE });
    await verify(v, oldToken);
    const base = as.counts.jwks;
    await as.rotate();
    const newToken = await as.issue({ sub: 'new', aud: RESOURCE });
    assert.equal((await verify(v, newToken)).subject, 'new');
    assert.equal(as.counts.jwks - base, 1);
    // The server no longer publishes the old key, but the verifier's key cache still has it.
    as.dropOld();
    assert.equal((await verify(v, oldToken2)).subject, 'old-2');
    assert.equal(as.counts.jwks - base, 1);
    // A verifier starting now only sees the current key.
    await rejectsWith(verify(verifier(), await as.issue({ sub: 'x', aud: RESOURCE, kid: 'gone' })), 'invalid_token', /unknown kid/);
  });

  it('reports an unreachable JWKS as an internal error, not a bad token', async () => {
    const v = verifier();
    as.fail.jwks = 503;
    try {
      await rejectsWith(verify(v, await as.issue({ sub: 'a', aud: RESOURCE })), 'internal', /keys unavailable/);
    } finally {
      delete as.fail.jwks;
    }
    assert.equal((await verify(v, await as.issue({ sub: 'a', aud: RESOURCE }))).subject, 'a');
  });
});
