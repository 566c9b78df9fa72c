/**
 * PostgreSQL sink (node-postgres).
 *
 * The record is stored in a `json` column, not `jsonb`: json keeps the text as written and
 * accepts the escaped NUL (`\u0000`) a tool argument may contain, which jsonb rejects; the
 * verifier re-hashes through canonical JSON, so key order in storage does not matter anyway.
 * Query fields are extracted into indexed columns, as in the SQLite sink, and `scan`
 * (verification) checks them against each record, since the chain covers only the record.
 *
 * `readOnly` (the CLI) creates nothing: the table must exist, and every session is
 * `default_transaction_read_only` (PostgreSQL docs, "Client Connection Defaults").
 *
 * A batch is one statement over `unnest` arrays with `ON CONFLICT (seq) DO NOTHING`: idempotent
 * by seq, atomic, and a constant number of parameters whatever the batch size.
 */
import pg from 'pg';
import type { RetentionPolicy } from './chain.ts';
import type { AuditRecord } from './record.ts';
import { pruneStore, type RetentionStore } from './retention.ts';
import { Serial, SinkClosedError, indexDiff, indexRecord, type AnchorFn, type AuditQuery, type AuditSink, type PruneResult, type ScanItem } from './sink.ts';
import { recordText } from './record-text.ts';

export interface PostgresSinkOptions {
  url: string;
  /** Table name, optionally schema-qualified: `audit_records` or `audit.records`. */
  table?: string;
  name?: string;
  /**
   * Connect on first use instead of in `open` (the gateway: a database that is down at startup
   * must not stop it; records spool until it is back). The CLI opens eagerly to fail fast.
   */
  lazy?: boolean;
  /** Read an existing table only (the CLI): no schema is created, sessions are read-only. */
  readOnly?: boolean;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const PAGE = 1000;

/** Quote a possibly schema-qualified identifier (names are validated, so this cannot inject). */
export function quoteTable(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new Error(`invalid audit table name "${table}": use [A-Za-z_][A-Za-z0-9_]* optionally as schema.table`);
  }
  return parts.map((p) => `"${p}"`).join('.');
}

export class PostgresSink implements AuditSink {
  readonly name: string;
  readonly #pool: pg.Pool;
  readonly #table: string;
  readonly #indexPrefix: string;
  readonly #serial = new Serial();
  readonly #readOnly: boolean;
  #ready: Promise<void> | undefined;
  #closed = false;

  private constructor(opts: PostgresSinkOptions) {
    this.name = opts.name ?? 'postgres';
    const table = opts.table ?? 'portcullis_audit';
    this.#table = quoteTable(table);
    this.#indexPrefix = table.replace('.', '_');
    this.#readOnly = opts.readOnly ?? false;
    this.#pool = new pg.Pool({
      connectionString: opts.url,
      max: 2,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      ...(this.#readOnly && { options: '-c default_transaction_read_only=on' }),
    });
    // An idle client losing its connection emits on the pool; without a listener that is an
    // uncaught error. The next query reconnects; delivery retries cover the gap.
    this.#pool.on('error', () => undefined);
  }

  static async open(opts: PostgresSinkOptions): Promise<PostgresSink> {
    const sink = new PostgresSink(opts);
    if (opts.lazy) return sink;
    try {
      await sink.#schema();
    } catch (err) {
      await sink.#pool.end();
      throw err;
    }
    return sink;
  }

  /** Create the table once (read-only: check it exists); a failure is retried by the next operation. */
  #schema(): Promise<void> {
    this.#ready ??= (this.#readOnly ? this.#checkTable() : this.#ensureSchema()).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #checkTable(): Promise<void> {
    const res = await this.#pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [this.#table]);
    if (res.rows[0]?.t == null) throw new Error(`no audit table ${this.#table} in this database`);
  }

  async #ensureSchema(): Promise<void> {
    const t = this.#table;
    const p = this.#indexPrefix;
    await this.#pool.query(`
      CREATE TABLE IF NOT EXISTS ${t} (
        seq bigint PRIMARY KEY,
        uid text NOT NULL,
        time bigint NOT NULL,
        class_uid integer NOT NULL,
        kind text NOT NULL,
        principal text,
        tool text,
        verdict text,
        finding_types text[] NOT NULL DEFAULT '{}',
        record json NOT NULL
      );
      CREATE INDEX IF NOT EXISTS "${p}_time" ON ${t} (time);
      CREATE INDEX IF NOT EXISTS "${p}_principal" ON ${t} (principal, time);
      CREATE INDEX IF NOT EXISTS "${p}_tool" ON ${t} (tool, time);
      CREATE INDEX IF NOT EXISTS "${p}_kind" ON ${t} (kind, seq);
    `);
  }

  write(batch: readonly AuditRecord[]): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) throw new SinkClosedError(this.name);
      if (this.#readOnly) throw new Error(`audit sink ${this.name} is read-only`);
      if (batch.length === 0) return;
      await this.#schema();
      const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
      for (const r of batch) {
        const ix = indexRecord(r);
        const row = [ix.seq, ix.uid, ix.time, ix.classUid, ix.kind, ix.principal ?? null, ix.tool ?? null, ix.verdict ?? null, `{${ix.findingTypes.map(pgArrayItem).join(',')}}`, recordText(r)];
        row.forEach((v, i) => cols[i]!.push(v));
      }
      await this.#pool.query(
        `INSERT INTO ${this.#table} (seq, uid, time, class_uid, kind, principal, tool, verdict, finding_types, record)
         SELECT seq, uid, time, class_uid, kind, principal, tool, verdict, ft::text[], rec::json
         FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
           AS u(seq, uid, time, class_uid, kind, principal, tool, verdict, ft, rec)
         ORDER BY seq
         ON CONFLICT (seq) DO NOTHING`,
        cols,
      );
    });
  }

  async lastSeq(): Promise<number | undefined> {
    if (this.#closed) throw new SinkClosedError(this.name);
    await this.#schema();
    const res = await this.#pool.query<{ s: string | null }>(`SELECT max(seq)::text AS s FROM ${this.#table}`);
    const s = res.rows[0]?.s;
    return s === null || s === undefined ? undefined : Number(s);
  }

  async *read(q: AuditQuery = {}): AsyncIterable<AuditRecord> {
    if (this.#closed) throw new SinkClosedError(this.name);
    await this.#schema();
    const where = ['seq > $1'];
    const params: unknown[] = [0];
    const add = (sql: (n: string) => string, v: unknown) => {
      if (v === undefined) return;
      params.push(v);
      where.push(sql(`$${params.length}`));
    };
    add((n) => `seq <= ${n}`, q.toSeq);
    add((n) => `time >= ${n}`, q.from);
    add((n) => `time <= ${n}`, q.to);
    add((n) => `principal = ${n}`, q.principal);
    add((n) => `tool = ${n}`, q.tool);
    add((n) => `verdict = ${n}`, q.verdict);
    add((n) => `kind = ${n}`, q.kind);
    add((n) => `${n} = ANY(finding_types)`, q.findingType);
    params.push(0);
    const limitParam = `$${params.length}`;
    // Alias not named `seq`: ORDER BY would bind to the text output column and sort as text.
    const sql = `SELECT seq::text AS seq_text, record::text AS record FROM ${this.#table} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${limitParam}`;
    let after = (q.fromSeq ?? 1) - 1;
    let left = q.limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      params[0] = after;
      params[params.length - 1] = Math.min(PAGE, left);
      const res = await this.#pool.query<{ seq_text: string; record: string }>(sql, params);
      for (const row of res.rows) yield JSON.parse(row.record) as AuditRecord;
      if (res.rows.length < PAGE) return;
      after = Number(res.rows[res.rows.length - 1]!.seq_text);
      left -= res.rows.length;
    }
  }

  /** Every row in seq order, its record and any query column that disagrees with it. */
  async *scan(): AsyncIterable<ScanItem> {
    if (this.#closed) throw new SinkClosedError(this.name);
    await this.#schema();
    // bigint as text (pg returns int8 as a string); the record as the text stored.
    const sql = `SELECT seq::text AS seq_text, uid, time::text AS time_text, class_uid, kind, principal, tool, verdict, finding_types, record::text AS record
      FROM ${this.#table} WHERE seq > $1 ORDER BY seq LIMIT $2`;
    for (let after = 0; ; ) {
      const res = await this.#pool.query<PgRow>(sql, [after, PAGE]);
      for (const row of res.rows) yield* checkRow(row);
      if (res.rows.length < PAGE) return;
      after = Number(res.rows[res.rows.length - 1]!.seq_text);
    }
  }

  /** Finding the cut runs outside the write queue: the anchor it may wait for comes through `write`. */
  async prune(policy: RetentionPolicy, now: number, anchor: AnchorFn): Promise<PruneResult> {
    if (this.#closed) throw new SinkClosedError(this.name);
    if (this.#readOnly) throw new Error(`audit sink ${this.name} is read-only`);
    await this.#schema();
    return pruneStore(this.#retention(), policy, now, anchor);
  }

  #retention(): RetentionStore {
    const t = this.#table;
    const q = async (sql: string, params: unknown[] = []) => (await this.#pool.query<Record<string, string | null>>(sql, params)).rows[0];
    const record = (row: Record<string, string | null> | undefined) => (row?.['r'] ? (JSON.parse(row['r']) as AuditRecord) : undefined);
    return {
      survey: async (cutoff) => {
        const b = (await q(`SELECT min(seq)::text AS lo, max(seq)::text AS hi, count(*)::text AS n FROM ${t}`))!;
        if (b['lo'] == null || b['hi'] == null) return undefined;
        const last = record(await q(`SELECT record::text AS r FROM ${t} WHERE seq = $1`, [b['hi']]))!;
        const after = cutoff === undefined ? undefined : (await q(`SELECT min(seq)::text AS s FROM ${t} WHERE time > $1`, [cutoff]))?.['s'];
        return { first: Number(b['lo']), count: Number(b['n']), last, firstAfter: after == null ? undefined : Number(after) };
      },
      nthNewest: async (n, s) => {
        const row = await q(`SELECT seq::text AS s FROM ${t} WHERE seq <= $1 ORDER BY seq DESC LIMIT 1 OFFSET $2`, [s.last.seq, n - 1]);
        return row?.['s'] == null ? undefined : Number(row['s']);
      },
      around: async (seq) => ({
        before: record(await q(`SELECT record::text AS r FROM ${t} WHERE seq < $1 ORDER BY seq DESC LIMIT 1`, [seq])),
        at: record(await q(`SELECT record::text AS r FROM ${t} WHERE seq = $1`, [seq])),
      }),
      deleteBefore: async (seq) => (await this.#pool.query(`DELETE FROM ${t} WHERE seq < $1`, [seq])).rowCount ?? 0,
    };
  }

  close(): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#pool.end();
    });
  }
}

/** One element of a PostgreSQL array literal, always quoted (finding types are free text). */
function pgArrayItem(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

interface PgRow {
  seq_text: string;
  uid: string;
  time_text: string;
  class_uid: number;
  kind: string;
  principal: string | null;
  tool: string | null;
  verdict: string | null;
  finding_types: string[];
  record: string;
}

function* checkRow(row: PgRow): Iterable<ScanItem> {
  const seq = Number(row.seq_text);
  const where = `row seq ${seq}`;
  let record: AuditRecord;
  try {
    record = JSON.parse(row.record) as AuditRecord;
  } catch {
    yield { defect: { kind: 'malformed', seq, where, message: 'the record column is not JSON' } };
    return;
  }
  yield { record };
  const cols = { seq, uid: row.uid, time: Number(row.time_text), classUid: row.class_uid, kind: row.kind, principal: row.principal, tool: row.tool, verdict: row.verdict, findingTypes: row.finding_types.join(',') };
  const diff = indexDiff(cols, record);
  if (diff.length > 0) {
    yield { defect: { kind: 'index-mismatch', seq, where, message: `query columns disagree with the record: ${diff.join('; ')}` } };
  }
}
