import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { TOKEN_TYPE, UpstreamAuthSchema } from './config.ts';

const fails = (input: unknown): string => {
  const r = UpstreamAuthSchema.safeParse(input);
  assert.equal(r.success, false, `expected ${JSON.stringify(input)} to be refused`);
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};

describe('UpstreamAuthSchema', () => {
  it('static: defaults to Authorization and needs exactly one of value and valueFile', () => {
    assert.deepEqual(UpstreamAuthSchema.parse({ type: 'static', value: 'k' }), { type: 'static', header: 'authorization', value: 'k' });
    assert.match(fails({ type: 'static' }), /exactly one of value and valueFile/);
    assert.match(fails({ type: 'static', value: 'k', valueFile: '/f' }), /exactly one/);
  });

  it('static: refuses header injection and gateway-owned headers', () => {
    fails({ type: 'static', value: 'k\r\nx-evil: 1' });
    fails({ type: 'static', header: 'Host', value: 'k' });
    fails({ type: 'static', header: 'Mcp-Session-Id', value: 'k' });
    fails({ type: 'static', header: 'bad header', value: 'k' });
    fails({ type: 'static', value: 'k', scheme: 'Bearer x' });
  });

  it('client-credentials: fills defaults', () => {
    const c = UpstreamAuthSchema.parse({ type: 'client-credentials', tokenUrl: 'https://as/token', clientId: 'gw', clientSecret: 's' });
    assert.equal(c.type === 'client-credentials' && c.authMethod, 'client_secret_basic');
    assert.equal(c.type === 'client-credentials' && c.refreshSkewSec, 30);
  });

  it('token-exchange: defaults to access-token subject and requested types', () => {
    const c = UpstreamAuthSchema.parse({ type: 'token-exchange', tokenUrl: 'https://as/token', clientId: 'gw', clientSecret: 's', audience: 'up' });
    assert.ok(c.type === 'token-exchange');
    assert.equal(c.subjectTokenType, TOKEN_TYPE.accessToken);
    assert.equal(c.requestedTokenType, TOKEN_TYPE.accessToken);
  });

  it('refuses unknown types, unknown keys and bad scopes', () => {
    fails({ type: 'passthrough' });
    fails({ type: 'client-credentials', tokenUrl: 'https://as/token', clientId: 'gw', clientSecret: 's', secret: 'typo' });
    fails({ type: 'client-credentials', tokenUrl: 'https://as/token', clientId: 'gw', clientSecret: 's', scope: ['a b'] });
  });

  it('converts to JSON Schema the way the config loader publishes it', () => {
    assert.doesNotThrow(() => z.toJSONSchema(UpstreamAuthSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }));
  });
});
