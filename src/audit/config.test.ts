import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditSchema, sinkNameOf } from './config.ts';
import { openAudit } from './open.ts';
import { tempDir } from './testkit.ts';

const dir = tempDir('config');
after(() => rmSync(dir, { recursive: true, force: true }));

const issues = (input: unknown) => {
  const r = AuditSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('AuditSchema', () => {
  it('defaults to a safe, working trail: on, SQLite at .portcullis/audit.db, fail-closed, digests only', () => {
    assert.deepEqual(AuditSchema.parse({}), {
      enabled: true,
      sinks: [{ type: 'sqlite', path: '.portcullis/audit.db' }],
      spoolDir: '.portcullis/audit-spool',
      spoolMaxBytes: 1024 * 1024 * 1024,
      posture: 'fail-closed',
      batchMs: 100,
      streamSegmentMs: 5000,
      checkpoint: { everyRecords: 1000, everyMs: 60_000 },
      keyDir: '.portcullis/audit-keys',
      retention: { everyMs: 3_600_000 },
      includeContent: 'none',
    });
  });

  it('fills each sink type with its defaults', () => {
    const c = AuditSchema.parse({
      sinks: [
        { type: 'file' },
        { type: 'postgres', url: 'postgres://u@db/audit' },
        { type: 'syslog', host: 'siem.example' },
        { type: 'splunk-hec', url: 'https://splunk.example:8088', token: 't' },
        { type: 'webhook', url: 'https://hooks.example/audit', secret: '0123456789abcdef' },
      ],
    });
    assert.deepEqual(c.sinks, [
      { type: 'file', path: '.portcullis/audit/audit.jsonl', rotateBytes: 64 * 1024 * 1024, rotateAgeMs: 86_400_000, fsync: 'batch' },
      { type: 'postgres', url: 'postgres://u@db/audit', table: 'portcullis_audit' },
      { type: 'syslog', host: 'siem.example', port: 6514, tls: true, appName: 'portcullis' },
      { type: 'splunk-hec', url: 'https://splunk.example:8088', token: 't', sourcetype: 'ocsf', timeoutMs: 15_000 },
      { type: 'webhook', url: 'https://hooks.example/audit', secret: '0123456789abcdef', timeoutMs: 15_000 },
    ]);
  });

  it('rejects typos, unsafe values and ambiguous sink names with a path to each problem', () => {
    assert.deepEqual(issues({ postur: 'shed' }), [': Unrecognized key: "postur"']);
    assert.ok(issues({ posture: 'drop' })[0]!.startsWith('posture:'));
    assert.ok(issues({ sinks: [] })[0]!.includes('at least one sink'));
    assert.ok(issues({ sinks: [{ type: 'kafka' }] })[0]!.startsWith('sinks.0'));
    assert.ok(issues({ sinks: [{ type: 'postgres', url: 'postgres://x', table: 'a; drop' }] })[0]!.startsWith('sinks.0.table'));
    assert.ok(issues({ sinks: [{ type: 'webhook', url: 'https://x', secret: 'short' }] })[0]!.startsWith('sinks.0.secret'));
    assert.ok(issues({ sinks: [{ type: 'syslog', host: 'h', appName: 'has space' }] })[0]!.startsWith('sinks.0.appName'));
    assert.ok(issues({ digestKey: 'c2hvcnQ=' })[0]!.startsWith('digestKey'));
    assert.ok(issues({ checkpoint: { everyRecords: 0 } })[0]!.startsWith('checkpoint.everyRecords'));
    assert.deepEqual(issues({ sinks: [{ type: 'sqlite' }, { type: 'sqlite', path: 'b.db', name: 'sqlite' }] }), ['sinks.1.name: duplicate sink name "sqlite" (also at [0]): set a distinct name']);
  });

  it('names sinks by type, or type-index when a type repeats', () => {
    const sinks = [{ type: 'sqlite' }, { type: 'file' }, { type: 'file' }, { type: 'file', name: 'archive' }];
    assert.deepEqual(sinks.map((s, i) => sinkNameOf(s, i, sinks)), ['sqlite', 'file-1', 'file-2', 'archive']);
  });
});

describe('openAudit', () => {
  it('returns nothing when audit is disabled', async () => {
    assert.equal(await openAudit(AuditSchema.parse({ enabled: false })), undefined);
  });

  it('opens relative paths under baseDir, records through the builder, and closes cleanly', async () => {
    const audit = await openAudit(AuditSchema.parse({ sinks: [{ type: 'sqlite' }, { type: 'file' }] }), { baseDir: dir });
    assert.ok(audit);
    const seq = audit.log.append(audit.records.lifecycle({ time: Date.now(), activity: 'start' }));
    assert.equal(seq, 1);
    assert.ok(await audit.log.flush());
    assert.deepEqual(audit.log.metrics().sinks.map((s) => [s.name, s.ackedSeq]), [['sqlite', 1], ['file', 1]]);
    await audit.close();
    const reopened = await openAudit(AuditSchema.parse({ sinks: [{ type: 'sqlite' }, { type: 'file' }] }), { baseDir: dir });
    assert.equal(reopened!.log.head().seq, 2, 'the close checkpoint is seq 2; the chain continues');
    assert.equal(reopened!.keys.signer.keyId, audit.keys.signer.keyId, 'the generated key was kept in keyDir');
    await reopened!.close();
    assert.ok(existsSync(join(dir, '.portcullis', 'audit.db')));
    assert.ok(existsSync(join(dir, '.portcullis', 'audit-spool', 'head.json')));
  });
});
