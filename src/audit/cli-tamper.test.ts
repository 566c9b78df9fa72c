/**
 * `portcullis audit` on a SQLite store tampered with in ways every record still verifies: a gap
 * marker of another sink replayed into it, the oldest records deleted up to a checkpoint, an
 * index made to disagree with its table, a record's text respelled, and a tool name built to
 * become a formula in a spreadsheet. Each copy of the trail is tampered with separately.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gapEvent, linkAt, signGap } from './chain.ts';
import { AuditSchema } from './config.ts';
import { loadAuditKeys } from './keys.ts';
import { openAudit } from './open.ts';
import type { AuditRecord } from './record.ts';
import { context, tempDir, TrailCopies } from './testkit.ts';

const dir = tempDir('cli-tamper');
after(() => rmSync(dir, { recursive: true, force: true }));
const trail = join(dir, 'trail');
const T0 = Date.parse('2026-03-01T12:00:00Z');
const FORMULA_TOOL = "search;=cmd|' /C calc'!A0;";

await (async () => {
  const audit = await openAudit(
    AuditSchema.parse({ sinks: [{ type: 'sqlite', path: join(trail, 'audit.db') }], spoolDir: join(trail, 'spool'), keyDir: join(trail, 'keys'), checkpoint: { everyRecords: 10, everyMs: 0 } }),
  );
  assert.ok(audit);
  for (let i = 0; i < 40; i++) {
    const ctx = i === 7 ? { ...context(i), target: { type: 'tool' as const, name: FORMULA_TOOL } } : context(i);
    audit.log.append(audit.records.exchange({ ...ctx, time: T0 + i * 1000, verdict: i % 5 === 0 ? 'block' : 'allow', arguments: { n: i } }));
  }
  await audit.close();
})();

/** Fresh copies of the trail (database, state, keys), and the CLI run on one. */
const copies = new TrailCopies(trail, dir, T0 + 86_400_000);
const copy = (): string => copies.copy();
const cli = (at: string, ...argv: string[]) => copies.cli(at, ...argv);

function sql(at: string, fn: (d: DatabaseSync) => void): void {
  const d = new DatabaseSync(join(at, 'audit.db'));
  try {
    fn(d);
  } finally {
    d.close();
  }
}

const recordAt = (d: DatabaseSync, seq: number) => JSON.parse((d.prepare('SELECT json FROM audit_records WHERE seq = ?').get(seq) as { json: string }).json) as AuditRecord;

describe('audit verify on a tampered SQLite store', () => {
  it('the untouched copy verifies', async () => {
    const r = await cli(copy(), 'verify');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^OK: /);
  });

  it("rejects another sink's genuinely signed gap marker replayed to erase a range", async () => {
    const at = copy();
    const { signer } = await loadAuditKeys({ keyDir: join(at, 'keys') });
    sql(at, (d) => {
      const prev = recordAt(d, 14).hash;
      const gap = signGap({ from_seq: 15, to_seq: 20, count: 6, reason: 'spool full (shed posture)', sink: 'mirror', prev_hash: prev, last_hash: recordAt(d, 20).hash, time: T0 }, signer);
      const marker = linkAt(gapEvent(gap, 'replayed'), 15, prev);
      d.prepare('DELETE FROM audit_records WHERE seq BETWEEN 15 AND 20').run();
      d.prepare("INSERT INTO audit_records (seq, uid, time, class_uid, kind, principal, tool, verdict, finding_types, json) VALUES (15, ?, ?, ?, 'gap', NULL, NULL, NULL, '', ?)").run(
        marker.metadata.uid,
        marker.time,
        marker.class_uid,
        JSON.stringify(marker),
      );
    });
    const r = await cli(at, 'verify', '--sink', 'sqlite');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /gap-foreign\s+seq 15 \(record replayed\): gap marker at seq 15 was signed for sink "mirror", not for this store's sink "sqlite"/);
    assert.match(r.out, /missing\s+seq 16\.\.20/);
    // Without --sink the store type names the sink, as the gateway names a lone sink of a type.
    assert.match((await cli(at, 'verify')).out, /gap-foreign/);
  });

  it('passes a store whose oldest records were deleted up to a checkpoint only with a warning, in the text and in the report', async () => {
    const at = copy();
    sql(at, (d) => d.prepare('DELETE FROM audit_records WHERE seq < 22').run());
    const r = await cli(at, 'verify');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^OK WITH WARNINGS: .*seq 22\.\.\d+, anchored at checkpoint/);
    assert.match(r.out, /\n {2}warning: the store starts at seq 22 at a signed checkpoint, not at genesis \(seq 1\), and no retention anchor says the gateway cut there: records before it may have been deleted/);
    const json = JSON.parse((await cli(at, 'verify', '--json')).out) as { ok: boolean; warnings: string[] };
    assert.equal(json.warnings.length, 1);
    const html = (await cli(at, 'report')).out;
    assert.ok(!html.includes('badge pass'), 'not a plain PASSED');
    assert.match(html, /<span class="badge warn">PASSED WITH WARNINGS<\/span>/);
    assert.match(html, /<ul class="warnings"><li>the store starts at seq 22 at a signed checkpoint/);
  });

  it('reports an index that disagrees with its table (rows hidden from indexed queries), by row', async () => {
    const at = copy();
    const victim = 'user-3';
    const before = (await cli(at, 'query', '--principal', victim, '--json')).out.trim().split('\n');
    assert.ok(before.length > 0);
    // defensive off: the attacker's own SQLite lets sqlite_schema be written.
    const d = new DatabaseSync(join(at, 'audit.db'), { defensive: false } as ConstructorParameters<typeof DatabaseSync>[1]);
    d.exec(`DROP INDEX audit_records_principal;
      CREATE INDEX audit_records_principal ON audit_records(principal, time) WHERE principal <> '${victim}';
      PRAGMA writable_schema = ON;
      UPDATE sqlite_schema SET sql = 'CREATE INDEX audit_records_principal ON audit_records(principal, time)' WHERE name = 'audit_records_principal';
      PRAGMA writable_schema = OFF;`);
    d.close();
    assert.equal((await cli(at, 'query', '--principal', victim, '--json')).out, '', 'the tamper hides the rows');
    const r = await cli(at, 'verify');
    assert.equal(r.code, 1, r.out);
    const seq = (JSON.parse(before[0]!) as AuditRecord).seq;
    assert.match(r.out, new RegExp(`store-integrity\\s+seq ${seq} at database \\S*audit\\.db: the database fails its integrity check: row ${seq} missing from index audit_records_principal`));
    assert.match((await cli(at, 'report')).out, /<span class="badge fail">FAILED<\/span>/);
  });

  it('reports a record whose stored text names a member twice (SQLite reads the first, the hash covers the last)', async () => {
    const at = copy();
    sql(at, (d) => {
      const row = d.prepare('SELECT json FROM audit_records WHERE seq = 6').get() as { json: string };
      const forged = row.json.replace('"verdict":"block"', '"verdict":"allow","verdict":"block"');
      assert.notEqual(forged, row.json);
      d.prepare('UPDATE audit_records SET json = ? WHERE seq = 6').run(forged);
      assert.equal((d.prepare("SELECT json_extract(json, '$.unmapped.verdict') AS v FROM audit_records WHERE seq = 6").get() as { v: string }).v, 'allow');
    });
    const r = await cli(at, 'verify');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /edited\s+seq 6 .*stored text is not the text the gateway wrote/);
  });
});

describe('audit export --format csv', () => {
  it("quotes text cells and neutralizes a formula after a ';' (the list separator in many locales)", async () => {
    const r = await cli(trail, 'export', '--format', 'csv');
    assert.equal(r.code, 0, r.err);
    const row = r.out.split('\r\n').find((l) => l.includes('calc'))!;
    assert.ok(row, r.out);
    // Read as a spreadsheet in a ';' locale would: split on ';' and ',' outside quotes alike,
    // after unquoting. No piece may start a formula.
    for (const cell of splitCells(row)) {
      for (const piece of cell.split(/[;,]/)) assert.doesNotMatch(piece, /^[=+\-@\t\r]/, `formula piece ${JSON.stringify(piece)} in ${JSON.stringify(cell)}`);
    }
    assert.ok(row.includes(`"search;'=cmd|' /C calc'!A0;"`), row);
  });
});

/** RFC 4180 cells of one row, unquoted. */
function splitCells(row: string): string[] {
  const cells: string[] = [];
  const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/g;
  for (let m = re.exec(row); m && m[0] !== ''; m = re.exec(row)) {
    const c = m[1]!;
    cells.push(c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c);
    if (m[2] === '') break;
  }
  return cells;
}
