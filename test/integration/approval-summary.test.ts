/**
 * What an operator reads about a call waiting for approval is the call as it will be forwarded:
 * policy (which asks for the approval) runs before DLP, and its summary used to quote the
 * arguments as the client sent them, so `GET /approvals` (and `portcullis approvals`) showed a
 * secret in clear next to an arguments preview and a forwarded call that had it masked (found by
 * a red-team review). The secret is assembled at run time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader, post, send, type Loose } from './support/hostile-harness.ts';

const SECRET = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const MASKED = 'deploy with [REDACTED:aws-access-key-id]';

describe('approval summaries', () => {
  let demo: DemoServer;
  let gw: Gateway;
  before(async () => {
    demo = await startDemoServer({ port: 0 });
    const input: ConfigInput = {
      server: { port: 0 },
      admin: { port: 0 },
      logging: { level: 'silent' },
      routes: [{ name: 'tools', path: '/mcp', upstream: { url: demo.url }, inspectors: [{ type: 'dlp' }] }],
      policy: { default: 'allow', rules: [{ name: 'ask', when: 'request.kind == "tool" && tool.name == "echo"', decision: 'require-approval', reason: 'ask', message: 'Deploys need a second pair of eyes' }] },
      approvals: { channel: 'queue', timeoutMs: 60_000 },
    };
    gw = await startGateway({ dataDir: tempDataDir(), config: ConfigSchema.parse(input), identify: identifyByHeader, logger: silentLogger });
  });
  after(async () => {
    await gw.close();
    await demo.close();
  });

  it('describe the call with the arguments DLP masked, never the secret the client sent', async () => {
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    const held = post(
      gw.port,
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: `deploy with ${SECRET}` }, _meta: meta } },
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'x-test-user': 'alice' },
    );
    const port = Number(new URL(gw.adminUrl!).port);
    const auth = { host: `127.0.0.1:${port}`, authorization: `Bearer ${gw.adminToken}` };
    let pending: Loose;
    for (let i = 0; i < 100 && pending === undefined; i++) {
      pending = (JSON.parse((await send(port, { method: 'GET', path: '/approvals', headers: auth })).text) as Loose).approvals[0];
      if (pending === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(pending, 'the call waits for an operator');
    const detail = JSON.parse((await send(port, { method: 'GET', path: `/approvals/${pending.id}`, headers: auth })).text) as Loose;
    for (const shown of [JSON.stringify(pending), JSON.stringify(detail)]) assert.ok(!shown.includes(SECRET), shown);
    assert.match(pending.summary, /^Deploys need a second pair of eyes — alice wants to call tool "echo" with \{"text":"deploy with \[REDACTED:aws-access-key-id\]"\} \(arguments sha256:[0-9a-f]{12}\)$/);
    await send(port, { method: 'POST', path: `/approvals/${pending.id}/approve`, headers: { ...auth, 'content-type': 'application/json' }, body: '{"by":"op"}' });
    const answer = JSON.parse((await held).text) as Loose;
    assert.equal(answer.result.content[0].text, MASKED, 'what was approved is what ran');
  });
});
