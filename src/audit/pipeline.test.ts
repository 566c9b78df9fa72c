import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog, type AuditLogOptions } from './pipeline.ts';
import { SqliteSink } from './sqlite-sink.ts';
import { FileSink } from './file-sink.ts';
import { verifyRecords } from './verify.ts';
import { gapOf } from './chain.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';
import { GateSink, readAll, sampleEvent, tempDir, testKeys, until } from './testkit.ts';

const keys = testKeys();
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(label: string): string {
  const d = tempDir(label);
  dirs.push(d);
  return d;
}

function options(stateDir: string, sinks: AuditSink[], extra: Partial<AuditLogOptions> = {}): AuditLogOptions {
  return {
    sinks,
    stateDir,
    signer: keys.signer,
    posture: 'fail-closed',
    spoolMaxBytes: 64 * 1024 * 1024,
    checkpoint: { everyRecords: 50, everyMs: 0 },
    minBackoffMs: 5,
    maxBackoffMs: 20,
    ...extra,
  };
}

/** Seqs of the non-housekeeping records, to compare against what was appended. */
function eventSeqs(records: readonly AuditRecord[]): number[] {
  return records.filter((r) => r.unmapped.kind === 'exchange').map((r) => r.seq);
}

function assertContiguous(records: readonly AuditRecord[], first: number, last: number): void {
  assert.deepEqual(
    records.map((r) => r.seq),
    Array.from({ length: last - first + 1 }, (_, i) => first + i),
  );
}

describe('AuditLog', () => {
  it('delivers every record to several sinks, in order, each a verifiable chain', async () => {
    const d = dir('multi');
    const sqlite = new SqliteSink({ path: join(d, 'a.db') });
    const file = await FileSink.open({ path: join(d, 'files', 'audit.jsonl'), name: 'file' });
    const log = await AuditLog.open(options(join(d, 'state'), [sqlite, file]));
    const seqs = Array.from({ length: 300 }, (_, i) => log.append(sampleEvent(i)));
    assert.ok(await log.flush());
    const a = await readAll(sqlite);
    const b = await readAll(file);
    assert.deepEqual(eventSeqs(a), seqs);
    assert.deepEqual(b, a);
    assertContiguous(a, 1, log.head().seq);
    assert.equal(a.filter((r) => r.unmapped.kind === 'checkpoint').length, 6, 'one checkpoint per 50 records');
    const v = verifyRecords(a, { publicKeys: keys.publicKeys });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    await log.close();
  });

  it('spools for a sink that is down while another keeps receiving, then delivers exactly once in order', async () => {
    const d = dir('spool');
    const healthy = new SqliteSink({ path: join(d, 'healthy.db'), name: 'healthy' });
    const down = new GateSink(new SqliteSink({ path: join(d, 'down.db') }), 'down');
    down.set('fail');
    const log = await AuditLog.open(options(join(d, 'state'), [healthy, down], { memoryRecords: 20, batchSize: 25 }));
    for (let i = 0; i < 500; i++) log.append(sampleEvent(i));
    await until(() => log.metrics().sinks[0]!.ackedSeq === log.head().seq, 'healthy sink caught up');
    const m = log.metrics().sinks[1]!;
    assert.equal(m.healthy, false);
    assert.ok(m.spooling && m.spoolBytes > 0, 'the down sink spools to disk');
    assert.ok(readdirSync(join(d, 'state', 'down', 'spool')).length > 0);
    down.set('open');
    assert.ok(await log.flush());
    const a = await readAll(healthy);
    const b = await readAll(down.inner as SqliteSink);
    assert.deepEqual(b, a);
    assertContiguous(b, 1, log.head().seq);
    await until(() => log.metrics().sinks[1]!.spoolBytes === 0, 'spool segments deleted once delivered');
    await log.close();
  });

  it('survives a restart mid-spool: the new process delivers the spool, then continues the chain', async () => {
    const d = dir('restart');
    const dbPath = join(d, 'a.db');
    const first = new GateSink(new SqliteSink({ path: dbPath }), 'main');
    const log1 = await AuditLog.open(options(join(d, 'state'), [first], { memoryRecords: 10 }));
    for (let i = 0; i < 40; i++) log1.append(sampleEvent(i));
    assert.ok(await log1.flush());
    first.set('fail');
    for (let i = 40; i < 400; i++) log1.append(sampleEvent(i));
    const head1 = log1.head().seq;
    await log1.close({ drainMs: 50 });
    assert.ok(readdirSync(join(d, 'state', 'main', 'spool')).length > 0, 'undelivered records are on disk');

    const second = new SqliteSink({ path: dbPath, name: 'main' });
    const log2 = await AuditLog.open(options(join(d, 'state'), [second]));
    assert.equal(log2.head().seq, head1, 'the chain continues where it stopped');
    for (let i = 400; i < 450; i++) log2.append(sampleEvent(i));
    assert.ok(await log2.flush());
    const all = await readAll(second);
    assertContiguous(all, 1, log2.head().seq);
    assert.deepEqual(
      all.filter((r) => r.unmapped.kind === 'exchange').map((r) => r.metadata.correlation_uid),
      Array.from({ length: 450 }, (_, i) => `ex-${i}`),
      'every appended record, exactly once, in order',
    );
    const v = verifyRecords(all, { publicKeys: keys.publicKeys });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    await log2.close();
  });

  it('attests records lost in a crash (never spooled) with a signed gap after restart', async () => {
    const d = dir('crash');
    const dbPath = join(d, 'a.db');
    const stalled = new GateSink(new SqliteSink({ path: dbPath }), 'main');
    const log1 = await AuditLog.open(options(join(d, 'state'), [stalled]));
    for (let i = 0; i < 30; i++) log1.append(sampleEvent(i));
    assert.ok(await log1.flush());
    stalled.set('stall');
    for (let i = 30; i < 60; i++) log1.append(sampleEvent(i));
    await until(() => log1.metrics().queueDepth === 0, 'records handed to the lane (head persisted)');
    // The process "dies" here: log1 is abandoned with records only in memory.
    const log2 = await AuditLog.open(options(join(d, 'state'), [new SqliteSink({ path: dbPath, name: 'main' })]));
    log2.append(sampleEvent(60));
    assert.ok(await log2.flush());
    const all = await readAll(new SqliteSink({ path: dbPath, readOnly: true }));
    const gaps = all.map(gapOf).filter((g) => g !== undefined);
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0]!.reason, 'lost in an unclean shutdown');
    // Held in memory when the process died: the 30 events and the checkpoint after the 50th.
    assert.deepEqual([gaps[0]!.from_seq, gaps[0]!.to_seq, gaps[0]!.count], [31, 61, 31]);
    const v = verifyRecords(all, { publicKeys: keys.publicKeys });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.deepEqual(v.gaps.map((g) => [g.fromSeq, g.toSeq]), [[gaps[0]!.from_seq, gaps[0]!.to_seq]]);
    await log2.close();
  });

  it('fail-closed: stops accepting when the spool is full, keeps every record, resumes when drained', async () => {
    const d = dir('failclosed');
    const gate = new GateSink(new SqliteSink({ path: join(d, 'a.db') }), 'main');
    gate.set('fail');
    const log = await AuditLog.open(options(join(d, 'state'), [gate], { memoryRecords: 10, spoolMaxBytes: 30_000 }));
    let appended = 0;
    while (log.accepting() && appended < 10_000) {
      log.append(sampleEvent(appended++));
      if (appended % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(log.accepting(), false, 'refuses once the spool is full');
    assert.match(log.refusal() ?? '', /spool for sink main is full .* fail-closed/);
    // Calls already in flight still record; nothing is dropped.
    for (let i = 0; i < 20; i++) log.append(sampleEvent(appended++));
    assert.equal(log.metrics().dropped, 0);
    gate.set('open');
    assert.ok(await log.flush());
    await until(() => log.accepting(), 'accepting again once the spool drained');
    const all = await readAll(gate.inner as SqliteSink);
    assert.equal(all.filter((r) => r.unmapped.kind === 'exchange').length, appended);
    assertContiguous(all, 1, log.head().seq);
    await log.close();
  });

  it('shed: keeps accepting, drops for the full sink only, and writes a counted, signed gap', async () => {
    const d = dir('shed');
    const healthy = new SqliteSink({ path: join(d, 'ok.db'), name: 'ok' });
    const gate = new GateSink(new SqliteSink({ path: join(d, 'a.db') }), 'main');
    gate.set('fail');
    const log = await AuditLog.open(options(join(d, 'state'), [healthy, gate], { memoryRecords: 10, spoolMaxBytes: 30_000, posture: 'shed' }));
    for (let i = 0; i < 400; i++) {
      log.append(sampleEvent(i));
      assert.equal(log.accepting(), true);
      // Let the healthy sink keep up: with these tiny limits a burst would overflow it too.
      if (i % 10 === 9) await until(() => log.metrics().sinks[0]!.ackedSeq === log.head().seq, 'healthy sink caught up');
    }
    await until(() => log.metrics().dropped > 0, 'records dropped for the full sink');
    gate.set('open');
    assert.ok(await log.flush());
    const dropped = log.metrics().dropped;
    const full = await readAll(healthy);
    assertContiguous(full, 1, log.head().seq);
    const shed = await readAll(gate.inner as SqliteSink);
    const gaps = shed.map(gapOf).filter((g) => g !== undefined);
    assert.equal(gaps.reduce((n, g) => n + g.count, 0), dropped, 'the gap markers count every dropped record');
    // Every seq is either delivered or inside an attested gap; nothing silently missing.
    const covered = new Set(shed.filter((r) => !gapOf(r)).map((r) => r.seq));
    for (const g of gaps) for (let s = g.from_seq; s <= g.to_seq; s++) covered.add(s);
    assert.equal(covered.size, log.head().seq);
    const v = verifyRecords(shed, { publicKeys: keys.publicKeys });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.equal(v.gaps.reduce((n, g) => n + g.count, 0), dropped);
    await log.close();
  });

  it('a sink added to an existing chain starts at a checkpoint, so it verifies on its own', async () => {
    const d = dir('newsink');
    const a = new SqliteSink({ path: join(d, 'a.db'), name: 'a' });
    const log1 = await AuditLog.open(options(join(d, 'state'), [a]));
    for (let i = 0; i < 120; i++) log1.append(sampleEvent(i));
    await log1.close();
    const b = new SqliteSink({ path: join(d, 'b.db'), name: 'b' });
    const log2 = await AuditLog.open(options(join(d, 'state'), [new SqliteSink({ path: join(d, 'a.db'), name: 'a' }), b]));
    for (let i = 120; i < 260; i++) log2.append(sampleEvent(i));
    assert.ok(await log2.flush());
    const recs = await readAll(b);
    assert.equal(recs[0]!.unmapped.kind, 'checkpoint');
    const v = verifyRecords(recs, { publicKeys: keys.publicKeys });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.equal(v.anchor, 'checkpoint');
    await log2.close();
  });

  it('adopts the head from a readable sink when the state directory is lost, and refuses otherwise', async () => {
    const d = dir('lost');
    const log1 = await AuditLog.open(options(join(d, 'state1'), [new SqliteSink({ path: join(d, 'a.db'), name: 'a' })]));
    for (let i = 0; i < 10; i++) log1.append(sampleEvent(i));
    await log1.close();
    const log2 = await AuditLog.open(options(join(d, 'state2'), [new SqliteSink({ path: join(d, 'a.db'), name: 'a' })]));
    assert.equal(log2.head().seq, 11);
    log2.append(sampleEvent(10));
    await log2.close();
    const recs = await readAll(new SqliteSink({ path: join(d, 'a.db'), readOnly: true }));
    assert.equal(verifyRecords(recs, { publicKeys: keys.publicKeys }).ok, true);

    const blind = new SqliteSink({ path: join(d, 'a.db'), name: 'a' });
    const unreadable: AuditSink = { name: 'a', write: (b) => blind.write(b), lastSeq: () => blind.lastSeq(), close: () => blind.close() };
    await assert.rejects(AuditLog.open(options(join(d, 'state3'), [unreadable])), /already holds seq 13 .* state directory was lost/);
    await blind.close();
  });

  it('refuses two sinks with the same name and reports appends after close', async () => {
    const d = dir('names');
    await assert.rejects(
      AuditLog.open(options(join(d, 'state'), [new SqliteSink({ path: join(d, 'a.db'), name: 'x' }), new SqliteSink({ path: join(d, 'b.db'), name: 'x' })])),
      /two audit sinks are named "x"/,
    );
    const log = await AuditLog.open(options(join(d, 'state'), [new SqliteSink({ path: join(d, 'c.db') })]));
    await log.close();
    assert.equal(log.append(sampleEvent(1)), -1);
    assert.equal(log.accepting(), false);
    assert.ok(existsSync(join(d, 'state', 'head.json')));
  });
});
