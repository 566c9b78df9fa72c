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

test('non-loopback listener without a host list: addresses and loopback names pass, DNS names are refused', () => {
  const g = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '0.0.0.0' });
  // Rebinding needs a name the attacker controls; an address (also a NATed one) cannot be one.
  for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '10.1.2.3:8080', '192.168.0.7', '[2001:db8::5]:8080', '[::2]']) {
    assert.equal(code(() => g.check(host, undefined)), undefined, host);
  }
  for (const host of ['gw.internal:8080', 'evil.example.com', '10.1.2.3.nip.io:8080', 'localhost.evil.com', '[::2', '']) {
    assert.equal(code(() => g.check(host, undefined)), 'host_forbidden', host);
  }
  assert.equal(code(() => g.check('10.1.2.3:8080', 'http://evil.example.com')), 'origin_forbidden');
});

test('a refused Host says which setting allows it, without echoing the value', () => {
  const g = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '0.0.0.0' });
  let err: GatewayError | undefined;
  try { g.check('gw.internal:8080', undefined); } catch (e) { err = e as GatewayError; }
  assert.equal(err?.code, 'host_forbidden');
  assert.match(err?.message ?? '', /security\.allowedHosts/);
  assert.match(err?.message ?? '', /server\.publicUrl/);
  assert.doesNotMatch(err?.message ?? '', /gw\.internal/);
});

test('the bind address and the public URL host pass by default; a loopback bind stays loopback-only', () => {
  const named = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: 'gw.internal' });
  assert.equal(code(() => named.check('gw.internal:8080', undefined)), undefined);
  assert.equal(code(() => named.check('other.internal:8080', undefined)), 'host_forbidden');
  const pub = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '0.0.0.0', publicUrl: 'https://mcp.example.com' });
  assert.equal(code(() => pub.check('mcp.example.com', undefined)), undefined);
  assert.equal(code(() => pub.check('localhost:8080', undefined)), undefined);
  assert.equal(code(() => pub.check('other.example.com', undefined)), 'host_forbidden');
  const loop = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '127.0.0.1' });
  assert.equal(code(() => loop.check('10.0.0.1', undefined)), 'host_forbidden');
});

test('an explicit host list is the whole answer; ["*"] opts out of Host checks (not Origin)', () => {
  const listed = new RequestGuard({ allowedOrigins: [], allowedHosts: ['gw.example.com'], bindHost: '0.0.0.0' });
  assert.equal(code(() => listed.check('gw.example.com:443', undefined)), undefined);
  assert.equal(code(() => listed.check('localhost:8080', undefined)), 'host_forbidden');
  assert.equal(code(() => listed.check('10.1.2.3', undefined)), 'host_forbidden');
  const any = new RequestGuard({ allowedOrigins: [], allowedHosts: ['*'], bindHost: '0.0.0.0' });
  assert.equal(code(() => any.check('anything.example:1', undefined)), undefined);
  assert.equal(code(() => any.check('anything.example:1', 'http://evil.example.com')), 'origin_forbidden');
  assert.equal(code(() => any.check(undefined, undefined)), 'host_forbidden');
});

test('defaultOrigins none: no browser origin unless listed (the admin listener); the data-plane default is unchanged', () => {
  const admin = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '127.0.0.1', defaultOrigins: 'none', hostHint: 'use admin.allowedHosts' });
  assert.equal(code(() => admin.check('localhost:9090', undefined)), undefined);
  assert.equal(code(() => admin.check('localhost:9090', 'http://localhost:3000')), 'origin_forbidden');
  let detail: string | undefined;
  try {
    admin.check('evil.example', undefined);
  } catch (e) {
    detail = (e as GatewayError).detail;
  }
  assert.equal(detail, 'use admin.allowedHosts');
  const listed = new RequestGuard({ allowedOrigins: ['https://ops.example.com'], allowedHosts: [], bindHost: '127.0.0.1', defaultOrigins: 'none' });
  assert.equal(code(() => listed.check('localhost', 'https://ops.example.com')), undefined);
  const data = new RequestGuard({ allowedOrigins: [], allowedHosts: [], bindHost: '127.0.0.1' });
  assert.equal(code(() => data.check('localhost:8080', 'http://localhost:3000')), undefined);
});

test('keepDefaultHosts: listed names are added to the defaults instead of replacing them', () => {
  const g = new RequestGuard({ allowedOrigins: [], allowedHosts: ['metrics.internal'], bindHost: '0.0.0.0', keepDefaultHosts: true });
  assert.equal(code(() => g.check('metrics.internal:9090', undefined)), undefined);
  assert.equal(code(() => g.check('10.1.2.3:9090', undefined)), undefined);
  assert.equal(code(() => g.check('localhost', undefined)), undefined);
  assert.equal(code(() => g.check('evil.example', undefined)), 'host_forbidden');
  const replacing = new RequestGuard({ allowedOrigins: [], allowedHosts: ['metrics.internal'], bindHost: '0.0.0.0' });
  assert.equal(code(() => replacing.check('10.1.2.3:9090', undefined)), 'host_forbidden', 'the data plane: a list is the whole answer');
});
