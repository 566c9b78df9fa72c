/**
 * `portcullis audit …` end to end: a trail written through openAudit (config → keys → sinks →
 * AuditLog), then verified, queried, exported and reported on from the stored database.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runAuditCli } from './cli.ts';
import { AuditSchema } from './config.ts';
import { openAudit } from './open.ts';
import { context, tempDir } from './testkit.ts';
import type { AuditRecord } from './record.ts';

const dir = tempDir('cli');
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'audit.db');
const state = join(dir, 'spool');
const keysDir = join(dir, 'keys');
const T0 = Date.parse('2026-03-01T12:00:00Z');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditCli(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    defaults: { db, stateDir: state, keyDir: keysDir },
    now: () => T0 + 86_400_000,
  });
  return { code, out, err };
}

// Top-level await, not before(): the trail must exist before any suite runs.
await (async () => {
  const config = AuditSchema.parse({
    sinks: [{ type: 'sqlite', path: db }],
    spoolDir: state,
    keyDir: keysDir,
    checkpoint: { everyRecords: 25, everyMs: 0 },
  });
  const audit = await openAudit(config);
  assert.ok(audit);
  const { log, records } = audit;
  log.append(records.lifecycle({ time: T0, activity: 'start', policyVersion: 'policy-7', controls: [{ name: 'route mcp', detail: 'jwt auth; policy; redact (aws-access-key)' }] }));
  log.append(records.auth({ time: T0 + 1, outcome: 'failure', method: 'jwt', reason: 'invalid_token', route: 'mcp' }));
  for (let i = 0; i < 60; i++) {
    const ctx = { ...context(i), policyVersion: 'policy-7' };
    const verdict = i % 6 === 0 ? 'block' : 'allow';
    log.append(records.exchange({ ...ctx, time: T0 + i * 1000, verdict, ...(verdict === 'block' && { reasons: ['policy/tool-denied'], errorCode: 'policy_denied' }), arguments: { n: i } }));
    if (i % 10 === 3) {
      log.append(records.findings({ context: ctx, time: T0 + i * 1000 + 1, inspector: 'redact', direction: 's2c', action: 'redacted', findings: [{ type: 'aws-access-key', pointer: '/result/content/0/text', start: 4, end: 24 }] }));
    }
  }
  const hostile = { ...context(99), target: { type: 'tool' as const, name: '=HYPERLINK("http://evil")<script>alert(1)</script>' } };
  log.append(records.exchange({ ...hostile, time: T0 + 99_000, verdict: 'require-approval', approval: { outcome: 'approved', by: 'alice' } }));
  log.append(records.stream({ context: context(7), time: T0 + 100_000, streamId: 's1', phase: 'closed', end: 'cancelled', cause: 'client-disconnect', sent: { events: 3, bytes: 900 } }));
  await audit.close();
})();

function rows(sql: string, ...params: Array<string | number>): void {
  const d = new DatabaseSync(db);
  try {
    d.prepare(sql).run(...params);
  } finally {
    d.close();
  }
}

describe('audit verify', () => {
  it('passes on an intact store, using the key directory and the gateway state', async () => {
    const r = await cli('verify');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^OK: .*audit\.db: \d+ records, seq 1\.\.\d+, anchored at genesis, \d+ checkpoints/);
    const json = JSON.parse((await cli('verify', '--json')).out) as { ok: boolean; notes: string[]; lastSeq: number };
    assert.equal(json.ok, true);
    assert.deepEqual(json.notes, []);
  });

  it('fails on an edited record and says which', async () => {
    const d = new DatabaseSync(db);
    const row = d.prepare('SELECT json FROM audit_records WHERE seq = 10').get() as { json: string };
    d.close();
    const rec = JSON.parse(row.json) as AuditRecord;
    rec.unmapped['verdict'] = 'allow-but-edited';
    rows('UPDATE audit_records SET json = ? WHERE seq = 10', JSON.stringify(rec));
    const r = await cli('verify');
    assert.equal(r.code, 1);
    assert.match(r.out, /^FAILED/);
    assert.match(r.out, new RegExp(`edited\\s+seq 10 \\(record ${rec.metadata.uid}\\)`));
    rows('UPDATE audit_records SET json = ? WHERE seq = 10', row.json);
    assert.equal((await cli('verify')).code, 0);
  });

  it('fails when a query column disagrees with its record (a block hidden from --verdict block)', async () => {
    const blocked = (await cli('query', '--verdict', 'block', '--json')).out.trim().split('\n').map((l) => (JSON.parse(l) as AuditRecord).seq);
    const seq = blocked[1]!;
    rows("UPDATE audit_records SET verdict = 'allow', time = time + 1 WHERE seq = ?", seq);
    try {
      const hidden = (await cli('query', '--verdict', 'block', '--json')).out.trim().split('\n').map((l) => (JSON.parse(l) as AuditRecord).seq);
      assert.ok(!hidden.includes(seq), 'the edit hides the record from the query');
      const r = await cli('verify');
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`index-mismatch\\s+seq ${seq} at row seq ${seq}: .*time column \\d+, record \\d+; verdict column "allow", record "block"`));
    } finally {
      rows("UPDATE audit_records SET verdict = 'block', time = time - 1 WHERE seq = ?", seq);
    }
    assert.equal((await cli('verify')).code, 0);
  });

  it('catches a tail cut after the last checkpoint, from the delivery cursor in the state directory', async () => {
    const d = new DatabaseSync(db);
    const saved = d.prepare('SELECT * FROM audit_records WHERE seq > 70 ORDER BY seq').all() as Array<Record<string, string | number | null>>;
    d.prepare('DELETE FROM audit_records WHERE seq > 70').run();
    d.close();
    const r = await cli('verify');
    assert.equal(r.code, 1);
    assert.match(r.out, /truncated\s+seq 71\.\.\d+: the store ends at seq 70/);
    const w = new DatabaseSync(db);
    const ins = w.prepare('INSERT INTO audit_records (seq, uid, time, class_uid, kind, principal, tool, verdict, finding_types, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const s of saved) ins.run(s['seq']!, s['uid']!, s['time']!, s['class_uid']!, s['kind']!, s['principal'] ?? null, s['tool'] ?? null, s['verdict'] ?? null, s['finding_types']!, s['json']!);
    w.close();
    assert.equal((await cli('verify')).code, 0);
  });

  it('reports checkpoints it cannot check when no public key is available', async () => {
    const r = await cli('verify', '--keys', join(dir, 'nowhere'));
    assert.equal(r.code, 1);
    assert.match(r.out, /checkpoint-signature .*unknown key/);
    assert.match(r.out, /note: no public keys found/);
  });
});

describe('audit query and export', () => {
  it('filters by principal, tool, verdict, finding type and time', async () => {
    const byTool = await cli('query', '--tool', 'tool-0', '--verdict', 'block', '--json');
    const recs = byTool.out.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(
      recs.map((r) => r.metadata.correlation_uid),
      [0, 30].map((i) => `ex-${i}`),
    );
    const findings = (await cli('query', '--finding', 'aws-access-key', '--json')).out.trim().split('\n');
    assert.equal(findings.length, 6);
    const window = await cli('query', '--since', new Date(T0 + 10_000).toISOString(), '--until', String(T0 + 12_000), '--kind', 'exchange', '--json');
    assert.equal(window.out.trim().split('\n').length, 3);
    const table = await cli('query', '--principal', 'user-1', '--limit', '2');
    assert.equal(table.out.trim().split('\n').length, 3, 'header and two rows');
    assert.match(table.err, /2 record\(s\)/);
  });

  it('exports CSV (RFC 4180 quoting, formula cells neutralized) and JSON lines to a file', async () => {
    const csv = await cli('export', '--format', 'csv', '--kind', 'exchange');
    const lines = csv.out.trimEnd().split('\r\n');
    assert.equal(lines[0], 'seq,time,uid,class_uid,kind,principal,tool,verdict,finding_types,method,route,status,reasons,hash');
    assert.equal(lines.length, 62);
    const hostile = lines.find((l) => l.includes('HYPERLINK'))!;
    assert.ok(hostile.includes(`"'=HYPERLINK(""http://evil"")<script>alert(1)</script>"`), hostile);
    const out = join(dir, 'export.jsonl');
    const r = await cli('export', '--out', out, '--principal', 'user-2');
    assert.equal(r.code, 0);
    const exported = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.ok(exported.length > 10);
    assert.ok(exported.every((e) => (e['actor'] as { user: { uid: string } }).user.uid === 'user-2'));
    assert.equal((await cli('export', '--out', out)).code, 1, 'never overwrites an existing file');
  });

  it('rejects bad usage with exit 2', async () => {
    assert.equal((await cli()).code, 2);
    assert.equal((await cli('frobnicate')).code, 2);
    assert.equal((await cli('query', '--since', 'yesterday')).code, 2);
    assert.equal((await cli('export', '--format', 'xml')).code, 2);
    assert.equal((await cli('query', '--db', db, '--file', 'x')).code, 2);
    assert.equal((await cli('query', '--nope')).code, 2);
  });
});

describe('audit report', () => {
  it('renders a self-contained, escaped HTML evidence report with the verification result', async () => {
    const path = join(dir, 'report.html');
    const r = await cli('report', '--out', path);
    assert.equal(r.code, 0, r.err);
    const html = readFileSync(path, 'utf8');
    assert.match(html, /<span class="badge pass">PASSED<\/span>/);
    for (const section of ['Chain verification', 'Controls in force', 'Calls by verdict', 'Blocks by reason', 'DLP findings by type', 'Approvals', 'Servers and tools seen']) {
      assert.ok(html.includes(`<h2>${section}</h2>`), section);
    }
    assert.ok(html.includes('<code>policy-7</code>'));
    assert.ok(html.includes('jwt auth; policy; redact (aws-access-key)'));
    assert.match(html, /<th>policy\/tool-denied<\/th><td class="num">10<\/td>/);
    assert.match(html, /<td>aws-access-key<\/td><td class="num">6<\/td><td class="num">6<\/td><td class="num">6<\/td>/);
    assert.ok(!html.includes('<script>'), 'client-supplied names are escaped');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!/\s(src|href)=/i.test(html), 'no external assets');
    assert.ok(html.includes("default-src 'none'"));
    assert.match(html, /Partial streams \(cancelled, cut or failed, recorded with what was sent\): 1/);
  });

  it('shows a failed verification prominently', async () => {
    rows('DELETE FROM audit_records WHERE seq = 5');
    const r = await cli('report');
    assert.equal(r.code, 1, 'the report is written, and the status says the chain failed');
    assert.match(r.out, /<span class="badge fail">FAILED<\/span>/);
    assert.match(r.out, /<td>missing<\/td><td>5<\/td>/);
  });
});
