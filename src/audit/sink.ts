/**
 * Where audit records go. One small interface for every destination; `contract.ts` is the one
 * test suite they all pass.
 *
 * Delivery is at-least-once from the audit log's side (a batch is re-sent after a crash between
 * the sink's acknowledgement and the persisted cursor), so sinks are idempotent by `seq`:
 * writing a record whose seq the sink already holds is a no-op, and the first version wins.
 * Batches arrive in ascending seq order; a sink never needs to sort.
 */
import type { AuditRecord } from './record.ts';
import type { ChainHead, RetentionPolicy } from './chain.ts';

export interface AuditSink {
  /** Stable name (used for the spool directory and metrics). */
  readonly name: string;
  /** Store a batch (ascending seq). Resolves once durable/acknowledged; rejects to be retried. */
  write(batch: readonly AuditRecord[]): Promise<void>;
  /** Highest seq held (or acknowledged), undefined when empty. */
  lastSeq(): Promise<number | undefined>;
  /** Records in seq order matching `query`, for stores that can read back (query/export/verify). */
  read?(query: AuditQuery): AsyncIterable<AuditRecord>;
  /**
   * Every stored item in storage order, for verification: each record, and what the hash chain
   * cannot see about how it is stored (query columns that disagree with the record, bytes that
   * are not a complete record). Stores without it are verified through `read({})`.
   */
  scan?(): AsyncIterable<ScanItem>;
  /**
   * Apply retention; only stores that can read back implement it. When the first record to keep
   * is not already a signed checkpoint, the store asks `anchor` to sign the chain position it
   * links to into the trail (retention.ts), and cuts only once it holds that anchor.
   */
  prune?(policy: RetentionPolicy, now: number, anchor: AnchorFn): Promise<PruneResult>;
  close(): Promise<void>;
}

/**
 * Signs `at` (the seq and hash the first kept record links to) as a retention anchor record,
 * and resolves true once the store asking holds it; false: do not cut.
 */
export type AnchorFn = (at: ChainHead) => Promise<boolean>;

export interface PruneResult {
  removed: number;
  /** Seq of the record that is now the first (anchored by a checkpoint or retention anchor). */
  anchorSeq: number | undefined;
}

/** A stored record (with where it is, when the store can say more than its seq), or a defect. */
export type ScanItem = { record: unknown; where?: string } | { defect: StoreDefect };

export interface StoreDefect {
  /**
   * malformed: not a JSON record; unterminated: a last line without its newline (a torn write,
   * a write in progress, or bytes appended); index-mismatch: query columns that are not what the
   * record says, so queries on them mislead.
   */
  kind: 'malformed' | 'unterminated' | 'index-mismatch';
  seq: number | undefined;
  /** File, line and byte offset, or the row. */
  where: string;
  message: string;
}

export interface AuditQuery {
  principal?: string;
  /** Tool, prompt or resource name. */
  tool?: string;
  /** Folded verdict: allow, redact, rewrite, block (a control refused it), error (refused otherwise), require-approval. */
  verdict?: string;
  findingType?: string;
  /** Record kind: exchange, stream, finding, auth, lifecycle, checkpoint, gap, anchor. */
  kind?: string;
  /** Time range, ms since epoch, inclusive. */
  from?: number;
  to?: number;
  fromSeq?: number;
  toSeq?: number;
  limit?: number;
}

/** The fields queries filter on, extracted once (stores index them as columns). */
export interface RecordIndex {
  seq: number;
  uid: string;
  time: number;
  classUid: number;
  kind: string;
  principal: string | undefined;
  tool: string | undefined;
  verdict: string | undefined;
  findingTypes: string[];
}

export function indexRecord(r: AuditRecord): RecordIndex {
  const u = (r.unmapped ?? {}) as Record<string, unknown>;
  const actor = r['actor'] as { user?: { uid?: unknown } } | undefined;
  const user = r['user'] as { uid?: unknown } | undefined;
  const resources = r['resources'] as Array<{ name?: unknown }> | undefined;
  const types = Array.isArray(u['finding_types']) ? (u['finding_types'] as unknown[]).filter((t): t is string => typeof t === 'string') : [];
  const principal = actor?.user?.uid ?? user?.uid;
  return {
    seq: r.seq,
    uid: String(r.metadata?.uid ?? ''),
    time: r.time,
    classUid: r.class_uid,
    kind: String(u['kind'] ?? ''),
    principal: typeof principal === 'string' ? principal : undefined,
    tool: typeof resources?.[0]?.name === 'string' ? resources[0].name : undefined,
    verdict: typeof u['verdict'] === 'string' ? u['verdict'] : undefined,
    findingTypes: types,
  };
}

/**
 * How a store's query columns differ from what `indexRecord` derives from the record, as
 * "column "stored", record "derived"" phrases; empty when they agree. Columns are given as
 * the stores keep them (finding types joined by commas).
 */
export function indexDiff(columns: { readonly [K in keyof RecordIndex]: unknown }, r: AuditRecord): string[] {
  const ix = indexRecord(r);
  const want: Record<string, unknown> = { ...ix, findingTypes: ix.findingTypes.join(',') };
  const names: Record<string, string> = { seq: 'seq', uid: 'uid', time: 'time', classUid: 'class_uid', kind: 'kind', principal: 'principal', tool: 'tool', verdict: 'verdict', findingTypes: 'finding_types' };
  const out: string[] = [];
  for (const [k, col] of Object.entries(names)) {
    const have = columns[k as keyof RecordIndex] ?? null;
    const should = want[k] ?? null;
    if (have !== should) out.push(`${col} column ${JSON.stringify(have)}, record ${JSON.stringify(should)}`);
  }
  return out;
}

/** The reference semantics of a query, for sinks filtering in memory (and tests of SQL ones). */
export function matchesQuery(r: AuditRecord, q: AuditQuery, ix: RecordIndex = indexRecord(r)): boolean {
  if (q.fromSeq !== undefined && ix.seq < q.fromSeq) return false;
  if (q.toSeq !== undefined && ix.seq > q.toSeq) return false;
  if (q.from !== undefined && ix.time < q.from) return false;
  if (q.to !== undefined && ix.time > q.to) return false;
  if (q.principal !== undefined && ix.principal !== q.principal) return false;
  if (q.tool !== undefined && ix.tool !== q.tool) return false;
  if (q.verdict !== undefined && ix.verdict !== q.verdict) return false;
  if (q.kind !== undefined && ix.kind !== q.kind) return false;
  if (q.findingType !== undefined && !ix.findingTypes.includes(q.findingType)) return false;
  return true;
}

/** True when the query selects every record (verification and export read that way). */
export function isUnfiltered(q: AuditQuery): boolean {
  return (
    q.principal === undefined &&
    q.tool === undefined &&
    q.verdict === undefined &&
    q.findingType === undefined &&
    q.kind === undefined &&
    q.from === undefined &&
    q.to === undefined
  );
}

export class SinkClosedError extends Error {
  constructor(name: string) {
    super(`audit sink ${name} is closed`);
    this.name = 'SinkClosedError';
  }
}

/**
 * Runs async tasks one at a time in call order. Sinks use it so concurrent `write` calls land
 * in the order they were made, and the seq check of one sees the result of the one before.
 */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(task, task);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
