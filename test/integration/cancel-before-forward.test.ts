/**
 * 2026-07-28: closing the response stream IS the cancellation. A client that leaves while the
 * gateway is still deciding (a slow inspector, a tool-list lookup for Mcp-Param checks) has
 * cancelled before anything was sent: the call must not go upstream afterwards.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Inspector } from '../../src/pipeline/types.ts';
import { MODERN, startStack, type Stack } from './support/hostile-harness.ts';
import { startHostileUpstream, type HostileUpstream } from './support/hostile-upstream.ts';

const slow: Inspector = {
  name: 'slow',
  methods: { 'tools/call': 'request' },
  needs: 'message',
  onFailure: 'closed',
  async onMessage() {
    await new Promise((r) => setTimeout(r, 600));
    return { kind: 'allow' };
  },
};

describe('a 2026 client that leaves before its call was forwarded', () => {
  let s: Stack;
  let up: HostileUpstream;
  before(async () => {
    up = await startHostileUpstream();
    s = await startStack({ upstream: up.url, extraInspectors: [slow] });
  });
  after(async () => {
    await s.close();
    await up.close();
  });
  const calls = () => up.seen.filter((r) => r.body.includes('"tools/call"')).length;

  it('cancels it: the upstream never receives the call', async () => {
    const before = calls();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ok', arguments: { text: 'x' }, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } } });
    const req = request({ port: s.port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'ok' } });
    req.on('error', () => {});
    req.end(body);
    await new Promise((r) => setTimeout(r, 150));
    req.destroy();
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(calls(), before, 'the upstream got a call its client had cancelled');
  });
});
