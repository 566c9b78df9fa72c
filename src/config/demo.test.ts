import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDemoServer, type DemoServer } from '../demo/server.ts';
import { startGateway, type Gateway } from '../gateway.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { withDemoDefaults } from './demo.ts';
import { quickConfig } from './quick.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('the embedded default (npm start)', () => {
  let demo: DemoServer;
  let gw: Gateway;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-demo-'));
  before(async () => {
    demo = await startDemoServer({ port: 0 });
    gw = await startGateway({ config: withDemoDefaults(quickConfig({ upstream: demo.url, port: 0, adminPort: 0 })), admin: false, logger: silentLogger, dataDir: dir });
  });
  after(async () => {
    await gw.close();
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (name: string, args: Record<string, unknown>, caps: Record<string, unknown> = {}) => {
    const r = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': caps } } }),
    });
    return (await r.json()) as { result?: { resultType?: string; content?: Array<{ text: string }> }; error?: { data?: { code?: string } } };
  };

  it('redacts the demo secrets, allows read-only tools and asks before the others', async () => {
    const listed = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } }),
    });
    assert.equal(listed.status, 200);
    const leak = await call('leak_secret', {});
    assert.match(leak.result!.content![0]!.text, /\[REDACTED:/);
    assert.equal((await call('echo', { text: 'hi' })).result!.content![0]!.text, 'hi');
    const ask = await call('demo_notify', { message: 'x' }, { elicitation: {} });
    assert.equal(ask.result?.resultType, 'input_required', 'a tool without readOnlyHint asks for approval');
  });
});
