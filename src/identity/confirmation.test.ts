import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../core/errors.ts';
import { requireVerifiableConfirmation } from './confirmation.ts';

const invalid = (detail: RegExp) => (err: unknown) => {
  assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
  assert.equal(err.code, 'invalid_token');
  assert.match(err.detail ?? '', detail);
  return true;
};

describe('requireVerifiableConfirmation (cnf, RFC 7800 §3.1)', () => {
  it('passes unbound tokens and certificate-bound ones (checked per request in mtls.ts)', () => {
    requireVerifiableConfirmation({ sub: 'a' });
    requireVerifiableConfirmation({ sub: 'a', cnf: { 'x5t#S256': 'abc' } });
  });

  it('refuses a DPoP-bound token (cnf.jkt, RFC 9449 §6): it must not degrade to a bearer token', () => {
    assert.throws(() => requireVerifiableConfirmation({ sub: 'a', cnf: { jkt: 'key-thumbprint' } }), invalid(/DPoP/));
    // Both bindings at once: the DPoP one cannot be verified, so neither may be skipped.
    assert.throws(() => requireVerifiableConfirmation({ sub: 'a', cnf: { 'x5t#S256': 'abc', jkt: 'k' } }), invalid(/DPoP/));
  });

  it('refuses any other confirmation method, and a cnf that names none or is not an object', () => {
    assert.throws(() => requireVerifiableConfirmation({ cnf: { jwk: { kty: 'EC' } } }), invalid(/confirmation method/));
    assert.throws(() => requireVerifiableConfirmation({ cnf: { 'x5t#S256': 'abc', kid: 'k' } }), invalid(/confirmation method/));
    assert.throws(() => requireVerifiableConfirmation({ cnf: {} }), invalid(/names no method/));
    for (const cnf of [null, 'jkt', ['jkt'], 1]) assert.throws(() => requireVerifiableConfirmation({ cnf }), invalid(/malformed/));
  });
});
