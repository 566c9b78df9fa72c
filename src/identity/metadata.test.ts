import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthSchema } from './config.ts';
import { metadataForRoute, protectedResourceMetadata, wellKnownMetadataPath, wellKnownMetadataUrl } from './metadata.ts';

describe('RFC 9728 metadata', () => {
  it('inserts the well-known suffix between host and path (§3.1)', () => {
    assert.equal(wellKnownMetadataUrl('https://gw.example.com/mcp'), 'https://gw.example.com/.well-known/oauth-protected-resource/mcp');
    assert.equal(wellKnownMetadataUrl('https://gw.example.com/'), 'https://gw.example.com/.well-known/oauth-protected-resource');
    assert.equal(wellKnownMetadataUrl('https://gw.example.com'), 'https://gw.example.com/.well-known/oauth-protected-resource');
    assert.equal(
      wellKnownMetadataUrl('http://127.0.0.1:8080/tenant/a/mcp?x=1'),
      'http://127.0.0.1:8080/.well-known/oauth-protected-resource/tenant/a/mcp?x=1',
    );
    assert.equal(wellKnownMetadataPath('https://gw.example.com/mcp'), '/.well-known/oauth-protected-resource/mcp');
  });

  it('refuses a resource with a fragment', () => {
    assert.throws(() => wellKnownMetadataUrl('https://gw.example.com/mcp#x'));
  });

  it('builds the document, leaving out empty optional lists', () => {
    assert.deepEqual(protectedResourceMetadata({ resource: 'https://r', authorizationServers: [], scopesSupported: [] }), {
      resource: 'https://r',
      bearer_methods_supported: ['header'],
    });
  });

  it('derives the route document from auth config', () => {
    const cfg = AuthSchema.parse({
      required: true,
      resourceName: 'Tools',
      requiredScopes: ['mcp'],
      jwt: { issuer: 'https://as.example.com', jwksUrl: 'https://as.example.com/jwks' },
    });
    assert.deepEqual(metadataForRoute(cfg, 'https://gw.example.com/mcp'), {
      resource: 'https://gw.example.com/mcp',
      authorization_servers: ['https://as.example.com'],
      scopes_supported: ['mcp'],
      bearer_methods_supported: ['header'],
      resource_name: 'Tools',
    });
  });
});
