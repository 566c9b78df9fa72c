/**
 * `portcullis audit …`: verify, query, export and report on a stored audit trail.
 *
 *   portcullis audit verify [STORE] [--state DIR] [--sink NAME] [--keys DIR] [--public-key FILE]… [--json]
 *   portcullis audit query  [STORE] [FILTERS] [--limit N] [--json]
 *   portcullis audit export [STORE] [FILTERS] [--format jsonl|csv] [--out FILE]
 *   portcullis audit report [STORE] [--since T] [--until T] [--state DIR] [--keys DIR] [--out FILE]
 *
 *   STORE:   --db PATH (SQLite, default .portcullis/audit.db) | --file PATH (JSON-lines series)
 *            | --postgres URL [--table NAME]
 *   FILTERS: --principal S --tool T --verdict V --finding TYPE --kind K --since T --until T
 *            (T: ISO 8601 or ms since epoch)
 *
 * Every command opens the store read-only and never changes it: no torn line is cut, no table
 * created. The store is the evidence being checked.
 *
 * `verify` reads the whole store in seq order and checks every hash, link and signature, and what
 * the chain cannot see: query columns that disagree with their record (SQLite, PostgreSQL), and
 * lines of a JSON-lines file that are not complete records (a torn or appended last line is
 * reported with its file, line and byte offset, not skipped). With the
 * gateway's state directory (`--state`, default .portcullis/audit-spool) it also checks the store
 * still holds what the gateway delivered to it (catches a tail cut after the last checkpoint) and
 * nothing past what the gateway wrote. Public keys come from the key directory (every
 * `*.pub.pem`) and `--public-key`.
 *
 * Printed values are sanitized (control characters replaced): principals, tools and reasons come
 * from clients, and terminal escapes in them could rewrite what the operator sees.
 *
 * Exit status: 0 success (verify: chain intact), 1 verification failed or an error, 2 usage.
 */
import type { KeyObject } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChainHead, CheckpointProof } from './chain.ts';
import { checkCheckpoint } from './chain.ts';
import { FileSink } from './file-sink.ts';
import { loadPublicKeys, publicKeysFrom } from './keys.ts';
import { laneDirName } from './pipeline.ts';
import { PostgresSink } from './postgres-sink.ts';
import type { AuditRecord } from './record.ts';
import { CSV_COLUMNS, EvidenceCollector, csvRow, renderReport } from './report.ts';
export { CSV_COLUMNS, csvRow } from './report.ts';
import { indexRecord, type AuditQuery, type AuditSink, type ScanItem } from './sink.ts';
import { SqliteSink } from './sqlite-sink.ts';
import { readJson } from './state-file.ts';
import { recordShapeProblem } from './verify-store.ts';
import { ChainVerifier, type IntegrityDefect, type StoredItem, type VerifyResult } from './verify.ts';

export interface AuditCliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  /** Defaults the integrator derives from the config file (paths are used as given). */
  readonly defaults?: { db?: string; stateDir?: string; keyDir?: string };
  readonly now?: () => number;
}

const USAGE = `usage:
  portcullis audit verify [STORE] [--state DIR] [--sink NAME] [--keys DIR] [--public-key FILE]... [--json]
  portcullis audit query  [STORE] [FILTERS] [--limit N] [--json]
  portcullis audit export [STORE] [FILTERS] [--format jsonl|csv] [--out FILE]
  portcullis audit report [STORE] [--since T] [--until T] [--state DIR] [--keys DIR] [--out FILE]
STORE:   --db PATH (default .portcullis/audit.db) | --file PATH | --postgres URL [--table NAME]
         (give the PostgreSQL password in PGPASSWORD, not in the URL: command lines are visible to others)
FILTERS: --principal S --tool T --verdict V --finding TYPE --kind K --since T --until T
         (V: allow, redact, rewrite, block = refused by a control, error = refused otherwise,
          require-approval; T is ISO 8601, e.g. 2026-01-31T00:00:00Z, or milliseconds since the epoch)
exit:    0 ok; 1 the chain does not verify (verify, report: the report is still written) or a
         record could not be shown (query, export); 2 usage
`;

class UsageError extends Error {}

const OPTIONS = {
  db: { type: 'string' },
  file: { type: 'string' },
  postgres: { type: 'string' },
  table: { type: 'string' },
  state: { type: 'string' },
  sink: { type: 'string' },
  keys: { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  principal: { type: 'string' },
  tool: { type: 'string' },
  verdict: { type: 'string' },
  finding: { type: 'string' },
  kind: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export async function runAuditCli(argv: readonly string[], io: AuditCliIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  const [command, ...extra] = positionals;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (command === undefined) return usage(io, 'missing command');
  if (extra.length > 0) return usage(io, `unexpected argument: ${clean(extra[0]!)}`);
  let store: Store | undefined;
  try {
    switch (command) {
      case 'verify':
        store = await openStore(values, io);
        return await verify(store, values, io);
      case 'query':
        store = await openStore(values, io);
        return await query(store, values, io);
      case 'export':
        store = await openStore(values, io);
        return await exportRecords(store, values, io);
      case 'report':
        store = await openStore(values, io);
        return await report(store, values, io);
      default:
        return usage(io, `unknown command: ${clean(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message);
    io.stderr.write(`error: ${clean((err as Error).message)}\n`);
    return 1;
  } finally {
    await store?.sink.close();
  }
}

function usage(io: AuditCliIo, message: string): number {
  io.stderr.write(`${clean(message)}\n${USAGE}`);
  return 2;
}

interface Store {
  sink: AuditSink & { read(q: AuditQuery): AsyncIterable<AuditRecord> };
  label: string;
  /** The sink name in the gateway's state directory (its cursor), by default the type. */
  defaultSinkName: string;
  /** The database's own consistency check, where it has one: its complaints. */
  integrity?: () => string[];
}

async function openStore(v: Values, io: AuditCliIo): Promise<Store> {
  const chosen = [v.db, v.file, v.postgres].filter((x) => x !== undefined).length;
  if (chosen > 1) throw new UsageError('choose one store: --db, --file or --postgres');
  if (v.file !== undefined) {
    const sink = await FileSink.open({ path: resolve(v.file), readOnly: true });
    return { sink, label: v.file, defaultSinkName: 'file' };
  }
  if (v.postgres !== undefined) {
    const sink = await PostgresSink.open({ url: v.postgres, readOnly: true, ...(v.table !== undefined && { table: v.table }) });
    return { sink, label: `postgres table ${v.table ?? 'portcullis_audit'}`, defaultSinkName: 'postgres' };
  }
  const path = v.db ?? io.defaults?.db ?? '.portcullis/audit.db';
  try {
    const sink = new SqliteSink({ path: resolve(path), readOnly: true });
    return { sink, label: path, defaultSinkName: 'sqlite', integrity: () => sink.integrityCheck() };
  } catch (err) {
    throw new Error(`cannot open the audit database ${path}: ${(err as Error).message}`);
  }
}

function parseTime(s: string | undefined, flag: string): number | undefined {
  if (s === undefined) return undefined;
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) throw new UsageError(`${flag}: not a time (ISO 8601 or ms since epoch): ${s}`);
  return t;
}

function filters(v: Values): AuditQuery {
  const q: AuditQuery = {};
  if (v.principal !== undefined) q.principal = v.principal;
  if (v.tool !== undefined) q.tool = v.tool;
  if (v.verdict !== undefined) q.verdict = v.verdict;
  if (v.finding !== undefined) q.findingType = v.finding;
  if (v.kind !== undefined) q.kind = v.kind;
  const from = parseTime(v.since, '--since');
  const to = parseTime(v.until, '--until');
  if (from !== undefined) q.from = from;
  if (to !== undefined) q.to = to;
  if (v.limit !== undefined) {
    if (!/^[1-9]\d*$/.test(v.limit)) throw new UsageError('--limit must be a positive integer');
    q.limit = Number(v.limit);
  }
  return q;
}

// ---------------------------------------------------------------------------------------------

interface Anchors {
  publicKeys: Map<string, KeyObject>;
  anchors: CheckpointProof[];
  head: ChainHead | undefined;
  delivered: ChainHead | undefined;
  /** The sink whose store this is (`--sink`, else the store type): gap markers must name it. */
  sinkName: string;
  /**
   * Given with --sink, or the gateway's state has a cursor under that name: a marker naming
   * another sink is then a break, else only a warning (a configured name is not in the store).
   */
  sinkKnown: boolean;
  notes: string[];
}

async function loadAnchors(store: Store, v: Values, io: AuditCliIo): Promise<Anchors> {
  const keyDir = v.keys ?? io.defaults?.keyDir ?? '.portcullis/audit-keys';
  const notes: string[] = [];
  const publicKeys = await loadPublicKeys(resolve(keyDir), (path, reason) => notes.push(`skipped ${path}: not a readable PEM public key (${reason}); checkpoints signed with it show as signed by an unknown key`));
  for (const f of v['public-key'] ?? []) {
    let keys: Map<string, KeyObject>;
    try {
      keys = publicKeysFrom([await readFile(resolve(f), 'utf8')]);
    } catch (err) {
      throw new Error(`--public-key ${f}: not a readable PEM key: ${(err as Error).message}`);
    }
    for (const [id, k] of keys) publicKeys.set(id, k);
  }
  if (publicKeys.size === 0) notes.push(`no public keys found in ${keyDir}: checkpoint signatures cannot be checked`);
  const stateDir = resolve(v.state ?? io.defaults?.stateDir ?? '.portcullis/audit-spool');
  const head = await readJson<ChainHead & { checkpoint?: CheckpointProof }>(join(stateDir, 'head.json')).catch(() => undefined);
  const sinkName = v.sink ?? store.defaultSinkName;
  const cursor = await readJson<ChainHead>(join(stateDir, laneDirName(sinkName), 'cursor.json')).catch(() => undefined);
  const anchors: CheckpointProof[] = [];
  // The newest checkpoint is an anchor only once delivered to this store (it may be in flight).
  if (head?.checkpoint && cursor && head.checkpoint.seq < cursor.seq && checkCheckpoint(head.checkpoint, publicKeys) === 'ok') anchors.push(head.checkpoint);
  if (!head) notes.push(`no gateway state in ${stateDir}: records after the last checkpoint are protected by the chain only`);
  else if (!cursor) notes.push(`no delivery cursor for sink "${sinkName}" in ${stateDir} (use --sink NAME)`);
  return {
    publicKeys,
    anchors,
    head: head ? { seq: head.seq, hash: head.hash } : undefined,
    delivered: cursor ? { seq: cursor.seq, hash: cursor.hash } : undefined,
    sinkName,
    sinkKnown: v.sink !== undefined || cursor !== undefined,
    notes,
  };
}

function newVerifier(a: Anchors): ChainVerifier {
  return new ChainVerifier({ publicKeys: a.publicKeys, anchors: a.anchors, sink: a.sinkName, sinkKnown: a.sinkKnown, ...(a.head && { head: a.head }), ...(a.delivered && { delivered: a.delivered }) });
}

async function verify(store: Store, v: Values, io: AuditCliIo): Promise<number> {
  const anchors = await loadAnchors(store, v, io);
  const verifier = newVerifier(anchors);
  for await (const item of scan(store)) verifier.take(item);
  const result = verifier.finish();
  if (v.json) await put(io.stdout, JSON.stringify({ store: store.label, ...result, notes: anchors.notes }, null, 2) + '\n');
  else await put(io.stdout, formatVerify(result, store.label, anchors.notes));
  return result.ok ? 0 : 1;
}

/** The whole store for verification: with the store's own checks where it has them. */
async function* scan(store: Store): AsyncIterable<ScanItem | StoredItem | { defect: IntegrityDefect }> {
  for (const message of store.integrity?.() ?? []) {
    // SQLite names a row by rowid, which is the seq (INTEGER PRIMARY KEY).
    const row = /^row (\d+) /.exec(message)?.[1];
    const seq = row === undefined ? undefined : Number(row);
    yield { defect: { kind: 'store-integrity', seq, where: `database ${store.label}`, message: `the database fails its integrity check: ${message}` } };
  }
  if (store.sink.scan) yield* store.sink.scan();
  else for await (const record of store.sink.read({})) yield { record };
}

export function formatVerify(r: VerifyResult, label: string, notes: readonly string[] = []): string {
  const lines = [
    `${r.ok ? (r.warnings.length > 0 ? 'OK WITH WARNINGS' : 'OK') : 'FAILED'}: ${label}: ${r.records} records, seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}, anchored at ${r.anchor}, ${r.checkpoints} checkpoints (last verified at seq ${r.lastCheckpointSeq ?? '-'}; ${r.unsignedTail} records after it)`,
  ];
  for (const b of r.breaks) {
    const where = b.toSeq !== undefined ? `seq ${b.seq}..${b.toSeq}` : `seq ${b.seq ?? '-'}`;
    lines.push(`  ${b.kind.padEnd(20)} ${where}${b.recordId ? ` (record ${clean(b.recordId)})` : ''}${b.where ? ` at ${clean(b.where)}` : ''}: ${clean(b.message)}`);
  }
  if (r.problems > r.breaks.length) lines.push(`  … and ${r.problems - r.breaks.length} more problem(s): only the first ${r.breaks.length} are listed`);
  for (const g of r.gaps) lines.push(`  known gap            seq ${g.fromSeq}..${g.toSeq}: ${g.count} records not delivered to sink ${clean(g.sink)} (${clean(g.reason)}), signed`);
  for (const w of r.warnings) lines.push(`  warning: ${clean(w)}`);
  for (const n of notes) lines.push(`  note: ${clean(n)}`);
  return lines.join('\n') + '\n';
}

async function query(store: Store, v: Values, io: AuditCliIo): Promise<number> {
  const q = filters(v);
  let n = 0;
  const shape = new ShapeGuard(store, io);
  if (!v.json) await put(io.stdout, `${'SEQ'.padEnd(8)} ${'TIME'.padEnd(24)} ${'KIND'.padEnd(10)} ${'PRINCIPAL'.padEnd(20)} ${'TOOL'.padEnd(20)} ${'VERDICT'.padEnd(16)} FINDINGS\n`);
  for await (const r of store.sink.read(q)) {
    if (!shape.ok(r)) continue;
    n++;
    if (v.json) {
      await put(io.stdout, JSON.stringify(r) + '\n');
      continue;
    }
    const ix = indexRecord(r);
    await put(
      io.stdout,
      `${String(ix.seq).padEnd(8)} ${new Date(ix.time).toISOString().padEnd(24)} ${ix.kind.padEnd(10)} ${clean(ix.principal ?? '-').padEnd(20)} ${clean(ix.tool ?? '-').padEnd(20)} ${clean(ix.verdict ?? '-').padEnd(16)} ${clean(ix.findingTypes.join(',') || '-')}\n`,
    );
  }
  if (!v.json) io.stderr.write(`${n} record(s)\n`);
  return shape.status();
}

/**
 * Stores hand back whatever JSON they hold. A record query or export cannot show (json null, a
 * time outside the Date range, no `unmapped`) is reported on stderr with where it is and
 * skipped, and the command then exits 1: the output is not the whole selection. `verify`
 * reports the same records as malformed or edited.
 */
class ShapeGuard {
  #bad = 0;
  #lastSeq: number | undefined;
  readonly store: Store;
  readonly io: AuditCliIo;
  constructor(store: Store, io: AuditCliIo) {
    this.store = store;
    this.io = io;
  }

  ok(r: unknown): boolean {
    const problem = recordShapeProblem(r);
    if (problem === undefined) {
      this.#lastSeq = (r as AuditRecord).seq;
      return true;
    }
    this.#bad++;
    const seq = (r as { seq?: unknown } | null)?.seq;
    const where = Number.isSafeInteger(seq) ? `record seq ${String(seq)}` : this.#lastSeq === undefined ? 'the first record' : `the record after seq ${this.#lastSeq}`;
    this.io.stderr.write(`malformed: ${where} in ${clean(this.store.label)} is not a usable audit record (${clean(problem)}): skipped; run \`portcullis audit verify\`\n`);
    return false;
  }

  status(): number {
    return this.#bad > 0 ? 1 : 0;
  }
}

async function exportRecords(store: Store, v: Values, io: AuditCliIo): Promise<number> {
  const format = v.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format must be jsonl or csv');
  const q = filters(v);
  // 'wx': never overwrite an existing file (an earlier export may be evidence already).
  const fh = v.out !== undefined ? await open(resolve(v.out), 'wx') : undefined;
  let buffered = '';
  const write = async (s: string, force = false) => {
    buffered += s;
    if (!force && buffered.length < 1 << 16) return;
    if (fh) await fh.write(buffered);
    else await put(io.stdout, buffered);
    buffered = '';
  };
  let n = 0;
  const shape = new ShapeGuard(store, io);
  try {
    if (format === 'csv') await write(CSV_COLUMNS.join(',') + '\r\n');
    for await (const r of store.sink.read(q)) {
      if (!shape.ok(r)) continue;
      n++;
      await write(format === 'csv' ? csvRow(r) + '\r\n' : JSON.stringify(r) + '\n');
    }
    await write('', true);
  } finally {
    await fh?.close();
  }
  io.stderr.write(`exported ${n} record(s)${v.out !== undefined ? ` to ${clean(v.out)}` : ''}\n`);
  return shape.status();
}

async function report(store: Store, v: Values, io: AuditCliIo): Promise<number> {
  const anchors = await loadAnchors(store, v, io);
  const verifier = newVerifier(anchors);
  const collector = new EvidenceCollector({ from: parseTime(v.since, '--since'), to: parseTime(v.until, '--until') });
  // One pass: the whole chain is verified, the report aggregates the records in scope.
  for await (const item of scan(store)) {
    verifier.take(item);
    // Only records it can read: the verifier reports the others (malformed, edited).
    if ('record' in item && recordShapeProblem(item.record) === undefined) collector.add(item.record as AuditRecord);
  }
  const result = verifier.finish();
  const html = renderReport(collector.finish(result, { source: store.label, now: (io.now ?? Date.now)(), notes: anchors.notes }));
  if (v.out !== undefined) {
    await writeFile(resolve(v.out), html);
    io.stderr.write(`report written to ${clean(v.out)} (chain ${result.ok ? 'verified' : 'FAILED verification'})\n`);
  } else {
    await put(io.stdout, html);
  }
  // The report is written either way (it shows the failure); the status says it too, for scripts.
  return result.ok ? 0 : 1;
}

/**
 * Write to a stream and, when it asks (write returned false: its buffer is full), wait until it
 * drains. Output to a pipe is asynchronous: without the wait an export of a large store piled up
 * in memory, and the process could exit with most of it unwritten. A stream that fails or closes
 * (the reader went away) ends the wait too, so a broken pipe cannot hang the command.
 */
async function put(stream: AuditCliIo['stdout'], s: string): Promise<void> {
  if (stream.write(s) !== false) return;
  const ee = stream as Partial<Pick<NodeJS.WritableStream, 'once' | 'removeListener'>>;
  if (typeof ee.once !== 'function' || typeof ee.removeListener !== 'function') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      for (const e of ['drain', 'error', 'close']) ee.removeListener!(e, done);
      resolve();
    };
    for (const e of ['drain', 'error', 'close']) ee.once!(e, done);
  });
}

/**
 * Replace C0/C1 controls (terminal escapes) and the bidirectional embedding, override and
 * isolate controls (U+202A-U+202E, U+2066-U+2069: "Trojan Source", CVE-2021-42574) with U+FFFD:
 * a name holding them is displayed in another order than it is stored.
 */
function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}
