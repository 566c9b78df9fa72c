import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../core/errors.ts';
import { requireScopes, scopesFromClaims } from './scopes.ts';

describe('scopes', () => {
  it('reads space-delimited scope and array scp claims', () => {
    assert.deepEqual(scopesFromClaims({ scope: 'a  b' }), ['a', 'b']);
    assert.deepEqual(scopesFromClaims({ scp: ['c', 7, 'd'] }), ['c', 'd']);
    assert.deepEqual(scopesFromClaims({ scope: 'a', scp: 'a e' }), ['a', 'e']);
    assert.deepEqual(scopesFromClaims({ scope: 42 }), []);
  });

  it('requires every required scope and reports them', () => {
    requireScopes(['a', 'b', 'c'], ['a', 'c']);
    requireScopes(undefined, []);
    assert.throws(
      () => requireScopes(['a'], ['a', 'b']),
      (err: unknown) =>
        err instanceof GatewayError && err.code === 'insufficient_scope' && JSON.stringify(err.data) === '{"requiredScopes":["a","b"]}',
    );
  });
});
