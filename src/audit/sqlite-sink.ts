/**
 * The embedded default sink, and the store `audit query|export|verify|report` read: one SQLite
 * database (node:sqlite) in WAL mode.
 *
 * - WAL (https://sqlite.org/wal.html) lets the CLI read while the gateway writes.
 * - 16 KiB pages (see the constructor).
 * - `synchronous=FULL`: in WAL mode NORMAL may lose the last commits on power loss, and the audit
 *   log marks a batch delivered (and may drop its spool copy) once `write` resolves.
 * - `INSERT OR IGNORE` on the seq primary key makes re-delivery a no-op (first version wins).
 * - Query fields are extracted into indexed columns at write time; the record itself is kept as
 *   its JSON text, exactly as written, so verification re-hashes what was chained. The chain
 *   does not cover the columns, so `scan` (verification) checks each row's columns against its
 *   record: an edited `verdict` column would otherwise hide a block from `--verdict block`.
 *
 * node:sqlite is synchronous: a batch transaction, fsync included, holds the calling thread. The
 * gateway runs the whole audit trail on a thread of its own (threaded.ts), so that is the audit
 * thread, never the data path; the audit log batches (one transaction per delivery round).
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RetentionPolicy } from './chain.ts';
import type { AuditRecord } from './record.ts';
import { pruneStore, type RetentionStore } from './retention.ts';
import { SinkClosedError, indexDiff, indexRecord, type AnchorFn, type AuditQuery, type AuditSink, type PruneResult, type ScanItem } from './sink.ts';
import { recordText } from './record-text.ts';
import type { StoredItem } from './verify.ts';

export interface SqliteSinkOptions {
  path: string;
  name?: string;
  /** Open an existing store for reading only (the CLI). */
  readOnly?: boolean;
}

const PAGE = 1000;

/**
 * Rows per multi-row INSERT. node:sqlite's `run` has a fixed cost per call (reset, bind checks, a
 * result object): one statement per 25 rows instead of one per row took `write` from ~13.3 to
 * ~11.6 µs CPU per record (batches of 500 bench records; 100 rows per statement did no better).
 * A batch's remainder goes row by row. `OR IGNORE` applies to each row of a multi-row INSERT
 * alike: a seq already stored (or repeated in the batch) keeps its first version.
 */
const ROWS = 25;
const COLUMNS = '(seq, uid, time, class_uid, kind, principal, tool, verdict, finding_types, json)';
const PLACEHOLDERS = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const WIDTH = 10;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_records (
  seq INTEGER PRIMARY KEY,
  uid TEXT NOT NULL,
  time INTEGER NOT NULL,
  class_uid INTEGER NOT NULL,
  kind TEXT NOT NULL,
  principal TEXT,
  tool TEXT,
  verdict TEXT,
  finding_types TEXT NOT NULL DEFAULT '',
  json TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_records_time ON audit_records(time);
CREATE INDEX IF NOT EXISTS audit_records_principal ON audit_records(principal, time);
CREATE INDEX IF NOT EXISTS audit_records_tool ON audit_records(tool, time);
CREATE INDEX IF NOT EXISTS audit_records_kind ON audit_records(kind, seq);
`;

export class SqliteSink implements AuditSink {
  readonly name: string;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync | undefined;
  readonly #insertRows: StatementSync | undefined;
  /** The statements' parameters, reused batch after batch. */
  readonly #params: SQLInputValue[] = new Array(ROWS * WIDTH);
  readonly #row: SQLInputValue[] = new Array(WIDTH);
  #closed = false;

  constructor(opts: SqliteSinkOptions) {
    this.name = opts.name ?? 'sqlite';
    this.path = opts.path;
    if (opts.readOnly) {
      this.#db = new DatabaseSync(opts.path, { readOnly: true });
      this.#db.exec('PRAGMA busy_timeout = 2000;');
      return;
    }
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.#db = new DatabaseSync(opts.path);
    // 16 KiB pages for a new store (an existing one keeps its size): records are ~1.5 KB of JSON,
    // and larger pages mean fewer page images per commit in the WAL. Measured on the bench's
    // records in batches of 400: ~14 → ~10 µs CPU per record. Must precede the switch to WAL.
    this.#db.exec('PRAGMA page_size = 16384;');
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 2000;');
    this.#db.exec(SCHEMA);
    this.#insert = this.#db.prepare(`INSERT OR IGNORE INTO audit_records ${COLUMNS} VALUES ${PLACEHOLDERS}`);
    this.#insertRows = this.#db.prepare(`INSERT OR IGNORE INTO audit_records ${COLUMNS} VALUES ${new Array(ROWS).fill(PLACEHOLDERS).join(', ')}`);
  }

  async write(batch: readonly AuditRecord[]): Promise<void> {
    if (this.#closed) throw new SinkClosedError(this.name);
    if (batch.length === 0) return;
    const insert = this.#insert;
    const insertRows = this.#insertRows;
    if (!insert || !insertRows) throw new Error(`audit sink ${this.name} is read-only`);
    const params = this.#params;
    const row = this.#row;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      let i = 0;
      for (; i + ROWS <= batch.length; i += ROWS) {
        for (let j = 0; j < ROWS; j++) rowParams(batch[i + j]!, params, j * WIDTH);
        insertRows.run(...params);
      }
      for (; i < batch.length; i++) {
        rowParams(batch[i]!, row, 0);
        insert.run(...row);
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    } finally {
      // Drop the references to this batch's texts until the next one.
      params.fill(null);
      row.fill(null);
    }
  }

  async lastSeq(): Promise<number | undefined> {
    if (this.#closed) throw new SinkClosedError(this.name);
    const row = this.#db.prepare('SELECT max(seq) AS s FROM audit_records').get() as { s: number | null } | undefined;
    return row?.s ?? undefined;
  }

  /** Pages through the store by seq, so reading a large store holds one page at a time. */
  async *read(q: AuditQuery = {}): AsyncIterable<AuditRecord> {
    if (this.#closed) throw new SinkClosedError(this.name);
    const where: string[] = ['seq > ?'];
    const params: Array<string | number> = [];
    const add = (sql: string, v: string | number | undefined) => {
      if (v === undefined) return;
      where.push(sql);
      params.push(v);
    };
    add('seq <= ?', q.toSeq);
    add('time >= ?', q.from);
    add('time <= ?', q.to);
    add('principal = ?', q.principal);
    add('tool = ?', q.tool);
    add('verdict = ?', q.verdict);
    add('kind = ?', q.kind);
    // Comma-delimited list: instr() avoids LIKE's wildcard escaping.
    add("instr(finding_types, ',' || ? || ',') > 0", q.findingType);
    const stmt = this.#db.prepare(`SELECT seq, json FROM audit_records WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`);
    let after = (q.fromSeq ?? 1) - 1;
    let left = q.limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const rows = stmt.all(after, ...params, Math.min(PAGE, left)) as Array<{ seq: number; json: string }>;
      for (const row of rows) yield JSON.parse(row.json) as AuditRecord;
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.seq;
      left -= rows.length;
    }
  }

  /**
   * Every row in seq order, its record (with the text stored, which is JSON.stringify of it as
   * written: the verifier checks it still is) and any query column that disagrees with it.
   */
  async *scan(): AsyncIterable<StoredItem> {
    if (this.#closed) throw new SinkClosedError(this.name);
    const stmt = this.#db.prepare(
      'SELECT seq, uid, time, class_uid AS classUid, kind, principal, tool, verdict, finding_types AS findingTypes, json FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    for (let after = 0; ; ) {
      const rows = stmt.all(after, PAGE) as unknown as Array<IndexRow & { json: string }>;
      for (const { json, ...cols } of rows) yield* checkRow(cols, json);
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  prune(policy: RetentionPolicy, now: number, anchor: AnchorFn): Promise<PruneResult> {
    if (this.#closed) return Promise.reject(new SinkClosedError(this.name));
    if (!this.#insert) return Promise.reject(new Error(`audit sink ${this.name} is read-only`));
    return pruneStore(this.#retention(), policy, now, anchor);
  }

  #retention(): RetentionStore {
    const db = this.#db;
    const record = (row: unknown) => (row ? (JSON.parse((row as { json: string }).json) as AuditRecord) : undefined);
    return {
      survey: async (cutoff) => {
        const b = db.prepare('SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM audit_records').get() as { lo: number | null; hi: number | null; n: number };
        if (b.lo === null || b.hi === null) return undefined;
        const last = record(db.prepare('SELECT json FROM audit_records WHERE seq = ?').get(b.hi))!;
        const after = cutoff === undefined ? undefined : (db.prepare('SELECT min(seq) AS s FROM audit_records WHERE time > ?').get(cutoff) as { s: number | null }).s;
        return { first: b.lo, count: b.n, last, firstAfter: after ?? undefined };
      },
      nthNewest: async (n, s) => (db.prepare('SELECT seq FROM audit_records WHERE seq <= ? ORDER BY seq DESC LIMIT 1 OFFSET ?').get(s.last.seq, n - 1) as { seq: number } | undefined)?.seq,
      around: async (seq) => ({
        before: record(db.prepare('SELECT json FROM audit_records WHERE seq < ? ORDER BY seq DESC LIMIT 1').get(seq)),
        at: record(db.prepare('SELECT json FROM audit_records WHERE seq = ?').get(seq)),
      }),
      deleteBefore: async (seq) => Number(db.prepare('DELETE FROM audit_records WHERE seq < ?').run(seq).changes),
    };
  }

  /**
   * SQLite's own consistency check, for verification: what it reports, empty when the database
   * is sound. `integrity_check`, not `quick_check`: only the full check compares each index with
   * its table, and an index that disagrees with the table (edited behind SQLite's back) hides
   * rows from the indexed queries (`--principal`, `--tool`) while every record still verifies.
   */
  integrityCheck(): string[] {
    if (this.#closed) throw new SinkClosedError(this.name);
    const rows = this.#db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).filter((m) => m !== 'ok');
  }

  /** Records by kind count (the report), without reading the records. */
  count(): number {
    const row = this.#db.prepare('SELECT count(*) AS n FROM audit_records').get() as { n: number };
    return row.n;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

/** One row's values, in COLUMNS order, into `out` from `at`. */
function rowParams(r: AuditRecord, out: SQLInputValue[], at: number): void {
  const ix = indexRecord(r);
  out[at] = ix.seq;
  out[at + 1] = ix.uid;
  out[at + 2] = ix.time;
  out[at + 3] = ix.classUid;
  out[at + 4] = ix.kind;
  out[at + 5] = ix.principal ?? null;
  out[at + 6] = ix.tool ?? null;
  out[at + 7] = ix.verdict ?? null;
  out[at + 8] = ix.findingTypes.length ? `,${ix.findingTypes.join(',')},` : '';
  out[at + 9] = recordText(r);
}

/** A row's query columns, named as in `RecordIndex` (finding types as the comma-list stored). */
interface IndexRow {
  seq: number;
  uid: string;
  time: number;
  classUid: number;
  kind: string;
  principal: string | null;
  tool: string | null;
  verdict: string | null;
  findingTypes: string;
}

function* checkRow(cols: IndexRow, json: string): Iterable<StoredItem> {
  const where = `row seq ${cols.seq}`;
  let record: AuditRecord;
  try {
    record = JSON.parse(json) as AuditRecord;
  } catch {
    yield { defect: { kind: 'malformed', seq: cols.seq, where, message: 'the json column is not JSON' } };
    return;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    // Not a record at all: its columns cannot be compared with it (indexRecord would throw).
    yield { defect: { kind: 'malformed', seq: cols.seq, where, message: `the json column is not a JSON object (${record === null ? 'null' : Array.isArray(record) ? 'an array' : typeof record})` } };
    return;
  }
  yield { record, text: json };
  // Stored as ",a,b," so instr() matches whole names; compare as the plain list.
  const diff = indexDiff({ ...cols, findingTypes: cols.findingTypes.replace(/^,|,$/g, '') }, record);
  if (diff.length > 0) {
    yield { defect: { kind: 'index-mismatch', seq: cols.seq, where, message: `query columns disagree with the record: ${diff.join('; ')}` } };
  }
}
