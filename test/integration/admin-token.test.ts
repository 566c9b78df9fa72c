/**
 * The approvals API is never open: without `admin.token`, each start makes a token of its own,
 * written owner-only to `.portcullis/admin-token` where `portcullis approvals` run from the same
 * directory finds it. An agent with a shell on the host cannot `curl` its own call through.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOCAL_TOKEN_FILE } from '../../src/admin/local-token.ts';
import { runApprovalsCli } from '../../src/approval/cli.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';

const config = (upstream: string) => ConfigSchema.parse({ server: { port: 0 }, admin: { port: 0 }, logging: { level: 'silent' }, routes: [{ name: 'tools', path: '/mcp', upstream: { url: upstream } }] });

async function cli(argv: string[], env: Record<string, string>, cwd: string): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (s: string) => (out += s);
  const code = await runApprovalsCli(argv, { stdout: { write }, stderr: { write }, env, cwd });
  return { code, out };
}

describe('admin API token when admin.token is not set', () => {
  let demo: DemoServer;
  let gw: Gateway;
  const dataDir = tempDataDir();
  before(async () => {
    demo = await startDemoServer({ port: 0 });
    gw = await startGateway({ config: config(demo.url), dataDir, logger: silentLogger });
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await demo.close();
  });

  it('the approvals API refuses a caller without it; the token is in .portcullis/admin-token, owner-only', async () => {
    const open = await fetch(`${gw.adminUrl}/approvals`);
    assert.equal(open.status, 401);
    await open.text();
    const approve = await fetch(`${gw.adminUrl}/approvals/apr_x/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"by":"security-team"}' });
    assert.equal(approve.status, 401);
    await approve.text();
    const path = join(dataDir, LOCAL_TOKEN_FILE);
    assert.equal(readFileSync(path, 'utf8').trim(), gw.adminToken);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const ok = await fetch(`${gw.adminUrl}/approvals`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
    assert.equal(ok.status, 200);
    await ok.text();
    // Probes stay open: a load balancer has no token.
    assert.equal((await fetch(`${gw.adminUrl}/readyz`)).status, 200);
  });

  it('`portcullis approvals` run from the data directory uses it; from elsewhere, without a token, it is refused', async () => {
    const env = { PORTCULLIS_ADMIN_URL: gw.adminUrl! };
    assert.deepEqual(await cli(['list'], env, dataDir), { code: 0, out: 'No pending approvals.\n' });
    const elsewhere = await cli(['list'], env, tempDataDir());
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.out, /HTTP 401/);
  });

  it('a reload that removes admin.token falls back to a per-run token in the data directory', async () => {
    const dir = tempDataDir();
    const withToken = ConfigSchema.parse({ ...config(demo.url), admin: { port: 0, token: 'configured-admin-token-0123456789' } });
    const g = await startGateway({ config: withToken, dataDir: dir, logger: silentLogger });
    try {
      assert.equal(g.adminToken, 'configured-admin-token-0123456789');
      g.apply(config(demo.url));
      assert.equal(readFileSync(join(dir, LOCAL_TOKEN_FILE), 'utf8').trim(), g.adminToken);
      const r = await fetch(`${g.adminUrl}/approvals`, { headers: { authorization: `Bearer ${g.adminToken}` } });
      assert.equal(r.status, 200);
      await r.text();
    } finally {
      await g.close({ graceMs: 0 });
    }
  });

  it('a restart makes a new token: the old one stops working', async () => {
    const old = gw.adminToken!;
    await gw.close({ graceMs: 0 });
    assert.equal(existsSync(join(dataDir, LOCAL_TOKEN_FILE)), false, 'a stopped gateway leaves no token for the CLI to send');
    gw = await startGateway({ config: config(demo.url), dataDir, logger: silentLogger });
    assert.notEqual(gw.adminToken, old);
    const r = await fetch(`${gw.adminUrl}/approvals`, { headers: { authorization: `Bearer ${old}` } });
    assert.equal(r.status, 401);
    await r.text();
  });
});
