/**
 * DNS rebinding against the admin listener, through the real gateway: a page on a name the
 * attacker controls, re-resolved to the loopback admin address, is same-origin to the victim's
 * browser. It must not list pending approvals (their argument previews) nor approve a call,
 * while probes, the CLI and curl keep working.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader, MODERN, parseJson, post, type Loose } from './support/hostile-harness.ts';

interface AdminReply {
  status: number;
  contentType: string | undefined;
  text: string;
}

/**
 * The approvals API's token, sent on every request here, the attacker's included: the worst case
 * (a token that leaked), so what stops a rebound page is the Host/Origin guard alone.
 */
let bearer: string | undefined;

/** One admin request with whatever Host / Origin the test says (fetch cannot set Host). */
function adminRequest(adminUrl: string, o: { method?: string; path: string; host?: string; origin?: string; body?: string }): Promise<AdminReply> {
  const u = new URL(adminUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: o.host ?? u.host };
    if (bearer !== undefined) headers['authorization'] = `Bearer ${bearer}`;
    if (o.origin !== undefined) headers['origin'] = o.origin;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(o.body));
    }
    const req = httpRequest({ host: u.hostname, port: u.port, path: o.path, method: o.method ?? 'GET', headers, setHost: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

function config(upstream: string, admin: ConfigInput['admin'] = { port: 0 }): ReturnType<typeof ConfigSchema.parse> {
  return ConfigSchema.parse({
    server: { port: 0 },
    admin,
    logging: { level: 'silent' },
    routes: [{ name: 'tools', path: '/mcp', upstream: { url: upstream } }],
    policy: { default: 'allow', rules: [{ name: 'ask', when: 'request.kind == "tool" && tool.name == "add"', decision: 'require-approval', reason: 'ask' }] },
    approvals: { channel: 'queue', timeoutMs: 60_000 },
  });
}

describe('admin listener (loopback, per-run token) against DNS rebinding', () => {
  let demo: DemoServer;
  let gw: Gateway;
  let dataDir: string;
  let port: string;

  before(async () => {
    demo = await startDemoServer({ port: 0 });
    dataDir = tempDataDir();
    gw = await startGateway({ dataDir, config: config(demo.url), identify: identifyByHeader, logger: silentLogger });
    port = new URL(gw.adminUrl!).port;
    bearer = gw.adminToken;
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await demo.close();
  });

  it("a rebound page cannot read the queue nor approve the victim's call; the operator still can", async () => {
    const victim = post(gw.port, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add', arguments: { a: 40, b: 2, secret: 'victim-preview' }, _meta: MODERN_META } }, {
      'x-test-user': 'victim',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'add',
    });
    let id: string | undefined;
    for (let i = 0; i < 500 && id === undefined; i++) {
      id = gw.approvals.list().find((p) => p.principal === 'victim')?.id;
      if (id === undefined) await sleep(10);
    }
    assert.ok(id, 'the victim call waits for approval');

    const attacker = { host: `attacker.example:${port}`, origin: `http://attacker.example:${port}` };
    // A same-origin GET from the rebound page carries no Origin: only its Host gives it away.
    for (const probe of [{ host: attacker.host }, attacker]) {
      const list = await adminRequest(gw.adminUrl!, { path: '/approvals', ...probe });
      assert.equal(list.status, 403, list.text);
      assert.match(list.contentType ?? '', /^application\/json/);
      assert.equal(JSON.parse(list.text).error, 'host_forbidden');
      assert.ok(!list.text.includes('victim-preview') && !list.text.includes(id), 'nothing of the queue leaks');
    }
    const approve = await adminRequest(gw.adminUrl!, { method: 'POST', path: `/approvals/${id}/approve`, ...attacker, body: JSON.stringify({ by: 'attacker' }) });
    assert.equal(approve.status, 403, approve.text);
    assert.equal(JSON.parse(approve.text).error, 'host_forbidden');

    // A browser page on another origin (loopback Host, foreign Origin): refused too, before the
    // body is read, whatever its content type.
    const crossOrigin = await adminRequest(gw.adminUrl!, { method: 'POST', path: `/approvals/${id}/approve`, origin: 'http://attacker.example', body: JSON.stringify({ by: 'attacker' }) });
    assert.equal(crossOrigin.status, 403, crossOrigin.text);
    assert.equal(JSON.parse(crossOrigin.text).error, 'origin_forbidden');
    // Even a loopback page: nothing on the admin listener is for browsers unless listed.
    const localPage = await adminRequest(gw.adminUrl!, { method: 'POST', path: `/approvals/${id}/approve`, origin: 'http://localhost:3000', body: JSON.stringify({ by: 'local-page' }) });
    assert.equal(localPage.status, 403, localPage.text);

    assert.ok(gw.approvals.get(id), 'still pending: nothing above decided it');

    // The operator's own tools (no Origin, the bound address as Host) work as before.
    const ok = await adminRequest(gw.adminUrl!, { method: 'POST', path: `/approvals/${id}/approve`, body: JSON.stringify({ by: 'operator' }) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(parseJson(await victim).result?.content?.[0]?.text, '42');
    assert.equal((await adminRequest(gw.adminUrl!, { path: '/approvals', host: `localhost:${port}` })).status, 200);
  });

  it('probes keep working with loopback names; a rebinding name is refused on them too', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      for (const path of ['/livez', '/readyz', '/metrics']) {
        const r = await adminRequest(gw.adminUrl!, { path, host });
        assert.equal(r.status, 200, `${path} Host ${host}: ${r.text}`);
      }
    }
    const r = await adminRequest(gw.adminUrl!, { path: '/metrics', host: `attacker.example:${port}` });
    assert.equal(r.status, 403);
  });

  it('refusals are in the audit trail with the Host and Origin that were refused', async () => {
    let found: Loose[] = [];
    for (let i = 0; i < 100 && found.length === 0; i++) {
      const reader = new SqliteSink({ path: join(dataDir, '.portcullis', 'audit.db'), readOnly: true });
      found = [];
      for await (const rec of reader.read({ kind: 'refusal' })) found.push(rec);
      await reader.close();
      found = found.filter((f) => String(f.http_request?.url?.path ?? '').startsWith('/approvals'));
      if (found.length === 0) await sleep(50);
    }
    assert.ok(found.length > 0, 'the rebinding attempts on /approvals were recorded');
    assert.ok(found.some((f) => f.status_code === 'host_forbidden' && f.unmapped?.host === `attacker.example:${port}`), JSON.stringify(found[0]));
  });
});

describe('admin listener off loopback (a pod)', () => {
  let demo: DemoServer;
  let gw: Gateway;
  before(async () => {
    demo = await startDemoServer({ port: 0 });
    gw = await startGateway({
      dataDir: tempDataDir(),
      config: config(demo.url, { host: '0.0.0.0', port: 0, token: 'admin-token-0123456789abcdef' }),
      identify: identifyByHeader,
      logger: silentLogger,
    });
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await demo.close();
  });

  it("a Kubernetes probe (Host: the pod's IP) is answered; a DNS name is refused until listed in admin.allowedHosts", async () => {
    const port = new URL(gw.adminUrl!).port;
    const admin = `http://127.0.0.1:${port}`;
    for (const host of [`10.244.1.17:${port}`, `[fd00:10:244::17]:${port}`]) {
      for (const path of ['/livez', '/readyz', '/metrics']) assert.equal((await adminRequest(admin, { path, host })).status, 200, `${path} Host ${host}`);
    }
    const byName = await adminRequest(admin, { path: '/metrics', host: `portcullis-admin.monitoring.svc:${port}` });
    assert.equal(byName.status, 403);
    assert.match(JSON.parse(byName.text).message, /admin\.allowedHosts/);

    // Hot reload: list the name; the bound address is unchanged, the guard follows the config.
    const next = structuredClone(gw.config);
    next.admin.allowedHosts = ['portcullis-admin.monitoring.svc'];
    gw.apply(next);
    assert.equal((await adminRequest(admin, { path: '/metrics', host: `portcullis-admin.monitoring.svc:${port}` })).status, 200);
    assert.equal((await adminRequest(admin, { path: '/livez', host: `10.244.1.17:${port}` })).status, 200, 'listing a name does not lock out the kubelet');
    assert.equal((await adminRequest(admin, { path: '/metrics', host: `attacker.example:${port}` })).status, 403);
  });
});
