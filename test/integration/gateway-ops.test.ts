/**
 * Operating the gateway: hot reload swaps inspectors atomically and keeps the last good config
 * on a bad edit; the admin listener reports health and metrics of real traffic.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { modernCall } from './support/gateway.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { FAKE_AWS_KEY } from '../../src/demo/tools.ts';

let demo: DemoServer;
let gw: Gateway;
let dir: string;
let file: string;

function yaml(upstream: string, redact: boolean): string {
  return [
    'server: { port: 0 }',
    'admin: { port: 0 }',
    'routes:',
    '  - name: demo',
    '    path: /mcp',
    `    upstream: { url: "${upstream}" }`,
    ...(redact ? ['    inspectors:', '      - type: redact', '        patterns: [{ name: aws-key, regex: "AKIA[0-9A-Z]{16}" }]'] : []),
    '',
  ].join('\n');
}

async function leak(): Promise<string> {
  const { res } = await modernCall(`${gw.url}/mcp`, 'tools/call', { name: 'leak_secret', arguments: {} });
  return res.text();
}

async function until(pred: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  demo = await startDemoServer({ port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'portcullis-ops-'));
  file = join(dir, 'gateway.yaml');
  await writeFile(file, yaml(demo.url, false));
  gw = await startGateway({ dataDir: tempDataDir(), config: await loadConfig(file), configPath: file, logger: silentLogger });
});

after(async () => {
  await gw.close();
  await demo.close();
  await rm(dir, { recursive: true, force: true });
});

test('hot reload adds an inspector; a bad edit keeps the last good config', async () => {
  assert.ok((await leak()).includes(FAKE_AWS_KEY), 'no redaction before the reload');
  await writeFile(file, yaml(demo.url, true));
  await until(async () => !(await leak()).includes(FAKE_AWS_KEY), 'the redact inspector to take effect');
  await writeFile(file, 'routes: [ { name: BAD } ]\n');
  await new Promise((r) => setTimeout(r, 400));
  const text = await leak();
  assert.match(text, /\[REDACTED:aws-key\]/, 'the last good config is still in force');
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /portcullis_config_reloads_total\{result="ok"\} 1/);
  assert.match(metrics, /portcullis_config_reloads_total\{result="error"\} [1-9]/);
});

test('admin: livez, readyz and request metrics by route, method and era', async () => {
  assert.equal((await fetch(`${gw.adminUrl}/livez`)).status, 200);
  const ready = await fetch(`${gw.adminUrl}/readyz`);
  assert.equal(ready.status, 200);
  await leak();
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /portcullis_requests_total\{route="demo",method="tools\/call",era="modern",status="2xx"\} \d+/);
  assert.match(metrics, /portcullis_verdicts_total\{inspector="redact",verdict="redact",reason="redact\/aws-key"\} \d+/);
  // The audit trail's health: accepting calls, records appended, the default SQLite sink healthy.
  assert.match(metrics, /^portcullis_audit_accepting 1$/m);
  assert.match(metrics, /^portcullis_audit_records\{state="appended"\} [1-9]\d*$/m);
  assert.match(metrics, /^portcullis_audit_sink_healthy\{sink="sqlite"\} 1$/m);
  assert.match(metrics, /^portcullis_audit_sink_spool_bytes\{sink="sqlite"\} 0$/m);
});
