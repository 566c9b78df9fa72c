/**
 * `portcullis audit verify --postgres` against a real server: the query columns are checked
 * against the records they were derived from, and the CLI never changes the database.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Chain } from './chain.ts';
import { runAuditCli } from './cli.ts';
import { makeContractRecords } from './contract.ts';
import { PostgresSink } from './postgres-sink.ts';
import type { AuditRecord } from './record.ts';
import { tempDir } from './testkit.ts';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `audit_cli_${randomBytes(6).toString('hex')}`;
const admin = new pg.Pool({ connectionString: url, max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
const dir = tempDir('cli-pg');
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

const table = `${schema}.trail`;
const sink = await PostgresSink.open({ url, table });
await sink.write(makeContractRecords(new Chain(), 40));
await sink.close();

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditCli([...argv, '--state', join(dir, 'no-state'), '--keys', join(dir, 'no-keys')], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

const blockedSeqs = async () =>
  (await cli('query', '--postgres', url, '--table', table, '--verdict', 'block', '--json')).out
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as AuditRecord).seq);

describe('audit verify --postgres', () => {
  it('reports rows whose query columns disagree with their record, by seq', async () => {
    const intact = await cli('verify', '--postgres', url, '--table', table);
    assert.equal(intact.code, 0, intact.out + intact.err);
    assert.match(intact.out, /^OK: postgres table .*: 40 records/);
    assert.ok((await blockedSeqs()).includes(10));
    await admin.query(`UPDATE ${table} SET verdict = 'allow' WHERE seq = 10`);
    await admin.query(`UPDATE ${table} SET principal = 'someone-else', finding_types = '{injected}' WHERE seq = 21`);
    try {
      assert.ok(!(await blockedSeqs()).includes(10), 'the edit hides the block from the query');
      const r = await cli('verify', '--postgres', url, '--table', table);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.out, /index-mismatch\s+seq 10\b.*verdict column "allow", record "block"/);
      assert.match(r.out, /index-mismatch\s+seq 21\b.*principal column "someone-else", record "user-0"; finding_types column "injected", record ""/);
      const json = JSON.parse((await cli('verify', '--postgres', url, '--table', table, '--json')).out) as { breaks: Array<{ kind: string; seq: number }> };
      assert.deepEqual(
        json.breaks.map((b) => [b.kind, b.seq]),
        [
          ['index-mismatch', 10],
          ['index-mismatch', 21],
        ],
      );
    } finally {
      await admin.query(`UPDATE ${table} SET verdict = 'block' WHERE seq = 10`);
      await admin.query(`UPDATE ${table} SET principal = 'user-0', finding_types = '{}' WHERE seq = 21`);
    }
    assert.equal((await cli('verify', '--postgres', url, '--table', table)).code, 0);
  });

  it('opens the database read-only: a missing table is an error, not created', async () => {
    const r = await cli('verify', '--postgres', url, '--table', `${schema}.absent`);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /absent/);
    const res = await admin.query<{ t: string | null }>(`SELECT to_regclass('${schema}.absent')::text AS t`);
    assert.equal(res.rows[0]!.t, null);
  });
});
