/**
 * One sink's delivery lane: an in-memory window of the oldest undelivered records, the disk spool
 * behind it, a persisted cursor, and the loop that delivers in order with backoff.
 *
 *   enqueue ─▶ [ memory window (oldest) ] ─▶ sink.write
 *          └─▶ [ spool segments (newer) ]  ─┘ (read back when the window empties)
 *
 * Invariant: every record in the window precedes every unread record in the spool. New records
 * go to the window only while the spool has nothing unread; once the window is full (the sink is
 * slow or down) they go to the spool until the loop has read it all back.
 *
 * Delivery state: after each acknowledged batch the cursor file (`cursor.json`: last delivered
 * seq and hash) is rewritten and fully delivered spool segments are deleted. A crash between the
 * sink's acknowledgement and the cursor write re-delivers that batch; sinks ignore seqs they hold.
 *
 * Spool full: 'fail-closed' keeps spooling (the audit log stops accepting new calls, so only
 * in-flight calls add records); 'shed' drops records and, once there is room again, puts a signed
 * gap marker in their place (chain.ts), so the sink shows a counted, attested gap.
 */
import { join } from 'node:path';
import { GENESIS_HASH, checkpointOf, gapEvent, gapOf, linkAt, signGap, type Signer } from './chain.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';
import { Spool } from './spool.ts';
import { readJson, writeJsonAtomic } from './state-file.ts';

/** Where a lane is in the chain: the seq covered and the hash the next record links to. */
export interface ChainPos {
  seq: number;
  /** '' when unknown (a cursor recovered from the sink's lastSeq alone). */
  hash: string;
}

/** A gap marker stands for its whole range: the chain resumes from its last dropped record. */
export function chainPos(r: AuditRecord): ChainPos {
  const g = gapOf(r);
  return g ? { seq: g.to_seq, hash: g.last_hash } : { seq: r.seq, hash: r.hash };
}

export interface AuditHooks {
  onDelivered?(sink: string, count: number, lastSeq: number): void;
  onDropped?(sink: string, count: number): void;
  onSinkError?(sink: string, error: Error): void;
  onStateError?(error: Error): void;
}

export interface LaneOptions {
  memoryRecords: number;
  batchSize: number;
  spoolMaxBytes: number;
  segmentBytes: number;
  posture: 'fail-closed' | 'shed';
  signer: Signer;
  newId: () => string;
  now: () => number;
  minBackoffMs: number;
  maxBackoffMs: number;
  hooks: AuditHooks;
}

export interface LaneMetrics {
  name: string;
  ackedSeq: number | undefined;
  memory: number;
  spoolBytes: number;
  spooling: boolean;
  delivered: number;
  dropped: number;
  failures: number;
  healthy: boolean;
  lastError: string | undefined;
}

interface OpenGap {
  from: number;
  to: number;
  count: number;
  prevHash: string;
  lastHash: string;
  reason: string;
}

export class Lane {
  readonly name: string;
  readonly sink: AuditSink;
  readonly spool: Spool;
  readonly #cursorPath: string;
  readonly #o: LaneOptions;
  #mem: AuditRecord[] = [];
  /** How many records at the head of the window are also in the spool (read back from it). */
  #memDurable = 0;
  #spooling: boolean;
  #pos: ChainPos | undefined;
  #acked: ChainPos | undefined;
  /** Highest seq this lane is done with (delivered, dropped and marked, or before it existed). */
  #covered: number;
  #gap: OpenGap | undefined;
  /** A lane added to an existing chain starts at the next checkpoint, so its sink verifies. */
  #waitForCheckpoint: boolean;
  #wake: (() => void) | undefined;
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  #waiters: Array<{ seq: number; resolve: () => void }> = [];
  #m = { delivered: 0, dropped: 0, failures: 0, healthy: true, lastError: undefined as string | undefined };

  private constructor(name: string, sink: AuditSink, spool: Spool, cursorPath: string, o: LaneOptions, acked: ChainPos | undefined, pos: ChainPos | undefined, waitForCheckpoint: boolean) {
    this.name = name;
    this.sink = sink;
    this.spool = spool;
    this.#cursorPath = cursorPath;
    this.#o = o;
    this.#acked = acked;
    this.#pos = pos;
    this.#covered = acked?.seq ?? 0;
    this.#waitForCheckpoint = waitForCheckpoint;
    this.#spooling = spool.hasUnread();
  }

  /** Restore the lane from its directory and bring it level with the chain `head`. */
  static async open(name: string, sink: AuditSink, dir: string, head: ChainPos, o: LaneOptions): Promise<Lane> {
    const spool = await Spool.open(join(dir, 'spool'), o.segmentBytes);
    const cursorPath = join(dir, 'cursor.json');
    const saved = await readJson<ChainPos>(cursorPath);
    let acked: ChainPos | undefined = saved && Number.isSafeInteger(saved.seq) ? { seq: saved.seq, hash: String(saved.hash ?? '') } : undefined;
    if (acked === undefined) {
      // No cursor: a new sink, or lost state. Ask the sink; if it cannot answer now (down),
      // treat it as new: it starts at the next checkpoint and ignores seqs it already holds.
      const last = await sink.lastSeq().catch((err: Error) => {
        o.hooks.onSinkError?.(name, err);
        return undefined;
      });
      if (last !== undefined) acked = { seq: last, hash: '' };
    }
    const tail = spool.tail ? chainPos(spool.tail) : undefined;
    let pos = tail && (!acked || tail.seq >= acked.seq) ? tail : acked;
    let wait = false;
    if (pos === undefined) {
      if (head.seq > 0) wait = true;
      else pos = { seq: 0, hash: GENESIS_HASH };
    }
    const lane = new Lane(name, sink, spool, cursorPath, o, acked, pos, wait);
    if (pos !== undefined && pos.seq < head.seq) {
      // Records the previous process held in memory for this sink when it stopped uncleanly:
      // attest the loss with a signed gap rather than leave a silent hole (if the hash is known).
      if (pos.hash !== '') {
        lane.#gap = { from: pos.seq + 1, to: head.seq, count: head.seq - pos.seq, prevHash: pos.hash, lastHash: head.hash, reason: 'lost in an unclean shutdown' };
        lane.#closeGap();
      } else {
        lane.#pos = { seq: head.seq, hash: head.hash };
      }
    }
    lane.#loop = lane.#run();
    return lane;
  }

  /** Sync: called from the data path's flush with each newly chained record, in seq order. */
  enqueue(r: AuditRecord): void {
    if (this.#waitForCheckpoint) {
      if (checkpointOf(r) === undefined) {
        this.#covered = r.seq;
        this.#resolveWaiters();
        return;
      }
      this.#waitForCheckpoint = false;
    } else if (this.#pos !== undefined && r.seq <= this.#pos.seq) {
      return;
    }
    if (this.#o.posture === 'shed' && this.#overflowing()) {
      this.#drop(r);
      return;
    }
    if (this.#gap) this.#closeGap();
    this.#put(r);
  }

  /** The spool has reached its bound (and the window is full, so records would go there). */
  full(): boolean {
    return this.spool.bytes >= this.#o.spoolMaxBytes;
  }

  spoolError(): Error | undefined {
    return this.spool.error;
  }

  /** Resolves once everything up to `seq` is delivered (or marked dropped) for this sink. */
  whenCovered(seq: number): Promise<void> {
    if (this.#covered >= seq) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  metrics(): LaneMetrics {
    return {
      name: this.name,
      ackedSeq: this.#acked?.seq,
      memory: this.#mem.length,
      spoolBytes: this.spool.bytes,
      spooling: this.#spooling,
      ...this.#m,
    };
  }

  /**
   * Stop: wait up to `drainMs` for delivery, then keep what is left on disk: records only in
   * memory go to the spool (as a segment ordered before the newer ones), an open gap is marked,
   * the cursor is written. A sink stuck in `write` is abandoned, not waited for.
   */
  async close(drainMs: number): Promise<void> {
    const deadline = Date.now() + drainMs;
    // A ref'd wait (bounded by drainMs): with a write in flight and nothing else holding the
    // event loop, an unref'd one let the process exit before close finished (cursor, head unwritten).
    while (!this.#idle() && Date.now() < deadline && this.#m.healthy) await new Promise((r) => setTimeout(r, Math.min(20, deadline - Date.now())));
    this.#stopped = true;
    this.#wake?.();
    await Promise.race([this.#loop, sleep(Math.max(0, deadline - Date.now()))]);
    if (this.#gap) this.#closeGap();
    const volatile = this.#mem.slice(this.#memDurable);
    if (volatile.length > 0) await this.spool.persistBefore(volatile);
    await this.spool.close();
    if (this.#acked) await writeJsonAtomic(this.#cursorPath, this.#acked).catch((err: Error) => this.#o.hooks.onStateError?.(err));
    await Promise.race([this.sink.close().catch(() => undefined), sleep(Math.max(1000, deadline - Date.now()))]);
  }

  #idle(): boolean {
    return this.#mem.length === 0 && !this.spool.hasUnread() && this.#gap === undefined;
  }

  #overflowing(): boolean {
    return (this.#spooling || this.#mem.length >= this.#o.memoryRecords) && (this.full() || this.spool.error !== undefined);
  }

  #put(r: AuditRecord): void {
    if (!this.#spooling && this.#mem.length < this.#o.memoryRecords) {
      this.#mem.push(r);
    } else {
      this.#spooling = true;
      this.spool.append(r);
    }
    this.#pos = chainPos(r);
    this.#wake?.();
  }

  #drop(r: AuditRecord): void {
    this.#gap ??= { from: r.seq, to: r.seq, count: 0, prevHash: this.#pos?.hash ?? '', lastHash: r.hash, reason: 'spool full (shed posture)' };
    this.#gap.to = r.seq;
    this.#gap.count++;
    this.#gap.lastHash = r.hash;
    this.#pos = { seq: r.seq, hash: r.hash };
    this.#m.dropped++;
    this.#o.hooks.onDropped?.(this.name, 1);
  }

  /** Put the signed marker for the open gap in the queue; it takes the gap's first seq. */
  #closeGap(): void {
    const g = this.#gap;
    if (!g) return;
    this.#gap = undefined;
    const proof = signGap(
      { from_seq: g.from, to_seq: g.to, count: g.count, reason: g.reason, sink: this.name, prev_hash: g.prevHash, last_hash: g.lastHash, time: this.#o.now() },
      this.#o.signer,
    );
    this.#put(linkAt(gapEvent(proof, this.#o.newId()), g.from, g.prevHash));
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      if (this.#mem.length === 0 && this.#spooling) {
        let recs: AuditRecord[];
        try {
          recs = await this.spool.read(this.#o.batchSize, this.#acked?.seq ?? 0);
        } catch (err) {
          this.#fail(err as Error);
          await this.#pause(this.#backoff(++attempt));
          continue;
        }
        // Synchronous from here to the next await: no enqueue can slip in between.
        if (recs.length > 0) {
          this.#mem = recs;
          this.#memDurable = recs.length;
        } else if (!this.spool.hasUnread()) {
          this.#spooling = false;
        }
      }
      if (this.#mem.length === 0) {
        if (this.#gap && !this.#overflowing()) this.#closeGap();
        else if (!this.#spooling) await this.#sleep(Number.POSITIVE_INFINITY);
        continue;
      }
      const batch = this.#mem.slice(0, this.#o.batchSize);
      try {
        await this.sink.write(batch);
      } catch (err) {
        this.#fail(err as Error);
        await this.#pause(this.#backoff(++attempt));
        continue;
      }
      attempt = 0;
      this.#m.healthy = true;
      this.#mem.splice(0, batch.length);
      this.#memDurable = Math.max(0, this.#memDurable - batch.length);
      const last = chainPos(batch[batch.length - 1]!);
      this.#acked = last;
      this.#covered = Math.max(this.#covered, last.seq);
      this.#m.delivered += batch.length;
      this.#o.hooks.onDelivered?.(this.name, batch.length, last.seq);
      this.#resolveWaiters();
      // Not fsynced: a stale cursor only means re-delivery, which sinks absorb.
      await writeJsonAtomic(this.#cursorPath, last, false).catch((err: Error) => this.#o.hooks.onStateError?.(err));
      await this.spool.release(last.seq).catch((err: Error) => this.#o.hooks.onStateError?.(err));
      if (this.#gap && !this.#overflowing()) this.#closeGap();
    }
  }

  #fail(err: Error): void {
    this.#m.failures++;
    this.#m.healthy = false;
    this.#m.lastError = err.message;
    this.#o.hooks.onSinkError?.(this.name, err);
  }

  /** Exponential backoff with full jitter, capped. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#o.maxBackoffMs, this.#o.minBackoffMs * 2 ** Math.min(attempt, 20));
    return this.#o.minBackoffMs + Math.random() * (ceiling - this.#o.minBackoffMs);
  }

  /** Back off for `ms`: new records do not cut it short (a down sink is not retried per record), stop does. */
  async #pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.#stopped && Date.now() < until) await this.#sleep(until - Date.now());
  }

  /** Sleep until woken by an enqueue or stop, or `ms` passes. */
  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      const self = this;
      function done(): void {
        if (timer) clearTimeout(timer);
        if (self.#wake === done) self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }

  #resolveWaiters(): void {
    if (this.#waiters.length === 0) return;
    const keep: Array<{ seq: number; resolve: () => void }> = [];
    for (const w of this.#waiters) {
      if (w.seq <= this.#covered) w.resolve();
      else keep.push(w);
    }
    this.#waiters = keep;
  }
}

/** Unref'd: used as a deadline in races, it must not keep the process alive after the race. */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
