import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../core/errors.ts';
import { bearerToken, extractCredential } from './extract.ts';

const invalid = (err: unknown) => err instanceof GatewayError && err.code === 'invalid_token';

describe('bearerToken (RFC 6750 §2.1)', () => {
  it('reads the token with a case-insensitive scheme', () => {
    assert.equal(bearerToken({ authorization: 'Bearer abc.def-_~+/=' }), 'abc.def-_~+/=');
    assert.equal(bearerToken({ authorization: 'bearer  xyz' }), 'xyz');
  });

  it('treats a missing header or another scheme as no bearer credential', () => {
    assert.equal(bearerToken({}), undefined);
    assert.equal(bearerToken({ authorization: 'Basic dXNlcjpwYXNz' }), undefined);
    assert.equal(bearerToken({ authorization: 'Bearertoken' }), undefined);
  });

  it('refuses a malformed token after the Bearer scheme', () => {
    assert.throws(() => bearerToken({ authorization: 'Bearer' }), invalid);
    assert.throws(() => bearerToken({ authorization: 'Bearer a b' }), invalid);
    assert.throws(() => bearerToken({ authorization: 'Bearer "quoted"' }), invalid);
  });
});

describe('extractCredential', () => {
  const both = { bearer: true, apiKeyHeader: 'x-api-key' };

  it('prefers the bearer token over an API key', () => {
    assert.deepEqual(extractCredential({ authorization: 'Bearer t', 'x-api-key': 'k' }, both), { kind: 'bearer', token: 't' });
  });

  it('reads the API key from its header, ignoring Authorization when bearer is off', () => {
    assert.deepEqual(extractCredential({ authorization: 'Bearer t', 'x-api-key': ' k ' }, { bearer: false, apiKeyHeader: 'X-Api-Key' }), {
      kind: 'api-key',
      key: 'k',
    });
    assert.deepEqual(extractCredential({ authorization: 'Bearer t' }, { bearer: false, apiKeyHeader: undefined }), { kind: 'none' });
  });

  it('does not accept an API key through Authorization', () => {
    assert.deepEqual(extractCredential({ authorization: 'ApiKey k' }, both), { kind: 'none' });
  });

  it('refuses repeated or empty API key headers', () => {
    assert.throws(() => extractCredential({ 'x-api-key': ['a', 'b'] }, both), invalid);
    assert.throws(() => extractCredential({ 'x-api-key': '  ' }, both), invalid);
  });
});
