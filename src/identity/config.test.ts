import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { AuthSchema, authorizationServersOf, scopesSupportedOf } from './config.ts';

const JWT = { issuer: 'https://as.example.com', jwksUrl: 'https://as.example.com/jwks' };

function issues(input: unknown): string[] {
  const r = AuthSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('AuthSchema', () => {
  it('defaults to an optional, method-less route', () => {
    const a = AuthSchema.parse({});
    assert.equal(a.required, false);
    assert.deepEqual([a.authorizationServers, a.scopesSupported, a.requiredScopes], [[], [], []]);
  });

  it('fills JWT defaults: asymmetric algorithms, 30 s tolerance', () => {
    const a = AuthSchema.parse({ required: true, jwt: JWT });
    assert.deepEqual(a.jwt?.algorithms, ['RS256', 'ES256', 'EdDSA', 'PS256']);
    assert.equal(a.jwt?.clockToleranceSec, 30);
    assert.deepEqual(authorizationServersOf(a), ['https://as.example.com']);
  });

  it('refuses none and HMAC algorithms', () => {
    assert.notDeepEqual(issues({ jwt: { ...JWT, algorithms: ['none'] } }), []);
    assert.notDeepEqual(issues({ jwt: { ...JWT, algorithms: ['HS256'] } }), []);
  });

  it('refuses unknown keys (typos)', () => {
    assert.match(issues({ requred: true }).join(), /requred/);
    assert.notDeepEqual(issues({ jwt: { ...JWT, audience: 'x' } }), []);
  });

  it('requires a method when required, and required when scopes are required', () => {
    assert.match(issues({ required: true }).join(), /^required: needs at least one/);
    assert.match(issues({ requiredScopes: ['a'], jwt: JWT }).join(), /^requiredScopes: requires required: true/);
    assert.deepEqual(issues({ required: true, requiredScopes: ['a'], jwt: JWT }), []);
  });

  it('requires an authorization server for introspection without jwt', () => {
    const introspection = { url: 'https://as/introspect', clientId: 'gw', clientSecret: 's' };
    assert.match(issues({ introspection }).join(), /^authorizationServers:/);
    assert.deepEqual(issues({ introspection, authorizationServers: ['https://as'] }), []);
  });

  it('validates API keys: 64-hex digests, unique ids and digests, not in Authorization', () => {
    const key = { id: 'k1', sha256: 'a'.repeat(64), subject: 's' };
    assert.deepEqual(issues({ apiKeys: { keys: [key] } }), []);
    assert.notDeepEqual(issues({ apiKeys: { keys: [{ ...key, sha256: 'secret-key' }] } }), []);
    assert.match(issues({ apiKeys: { keys: [key, { ...key, sha256: 'A'.repeat(64) }] } }).join(), /duplicate id/);
    assert.match(issues({ apiKeys: { keys: [key, { ...key, id: 'k2' }] } }).join(), /duplicate sha256/);
    assert.notDeepEqual(issues({ apiKeys: { header: 'Authorization', keys: [key] } }), []);
    assert.equal(AuthSchema.parse({ apiKeys: { keys: [key] } }).apiKeys?.header, 'x-api-key');
  });

  it('refuses scopes that could break a challenge header', () => {
    assert.notDeepEqual(issues({ scopesSupported: ['a b'] }), []);
    assert.notDeepEqual(issues({ scopesSupported: ['a"b'] }), []);
  });

  it('normalises mTLS fingerprints to lowercase hex without colons', () => {
    const fp = 'AB:'.repeat(31) + 'AB';
    assert.deepEqual(AuthSchema.parse({ mtls: { allowedFingerprints: [fp] } }).mtls?.allowedFingerprints, ['ab'.repeat(32)]);
  });

  it('advertises required scopes when no supported scopes are listed', () => {
    assert.deepEqual(scopesSupportedOf(AuthSchema.parse({ required: true, requiredScopes: ['r'], jwt: JWT })), ['r']);
  });

  it('converts to JSON Schema the way the config loader publishes it', () => {
    assert.doesNotThrow(() => z.toJSONSchema(AuthSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }));
  });
});
