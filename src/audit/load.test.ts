/**
 * Load: 20,000 tool calls (every 10th streamed: opened, two segments, closed) through AuditLog
 * into SQLite, with the sink stalled from call 5,000 to 12,000 and the audit log restarted in
 * the middle of the stall. Every call must have exactly its records, in order, and the stored
 * chain must verify. Counts only: no timing assertions.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog, type AuditLogOptions } from './pipeline.ts';
import { SqliteSink } from './sqlite-sink.ts';
import { verifyRecords } from './verify.ts';
import type { AuditRecord } from './record.ts';
import { GateSink, builder, context, readAll, tempDir, testKeys, until } from './testkit.ts';

const CALLS = 20_000;
const dir = tempDir('load');
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = testKeys();
const dbPath = join(dir, 'audit.db');

function options(sink: GateSink): AuditLogOptions {
  return {
    sinks: [sink],
    stateDir: join(dir, 'state'),
    signer: keys.signer,
    posture: 'fail-closed',
    spoolMaxBytes: 512 * 1024 * 1024,
    checkpoint: { everyRecords: 1000, everyMs: 0 },
    memoryRecords: 2048,
    minBackoffMs: 5,
    maxBackoffMs: 50,
  };
}

/** The records one call produces, as the data path would append them. */
function appendCall(log: AuditLog, i: number): void {
  const ctx = context(i);
  const t = 1_750_000_000_000 + i;
  if (i % 10 === 0) {
    log.append(builder.stream({ context: ctx, time: t, streamId: `s-${i}`, phase: 'opened', transport: 'sse' }));
    log.append(builder.stream({ context: ctx, time: t, streamId: `s-${i}`, phase: 'segment', firstIndex: 0, count: 2, bytes: 400, messages: [i, i] }));
    log.append(builder.stream({ context: ctx, time: t, streamId: `s-${i}`, phase: 'segment', firstIndex: 2, count: 1, bytes: 200, messages: [i] }));
    log.append(builder.stream({ context: ctx, time: t, streamId: `s-${i}`, phase: 'closed', end: i % 20 === 0 ? 'completed' : 'cancelled', sent: { events: 3, bytes: 600 } }));
  }
  log.append(builder.exchange({ ...ctx, time: t, endTime: t + 1, verdict: i % 7 === 0 ? 'block' : 'allow', arguments: { i } }));
}

/** Like the gateway: admit a call only while audit accepts, yielding so delivery can run. */
async function run(log: AuditLog, from: number, to: number, at?: { call: number; then: () => void }): Promise<void> {
  for (let i = from; i < to; i++) {
    if (at && i === at.call) at.then();
    while (!log.accepting()) await new Promise((r) => setTimeout(r, 1));
    appendCall(log, i);
    if (i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe('audit load', () => {
  it(`${CALLS} calls, sink stalled and the log restarted mid-stall: every record exactly once, in order, verifiable`, async () => {
    const gate1 = new GateSink(new SqliteSink({ path: dbPath }), 'sqlite');
    const log1 = await AuditLog.open(options(gate1));
    await run(log1, 0, 10_000, { call: 5_000, then: () => gate1.set('stall') });
    await until(() => log1.metrics().sinks[0]!.spoolBytes > 0, 'records spooled while the sink is stalled');
    await log1.close({ drainMs: 100 });

    const gate2 = new GateSink(new SqliteSink({ path: dbPath }), 'sqlite');
    gate2.set('stall');
    const log2 = await AuditLog.open(options(gate2));
    await run(log2, 10_000, CALLS, { call: 12_000, then: () => gate2.set('open') });
    assert.ok(await log2.flush(60_000), 'everything delivered');
    const head = log2.head().seq;
    await log2.close();

    const reader = new SqliteSink({ path: dbPath, readOnly: true });
    const all: AuditRecord[] = await readAll(reader);
    await reader.close();
    assert.equal(all.length, head);
    assert.ok(all.every((r, i) => r.seq === i + 1), 'contiguous seqs 1..head, in order');

    const perCall = new Map<string, string[]>();
    for (const r of all) {
      if (r.unmapped.kind === 'checkpoint') continue;
      const id = r.metadata.correlation_uid!;
      const phase = r.unmapped.kind === 'stream' ? (r.unmapped['stream'] as { phase: string }).phase : 'exchange';
      perCall.set(id, [...(perCall.get(id) ?? []), phase]);
    }
    assert.equal(perCall.size, CALLS);
    let calls = 0;
    for (let i = 0; i < CALLS; i++) {
      const expected = i % 10 === 0 ? ['opened', 'segment', 'segment', 'closed', 'exchange'] : ['exchange'];
      assert.deepEqual(perCall.get(`ex-${i}`), expected, `call ${i}`);
      calls++;
    }
    assert.equal(calls, CALLS);
    const order = all.filter((r) => r.unmapped.kind === 'exchange').map((r) => Number(r.metadata.correlation_uid!.slice(3)));
    assert.deepEqual(order, Array.from({ length: CALLS }, (_, i) => i), 'calls recorded in the order they were made');
    const v = verifyRecords(all, { publicKeys: keys.publicKeys });
    assert.equal(v.ok, true, JSON.stringify(v.breaks.slice(0, 5)));
    assert.deepEqual(v.gaps, []);
    assert.equal(v.checkpoints, all.filter((r) => r.unmapped.kind === 'checkpoint').length);
  });
});
