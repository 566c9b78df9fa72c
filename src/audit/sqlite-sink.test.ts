import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditSinkContract, makeContractRecords } from './contract.ts';
import { SqliteSink } from './sqlite-sink.ts';
import { Chain } from './chain.ts';
import type { AuditRecord } from './record.ts';

const dir = mkdtempSync(join(tmpdir(), 'audit-sqlite-'));
const path = join(dir, 'audit.db');

async function readAll(sink: SqliteSink, q = {}): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of sink.read(q)) out.push(r);
  return out;
}

auditSinkContract(
  'sqlite',
  async () => new SqliteSink({ path }),
  async () => {
    const reader = new SqliteSink({ path, readOnly: true });
    try {
      return await readAll(reader);
    } finally {
      await reader.close();
    }
  },
  { cleanup: async () => rmSync(dir, { recursive: true, force: true }) },
);

describe('SqliteSink queries', () => {
  it('filters by principal, tool, verdict, time and seq range, paging past 1000 rows', async () => {
    const d = mkdtempSync(join(tmpdir(), 'audit-sqlite-q-'));
    const sink = new SqliteSink({ path: join(d, 'a.db') });
    try {
      const recs = makeContractRecords(new Chain(), 2500);
      await sink.write(recs);
      const byUser = await readAll(sink, { principal: 'user-1' });
      assert.deepEqual(byUser.map((r) => r.seq), recs.filter((r) => r.seq % 3 === 1).map((r) => r.seq));
      const blockedDeletes = await readAll(sink, { tool: 'delete_repo', verdict: 'block' });
      assert.deepEqual(blockedDeletes.map((r) => r.seq), recs.filter((r) => r.seq % 10 === 0).map((r) => r.seq));
      const window = await readAll(sink, { from: recs[99]!.time, to: recs[199]!.time });
      assert.deepEqual(window.map((r) => r.seq), Array.from({ length: 101 }, (_, i) => 100 + i));
      const limited = await readAll(sink, { fromSeq: 1001, limit: 1200 });
      assert.equal(limited.length, 1200);
      assert.equal(limited[0]!.seq, 1001);
      assert.equal(limited.at(-1)!.seq, 2200);
      assert.deepEqual(await readAll(sink, { principal: 'nobody' }), []);
    } finally {
      await sink.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
