import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { ACCESS_TOKEN_TYPE, startAuthServer, TOKEN_EXCHANGE_GRANT } from './auth-server.ts';
import type { AuthServer } from './auth-server.ts';

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function post(url: string, form: Record<string, string>, auth?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function jwks(as: AuthServer): Promise<JSONWebKeySet> {
  return (await (await fetch(as.jwksUrl)).json()) as JSONWebKeySet;
}

describe('test auth server', () => {
  let as: AuthServer;
  before(async () => {
    as = await startAuthServer();
  });
  after(() => as.close());

  it('serves RFC 8414 metadata naming its endpoints', async () => {
    const meta = (await (await fetch(as.metadataUrl)).json()) as Record<string, unknown>;
    assert.equal(meta.issuer, as.issuer);
    assert.equal(meta.jwks_uri, as.jwksUrl);
    assert.equal(meta.token_endpoint, as.tokenUrl);
    assert.equal(meta.introspection_endpoint, as.introspectionUrl);
  });

  it('issues tokens verifiable with its JWKS, with the requested claims', async () => {
    const token = await as.issue({ sub: 'alice', aud: 'https://rs', scope: 'a b' });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await jwks(as)), { issuer: as.issuer, audience: 'https://rs' });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.scope, 'a b');
    assert.equal(protectedHeader.kid, as.currentKid);
  });

  it('rotate publishes a new current kid and keeps the old one until dropOld', async () => {
    const base = as.currentKid;
    await as.rotate();
    assert.notEqual(as.currentKid, base);
    assert.deepEqual(new Set((await jwks(as)).keys.map((k) => k.kid)), new Set([base, as.currentKid]));
    as.dropOld();
    assert.deepEqual((await jwks(as)).keys.map((k) => k.kid), [as.currentKid]);
  });

  it('introspection requires client authentication and reports revocation', async () => {
    const token = await as.issue({ sub: 'bob' });
    assert.equal((await post(as.introspectionUrl, { token })).status, 401);
    assert.equal((await post(as.introspectionUrl, { token }, basic(as.clientId, 'wrong'))).status, 401);
    const active = await post(as.introspectionUrl, { token }, basic(as.clientId, as.clientSecret));
    assert.equal(active.body.active, true);
    assert.equal(active.body.sub, 'bob');
    as.revoke(token);
    assert.deepEqual((await post(as.introspectionUrl, { token }, basic(as.clientId, as.clientSecret))).body, { active: false });
    const opaque = as.issueOpaque({ sub: 'carol' });
    assert.equal((await post(as.introspectionUrl, { token: opaque }, basic(as.clientId, as.clientSecret))).body.sub, 'carol');
  });

  it('client_credentials and token exchange issue tokens with the right subject and actor', async () => {
    const auth = basic(as.clientId, as.clientSecret);
    const cc = await post(as.tokenUrl, { grant_type: 'client_credentials', scope: 'x', resource: 'https://up' }, auth);
    assert.equal(cc.status, 200);
    assert.equal(cc.body.token_type, 'Bearer');
    assert.deepEqual([decodeJwt(cc.body.access_token as string).sub, decodeJwt(cc.body.access_token as string).aud], [as.clientId, 'https://up']);

    const user = await as.issue({ sub: 'dave', scope: 'read' });
    const ex = await post(
      as.tokenUrl,
      { grant_type: TOKEN_EXCHANGE_GRANT, subject_token: user, subject_token_type: ACCESS_TOKEN_TYPE, audience: 'https://up' },
      auth,
    );
    assert.equal(ex.status, 200);
    assert.equal(ex.body.issued_token_type, ACCESS_TOKEN_TYPE);
    const claims = decodeJwt(ex.body.access_token as string);
    assert.equal(claims.sub, 'dave');
    assert.deepEqual(claims.act, { sub: as.clientId });
    assert.equal(claims.scope, 'read');

    as.revoke(user);
    const refused = await post(as.tokenUrl, { grant_type: TOKEN_EXCHANGE_GRANT, subject_token: user, subject_token_type: ACCESS_TOKEN_TYPE }, auth);
    assert.deepEqual([refused.status, refused.body.error], [400, 'invalid_request']);
    assert.equal((await post(as.tokenUrl, { grant_type: 'client_credentials' }, basic(as.clientId, 'nope'))).status, 401);
  });

  it('bad-token helpers produce what they say', async () => {
    assert.equal(decodeProtectedHeader(as.bad.algNone()).alg, 'none');
    assert.equal(decodeProtectedHeader(await as.bad.hs256WithPublicKey()).alg, 'HS256');
    const set = createLocalJWKSet(await jwks(as));
    await assert.rejects(jwtVerify(await as.bad.wrongSignature(), set), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    await assert.rejects(jwtVerify(await as.bad.unknownKid(), set), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});
