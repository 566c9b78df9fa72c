/**
 * The evidence report as a person sees it: rendered by headless Chromium, screenshot kept as a
 * test artifact (TEST_ARTIFACTS_DIR, default <tmp>/portcullis-test-artifacts). Skipped where
 * Chromium is not installed; the HTML itself is checked in cli.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chain, checkpointEvent, signCheckpoint } from './chain.ts';
import { EvidenceCollector, escapeHtml, renderReport } from './report.ts';
import { verifyRecords } from './verify.ts';
import type { AuditRecord } from './record.ts';
import { builder, context, testKeys } from './testkit.ts';

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const r = spawnSync('which', [name], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

function trail(): { records: AuditRecord[]; keys: ReturnType<typeof testKeys> } {
  const keys = testKeys();
  const chain = new Chain();
  const out: AuditRecord[] = [];
  const T0 = Date.parse('2026-03-01T12:00:00Z');
  out.push(chain.link(builder.lifecycle({ time: T0, activity: 'start', policyVersion: 'policy-7', controls: [{ name: 'route mcp: inspectors', detail: 'policy, redact (aws-access-key)' }] })));
  for (let i = 0; i < 120; i++) {
    const verdict = i % 8 === 0 ? 'block' : 'allow';
    out.push(chain.link(builder.exchange({ ...context(i), time: T0 + i * 1000, verdict, ...(verdict === 'block' && { reasons: ['policy/tool-denied'] }) })));
    if (i % 15 === 0) for (const f of builder.findings({ context: context(i), time: T0 + i * 1000, inspector: 'redact', direction: 's2c', action: 'redacted', findings: [{ type: 'aws-access-key', pointer: '/result' }] })) out.push(chain.link(f));
  }
  out.push(chain.link(checkpointEvent(signCheckpoint(chain.head, T0 + 200_000, keys.signer), 'cp')));
  return { records: out, keys };
}

describe('evidence report', () => {
  it('escapes everything it prints', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  const chromium = findChromium();
  // Required in CI (.ci/run sets CI and installs Chromium): there a missing browser fails the test.
  it('renders in Chromium (screenshot kept as a test artifact)', { skip: chromium || process.env['CI'] ? false : 'Chromium is not installed' }, (t) => {
    const { records, keys } = trail();
    const collector = new EvidenceCollector();
    for (const r of records) collector.add(r);
    const html = renderReport(collector.finish(verifyRecords(records, { publicKeys: keys.publicKeys }), { source: 'test trail', now: Date.parse('2026-03-02T00:00:00Z') }));
    const dir = process.env['TEST_ARTIFACTS_DIR'] ?? join(tmpdir(), 'portcullis-test-artifacts');
    mkdirSync(dir, { recursive: true });
    const htmlPath = join(dir, 'audit-evidence-report.html');
    const pngPath = join(dir, 'audit-evidence-report.png');
    writeFileSync(htmlPath, html);
    execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1100,1600', `--screenshot=${pngPath}`, `file://${htmlPath}`], { stdio: 'ignore', timeout: 60_000 });
    const png = readFileSync(pngPath);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    // IHDR width/height (big-endian at offsets 16 and 20).
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1100, 1600]);
    assert.ok(png.length > 20_000, 'the page rendered content, not a blank canvas');
    // What Chromium laid out is the report, not an error page: its DOM after rendering.
    const dom = execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${htmlPath}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    for (const heading of ['Portcullis audit evidence report', 'Chain verification', 'Controls in force', 'Calls by verdict', 'DLP findings by type', 'Approvals', 'Servers and tools seen']) {
      assert.ok(dom.includes(heading), `rendered: ${heading}`);
    }
    t.diagnostic(`screenshot: ${pngPath}`);
  });
});
