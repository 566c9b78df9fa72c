import { mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditSinkContract, makeContractRecords } from './contract.ts';
import { FileSink } from './file-sink.ts';
import { Chain } from './chain.ts';
import type { AuditRecord } from './record.ts';

/** What is on disk, read independently of the sink: every line of every file, in name order. */
function readDir(dir: string): AuditRecord[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as AuditRecord);
}

const dir = mkdtempSync(join(tmpdir(), 'audit-file-'));
auditSinkContract(
  'file (JSON lines, rotating at 256 KiB)',
  () => FileSink.open({ path: join(dir, 'audit.jsonl'), rotateBytes: 256 * 1024 }),
  async () => readDir(dir),
  { cleanup: async () => rmSync(dir, { recursive: true, force: true }) },
);

describe('FileSink', () => {
  it('rotates by size into files named by their first seq, and reads across them in order', async () => {
    const d = mkdtempSync(join(tmpdir(), 'audit-file-rot-'));
    try {
      const sink = await FileSink.open({ path: join(d, 'audit.jsonl'), rotateBytes: 20_000 });
      const recs = makeContractRecords(new Chain(), 200);
      for (let i = 0; i < 200; i += 7) await sink.write(recs.slice(i, i + 7));
      const files = readdirSync(d).sort();
      assert.ok(files.length > 3, `expected several files, got ${files.length}`);
      assert.equal(files[0], 'audit.0000000000000001.jsonl');
      for (const f of files) assert.ok(readFileSync(join(d, f)).length <= 20_000 + 2000, `${f} exceeds the rotation size by more than one record`);
      const back: AuditRecord[] = [];
      for await (const r of sink.read({ fromSeq: 50, toSeq: 120 })) back.push(r);
      assert.deepEqual(back.map((r) => r.seq), Array.from({ length: 71 }, (_, i) => 50 + i));
      await sink.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('rotates by age', async () => {
    const d = mkdtempSync(join(tmpdir(), 'audit-file-age-'));
    let now = 1_000_000;
    try {
      const sink = await FileSink.open({ path: join(d, 'audit.jsonl'), rotateAgeMs: 60_000, now: () => now });
      const recs = makeContractRecords(new Chain(), 6);
      await sink.write(recs.slice(0, 2));
      now += 59_999;
      await sink.write(recs.slice(2, 4));
      now += 1;
      await sink.write(recs.slice(4));
      assert.deepEqual(readdirSync(d).sort(), ['audit.0000000000000001.jsonl', 'audit.0000000000000005.jsonl']);
      await sink.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('cuts a torn last line left by a crash and continues after the last complete record', async () => {
    const d = mkdtempSync(join(tmpdir(), 'audit-file-torn-'));
    try {
      const recs = makeContractRecords(new Chain(), 5);
      let sink = await FileSink.open({ path: join(d, 'audit.jsonl') });
      await sink.write(recs.slice(0, 3));
      await sink.close();
      appendFileSync(join(d, 'audit.0000000000000001.jsonl'), JSON.stringify(recs[3]).slice(0, 40));
      const notices: string[] = [];
      sink = await FileSink.open({ path: join(d, 'audit.jsonl'), onRepair: (m) => notices.push(m) });
      // Crash recovery by the writer, but never silent: the cut bytes may have been appended by someone.
      assert.equal(notices.length, 1);
      assert.match(notices[0]!, /audit\.0000000000000001\.jsonl: cut 40 bytes .* at byte \d+/);
      assert.equal(await sink.lastSeq(), 3);
      await sink.write(recs.slice(3));
      await sink.close();
      assert.deepEqual(readDir(d), recs);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('read-only: never cuts a torn tail, never writes, and refuses a path with no audit files', async () => {
    const d = mkdtempSync(join(tmpdir(), 'audit-file-ro-'));
    try {
      const recs = makeContractRecords(new Chain(), 4);
      const w = await FileSink.open({ path: join(d, 'audit.jsonl') });
      await w.write(recs.slice(0, 3));
      await w.close();
      const file = join(d, 'audit.0000000000000001.jsonl');
      appendFileSync(file, JSON.stringify(recs[3]).slice(0, 40));
      const before = readFileSync(file);
      const sink = await FileSink.open({ path: join(d, 'audit.jsonl'), readOnly: true });
      assert.equal(await sink.lastSeq(), 3);
      await assert.rejects(sink.write(recs.slice(3)), /read-only/);
      await sink.close();
      assert.deepEqual(readFileSync(file), before);
      await assert.rejects(FileSink.open({ path: join(d, 'other.jsonl'), readOnly: true }), /no JSON-lines audit files/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
