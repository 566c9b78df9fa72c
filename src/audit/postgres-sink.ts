/**
 * PostgreSQL sink (node-postgres).
 *
 * The record is stored in a `json` column, not `jsonb`: json keeps the text as written and
 * accepts the escaped NUL (`\u0000`) a tool argument may contain, which jsonb rejects; the
 * verifier re-hashes through canonical JSON, so key order in storage does not matter anyway.
 * Query fields are extracted into indexed columns, as in the SQLite sink.
 *
 * A batch is one statement over `unnest` arrays with `ON CONFLICT (seq) DO NOTHING`: idempotent
 * by seq, atomic, and a constant number of parameters whatever the batch size.
 */
import pg from 'pg';
import { retentionCut, type RetentionPolicy } from './chain.ts';
import type { AuditRecord } from './record.ts';
import { Serial, SinkClosedError, indexRecord, type AuditQuery, type AuditSink, type PruneResult } from './sink.ts';
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
  #ready: Promise<void> | undefined;
  #closed = false;

  private constructor(opts: PostgresSinkOptions) {
    this.name = opts.name ?? 'postgres';
    const table = opts.table ?? 'portcullis_audit';
    this.#table = quoteTable(table);
    this.#indexPrefix = table.replace('.', '_');
    this.#pool = new pg.Pool({ connectionString: opts.url, max: 2, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
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

  /** Create the table once; a failure is retried by the next operation. */
  #schema(): Promise<void> {
    this.#ready ??= this.#ensureSchema().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
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

  prune(policy: RetentionPolicy, now: number): Promise<PruneResult> {
    return this.#serial.run(async () => {
      if (this.#closed) throw new SinkClosedError(this.name);
      await this.#schema();
      const b = await this.#pool.query<{ lo: string | null; hi: string | null }>(`SELECT min(seq)::text AS lo, max(seq)::text AS hi FROM ${this.#table}`);
      const { lo, hi } = b.rows[0]!;
      if (lo === null || hi === null) return { removed: 0, anchorSeq: undefined };
      const a = await this.#pool.query<{ seq: string; time: string }>(`SELECT seq::text, time::text FROM ${this.#table} WHERE kind = 'checkpoint' ORDER BY seq`);
      const anchors = a.rows.map((r) => ({ seq: Number(r.seq), time: Number(r.time) }));
      const cut = retentionCut(anchors, Number(lo), Number(hi), policy, now);
      if (cut === undefined) return { removed: 0, anchorSeq: undefined };
      const res = await this.#pool.query(`DELETE FROM ${this.#table} WHERE seq < $1`, [cut]);
      return { removed: res.rowCount ?? 0, anchorSeq: cut };
    });
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
