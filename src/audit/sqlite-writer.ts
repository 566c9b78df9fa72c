/**
 * The SQLite sink's writer, in a worker thread (sqlite-sink.ts says why). It owns the database's
 * only write connection: it receives batches of rows already indexed and serialized by the main
 * thread, inserts each batch in one transaction with `synchronous=FULL`, and answers when the
 * commit is durable. Messages: `{ id, rows }` → `{ id }` or `{ id, error }`.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

/** One record as a row of `audit_records`, in column order. */
export type SqliteRow = [
  seq: number,
  uid: string,
  time: number,
  classUid: number,
  kind: string,
  principal: string | null,
  tool: string | null,
  verdict: string | null,
  findingTypes: string,
  json: string,
];

export interface WriteRequest {
  id: number;
  rows: SqliteRow[];
}

export interface WriteReply {
  id: number;
  error?: string;
}

export const INSERT =
  'INSERT OR IGNORE INTO audit_records (seq, uid, time, class_uid, kind, principal, tool, verdict, finding_types, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** What the sink starts the thread with; the marker keeps other threads importing this file inert. */
export interface WriterStart {
  sqliteWriter: true;
  path: string;
}

if (parentPort && (workerData as Partial<WriterStart> | null)?.sqliteWriter === true) {
  const port = parentPort;
  const db = new DatabaseSync((workerData as WriterStart).path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 2000;');
  const insert = db.prepare(INSERT);
  port.on('message', (req: WriteRequest) => {
    let reply: WriteReply = { id: req.id };
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const row of req.rows) insert.run(...row);
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      reply = { id: req.id, error: (err as Error).message };
    }
    port.postMessage(reply);
  });
  port.once('close', () => db.close());
}
