/**
 * JSON-lines sink: one record per line (RFC 8259 JSON, UTF-8), in files rotated by size or age.
 *
 * A configured path `dir/audit.jsonl` becomes the series `dir/audit.<first seq, 16 digits>.jsonl`:
 * naming each file by its first seq makes the series sort in chain order and lets retention and
 * `lastSeq` find records without an index. The newest file is the one appended to.
 *
 * - fsync 'batch' (default): each write batch is `datasync`ed before `write` resolves, so a batch
 *   the audit log considers delivered survives power loss; 'none' leaves it to the OS.
 * - A crash mid-write can leave a torn last line; the gateway opening the sink cuts it off
 *   (those records were never acknowledged, so the audit log re-delivers them) and says so
 *   through `onRepair`: the same bytes could have been appended by someone else.
 * - `readOnly` (the CLI) never changes a file: nothing is cut, created or written. `scan`
 *   reports a torn or appended last line, and any line that is not a record, by file, line
 *   and byte offset, for verification (jsonl.ts).
 * - Idempotent by seq: records at or below the last seq on disk are skipped.
 */
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { RetentionPolicy } from './chain.ts';
import type { AuditRecord } from './record.ts';
import { lastRecordOf, readLines, scanFile, syncDir, type TornTail } from './jsonl.ts';
import { pruneStore, type RetentionStore, type Survey } from './retention.ts';
import { Serial, SinkClosedError, matchesQuery, type AnchorFn, type AuditQuery, type AuditSink, type PruneResult, type ScanItem } from './sink.ts';
import { recordText } from './record-text.ts';

export interface FileSinkOptions {
  path: string;
  name?: string;
  rotateBytes?: number;
  rotateAgeMs?: number;
  fsync?: 'batch' | 'none';
  now?: () => number;
  /** Open an existing series for reading only (the CLI): no file is cut, created or written. */
  readOnly?: boolean;
  /** Told when opening cut a torn last line off a file (crash recovery by the writer). */
  onRepair?: (message: string) => void;
}

interface Segment {
  path: string;
  firstSeq: number;
}

const SEQ_DIGITS = 16;

export class FileSink implements AuditSink {
  readonly name: string;
  readonly #dir: string;
  readonly #stem: string;
  readonly #opts: Required<Omit<FileSinkOptions, 'name' | 'path' | 'onRepair'>> & Pick<FileSinkOptions, 'onRepair'>;
  readonly #serial = new Serial();
  #segments: Segment[] = [];
  #fh: FileHandle | undefined;
  #bytes = 0;
  #openedAt = 0;
  #last: number | undefined;
  #closed = false;

  private constructor(opts: FileSinkOptions) {
    this.name = opts.name ?? 'file';
    this.#dir = dirname(opts.path);
    this.#stem = basename(opts.path, extname(opts.path) || undefined);
    this.#opts = {
      rotateBytes: opts.rotateBytes ?? 64 * 1024 * 1024,
      rotateAgeMs: opts.rotateAgeMs ?? 24 * 3_600_000,
      fsync: opts.fsync ?? 'batch',
      now: opts.now ?? Date.now,
      readOnly: opts.readOnly ?? false,
      onRepair: opts.onRepair,
    };
  }

  static async open(opts: FileSinkOptions): Promise<FileSink> {
    const sink = new FileSink(opts);
    await sink.#load();
    return sink;
  }

  /** Files of the series, oldest first (for tools that read them directly). */
  files(): string[] {
    return this.#segments.map((s) => s.path);
  }

  write(batch: readonly AuditRecord[]): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) throw new SinkClosedError(this.name);
      if (this.#opts.readOnly) throw new Error(`audit sink ${this.name} is read-only`);
      let pending = '';
      for (const r of batch) {
        if (this.#last !== undefined && r.seq <= this.#last) continue;
        const line = recordText(r) + '\n';
        if (this.#fh === undefined || this.#due(Buffer.byteLength(pending) + Buffer.byteLength(line))) {
          await this.#flush(pending);
          pending = '';
          await this.#rotate(r.seq);
        }
        pending += line;
        this.#last = r.seq;
      }
      await this.#flush(pending);
    });
  }

  async lastSeq(): Promise<number | undefined> {
    if (this.#closed) throw new SinkClosedError(this.name);
    return this.#last;
  }

  async *read(q: AuditQuery = {}): AsyncIterable<AuditRecord> {
    if (this.#closed) throw new SinkClosedError(this.name);
    let left = q.limit ?? Number.POSITIVE_INFINITY;
    const segs = this.#segments;
    for (let i = 0; i < segs.length && left > 0; i++) {
      // Skip whole files before the range: the next file's first seq bounds this one's last.
      const nextFirst = segs[i + 1]?.firstSeq;
      if (q.fromSeq !== undefined && nextFirst !== undefined && nextFirst <= q.fromSeq) continue;
      if (q.toSeq !== undefined && segs[i]!.firstSeq > q.toSeq) break;
      for await (const r of readLines(segs[i]!.path)) {
        if (!matchesQuery(r, q)) continue;
        yield r;
        if (--left <= 0) break;
      }
    }
  }

  /** Every line of every file, as records or located defects (verification; see jsonl.ts). */
  async *scan(): AsyncIterable<ScanItem> {
    if (this.#closed) throw new SinkClosedError(this.name);
    for (const seg of this.#segments) yield* scanFile(seg.path);
  }

  /**
   * Finding the cut reads the files outside the write queue: the anchor it may wait for is
   * delivered through `write`. Only the rewrite at the cut holds the queue.
   */
  prune(policy: RetentionPolicy, now: number, anchor: AnchorFn): Promise<PruneResult> {
    if (this.#closed) return Promise.reject(new SinkClosedError(this.name));
    if (this.#opts.readOnly) return Promise.reject(new Error(`audit sink ${this.name} is read-only`));
    return pruneStore(this.#retention(), policy, now, anchor);
  }

  #retention(): RetentionStore {
    /** Records per file as surveyed (files appended to later hold more, never fewer). */
    const counts = new Map<string, number>();
    return {
      survey: async (cutoff) => {
        let s: Omit<Survey, 'last'> & { last: AuditRecord | undefined } = { first: 0, count: 0, last: undefined, firstAfter: undefined };
        for (const seg of [...this.#segments]) {
          let n = 0;
          for await (const r of readLines(seg.path)) {
            n++;
            if (s.last === undefined) s.first = r.seq;
            if (cutoff !== undefined && s.firstAfter === undefined && r.time > cutoff) s.firstAfter = r.seq;
            s.last = r;
          }
          counts.set(seg.path, n);
          s.count += n;
        }
        return s.last === undefined ? undefined : (s as Survey);
      },
      nthNewest: async (n, s) => {
        const segs = this.#segments.filter((g) => counts.has(g.path));
        for (let i = segs.length - 1, left = n; i >= 0; i--) {
          const c = counts.get(segs[i]!.path)!;
          if (left > c) {
            left -= c;
            continue;
          }
          let k = 0;
          for await (const r of readLines(segs[i]!.path)) if (r.seq <= s.last.seq && ++k === c - left + 1) return r.seq;
        }
        return undefined;
      },
      around: async (seq) => {
        let before: AuditRecord | undefined;
        let at: AuditRecord | undefined;
        const idx = this.#segments.findLastIndex((g) => g.firstSeq <= seq);
        for await (const r of idx >= 0 ? readLines(this.#segments[idx]!.path) : []) {
          if (r.seq < seq) {
            before = r;
            continue;
          }
          if (r.seq === seq) at = r;
          break;
        }
        for (let i = idx - 1; i >= 0 && before === undefined; i--) before = await lastRecordOf(this.#segments[i]!.path);
        return { before, at };
      },
      deleteBefore: (cut) => this.#serial.run(() => this.#cutBefore(cut)),
    };
  }

  /** Delete the files wholly before `cut` and rewrite the one holding it to start there. */
  async #cutBefore(cut: number): Promise<number> {
    if (this.#closed) throw new SinkClosedError(this.name);
    let removed = 0;
    const idx = this.#segments.findLastIndex((s) => s.firstSeq <= cut);
    if (idx < 0) return 0;
    for (const s of this.#segments.slice(0, idx)) {
      removed += await countLines(s.path);
      await rm(s.path);
    }
    const holder = this.#segments[idx]!;
    const isCurrent = idx === this.#segments.length - 1;
    if (isCurrent) await this.#closeHandle();
    const target = this.#segmentPath(cut);
    const tmp = `${target}.tmp`;
    const out = await open(tmp, 'w');
    try {
      for await (const r of readLines(holder.path)) {
        if (r.seq < cut) removed++;
        else await out.write(recordText(r) + '\n');
      }
      await out.datasync();
    } finally {
      await out.close();
    }
    await rename(tmp, target);
    if (target !== holder.path) await rm(holder.path);
    this.#segments = [{ path: target, firstSeq: cut }, ...this.#segments.slice(idx + 1)];
    if (isCurrent) await this.#openAppend(target);
    return removed;
  }

  close(): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#closeHandle();
    });
  }

  async #load(): Promise<void> {
    const readOnly = this.#opts.readOnly;
    if (!readOnly) await mkdir(this.#dir, { recursive: true });
    const pattern = new RegExp(`^${escapeRe(this.#stem)}\\.(\\d{${SEQ_DIGITS}})\\.jsonl$`);
    this.#segments = (await readdir(this.#dir))
      .map((n) => ({ n, m: pattern.exec(n) }))
      .filter((x) => x.m !== null)
      .map((x) => ({ path: join(this.#dir, x.n), firstSeq: Number(x.m![1]) }))
      .sort((a, b) => a.firstSeq - b.firstSeq);
    if (readOnly && this.#segments.length === 0) {
      throw new Error(`no JSON-lines audit files (${this.#stem}.<first seq>.jsonl) in ${this.#dir}: give the configured path, e.g. ${join(this.#dir, `${this.#stem}.jsonl`)}`);
    }
    const repair = readOnly
      ? undefined
      : (t: TornTail) =>
          this.#opts.onRepair?.(
            `${t.path}: cut ${t.bytes} bytes without a final newline at byte ${t.offset}: a write torn by a crash (re-delivered from the spool), or bytes appended by something other than the gateway`,
          );
    // The last seq is the last complete line of the newest non-empty file.
    for (let i = this.#segments.length - 1; i >= 0 && this.#last === undefined; i--) {
      try {
        this.#last = (await lastRecordOf(this.#segments[i]!.path, repair))?.seq;
      } catch (err) {
        // A last line that is not JSON: the gateway must not append after it (it could not tell
        // where its chain stands), but a reader (the CLI) can still go through the rest, and
        // verify reports that line with its file, line and byte (scanFile).
        if (!readOnly) throw err;
        break;
      }
    }
    const newest = this.#segments.at(-1);
    if (newest && !readOnly) await this.#openAppend(newest.path);
  }

  #due(extra: number): boolean {
    if (this.#bytes === 0) return false;
    return this.#bytes + extra > this.#opts.rotateBytes || this.#opts.now() - this.#openedAt >= this.#opts.rotateAgeMs;
  }

  async #rotate(firstSeq: number): Promise<void> {
    if (this.#fh !== undefined && this.#bytes === 0) return;
    await this.#closeHandle();
    const path = this.#segmentPath(firstSeq);
    this.#segments.push({ path, firstSeq });
    await this.#openAppend(path);
    if (this.#opts.fsync === 'batch') await syncDir(this.#dir);
  }

  async #openAppend(path: string): Promise<void> {
    this.#fh = await open(path, 'a');
    const st = await this.#fh.stat();
    this.#bytes = st.size;
    this.#openedAt = st.size === 0 ? this.#opts.now() : Math.min(this.#opts.now(), st.birthtimeMs || st.mtimeMs);
  }

  async #flush(text: string): Promise<void> {
    if (text === '' || this.#fh === undefined) return;
    const buf = Buffer.from(text, 'utf8');
    await this.#fh.write(buf);
    this.#bytes += buf.length;
    if (this.#opts.fsync === 'batch') await this.#fh.datasync();
  }

  async #closeHandle(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh) await fh.close();
  }

  #segmentPath(firstSeq: number): string {
    return join(this.#dir, `${this.#stem}.${String(firstSeq).padStart(SEQ_DIGITS, '0')}.jsonl`);
  }
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const _ of readLines(path)) n++;
  return n;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
