/**
 * The audit delivery engine: accepts records from the data path without blocking it, chains
 * them, and delivers them to every sink through per-sink lanes (lane.ts) that spool to disk.
 *
 * Data path contract:
 * - `append(event)` is synchronous and O(1) in the number of queued records: it links the event
 *   into the chain (seq, prev_hash, hash), pushes it on the in-memory queue and returns its seq.
 *   It never waits for a disk or a sink, and never throws on record content.
 * - `accepting()` is what the gateway checks before admitting a new call. Under 'fail-closed'
 *   it turns false while audit cannot keep up without losing records (the queue is at its bound,
 *   a sink's spool is full, or the state directory cannot be written); `refusal()` says why. The
 *   gateway then refuses new calls with a clear error, while calls already in flight still get
 *   their records appended (never dropped). Under 'shed' it stays true and a full spool drops
 *   records for that sink behind a signed, counted gap marker.
 *
 * Why the head file: before any record of a batch can reach a sink or a spool, the chain head
 * (last seq and hash) is written atomically to `<stateDir>/head.json`. After a crash the next
 * process continues the chain from there, so a seq is never issued twice (which sinks, being
 * idempotent by seq, would silently swallow). Records still only in memory at a crash are lost;
 * on restart each lane attests that loss with a signed gap marker.
 *
 * State directory layout (`spoolDir`):
 *   head.json                  chain head, last checkpoint, clean-shutdown flag
 *   <sink>/cursor.json         last seq and hash the sink acknowledged
 *   <sink>/spool/<seq>.jsonl   records waiting for the sink
 *   <sink>/sink-state.json     network sinks' own idempotency state
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Chain, GENESIS_HASH, anchorEvent, checkpointEvent, signCheckpoint, type ChainHead, type CheckpointProof, type RetentionPolicy, type Signer } from './chain.ts';
import { Lane, type AuditHooks, type LaneMetrics } from './lane.ts';
import type { AuditEvent, AuditRecord } from './record.ts';
import type { AuditSink, PruneResult } from './sink.ts';
import { readJson, writeJsonAtomic } from './state-file.ts';

export type { AuditHooks } from './lane.ts';

export interface AuditLogOptions {
  sinks: readonly AuditSink[];
  /** The spool / state directory. */
  stateDir: string;
  signer: Signer;
  posture: 'fail-closed' | 'shed';
  /** Per sink: the spool size at which the posture applies. */
  spoolMaxBytes: number;
  checkpoint: { everyRecords: number; everyMs: number };
  retention?: RetentionPolicy & { everyMs?: number };
  /** Records held in memory per sink before spooling. Default 2048. */
  memoryRecords?: number;
  /** Records waiting for the head write before `accepting()` turns false. Default 10000. */
  queueMaxRecords?: number;
  batchSize?: number;
  /** Milliseconds between delivery rounds (config `audit.batchMs`; default here 20; 0: next turn of the loop). */
  batchMs?: number;
  segmentBytes?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  hooks?: AuditHooks;
  now?: () => number;
  newId?: () => string;
}

export interface AuditMetrics {
  accepting: boolean;
  /** Records appended but not yet handed to the lanes. */
  queueDepth: number;
  headSeq: number;
  appended: number;
  spoolBytes: number;
  delivered: number;
  dropped: number;
  sinks: LaneMetrics[];
}

interface HeadFile extends ChainHead {
  checkpoint?: CheckpointProof;
  clean: boolean;
}

function assertEvent(e: unknown): asserts e is AuditEvent {
  const ev = e as Partial<AuditEvent> | null;
  if (
    ev === null ||
    typeof ev !== 'object' ||
    typeof ev.class_uid !== 'number' ||
    typeof ev.time !== 'number' ||
    typeof ev.metadata?.uid !== 'string' ||
    typeof ev.unmapped?.kind !== 'string'
  ) {
    throw new TypeError('AuditLog.append: not an audit event (build it with RecordBuilder)');
  }
}

/** Sink names become directory names: keep them to a safe alphabet and unique. */
export function laneDirName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  if (safe === '' || safe.length > 100) throw new Error(`audit sink name "${name}" cannot name a directory`);
  return safe;
}

/** How long retention waits for its anchor to reach a sink before leaving that sink uncut. */
const ANCHOR_WAIT_MS = 30_000;

export class AuditLog {
  readonly #o: AuditLogOptions;
  readonly #lanes: Lane[];
  readonly #chain: Chain;
  readonly #headPath: string;
  readonly #now: () => number;
  readonly #newId: () => string;
  #pendingRecords: AuditRecord[] = [];
  /** Records taken off the queue whose head write is in progress. */
  #inflight = 0;
  #draining = false;
  #drained: Promise<void> = Promise.resolve();
  #headError: Error | undefined;
  #lastCheckpoint: CheckpointProof | undefined;
  #sinceCheckpoint = 0;
  #appended = 0;
  #closed = false;
  /** A retention run in progress (it may wait for an anchor's delivery): runs never overlap. */
  #pruning = false;
  #timers: NodeJS.Timeout[] = [];

  private constructor(o: AuditLogOptions, lanes: Lane[], head: HeadFile) {
    this.#o = o;
    this.#lanes = lanes;
    this.#chain = new Chain(head);
    this.#headPath = join(o.stateDir, 'head.json');
    this.#now = o.now ?? Date.now;
    this.#newId = o.newId ?? randomUUID;
    this.#lastCheckpoint = head.checkpoint;
  }

  static async open(o: AuditLogOptions): Promise<AuditLog> {
    const names = new Set<string>();
    for (const s of o.sinks) {
      const dir = laneDirName(s.name);
      if (names.has(dir)) throw new Error(`two audit sinks are named "${s.name}": give each a distinct name`);
      names.add(dir);
    }
    await mkdir(o.stateDir, { recursive: true });
    const headPath = join(o.stateDir, 'head.json');
    const saved = await readJson<HeadFile>(headPath);
    let head: HeadFile = saved && Number.isSafeInteger(saved.seq) ? saved : { seq: 0, hash: GENESIS_HASH, clean: true };
    const laneOpts = {
      memoryRecords: o.memoryRecords ?? 2048,
      batchSize: o.batchSize ?? 500,
      spoolMaxBytes: o.spoolMaxBytes,
      // Segments are freed whole once delivered: keep them small relative to the bound.
      segmentBytes: o.segmentBytes ?? Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(o.spoolMaxBytes / 8))),
      posture: o.posture,
      signer: o.signer,
      newId: o.newId ?? randomUUID,
      now: o.now ?? Date.now,
      minBackoffMs: o.minBackoffMs ?? 100,
      maxBackoffMs: o.maxBackoffMs ?? 30_000,
      hooks: o.hooks ?? {},
    };
    // A sink holding a later seq than the head means the head was lost or belongs elsewhere;
    // continuing would issue seqs the sink already has (and would silently ignore).
    for (const s of o.sinks) {
      // A sink that cannot answer now (down) is checked by its lane's idempotency instead.
      const last = await s.lastSeq().catch((err: Error) => {
        o.hooks?.onSinkError?.(s.name, err);
        return undefined;
      });
      if (last === undefined || last <= head.seq) continue;
      let found: ChainHead | undefined;
      if (s.read) for await (const r of s.read({ fromSeq: last, toSeq: last })) found = { seq: r.seq, hash: r.hash };
      if (!found) {
        throw new Error(`audit sink ${s.name} already holds seq ${last} but the audit state in ${o.stateDir} ends at seq ${head.seq}: the state directory was lost or belongs to another gateway`);
      }
      head = { ...head, ...found };
    }
    const lanes: Lane[] = [];
    for (const s of o.sinks) lanes.push(await Lane.open(s.name, s, join(o.stateDir, laneDirName(s.name)), head, laneOpts));
    const log = new AuditLog(o, lanes, head);
    await writeJsonAtomic(headPath, { ...log.head(), ...(log.#lastCheckpoint && { checkpoint: log.#lastCheckpoint }), clean: false });
    log.#startTimers();
    return log;
  }

  /**
   * Chain `event` (or each of several, e.g. the findings of one message) and queue it for every
   * sink. Sync, never blocks; returns the (last) seq, or -1 after close.
   * Throws TypeError only for something that is not an event at all (a programming error): such
   * a value must not enter the chain, where it would fail in every store.
   */
  append(event: AuditEvent | readonly AuditEvent[]): number {
    const events = Array.isArray(event) ? (event as readonly AuditEvent[]) : [event as AuditEvent];
    for (const e of events) assertEvent(e);
    if (this.#closed) {
      this.#o.hooks?.onDropped?.('*', events.length);
      return -1;
    }
    let seq = -1;
    for (const e of events) {
      // Stores index `time` as an integer; OCSF timestamp_t is integer milliseconds.
      const rec = this.#chain.link(Number.isSafeInteger(e.time) ? e : { ...e, time: Number.isFinite(e.time) ? Math.trunc(e.time) : this.#now() });
      this.#pendingRecords.push(rec);
      this.#appended++;
      seq = rec.seq;
      if (++this.#sinceCheckpoint >= this.#o.checkpoint.everyRecords) this.#checkpoint();
    }
    this.#schedule();
    return seq;
  }

  /** Append a checkpoint now (if anything was appended since the last one). */
  checkpoint(): void {
    if (!this.#closed && this.#sinceCheckpoint > 0) this.#checkpoint();
  }

  accepting(): boolean {
    return this.refusal() === undefined;
  }

  /** Why new calls should be refused, or undefined while audit is accepting. */
  refusal(): string | undefined {
    if (this.#closed) return 'the audit log is closed';
    if (this.#headError) return `the audit state directory cannot be written (${this.#headError.message})`;
    if (this.#o.posture === 'shed') return undefined;
    if (this.#pendingRecords.length + this.#inflight >= (this.#o.queueMaxRecords ?? 10_000)) return 'the audit queue is full';
    for (const lane of this.#lanes) {
      if (lane.full()) return `the audit spool for sink ${lane.name} is full (${lane.spool.bytes} of ${this.#o.spoolMaxBytes} bytes) and the posture is fail-closed`;
      const err = lane.spoolError();
      if (err) return `the audit spool for sink ${lane.name} cannot be written (${err.message})`;
    }
    return undefined;
  }

  head(): ChainHead {
    return this.#chain.head;
  }

  metrics(): AuditMetrics {
    const sinks = this.#lanes.map((l) => l.metrics());
    return {
      accepting: this.accepting(),
      queueDepth: this.#pendingRecords.length + this.#inflight,
      headSeq: this.#chain.head.seq,
      appended: this.#appended,
      spoolBytes: sinks.reduce((n, s) => n + s.spoolBytes, 0),
      delivered: sinks.reduce((n, s) => n + s.delivered, 0),
      dropped: sinks.reduce((n, s) => n + s.dropped, 0),
      sinks,
    };
  }

  /** Wait until everything appended so far reached every sink (or was marked dropped). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const target = this.#chain.head.seq;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([Promise.all(this.#lanes.map((l) => l.whenCovered(target))).then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Apply retention on every sink that supports it. Where a sink's cut needs one, a retention
   * anchor is signed into the chain first and the sink cuts once it holds it (retention.ts).
   */
  async prune(now = this.#now()): Promise<Array<{ sink: string; result: PruneResult }>> {
    const policy = this.#o.retention;
    if (!policy || (policy.maxAgeDays === undefined && policy.maxRecords === undefined) || this.#pruning) return [];
    this.#pruning = true;
    const out: Array<{ sink: string; result: PruneResult }> = [];
    try {
      for (const lane of this.#lanes) {
        if (!lane.sink.prune) continue;
        try {
          out.push({ sink: lane.name, result: await lane.sink.prune(policy, now, (at) => this.#anchor(lane, at, now)) });
        } catch (err) {
          this.#o.hooks?.onSinkError?.(lane.name, err as Error);
        }
      }
    } finally {
      this.#pruning = false;
    }
    return out;
  }

  /** Chain a signed anchor for `at`; true once `lane`'s sink holds it (a sink that is down: false, no cut). */
  async #anchor(lane: Lane, at: ChainHead, now: number): Promise<boolean> {
    if (this.#closed || !lane.sink.read) return false;
    const rec = this.#chain.link(anchorEvent(signCheckpoint(at, now, this.#o.signer), this.#newId()));
    this.#pendingRecords.push(rec);
    this.#appended++;
    this.#schedule();
    let timer: NodeJS.Timeout | undefined;
    const delivered = await Promise.race([
      lane.whenCovered(rec.seq).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(r, ANCHOR_WAIT_MS, false).unref())),
    ]).finally(() => clearTimeout(timer));
    if (!delivered) return false;
    // Covered may mean dropped behind a gap marker (shed posture): check the sink has it.
    for await (const r of lane.sink.read({ fromSeq: rec.seq, toSeq: rec.seq })) return r.hash === rec.hash;
    return false;
  }

  /**
   * Final checkpoint, hand everything to the lanes, give sinks `drainMs` to take it, spool the
   * rest, mark the head clean. Sinks are closed.
   */
  async close(opts: { drainMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    if (this.#sinceCheckpoint > 0) this.#checkpoint();
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#schedule();
    await this.#drained;
    while (this.#draining || this.#pendingRecords.length > 0) {
      this.#schedule();
      await this.#drained;
      if (this.#headError) break;
    }
    await Promise.all(this.#lanes.map((l) => l.close(opts.drainMs ?? 5000)));
    if (!this.#headError) {
      await writeJsonAtomic(this.#headPath, { ...this.#chain.head, ...(this.#lastCheckpoint && { checkpoint: this.#lastCheckpoint }), clean: true }).catch(
        (err: Error) => this.#o.hooks?.onStateError?.(err),
      );
    }
  }

  #checkpoint(): void {
    const proof = signCheckpoint(this.#chain.head, this.#now(), this.#o.signer);
    this.#pendingRecords.push(this.#chain.link(checkpointEvent(proof, this.#newId())));
    this.#appended++;
    this.#lastCheckpoint = proof;
    this.#sinceCheckpoint = 0;
  }

  #schedule(): void {
    if (this.#draining) return;
    this.#draining = true;
    const run = (resolve: () => void) => void this.#drain().finally(resolve);
    // Linger: each round costs a durable head write (fsync) and a batch per sink, so rounds are
    // spaced `batchMs` apart under load and carry every record appended in between. Records
    // wait in memory that long at most, beside the fsync itself; close does not wait.
    const linger = this.#o.batchMs ?? 20;
    this.#drained = new Promise((resolve) => (this.#closed || linger <= 0 ? setImmediate(run, resolve) : setTimeout(run, linger, resolve)));
  }

  /** Persist the head for the queued records, then hand them to every lane, in order. */
  async #drain(): Promise<void> {
    try {
      while (this.#pendingRecords.length > 0) {
        // Records appended during the head write queue up for the next round.
        const batch = this.#pendingRecords;
        this.#pendingRecords = [];
        this.#inflight = batch.length;
        const last = batch[batch.length - 1]!;
        try {
          await writeJsonAtomic(this.#headPath, { seq: last.seq, hash: last.hash, ...(this.#lastCheckpoint && { checkpoint: this.#lastCheckpoint }), clean: false });
          this.#headError = undefined;
        } catch (err) {
          this.#pendingRecords = batch.concat(this.#pendingRecords);
          this.#headError = err as Error;
          this.#o.hooks?.onStateError?.(err as Error);
          if (this.#closed) return;
          await new Promise((r) => setTimeout(r, 200));
          continue;
        } finally {
          this.#inflight = 0;
        }
        for (const r of batch) for (const lane of this.#lanes) lane.enqueue(r);
      }
    } finally {
      this.#draining = false;
    }
  }

  #startTimers(): void {
    const every = this.#o.checkpoint.everyMs;
    if (every > 0) this.#timers.push(setInterval(() => this.checkpoint(), every).unref());
    const r = this.#o.retention;
    if (r && (r.maxAgeDays !== undefined || r.maxRecords !== undefined)) {
      this.#timers.push(setInterval(() => void this.prune(), r.everyMs ?? 3_600_000).unref());
    }
  }
}
