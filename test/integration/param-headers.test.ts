/**
 * `Mcp-Param-*` headers of a 2026-07-28 call are checked against the body even for a tool the
 * client never listed through the gateway (a fresh gateway, another replica, a client that cached
 * its list): the gateway fetches the upstream's list itself, and a mismatch never reaches the
 * upstream, which here (the v2 SDK) would not have checked it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from './support/sdk-gateway.ts';
import { startV2Upstream, type RunningV2Upstream } from './support/sdk-v2-upstream.ts';
import { MODERN, post } from './support/hostile-harness.ts';

const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

describe('Mcp-Param-* for a tool the gateway has not seen listed', () => {
  let upstream: RunningV2Upstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startV2Upstream();
  });
  after(async () => {
    await gw?.close();
    await upstream.close();
  });

  const lookup = (account: string, header: string | undefined, id: number) =>
    post(gw.gateway.port, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'lookup', arguments: { account }, _meta: meta } }, {
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'lookup',
      ...(header !== undefined && { 'mcp-param-account': header }),
    });

  it('a mismatch is refused with 400 / -32020 and the call never reaches the upstream', async () => {
    gw = await startTestGateway(upstream.url);
    const r = await lookup('acct-1', 'acct-2', 1);
    assert.equal(r.status, 400, r.text);
    assert.equal(JSON.parse(r.text).error.code, -32020);
    const calls = upstream.probe.headers.filter((h) => h['mcp-method'] === 'tools/call');
    assert.equal(calls.length, 0, 'the upstream never saw the mismatched call');
    assert.ok(upstream.probe.headers.some((h) => h['mcp-method'] === 'tools/list'), 'the gateway listed the tools itself');
  });

  it('a missing header for an annotated argument is refused; a matching one goes through', async () => {
    assert.equal((await lookup('acct-1', undefined, 2)).status, 400);
    const ok = await lookup('acct-1', 'acct-1', 3);
    assert.equal(ok.status, 200, ok.text);
  });
});
