import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startAuthServer } from '../../test/support/auth-server.ts';
import type { AuthServer } from '../../test/support/auth-server.ts';
import { GatewayError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import { ANONYMOUS, Authenticator } from './authenticator.ts';
import type { AuthenticatorOptions } from './authenticator.ts';
import { AuthSchema } from './config.ts';
import type { AuthConfigInput } from './config.ts';
import { tokenDigest } from './digest.ts';

const RESOURCE = 'https://gw.example.com/mcp';
const API_KEY = 'k_test_0123456789abcdef';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, detail?: RegExp): Promise<GatewayError> {
  let caught: GatewayError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (detail) assert.match(err.detail ?? '', detail);
    caught = err;
    return true;
  });
  return caught!;
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** A stand-in for a tls.TLSSocket whose client certificate was verified. */
function tlsSocket(cn: string, authorized = true): unknown {
  const raw = Buffer.from(`cert-of-${cn}`);
  return {
    authorized,
    getPeerCertificate: () => ({ raw, subject: { CN: cn }, issuer: { CN: 'CA' }, valid_to: 'Jan  1 00:00:00 2099 GMT' }),
  };
}

describe('Authenticator', () => {
  let as: AuthServer;
  let clock = Date.now();
  const now = () => clock;
  before(async () => {
    as = await startAuthServer();
  });
  after(() => as.close());

  function auth(input: AuthConfigInput, opts: AuthenticatorOptions = {}): Authenticator {
    clock = Date.now();
    return new Authenticator(AuthSchema.parse(input), { resource: RESOURCE, now, ...opts });
  }
  const jwt = () => ({ issuer: as.issuer, jwksUrl: as.jwksUrl, jwksCooldownMs: 0 });
  const introspection = () => ({ url: as.introspectionUrl, clientId: as.clientId, clientSecret: as.clientSecret });
  const apiKeys = (keys = [{ id: 'ci', sha256: tokenDigest(API_KEY), subject: 'ci-bot', scopes: ['tools:call'] }]) => ({ keys });

  describe('required JWT route', () => {
    it('authenticates a valid token', async () => {
      const a = auth({ required: true, jwt: jwt() });
      const p = await a.authenticate(bearer(await as.issue({ sub: 'alice', aud: RESOURCE })));
      assert.deepEqual([p.subject, p.method], ['alice', 'jwt']);
    });

    it('answers a missing credential with unauthenticated and an error-free challenge', async () => {
      const a = auth({ required: true, jwt: jwt(), requiredScopes: ['mcp'] });
      const err = await rejectsWith(a.authenticate({ headers: {} }), 'unauthenticated');
      assert.equal(
        a.challenge(err),
        'Bearer resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp"',
      );
      await rejectsWith(a.authenticate({ headers: { authorization: 'Basic YTpi' } }), 'unauthenticated');
    });

    it('answers a bad token with invalid_token and says so in the challenge', async () => {
      const a = auth({ required: true, jwt: jwt() });
      const err = await rejectsWith(a.authenticate(bearer(await as.issue({ sub: 'a', aud: RESOURCE, expiresIn: -300 }))), 'invalid_token');
      assert.match(a.challenge(err) ?? '', /^Bearer error="invalid_token", error_description="token expired", resource_metadata=/);
    });

    it('accepts the resource with or without a trailing slash as audience, nothing else', async () => {
      const a = auth({ required: true, jwt: jwt() });
      assert.equal((await a.authenticate(bearer(await as.issue({ sub: 'a', aud: `${RESOURCE}/` })))).subject, 'a');
      await rejectsWith(a.authenticate(bearer(await as.issue({ sub: 'a', aud: `${RESOURCE}/x` }))), 'invalid_token');
    });

    it('accepts configured extra audiences', async () => {
      const a = auth({ required: true, jwt: { ...jwt(), audiences: ['api://tools'] } });
      assert.equal((await a.authenticate(bearer(await as.issue({ sub: 'a', aud: 'api://tools' })))).subject, 'a');
    });

    it('hits the JWKS once however many requests arrive', async () => {
      const a = auth({ required: true, jwt: { ...jwt(), jwksCooldownMs: 30_000 } });
      const base = as.counts.jwks;
      const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => as.issue({ sub: `u${i}`, aud: RESOURCE })));
      for (let round = 0; round < 5; round++) {
        const ps = await Promise.all(tokens.map((t) => a.authenticate(bearer(t))));
        assert.deepEqual(ps.map((p) => p.subject), tokens.map((_, i) => `u${i}`));
      }
      assert.equal(as.counts.jwks - base, 1);
    });
  });

  describe('scopes', () => {
    it('refuses a token lacking a required scope with insufficient_scope', async () => {
      const a = auth({ required: true, jwt: jwt(), requiredScopes: ['tools:read', 'tools:call'] });
      const err = await rejectsWith(a.authenticate(bearer(await as.issue({ sub: 'a', aud: RESOURCE, scope: 'tools:read' }))), 'insufficient_scope');
      assert.deepEqual(err.data, { requiredScopes: ['tools:read', 'tools:call'] });
      assert.match(a.challenge(err) ?? '', /error="insufficient_scope".*scope="tools:read tools:call"$/);
      const ok = await a.authenticate(bearer(await as.issue({ sub: 'a', aud: RESOURCE, scope: 'tools:call tools:read extra' })));
      assert.equal(ok.subject, 'a');
    });
  });

  describe('optional route', () => {
    it('lets callers without a credential through as anonymous', async () => {
      assert.equal(await auth({ jwt: jwt() }).authenticate({ headers: {} }), ANONYMOUS);
    });

    it('still refuses a presented but invalid credential', async () => {
      await rejectsWith(auth({ jwt: jwt() }).authenticate(bearer(as.bad.algNone({ sub: 'a', aud: RESOURCE }))), 'invalid_token');
      await rejectsWith(auth({ apiKeys: apiKeys() }).authenticate({ headers: { 'x-api-key': 'wrong' } }), 'invalid_token');
    });
  });

  describe('JWT and introspection together', () => {
    it('verifies JWTs from the issuer locally and introspects everything else', async () => {
      const a = auth({ required: true, jwt: jwt(), introspection: introspection() });
      const base = as.counts.introspection;
      assert.equal((await a.authenticate(bearer(await as.issue({ sub: 'local', aud: RESOURCE })))).method, 'jwt');
      assert.equal(as.counts.introspection, base);
      const p = await a.authenticate(bearer(as.issueOpaque({ sub: 'remote', aud: RESOURCE })));
      assert.deepEqual([p.subject, p.method], ['remote', 'introspection']);
      assert.equal(as.counts.introspection - base, 1);
    });
  });

  describe('API keys and mTLS', () => {
    it('authenticates an API key from its header', async () => {
      const p = await auth({ required: true, apiKeys: apiKeys() }).authenticate({ headers: { 'x-api-key': API_KEY } });
      assert.deepEqual([p.subject, p.method, p.scopes], ['ci-bot', 'api-key', ['tools:call']]);
    });

    it('falls back to a verified client certificate when no header credential is present', async () => {
      const a = auth({ required: true, jwt: jwt(), mtls: { subjectFrom: 'cn' } });
      assert.equal((await a.authenticate({ headers: {}, socket: tlsSocket('svc-a') })).subject, 'svc-a');
      await rejectsWith(a.authenticate({ headers: {}, socket: tlsSocket('svc-a', false) }), 'unauthenticated');
      // A presented token is never skipped in favour of the certificate.
      await rejectsWith(a.authenticate({ ...bearer('garbage.token.here'), socket: tlsSocket('svc-a') }), 'invalid_token');
    });

    it('enforces certificate binding of tokens (RFC 8705)', async () => {
      const a = auth({ required: true, jwt: jwt() });
      const x5t = createHash('sha256').update(Buffer.from('cert-of-svc-a')).digest('base64url');
      const token = await as.issue({ sub: 'a', aud: RESOURCE, cnf: { 'x5t#S256': x5t } });
      assert.equal((await a.authenticate({ ...bearer(token), socket: tlsSocket('svc-a') })).subject, 'a');
      await rejectsWith(a.authenticate({ ...bearer(token), socket: tlsSocket('svc-b') }), 'invalid_token', /certificate/);
      await rejectsWith(a.authenticate(bearer(token)), 'invalid_token', /certificate/);
    });

    it('refuses a DPoP-bound token with an invalid_token challenge, even over TLS with a certificate', async () => {
      const a = auth({ required: true, jwt: jwt(), mtls: {} });
      const token = await as.issue({ sub: 'a', aud: RESOURCE, cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } });
      const err = await rejectsWith(a.authenticate(bearer(token)), 'invalid_token', /DPoP/);
      assert.match(a.challenge(err) ?? '', /^Bearer error="invalid_token", error_description="token is bound to a DPoP key[^"]*", resource_metadata=/);
      await rejectsWith(a.authenticate({ ...bearer(token), socket: tlsSocket('svc-a') }), 'invalid_token', /DPoP/);
    });
  });

  describe('credentialId', () => {
    it('is a keyed digest: stable under one secret, different under another, never the token', async () => {
      const token = await as.issue({ sub: 'a', aud: RESOURCE });
      const s1 = Buffer.alloc(32, 1);
      const id1 = (await auth({ jwt: jwt() }, { credentialIdSecret: s1 }).authenticate(bearer(token))).credentialId;
      const id1again = (await auth({ jwt: jwt() }, { credentialIdSecret: s1 }).authenticate(bearer(token))).credentialId;
      const id2 = (await auth({ jwt: jwt() }, { credentialIdSecret: Buffer.alloc(32, 2) }).authenticate(bearer(token))).credentialId;
      assert.equal(id1, id1again);
      assert.notEqual(id1, id2);
      assert.ok(!token.includes(id1!) && id1 !== tokenDigest(token).slice(0, 32));
    });
  });

  describe('revalidate (continuous validation)', () => {
    it('ends a JWT principal at exp', async () => {
      const a = auth({ required: true, jwt: jwt() });
      const p = await a.authenticate(bearer(await as.issue({ sub: 'a', aud: RESOURCE, expiresIn: 60 })));
      assert.deepEqual(await a.revalidate(p), { ok: true });
      clock += 61_000;
      assert.deepEqual(await a.revalidate(p), { ok: false, reason: 'credential expired' });
    });

    it('re-introspects past the cache and sees a revocation', async () => {
      const a = auth({ required: true, introspection: introspection(), authorizationServers: [as.issuer] });
      const token = as.issueOpaque({ sub: 'streamer', aud: RESOURCE });
      const p = await a.authenticate(bearer(token));
      assert.deepEqual(await a.revalidate(p), { ok: true });
      as.revoke(token);
      // The cached answer still says active (no new introspection call)…
      const calls = as.counts.introspection;
      assert.equal((await a.authenticate(bearer(token))).subject, 'streamer');
      assert.equal(as.counts.introspection, calls);
      // …but revalidation asks the server.
      assert.deepEqual(await a.revalidate(p), { ok: false, reason: 'token is not active' });
    });

    it('works with a principal from the Authenticator a config reload replaced', async () => {
      const cfg = { required: true, introspection: introspection(), authorizationServers: [as.issuer] };
      const token = as.issueOpaque({ sub: 'long-stream', aud: RESOURCE });
      const p = await auth(cfg).authenticate(bearer(token));
      const reloaded = auth(cfg);
      assert.deepEqual(await reloaded.revalidate(p), { ok: true });
      as.revoke(token);
      assert.equal((await reloaded.revalidate(p)).ok, false);
      assert.equal((await reloaded.revalidate({ ...p })).ok, false, 'a copied principal has no token to re-introspect');
    });

    it('ends an API-key principal once the key is removed from config', async () => {
      const p = await auth({ required: true, apiKeys: apiKeys() }).authenticate({ headers: { 'x-api-key': API_KEY } });
      assert.deepEqual(await auth({ required: true, apiKeys: apiKeys() }).revalidate(p), { ok: true });
      const other = apiKeys([{ id: 'other', sha256: tokenDigest('another-key'), subject: 'x', scopes: [] }]);
      assert.deepEqual(await auth({ required: true, apiKeys: other }).revalidate(p), { ok: false, reason: 'API key no longer configured' });
    });

    it('applies newly required scopes and methods to running streams', async () => {
      const p = await auth({ required: true, jwt: jwt() }).authenticate(bearer(await as.issue({ sub: 'a', aud: RESOURCE, scope: 'r' })));
      assert.equal((await auth({ required: true, jwt: jwt(), requiredScopes: ['w'] }).revalidate(p)).ok, false);
      assert.equal((await auth({ required: true, apiKeys: apiKeys() }).revalidate(p)).ok, false);
      assert.equal((await auth({ required: true, jwt: jwt() }).revalidate(ANONYMOUS)).ok, false);
      assert.equal((await auth({ jwt: jwt() }).revalidate(ANONYMOUS)).ok, true);
    });

    it('ends an mTLS principal when its certificate is no longer allowed', async () => {
      const p = await auth({ required: true, mtls: {} }).authenticate({ headers: {}, socket: tlsSocket('svc-a') });
      assert.equal((await auth({ required: true, mtls: {} }).revalidate(p)).ok, true);
      assert.equal((await auth({ required: true, mtls: { allowedSubjects: ['svc-b'] } }).revalidate(p)).ok, false);
    });
  });

  it('needs a resource URL, from config or options', () => {
    assert.throws(() => new Authenticator(AuthSchema.parse({})));
    const a = new Authenticator(AuthSchema.parse({ resource: 'https://gw.example.com/other' }), { resource: RESOURCE });
    assert.equal(a.resource, 'https://gw.example.com/other');
    assert.equal(a.metadataUrl, 'https://gw.example.com/.well-known/oauth-protected-resource/other');
    assert.equal(a.metadata.resource, 'https://gw.example.com/other');
  });
});
