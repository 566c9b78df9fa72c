/**
 * Retention by size and by age on every store that can prune, through the audit log: the store
 * shrinks to exactly what the policy keeps, its first record is anchored by a signed checkpoint
 * or retention anchor, and it still verifies (and still shows edits to what is kept).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { AuditLog } from './pipeline.ts';
import { FileSink } from './file-sink.ts';
import { PostgresSink } from './postgres-sink.ts';
import { SqliteSink } from './sqlite-sink.ts';
import { verifyRecords } from './verify.ts';
import type { AuditSink } from './sink.ts';
import type { RetentionPolicy } from './chain.ts';
import { readAll, sampleEvent, tempDir, testKeys } from './testkit.ts';

const keys = testKeys();
const dir = tempDir('retention');
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `audit_ret_${randomBytes(6).toString('hex')}`;
const admin = new pg.Pool({ connectionString: url, max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

const DAY = 86_400_000;

const stores: Array<[string, (tag: string) => Promise<AuditSink & { read: NonNullable<AuditSink['read']> }>]> = [
  ['sqlite', async (tag) => new SqliteSink({ path: join(dir, `${tag}.db`) })],
  ['file', (tag) => FileSink.open({ path: join(dir, tag, 'audit.jsonl'), rotateBytes: 16 * 1024 })],
  ['postgres', (tag) => PostgresSink.open({ url, table: `${schema}.${tag}` })],
];

for (const [type, open] of stores) {
  describe(`retention on ${type}`, () => {
    async function scenario(tag: string, retention: RetentionPolicy, clock: { now: number }, batches: Array<{ records: number; advanceMs: number }>, everyRecords = 20) {
      const sink = await open(`${type}_${tag}`);
      const log = await AuditLog.open({
        sinks: [sink],
        stateDir: join(dir, `state-${type}-${tag}`),
        signer: keys.signer,
        posture: 'fail-closed',
        spoolMaxBytes: 64 * 1024 * 1024,
        checkpoint: { everyRecords, everyMs: 0 },
        retention,
        now: () => clock.now,
      });
      let i = 0;
      for (const b of batches) {
        for (let n = 0; n < b.records; n++) log.append(sampleEvent(i++, clock.now));
        assert.ok(await log.flush());
        clock.now += b.advanceMs;
      }
      const [pruned] = await log.prune(clock.now);
      const records = await readAll(sink);
      await log.close();
      return { pruned, records, head: log.head().seq };
    }

    it('by size: keeps maxRecords (the anchor included), still verifiable', async () => {
      const { pruned, records, head } = await scenario('size', { maxRecords: 50 }, { now: 1_750_000_000_000 }, [{ records: 200, advanceMs: 0 }]);
      assert.ok(pruned && pruned.result.removed > 0);
      assert.equal(records.length, 50);
      assert.equal(records[0]!.seq, pruned.result.anchorSeq);
      assert.equal(records.at(-1)!.seq, head);
      const v = verifyRecords(records, { publicKeys: keys.publicKeys });
      assert.equal(v.ok, true, JSON.stringify(v.breaks));
      assert.equal(v.anchor, 'retention-anchor');
    });

    it('a cut that lands on a checkpoint still signs an anchor, so the store verifies without a warning', async () => {
      // 200 records and a checkpoint after every 20: checkpoints at seq 21, 42, …, 210. Keeping
      // 23 (22 and the anchor) cuts at seq 189, a checkpoint.
      const { pruned, records } = await scenario('atcp', { maxRecords: 23 }, { now: 1_750_000_000_000 }, [{ records: 200, advanceMs: 0 }]);
      assert.equal(pruned?.result.anchorSeq, 189);
      assert.equal(records[0]!.unmapped.kind, 'checkpoint', 'the first record kept is a checkpoint');
      assert.equal(records.at(-1)!.unmapped.kind, 'anchor', 'and the gateway signed that it cut there');
      const v = verifyRecords(records, { publicKeys: keys.publicKeys });
      assert.equal(v.ok, true, JSON.stringify(v.breaks));
      assert.equal(v.anchor, 'retention-anchor');
      assert.deepEqual(v.warnings, []);
    });

    it('by size below the checkpoint interval: prunes, and what is kept verifies and shows edits', async () => {
      const { pruned, records } = await scenario('small', { maxRecords: 30 }, { now: 1_750_000_000_000 }, [{ records: 100, advanceMs: 0 }], 1000);
      assert.ok(pruned && pruned.result.removed > 0, JSON.stringify(pruned));
      assert.equal(records.length, 30);
      assert.equal(records.at(-1)!.seq, 101);
      assert.equal(records.at(-1)!.unmapped.kind, 'anchor', 'the signed anchor for the first kept record');
      const v = verifyRecords(records, { publicKeys: keys.publicKeys });
      assert.equal(v.ok, true, JSON.stringify(v.breaks));
      assert.equal(v.anchor, 'retention-anchor');
      const edited = structuredClone(records);
      edited[3]!.unmapped['verdict'] = 'tampered';
      assert.deepEqual(
        verifyRecords(edited, { publicKeys: keys.publicKeys }).breaks.map((b) => [b.kind, b.seq]),
        [['edited', records[3]!.seq]],
      );
      const cutMore = records.slice(2);
      assert.deepEqual(
        verifyRecords(cutMore, { publicKeys: keys.publicKeys }).breaks.map((b) => b.kind),
        ['unanchored'],
        'deleting past the signed cut is still found',
      );
    });

    it('by age: drops what was checkpointed before the cutoff, keeps the rest verifiable', async () => {
      const clock = { now: 1_750_000_000_000 };
      const { pruned, records, head } = await scenario('age', { maxAgeDays: 2 }, clock, [
        { records: 60, advanceMs: 2 * DAY },
        { records: 60, advanceMs: 1 * DAY },
        { records: 60, advanceMs: 0 },
      ]);
      assert.ok(pruned);
      // The first 60 records and their 3 checkpoints (seq 1..63) are 3 days old: exactly those go.
      assert.equal(pruned.result.anchorSeq, 64);
      assert.equal(pruned.result.removed, 63);
      assert.ok(records.every((r) => r.time > clock.now - 2 * DAY));
      assert.equal(records.at(-1)!.seq, head);
      assert.equal(records.length, head - 63);
      const v = verifyRecords(records, { publicKeys: keys.publicKeys });
      assert.equal(v.ok, true, JSON.stringify(v.breaks));
    });

    it('with nothing old enough, keeps everything', async () => {
      const { pruned, records, head } = await scenario('none', { maxAgeDays: 30, maxRecords: 10_000 }, { now: 1_750_000_000_000 }, [{ records: 40, advanceMs: DAY }]);
      assert.deepEqual(pruned?.result, { removed: 0, anchorSeq: undefined });
      assert.equal(records.length, head);
      assert.equal(records[0]!.seq, 1);
    });
  });
}
