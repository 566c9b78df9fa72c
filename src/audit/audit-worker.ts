/**
 * The audit trail's own thread (threaded.ts says why). It opens the configured trail exactly as
 * the in-process one (`openAudit`), turns each entry the data path sent (a builder name and its
 * facts) into an OCSF record, chains it and lets the lanes deliver it. It reports its state after
 * every batch and on a timer, relays the hooks, and answers flush and close.
 *
 * Messages (threaded.ts, `WorkerIn` / `WorkerOut`) are plain objects: structured clone carries
 * them, nothing here is shared with the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { wellFormed } from './bounded-json.ts';
import type { AuditConfig } from './config.ts';
import { openAudit, type Audit } from './open.ts';
import type { AuditEvent, RecordBuilder } from './record.ts';
import type { AuditStatus, Entry, WorkerIn, WorkerOut, WorkerStart } from './threaded.ts';

/** How often the main thread learns the trail's state when nothing else prompts it. */
const STATUS_EVERY_MS = 100;
/** Under load, at most one report per this many ms after batches (each is a message to clone). */
const STATUS_AFTER_BATCH_MS = 20;
let lastStatusAt = 0;

function post(msg: WorkerOut): void {
  parentPort!.postMessage(msg);
}

let taken = 0;

/**
 * Records shed (shed posture, spool full) are reported as one count per sink per second: under
 * the overload that sheds them, a message (and a log line) per record would add to the load.
 */
const SHED_REPORT_MS = 1000;
const shedCounts = new Map<string, number>();
let shedTimer: NodeJS.Timeout | undefined;
function shed(sink: string, count: number): void {
  shedCounts.set(sink, (shedCounts.get(sink) ?? 0) + count);
  shedTimer ??= setTimeout(reportShed, SHED_REPORT_MS);
}
function reportShed(): void {
  clearTimeout(shedTimer);
  shedTimer = undefined;
  for (const [s, n] of shedCounts) post({ t: 'hook', hook: 'onDropped', sink: s, count: n });
  shedCounts.clear();
}

function status(audit: Audit): AuditStatus {
  return { refusal: audit.log.refusal(), metrics: audit.log.metrics(), entries: taken };
}

/** One entry into events: the builder the data path named, on the facts it sent. */
function build(records: RecordBuilder, e: Entry): AuditEvent[] {
  switch (e.k) {
    case 'exchange':
      return [records.exchange(e.f)];
    case 'stream':
      return [records.stream(e.f)];
    case 'findings':
      return records.findings(e.f);
    case 'auth':
      return [records.auth(e.f)];
    case 'refusal':
      return [records.refusal(e.f)];
    case 'lifecycle':
      return [records.lifecycle(e.f)];
  }
}

async function main(): Promise<void> {
  const start = workerData as WorkerStart;
  let audit: Audit;
  try {
    const opened = await openAudit(start.config as AuditConfig, {
      baseDir: start.baseDir,
      ...(start.productVersion !== undefined && { productVersion: start.productVersion }),
      hooks: {
        onSinkError: (sink, err) => post({ t: 'hook', hook: 'onSinkError', sink, message: err.message }),
        onDropped: (sink, count) => shed(sink, count),
        onStateError: (err) => post({ t: 'hook', hook: 'onStateError', message: err.message }),
      },
    });
    if (!opened) throw new Error('audit is disabled');
    audit = opened;
  } catch (err) {
    post({ t: 'failed', message: (err as Error).message });
    return;
  }
  const timer = setInterval(() => post({ t: 'status', status: status(audit) }), STATUS_EVERY_MS);
  post({ t: 'ready', status: status(audit) });
  parentPort!.on('message', (msg: WorkerIn) => {
    switch (msg.t) {
      case 'entries': {
        for (const e of msg.entries) {
          taken++;
          try {
            audit.log.append(build(audit.records, e));
          } catch (err) {
            // Builders do not throw on content; if one does, record the sanitized facts rather
            // than lose the record, and say so.
            post({ t: 'hook', hook: 'onStateError', message: `audit entry ${e.k} needed sanitizing: ${(err as Error).message}` });
            try {
              audit.log.append(build(audit.records, { k: e.k, f: wellFormed(e.f) } as Entry));
            } catch (again) {
              post({ t: 'hook', hook: 'onStateError', message: `audit entry ${e.k} could not be recorded: ${(again as Error).message}` });
            }
          }
        }
        const now = Date.now();
        // A refusal is reported at once; a healthy state at most every STATUS_AFTER_BATCH_MS.
        if (now - lastStatusAt >= STATUS_AFTER_BATCH_MS || audit.log.refusal() !== undefined) {
          lastStatusAt = now;
          post({ t: 'status', status: status(audit) });
        }
        break;
      }
      case 'flush':
        void audit.log.flush(msg.timeoutMs).then((ok) => post({ t: 'reply', id: msg.id, ok }));
        break;
      case 'close':
        clearInterval(timer);
        reportShed();
        void audit.close({ drainMs: msg.drainMs }).then(
          () => post({ t: 'reply', id: msg.id, ok: true }),
          (err: Error) => post({ t: 'reply', id: msg.id, ok: false, message: err.message }),
        );
        break;
    }
  });
}

if (parentPort && (workerData as Partial<WorkerStart> | null)?.config !== undefined) void main();
