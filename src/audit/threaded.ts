/**
 * The gateway's audit trail, run on a thread of its own (audit-worker.ts).
 *
 * Why: building an OCSF record, its keyed digests, its JSON text and its chain hash, and handing
 * it to the sinks, cost the event loop ~100 µs per call under load (measured with
 * `npm run bench:cpu audit`, main-thread CPU 190–240 µs against 90 µs with audit off) — as much as
 * relaying the call itself. On the data path now: a small entry (the builder's name and the facts
 * the gateway already holds) pushed on a queue; every few ms the queue goes to the audit
 * thread in one message. The thread builds, chains and delivers exactly as the in-process trail
 * (`openAudit`) does, which the audit tests exercise directly.
 *
 * Fail-closed stays exact enough: `accepting()` turns false when the thread reports its own
 * refusal (queue or spool full, state directory unwritable), when entries sent to it pile up
 * unprocessed past the queue bound, or when the thread stopped. A call admitted just before the
 * thread's next report still gets its records: entries are never dropped on this side.
 */
import { Worker } from 'node:worker_threads';
import { wellFormed } from './bounded-json.ts';
import type { AuditConfig } from './config.ts';
import type { AuthFacts, ExchangeFacts, FindingFacts, LifecycleFacts, RefusalFacts, StreamEventFacts } from './facts.ts';
import type { AuditHooks, AuditMetrics } from './pipeline.ts';

/** One record (or, for findings, one set) for the audit thread to build: a builder and its facts. */
export type Entry =
  | { k: 'exchange'; f: ExchangeFacts }
  | { k: 'stream'; f: StreamEventFacts }
  | { k: 'findings'; f: FindingFacts }
  | { k: 'auth'; f: AuthFacts }
  | { k: 'refusal'; f: RefusalFacts }
  | { k: 'lifecycle'; f: LifecycleFacts };

export interface AuditStatus {
  /** Why the trail refuses new calls (AuditLog.refusal), or undefined. */
  refusal: string | undefined;
  metrics: AuditMetrics;
  /** Entries the thread has taken in so far. */
  entries: number;
}

export interface WorkerStart {
  config: AuditConfig;
  baseDir: string;
  productVersion?: string;
}

export type WorkerIn = { t: 'entries'; entries: Entry[] } | { t: 'flush'; id: number; timeoutMs: number } | { t: 'close'; id: number; drainMs: number };

export type WorkerOut =
  | { t: 'ready'; status: AuditStatus }
  | { t: 'failed'; message: string }
  | { t: 'status'; status: AuditStatus }
  | { t: 'hook'; hook: 'onSinkError'; sink: string; message: string }
  | { t: 'hook'; hook: 'onDropped'; sink: string; count: number }
  | { t: 'hook'; hook: 'onStateError'; message: string }
  | { t: 'reply'; id: number; ok: boolean; message?: string };

/**
 * How long entries gather before they go to the thread in one message, at most: a quarter of the
 * audit's delivery round (`audit.batchMs`), capped. Each message costs both threads a fixed few
 * µs and a context switch, so under load it should carry tens to hundreds of entries (measured:
 * rounds of 100 ms with 25 ms messages cost ~20% less CPU per call than 20 ms / 5 ms).
 */
const MAX_LINGER_MS = 25;
/** Entries sent but not yet taken in by the thread before new calls are refused (fail-closed). */
const MAX_IN_FLIGHT = 10_000;

/**
 * The builders' stand-in on the data path: same names and facts as RecordBuilder, but it only
 * wraps the facts; the audit thread builds the record.
 */
export class EntryRecorder {
  exchange(f: ExchangeFacts): Entry {
    // Relayed body chunks are views into undici's (or the pool's) larger buffers: structured
    // clone would copy each whole backing buffer. One compact copy holds just the bytes.
    if (f.resultBytes && f.resultBytes.length > 0) return { k: 'exchange', f: { ...f, resultBytes: [compact(f.resultBytes)] } };
    return { k: 'exchange', f };
  }

  stream(f: StreamEventFacts): Entry {
    return { k: 'stream', f };
  }

  /** An array, like RecordBuilder.findings (one record per finding type, built by the thread). */
  findings(f: FindingFacts): Entry[] {
    return [{ k: 'findings', f }];
  }

  auth(f: AuthFacts): Entry {
    return { k: 'auth', f };
  }

  refusal(f: RefusalFacts): Entry {
    return { k: 'refusal', f };
  }

  lifecycle(f: LifecycleFacts): Entry {
    return { k: 'lifecycle', f };
  }
}

function cloneable(e: Entry): Entry {
  try {
    structuredClone(e);
    return e;
  } catch {
    // Body bytes stay bytes (wellFormed would turn a Uint8Array into an object of indices).
    const { resultBytes, ...rest } = e.f as ExchangeFacts;
    return { k: e.k, f: { ...wellFormed(rest), ...(resultBytes && { resultBytes }) } } as Entry;
  }
}

function compact(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export class ThreadedAuditLog {
  readonly #worker: Worker;
  readonly #posture: AuditConfig['posture'];
  #queue: Entry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #status: AuditStatus;
  #stopped: string | undefined;
  #nextId = 1;
  readonly #replies = new Map<number, (r: { ok: boolean; message?: string }) => void>();

  readonly #lingerMs: number;

  constructor(worker: Worker, status: AuditStatus, config: Pick<AuditConfig, 'posture' | 'batchMs'>) {
    this.#worker = worker;
    this.#status = status;
    this.#posture = config.posture;
    this.#lingerMs = Math.min(MAX_LINGER_MS, Math.floor(config.batchMs / 4));
  }

  /** From the worker's message handler (threaded.ts wires it). */
  onMessage(msg: WorkerOut): void {
    if (msg.t === 'status' || msg.t === 'ready') this.#status = msg.status;
    else if (msg.t === 'reply') {
      const r = this.#replies.get(msg.id);
      this.#replies.delete(msg.id);
      r?.(msg);
    }
  }

  get stopped(): boolean {
    return this.#stopped !== undefined;
  }

  /** Entries appended that the thread had not yet reported taking (lost if it died). */
  untaken(): number {
    return this.#sent + this.#queue.length - this.#status.entries;
  }

  onStopped(why: string): void {
    this.#stopped ??= why;
    for (const r of this.#replies.values()) r({ ok: false, message: why });
    this.#replies.clear();
  }

  /** Sync and cheap: queue the entries; they reach the thread within the linger. */
  append(entry: Entry | readonly Entry[]): void {
    if (Array.isArray(entry)) for (const e of entry as readonly Entry[]) this.#queue.push(e);
    else this.#queue.push(entry as Entry);
    this.#timer ??= setTimeout(() => this.#send(), this.#lingerMs);
  }

  accepting(): boolean {
    return this.refusal() === undefined;
  }

  refusal(): string | undefined {
    if (this.#stopped) return `the audit thread stopped (${this.#stopped})`;
    if (this.#posture === 'fail-closed' && this.#sent + this.#queue.length - this.#status.entries >= MAX_IN_FLIGHT) return 'the audit thread is behind';
    return this.#status.refusal;
  }

  /** The thread's metrics as of its last report (at most ~100 ms old). */
  metrics(): AuditMetrics {
    return this.#status.metrics;
  }

  /** Everything appended so far delivered to every sink (or marked dropped)? */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    this.#send();
    const r = await this.#request((id) => ({ t: 'flush', id, timeoutMs }));
    return r.ok;
  }

  async close(drainMs: number): Promise<void> {
    // A thread that already died was reported then (onStateError); there is nothing to drain.
    if (this.#stopped) return;
    this.#send();
    const r = await this.#request((id) => ({ t: 'close', id, drainMs }));
    this.onStopped('closed');
    if (!r.ok && r.message !== 'closed') throw new Error(`audit close failed: ${r.message}`);
  }

  #request(make: (id: number) => WorkerIn): Promise<{ ok: boolean; message?: string }> {
    if (this.#stopped) return Promise.resolve({ ok: false, message: this.#stopped });
    const id = this.#nextId++;
    // A question in flight keeps the process alive until its answer; an idle trail does not.
    if (this.#replies.size === 0) this.#worker.ref();
    return new Promise((resolve) => {
      this.#replies.set(id, (r) => {
        if (this.#replies.size === 0 && !this.#stopped) this.#worker.unref();
        resolve(r);
      });
      this.#worker.postMessage(make(id));
    });
  }

  #send(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0 || this.#stopped) return;
    const entries = this.#queue;
    this.#queue = [];
    try {
      this.#worker.postMessage({ t: 'entries', entries } satisfies WorkerIn);
    } catch {
      // A value structured clone refuses (a function or a symbol in notes): that entry goes as a
      // plain-JSON copy, the others as they are. Rare, so the per-entry check is affordable.
      this.#worker.postMessage({ t: 'entries', entries: entries.map(cloneable) } satisfies WorkerIn);
    }
    this.#sent += entries.length;
  }
}

export interface ThreadedAudit {
  log: ThreadedAuditLog;
  records: EntryRecorder;
  /** The audit thread itself (its threadId for diagnostics; tests terminate it to stand in for a crash). */
  readonly thread: Worker;
  close(opts?: { drainMs?: number }): Promise<void>;
}

export interface ThreadedAuditOptions {
  baseDir: string;
  productVersion?: string;
  hooks?: AuditHooks;
}

/** Undefined when audit is disabled. Rejects when the trail cannot be opened (bad keys, sink). */
export async function openThreadedAudit(config: AuditConfig, opts: ThreadedAuditOptions): Promise<ThreadedAudit | undefined> {
  if (!config.enabled) return undefined;
  const start: WorkerStart = { config, baseDir: opts.baseDir, ...(opts.productVersion !== undefined && { productVersion: opts.productVersion }) };
  const worker = new Worker(new URL('./audit-worker.ts', import.meta.url), { workerData: start });
  const hooks = opts.hooks ?? {};
  let log: ThreadedAuditLog | undefined;
  const ready = new Promise<AuditStatus>((resolve, reject) => {
    worker.on('message', (msg: WorkerOut) => {
      if (msg.t === 'ready') resolve(msg.status);
      else if (msg.t === 'failed') reject(new Error(msg.message));
      else if (msg.t === 'hook') {
        if (msg.hook === 'onSinkError') hooks.onSinkError?.(msg.sink, new Error(msg.message));
        else if (msg.hook === 'onDropped') hooks.onDropped?.(msg.sink, msg.count);
        else hooks.onStateError?.(new Error(msg.message));
      }
      log?.onMessage(msg);
    });
    const stopped = (why: string) => {
      reject(new Error(why));
      // A thread that dies while the gateway runs is news for the operator: every new call is
      // refused from now on (fail closed) until the gateway restarts.
      // What it held is lost: entries it had not taken, and records of the last delivery round
      // (up to audit.batchMs) not yet in a sink or the spool. Say how many, as near as is known.
      if (log && !log.stopped) {
        hooks.onStateError?.(new Error(`${why}: new calls are refused; ${log.untaken()} entries not taken by the thread, and records of its last ${config.batchMs} ms not yet delivered, are lost`));
      }
      log?.onStopped(why);
    };
    worker.on('error', (err) => stopped(`audit thread failed: ${err.message}`));
    worker.on('exit', (code) => stopped(`audit thread exited (${code})`));
  });
  let status: AuditStatus;
  try {
    status = await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  log = new ThreadedAuditLog(worker, status, config);
  // The gateway closes the trail on shutdown; an unclosed one must not hold the process open.
  worker.unref();
  const trail = log;
  return {
    log: trail,
    records: new EntryRecorder(),
    thread: worker,
    close: async (o = {}) => {
      try {
        await trail.close(o.drainMs ?? 5000);
      } finally {
        await worker.terminate();
      }
    },
  };
}
