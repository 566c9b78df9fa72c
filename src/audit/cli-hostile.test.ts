/**
 * `portcullis audit` on hostile input: records a store hands back that are not what the gateway
 * writes (json null, a time outside the Date range, no `unmapped`), a damaged public key file,
 * a JSON-lines file whose last line is not JSON, and names holding bidirectional controls. Each
 * is reported with where it is; none crashes a command with a bare TypeError.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditSchema } from './config.ts';
import { openAudit } from './open.ts';
import type { AuditRecord } from './record.ts';
import { context, tempDir, TrailCopies } from './testkit.ts';

const dir = tempDir('cli-hostile');
after(() => rmSync(dir, { recursive: true, force: true }));
const trail = join(dir, 'trail');
const T0 = Date.parse('2026-03-01T12:00:00Z');
const BIDI_TOOL = 'read\u202Egnp.exe\u202C';

await (async () => {
  const audit = await openAudit(
    AuditSchema.parse({
      sinks: [{ type: 'sqlite', path: join(trail, 'audit.db') }, { type: 'file', path: join(trail, 'files', 'audit.jsonl') }],
      spoolDir: join(trail, 'spool'),
      keyDir: join(trail, 'keys'),
      checkpoint: { everyRecords: 10, everyMs: 0 },
    }),
  );
  assert.ok(audit);
  for (let i = 0; i < 20; i++) {
    const ctx = i === 3 ? { ...context(i), target: { type: 'tool' as const, name: BIDI_TOOL } } : context(i);
    audit.log.append(audit.records.exchange({ ...ctx, time: T0 + i * 1000, verdict: 'allow', arguments: { n: i } }));
  }
  await audit.close();
})();

/** Fresh copies of the trail (database, state, keys), and the CLI run on one. */
const copies = new TrailCopies(trail, dir, T0 + 86_400_000);
const copy = (): string => copies.copy();
const cli = (at: string, ...argv: string[]) => copies.cli(at, ...argv);

function setJson(at: string, seq: number, edit: (r: AuditRecord) => unknown): void {
  const d = new DatabaseSync(join(at, 'audit.db'));
  try {
    const r = JSON.parse((d.prepare('SELECT json FROM audit_records WHERE seq = ?').get(seq) as { json: string }).json) as AuditRecord;
    d.prepare('UPDATE audit_records SET json = ? WHERE seq = ?').run(JSON.stringify(edit(r)), seq);
  } finally {
    d.close();
  }
}

describe('hostile records', () => {
  it('a json null row: verify says where, query/export/report skip it with where and do not crash', async () => {
    const at = copy();
    setJson(at, 5, () => null);
    const v = await cli(at, 'verify');
    assert.equal(v.code, 1, v.out + v.err);
    assert.match(v.out, /malformed\s+seq 5 at row seq 5: the json column is not a JSON object \(null\)/);
    for (const args of [['query'], ['query', '--json'], ['export'], ['export', '--format', 'csv']]) {
      const r = await cli(at, ...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, /malformed: the record after seq 4 in \S*audit\.db is not a usable audit record \(not a JSON object \(null\)\)/, args.join(' '));
      assert.doesNotMatch(r.err, /TypeError|Cannot read/);
    }
    const rep = await cli(at, 'report');
    assert.equal(rep.code, 1, rep.err);
    assert.match(rep.out, /badge fail/);
  });

  it('a time outside the Date range and a record without unmapped', async () => {
    const at = copy();
    setJson(at, 4, (r) => ({ ...r, time: 1e20 }));
    setJson(at, 6, (r) => {
      const { unmapped: _, ...rest } = r;
      return rest;
    });
    for (const args of [['query'], ['export', '--format', 'csv']]) {
      const r = await cli(at, ...args);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /malformed: record seq 4 .*time 100000000000000000000 is not a time in the Date range/);
      assert.match(r.err, /malformed: record seq 6 .*no unmapped object/);
    }
    const v = await cli(at, 'verify');
    assert.equal(v.code, 1);
    assert.match(v.out, /edited\s+seq 4/);
    const rep = await cli(at, 'report');
    assert.equal(rep.code, 1, rep.err);
  });
});

describe('hostile files', () => {
  it('a damaged *.pub.pem is skipped with a note naming it; the other keys still verify', async () => {
    const at = copy();
    writeFileSync(join(at, 'keys', 'audit-signing.deadbeef.pub.pem'), '-----BEGIN PUBLIC KEY-----\nnot base64 at all\n');
    const r = await cli(at, 'verify');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /note: skipped \S*audit-signing\.deadbeef\.pub\.pem: not a readable PEM public key/);
  });

  it('a JSON-lines file whose last line is not JSON: verify goes through the rest and names the line; query and export say which file and line', async () => {
    const at = copy();
    const files = join(at, 'files');
    const seg = join(files, readdirSync(files).find((n) => n.endsWith('.jsonl'))!);
    const size = readFileSync(seg).length;
    const lines = readFileSync(seg, 'utf8').split('\n').length;
    writeFileSync(seg, readFileSync(seg, 'utf8') + '{"seq": oops}\n');
    const r = await cli(at, 'verify', '--file', join(files, 'audit.jsonl'));
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, new RegExp(`malformed\\s+seq - at ${seg.replace(/[.\\]/g, '\\$&')} line ${lines} \\(byte ${size}\\)`), r.out);
    assert.match(r.out, /\b2[0-9] records\b/, 'the records before it were read and verified');
    const q = await cli(at, 'query', '--file', join(files, 'audit.jsonl'));
    assert.equal(q.code, 1);
    assert.match(q.err, new RegExp(`${seg.replace(/[.\\]/g, '\\$&')}:${lines}: not a JSON audit record`));
  });
});

describe('terminal output', () => {
  it('escapes bidirectional controls in names like other control characters', async () => {
    const r = await cli(trail, 'query', '--principal', 'user-3');
    assert.equal(r.code, 0, r.err);
    assert.ok(!/[\u202a-\u202e\u2066-\u2069]/.test(r.out), 'no bidi control reaches the terminal');
    assert.ok(r.out.includes('read\ufffdgnp.exe\ufffd'), r.out);
  });
});
