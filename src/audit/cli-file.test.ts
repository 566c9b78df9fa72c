/**
 * `portcullis audit verify --file` on a JSON-lines store: the store is opened read-only (never
 * repaired or cut), and every tamper with its lines (inserted, reordered, deleted, appended) is
 * reported with where it is: file, line and byte offset.
 */
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runAuditCli } from './cli.ts';
import { AuditSchema } from './config.ts';
import { openAudit } from './open.ts';
import { context, tempDir } from './testkit.ts';

const dir = tempDir('cli-file');
after(() => rmSync(dir, { recursive: true, force: true }));
const trail = join(dir, 'trail');
const state = join(dir, 'spool');
const keysDir = join(dir, 'keys');
const T0 = Date.parse('2026-03-01T12:00:00Z');

// Top-level await, not before(): the trail must exist before any suite runs.
await (async () => {
  const config = AuditSchema.parse({
    sinks: [{ type: 'file', path: join(trail, 'audit.jsonl') }],
    spoolDir: state,
    keyDir: keysDir,
    checkpoint: { everyRecords: 10, everyMs: 0 },
  });
  const audit = await openAudit(config);
  assert.ok(audit);
  for (let i = 0; i < 30; i++) audit.log.append(audit.records.exchange({ ...context(i), time: T0 + i * 1000, verdict: i % 6 === 0 ? 'block' : 'allow', arguments: { n: i } }));
  await audit.close();
})();

const segment = readdirSync(trail).find((n) => n.endsWith('.jsonl'))!;

/** A fresh copy of the trail to tamper with; returns the configured path and the segment file. */
let copies = 0;
function copy(): { path: string; file: string } {
  const d = join(dir, `copy-${++copies}`);
  cpSync(trail, d, { recursive: true });
  return { path: join(d, 'audit.jsonl'), file: join(d, segment) };
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

async function verify(path: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditCli(['verify', '--file', path, '--state', state, '--keys', keysDir], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe('audit verify --file', () => {
  it('reports a fragment appended without a newline, with its byte offset, and leaves the file as it was', async () => {
    const { path, file } = copy();
    const intact = await verify(path);
    assert.equal(intact.code, 0, intact.out + intact.err);
    assert.match(intact.out, /^OK: .*audit\.jsonl: 33 records, seq 1\.\.33, anchored at genesis/);
    const size = readFileSync(file).length;
    const n = lines(file).length;
    const forged = JSON.parse(lines(file).at(-1)!) as { seq: number };
    forged.seq += 1;
    appendFileSync(file, JSON.stringify(forged));
    const before = readFileSync(file);
    const r = await verify(path);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /^FAILED/);
    assert.match(r.out, new RegExp(`unterminated .* at \\S*${segment.replace(/\./g, '\\.')} line ${n + 1} \\(byte ${size}\\)`));
    assert.deepEqual(readFileSync(file), before, 'verify must not cut or repair the evidence it checks');
  });

  it('reports an inserted (replayed) line with its line number', async () => {
    const { path, file } = copy();
    const ls = lines(file);
    ls.splice(10, 0, ls[4]!);
    writeFileSync(file, ls.join('\n') + '\n');
    const r = await verify(path);
    assert.equal(r.code, 1);
    assert.match(r.out, /duplicate\s+seq 5 .* at \S+ line 11 \(byte \d+\)/);
  });

  it('reports a reordered pair with the line of the record out of place', async () => {
    const { path, file } = copy();
    const ls = lines(file);
    [ls[6], ls[7]] = [ls[7]!, ls[6]!];
    writeFileSync(file, ls.join('\n') + '\n');
    const r = await verify(path);
    assert.equal(r.code, 1);
    assert.match(r.out, /reordered\s+seq 7 .* at \S+ line 8 \(byte \d+\)/);
  });

  it('reports a deleted line, saying where the hole is', async () => {
    const { path, file } = copy();
    const ls = lines(file);
    ls.splice(11, 1);
    writeFileSync(file, ls.join('\n') + '\n');
    const r = await verify(path);
    assert.equal(r.code, 1);
    assert.match(r.out, /missing\s+seq 12 at \S+ line 12 \(byte \d+\): record seq 12 is missing/);
  });

  it('reports a line whose text is not what the gateway wrote (a member named twice), with its line number', async () => {
    const { path, file } = copy();
    const ls = lines(file);
    const i = ls.findIndex((l) => l.includes('"verdict":"block"') && JSON.parse(l).seq > 1);
    ls[i] = ls[i]!.replace('"verdict":"block"', '"verdict":"allow","verdict":"block"');
    writeFileSync(file, ls.join('\n') + '\n');
    const r = await verify(path);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`edited\\s+seq \\d+ .* at \\S+ line ${i + 1} \\(byte \\d+\\): .*stored text is not the text the gateway wrote`));
  });

  it('reports a line that is not JSON with its line number, and still checks the rest', async () => {
    const { path, file } = copy();
    const ls = lines(file);
    ls.splice(3, 0, 'not json');
    writeFileSync(file, ls.join('\n') + '\n');
    const r = await verify(path);
    assert.equal(r.code, 1);
    assert.match(r.out, /malformed .* at \S+ line 4 \(byte \d+\)/);
    assert.match(r.out, /33 records/);
  });
});
