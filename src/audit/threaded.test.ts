/**
 * The audit trail on its own thread, as the gateway opens it: what the data path queues ends up
 * chained and stored, even facts structured clone refuses; a closed trail refuses new calls; a
 * trail that cannot open says why.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditSchema } from './config.ts';
import { SqliteSink } from './sqlite-sink.ts';
import { context, tempDir } from './testkit.ts';
import { openThreadedAudit } from './threaded.ts';
import { loadPublicKeys } from './keys.ts';
import { verifyRecords } from './verify.ts';
import type { AuditRecord } from './record.ts';

const dir = tempDir('threaded');
after(() => rmSync(dir, { recursive: true, force: true }));

async function stored(db: string): Promise<AuditRecord[]> {
  const reader = new SqliteSink({ path: db, readOnly: true });
  try {
    const out: AuditRecord[] = [];
    for await (const r of reader.read()) out.push(r);
    return out;
  } finally {
    await reader.close();
  }
}

describe('threaded audit trail', () => {
  it('records what the data path queues, in order and verifiable, including facts structured clone refuses', async () => {
    const db = join(dir, 'a.db');
    const config = AuditSchema.parse({ sinks: [{ type: 'sqlite', path: db }], spoolDir: join(dir, 'spool-a'), keyDir: join(dir, 'keys'), checkpoint: { everyRecords: 50, everyMs: 0 } });
    const audit = await openThreadedAudit(config, { baseDir: dir });
    assert.ok(audit);
    const body = Buffer.from('xx{"jsonrpc":"2.0","id":1,"result":{}}yy');
    for (let i = 0; i < 120; i++) {
      // A view into a larger buffer, as relayed chunks are: only its own bytes are digested.
      audit.log.append(audit.records.exchange({ ...context(i), time: 1000 + i, verdict: 'allow', arguments: { n: i }, resultBytes: [body.subarray(2, body.length - 2)] }));
    }
    audit.log.append(audit.records.findings({ context: context(7), time: 2000, inspector: 'dlp', direction: 's2c', action: 'redacted', findings: [{ type: 'email', pointer: '/result', start: 0, end: 5 }, { type: 'iban', pointer: '/result', start: 9, end: 20 }] }));
    // A function cannot cross a thread boundary: the entry still goes, as plain JSON.
    audit.log.append(audit.records.exchange({ ...context(500), time: 3000, verdict: 'allow', notes: { hook: () => 1, kept: 'yes' } as Record<string, unknown> }));
    assert.equal(await audit.log.flush(10_000), true);
    assert.equal(audit.log.accepting(), true);
    await audit.close();
    assert.equal(audit.log.accepting(), false, 'a closed trail refuses new calls');
    assert.match(audit.log.refusal() ?? '', /audit thread stopped/);

    const records = await stored(db);
    const exchanges = records.filter((r) => r.unmapped.kind === 'exchange');
    assert.equal(exchanges.length, 121);
    assert.deepEqual(exchanges.slice(0, 120).map((r) => r.time), Array.from({ length: 120 }, (_, i) => 1000 + i));
    assert.equal(records.filter((r) => r.unmapped.kind === 'finding').length, 2, 'one finding record per type');
    assert.deepEqual((exchanges.at(-1)!.unmapped['notes'] as Record<string, unknown>)['kept'], 'yes');
    const digests = new Set(exchanges.slice(0, 120).map((r) => (r.unmapped['digests'] as { result_bytes: string }).result_bytes));
    assert.equal(digests.size, 1, 'the same result bytes digest alike');
    assert.deepEqual(records.map((r) => r.seq), records.map((_, i) => i + 1));
    const v = verifyRecords(records, { publicKeys: await loadPublicKeys(join(dir, 'keys')) });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
  });

  it('rejects with the reason when the trail cannot be opened', async () => {
    const config = AuditSchema.parse({ sinks: [{ type: 'sqlite', path: join(dir, 'not-a-dir.db', 'x.db') }], spoolDir: join(dir, 'spool-c'), keyDir: join(dir, 'keys') });
    // A file where the sink needs a directory.
    mkdirSync(join(dir, 'spool-c'), { recursive: true });
    writeFileSync(join(dir, 'not-a-dir.db'), 'x');
    await assert.rejects(openThreadedAudit(config, { baseDir: dir }), /EEXIST|ENOTDIR/);
  });
});

describe('threaded audit trail: the thread dies', () => {
  it('refuses every new call from then on, tells the operator what was lost, and still closes', async () => {
    const db = join(dir, 'dead.db');
    const config = AuditSchema.parse({ sinks: [{ type: 'sqlite', path: db }], spoolDir: join(dir, 'spool-dead'), keyDir: join(dir, 'keys') });
    const errors: string[] = [];
    const audit = await openThreadedAudit(config, { baseDir: dir, hooks: { onStateError: (e) => errors.push(e.message) } });
    assert.ok(audit);
    audit.log.append(audit.records.exchange({ ...context(1), time: 1000, verdict: 'allow' }));
    assert.equal(await audit.log.flush(10_000), true);
    assert.equal(audit.log.accepting(), true);

    // Queued but not yet sent when the thread goes: these are the entries the message counts.
    for (let i = 0; i < 3; i++) audit.log.append(audit.records.exchange({ ...context(10 + i), time: 2000 + i, verdict: 'allow' }));
    const exited = new Promise((resolve) => audit.thread.once('exit', resolve));
    await audit.thread.terminate();
    await exited;
    await new Promise((resolve) => setImmediate(resolve));

    assert.equal(audit.log.accepting(), false, 'fail closed: no call may go unrecorded');
    assert.match(audit.log.refusal() ?? '', /audit thread stopped \(audit thread exited/);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /new calls are refused; 3 entries not taken by the thread/);
    assert.equal(await audit.log.flush(1000), false, 'a dead trail does not claim delivery');
    await audit.close({ drainMs: 1000 });

    const records = await stored(db);
    assert.deepEqual(records.filter((r) => r.unmapped.kind === 'exchange').map((r) => r.time), [1000], 'what was flushed before the death is kept');
  });
});
