/**
 * The real `portcullis audit` process with its stdout on a pipe whose reader is slow: every
 * byte must arrive. process.stdout is asynchronous on a pipe, and an exit with writes still
 * queued dropped them (an export cut at 64 KiB, torn mid-line, with exit status 0).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditSchema } from './config.ts';
import { openAudit } from './open.ts';
import { context, tempDir } from './testkit.ts';

const dir = tempDir('cli-pipe');
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'audit.db');
const state = join(dir, 'spool');
const keysDir = join(dir, 'keys');
const BIN = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));
const T0 = Date.parse('2026-03-01T12:00:00Z');
const CALLS = 1500;

await (async () => {
  const audit = await openAudit(AuditSchema.parse({ sinks: [{ type: 'sqlite', path: db }], spoolDir: state, keyDir: keysDir, checkpoint: { everyRecords: 100, everyMs: 0 } }));
  assert.ok(audit);
  for (let i = 0; i < CALLS; i++) audit.log.append(audit.records.exchange({ ...context(i), time: T0 + i, verdict: 'allow', arguments: { n: i, pad: 'x'.repeat(200) } }));
  await audit.close();
})();

/**
 * Runs the CLI with its stdout on an OS pipe (the shell's `|`, as an operator would) whose
 * reader starts late, so the child's writes back up; without waiting for them the child exits
 * first and loses them. A pipe made by spawn() itself is a socket pair that does not show the
 * loss, hence bash. pipefail: the status is the CLI's, not the reader's.
 */
function run(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const script = 'set -o pipefail; "$@" | { sleep 0.5; cat; }';
    const child = spawn('bash', ['-c', script, 'bash', process.execPath, BIN, 'audit', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString('utf8'), err }));
  });
}

describe('audit output on a pipe', () => {
  it('export delivers every record, each line whole', async () => {
    const r = await run('export', '--db', db);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.length > 200_000, `export is ${r.out.length} bytes: too small to show the cut`);
    assert.ok(r.out.endsWith('\n'), 'the last line is complete');
    const lines = r.out.slice(0, -1).split('\n');
    const seqs = lines.map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.match(r.err, new RegExp(`exported ${seqs.length} record\\(s\\)`));
    assert.ok(seqs.length > CALLS, `${seqs.length} records`);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every seq, in order');
  });

  it('csv export delivers every row', async () => {
    const r = await run('export', '--db', db, '--format', 'csv');
    assert.equal(r.code, 0, r.err);
    const rows = r.out.split('\r\n');
    assert.equal(rows.pop(), '', 'ends with a complete row');
    const n = Number(/exported (\d+) record/.exec(r.err)?.[1]);
    assert.equal(rows.length, n + 1, 'header and one row per record');
  });
});
