import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../core/errors.ts';
import { buildChallenge, challengeFor } from './challenge.ts';

const META = 'https://gw.example.com/.well-known/oauth-protected-resource/mcp';

describe('WWW-Authenticate challenge', () => {
  it('has no error code when no credential was presented (RFC 6750 §3.1)', () => {
    assert.equal(
      challengeFor(new GatewayError('unauthenticated'), { resourceMetadataUrl: META, requiredScopes: ['tools:read', 'tools:call'] }),
      `Bearer resource_metadata="${META}", scope="tools:read tools:call"`,
    );
  });

  it('names invalid_token with a description', () => {
    assert.equal(
      challengeFor(new GatewayError('invalid_token', 'token expired'), { resourceMetadataUrl: META }),
      `Bearer error="invalid_token", error_description="token expired", resource_metadata="${META}"`,
    );
    assert.match(challengeFor(new GatewayError('credential_expired', 'credential expired'), {}) ?? '', /^Bearer error="invalid_token"/);
  });

  it('names insufficient_scope with the scopes the error requires', () => {
    const err = new GatewayError('insufficient_scope', 'missing scope: admin', { requiredScopes: ['admin'] });
    assert.equal(
      challengeFor(err, { resourceMetadataUrl: META, requiredScopes: ['read'] }),
      `Bearer error="insufficient_scope", error_description="missing scope: admin", resource_metadata="${META}", scope="admin"`,
    );
  });

  it('gives no challenge for errors that are not about the credential', () => {
    assert.equal(challengeFor(new GatewayError('internal'), { resourceMetadataUrl: META }), undefined);
  });

  it('cannot be broken out of by quotes, backslashes, CR or LF in any value', () => {
    const h = buildChallenge({
      error: 'invalid_token',
      errorDescription: 'bad"\r\nSet-Cookie: x=1\\',
      resourceMetadataUrl: 'https://gw/a"b\\c\r\nd',
      scopes: ['ok', 'bad"scope', 'a b'],
      realm: 'r"\n',
    });
    assert.ok(!/[\r\n\0]/.test(h));
    assert.ok(!h.includes('\\'));
    // Every quoted-string is properly closed: attributes split cleanly on `", `.
    assert.equal(h, 'Bearer realm="r", error="invalid_token", error_description="badSet-Cookie: x=1", resource_metadata="https://gw/abcd", scope="ok"');
  });

  it('truncates very long descriptions', () => {
    const h = buildChallenge({ error: 'invalid_token', errorDescription: 'x'.repeat(1000) });
    assert.ok(h.length < 300);
  });
});
