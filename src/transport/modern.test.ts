import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../core/errors.ts';
import { checkVersionHeader, LEGACY_VERSIONS, MODERN_VERSIONS, SUPPORTED_VERSIONS, validateModernRequest } from './modern.ts';

function thrown(fn: () => unknown): GatewayError | undefined {
  try { fn(); return undefined; } catch (e) { return e as GatewayError; }
}

const modernBody = (version: string) => ({
  jsonrpc: '2.0', id: 1, method: 'tools/list',
  params: { _meta: { 'io.modelcontextprotocol/protocolVersion': version, 'io.modelcontextprotocol/clientCapabilities': {} } },
});

test('SUPPORTED_VERSIONS is every version of both eras, newest first', () => {
  assert.deepEqual(SUPPORTED_VERSIONS, [...MODERN_VERSIONS, ...LEGACY_VERSIONS]);
  assert.ok(SUPPORTED_VERSIONS.includes('2026-07-28') && SUPPORTED_VERSIONS.includes('2025-11-25') && SUPPORTED_VERSIONS.includes('2025-03-26'));
  assert.deepEqual([...SUPPORTED_VERSIONS].sort().reverse(), [...SUPPORTED_VERSIONS]);
});

test('-32022 from a modern request lists the versions server/discover reports (the modern ones)', () => {
  const e = thrown(() => validateModernRequest({}, modernBody('2099-01-01'), 'tools/list', false));
  assert.equal(e?.code, 'unsupported_protocol_version');
  assert.deepEqual(e?.data, { supported: [...MODERN_VERSIONS], requested: '2099-01-01' });
});

test('checkVersionHeader: absent or any served version passes; anything else is -32022 with every version', () => {
  for (const v of [undefined, ...SUPPORTED_VERSIONS, ' 2025-11-25 ']) {
    assert.equal(thrown(() => checkVersionHeader(v === undefined ? {} : { 'mcp-protocol-version': v })), undefined, String(v));
  }
  for (const v of ['bogus', '2025-11-26', '', 'x'.repeat(500)]) {
    const e = thrown(() => checkVersionHeader({ 'mcp-protocol-version': v }));
    assert.equal(e?.code, 'unsupported_protocol_version', v.slice(0, 20));
    assert.equal(e?.status, 400);
    assert.deepEqual(e?.data?.['supported'], [...SUPPORTED_VERSIONS]);
    assert.ok(String(e?.data?.['requested']).length <= 64);
  }
});
