import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { auditSinkContract, makeContractRecords } from './contract.ts';
import { PostgresSink, quoteTable } from './postgres-sink.ts';
import { Chain } from './chain.ts';
import type { AuditRecord } from './record.ts';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `audit_test_${randomBytes(6).toString('hex')}`;
const admin = new pg.Pool({ connectionString: url, max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
after(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** What the table holds, read with a plain query rather than through the sink. */
async function tableRecords(table: string): Promise<AuditRecord[]> {
  const res = await admin.query<{ record: string }>(`SELECT record::text AS record FROM ${schema}.${table} ORDER BY seq`);
  return res.rows.map((r) => JSON.parse(r.record) as AuditRecord);
}

auditSinkContract(
  'postgres (real server)',
  () => PostgresSink.open({ url, table: `${schema}.contract` }),
  () => tableRecords('contract'),
);

describe('PostgresSink', () => {
  it('filters by principal, tool, verdict and finding type through read()', async () => {
    const sink = await PostgresSink.open({ url, table: `${schema}.queries` });
    try {
      const chain = new Chain();
      const recs = makeContractRecords(chain, 1200);
      recs[7]!.unmapped['finding_types'] = ['aws-access-key', 'with "quote", comma'];
      await sink.write(recs);
      const out: AuditRecord[] = [];
      for await (const r of sink.read({ principal: 'user-2', verdict: 'block' })) out.push(r);
      assert.deepEqual(out.map((r) => r.seq), recs.filter((r) => r.seq % 3 === 2 && r.seq % 5 === 0).map((r) => r.seq));
      const found: number[] = [];
      for await (const r of sink.read({ findingType: 'with "quote", comma' })) found.push(r.seq);
      assert.deepEqual(found, [8]);
      const paged: number[] = [];
      for await (const r of sink.read({ fromSeq: 100 })) paged.push(r.seq);
      assert.equal(paged.length, 1101);
    } finally {
      await sink.close();
    }
  });

  it('lazy: opens while the database is not ready, rejects writes, then delivers once it is', async () => {
    const late = `${schema}_late`;
    const sink = await PostgresSink.open({ url, table: `${late}.records`, lazy: true });
    const recs = makeContractRecords(new Chain(), 3);
    await assert.rejects(sink.write(recs), /schema .* does not exist/);
    await admin.query(`CREATE SCHEMA ${late}`);
    try {
      await sink.write(recs);
      assert.equal(await sink.lastSeq(), 3);
      const res = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${late}.records`);
      assert.equal(res.rows[0]!.n, '3');
    } finally {
      await sink.close();
      await admin.query(`DROP SCHEMA ${late} CASCADE`);
    }
  });

  it('refuses a table name that is not a plain identifier', () => {
    assert.throws(() => quoteTable('audit; DROP TABLE x'), /invalid audit table name/);
    assert.throws(() => quoteTable('a.b.c'), /invalid audit table name/);
    assert.equal(quoteTable('audit.records'), '"audit"."records"');
  });
});
