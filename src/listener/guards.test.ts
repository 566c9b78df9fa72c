import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestGuard } from './guards.ts';
import { GatewayError } from '../core/errors.ts';

function code(fn: () => void): string | undefined {
  try { fn(); return undefined; } catch (e) { return (e as GatewayError).code; }
}

test('loopback listener: loopback Host and Origin pass, rebinding names are refused', () => {
  const g = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '127.0.0.1' });
  assert.equal(code(() => g.check('localhost:8080', undefined)), undefined);
  assert.equal(code(() => g.check('127.0.0.1:8080', 'http://localhost:3000')), undefined);
  assert.equal(code(() => g.check('[::1]:8080', undefined)), undefined);
  assert.equal(code(() => g.check('evil.example.com', undefined)), 'host_forbidden');
  assert.equal(code(() => g.check('localhost:8080', 'http://evil.example.com')), 'origin_forbidden');
  assert.equal(code(() => g.check(undefined, undefined)), 'host_forbidden');
});

test('explicit allow lists and the public URL', () => {
  const g = new RequestGuard({ allowedOrigins: ['https://app.example.com'], allowedHosts: [], bindHost: '0.0.0.0', publicUrl: 'https://mcp.example.com' });
  assert.equal(code(() => g.check('mcp.example.com', 'https://app.example.com')), undefined);
  assert.equal(code(() => g.check('mcp.example.com', 'https://mcp.example.com')), undefined);
  assert.equal(code(() => g.check('mcp.example.com', 'https://other.example.com')), 'origin_forbidden');
  assert.equal(code(() => g.check('other.example.com', undefined)), 'host_forbidden');
});

test('non-loopback listener without a host list accepts any Host but still checks Origin', () => {
  const g = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '0.0.0.0' });
  assert.equal(code(() => g.check('gw.internal:8080', undefined)), undefined);
  assert.equal(code(() => g.check('gw.internal:8080', 'http://evil.example.com')), 'origin_forbidden');
});
