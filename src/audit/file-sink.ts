/**
 * JSON-lines sink: one record per line (RFC 8259 JSON, UTF-8), in files rotated by size or age.
 *
 * A configured path `dir/audit.jsonl` becomes the series `dir/audit.<first seq, 16 digits>.jsonl`:
 * naming each file by its first seq makes the series sort in chain order and lets retention and
 * `lastSeq` find records without an index. The newest file is the one appended to.
 *
 * - fsync 'batch' (default): each write batch is `datasync`ed before `write` resolves, so a batch
 *   the audit log considers delivered survives power loss; 'none' leaves it to the OS.
 * - A crash mid-write can leave a torn last line; opening the sink cuts it off (those records
 *   were never acknowledged, so the audit log re-delivers them).
 * - Idempotent by seq: records at or below the last seq on disk are skipped.
 */
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { retentionCut, type Anchor, type RetentionPolicy } from './chain.ts';
import type { AuditRecord } from './record.ts';
import { lastRecordOf, readLines, syncDir } from './jsonl.ts';
import { Serial, SinkClosedError, indexRecord, matchesQuery, type AuditQuery, type AuditSink, type PruneResult } from './sink.ts';
import { recordText } from './record-text.ts';

export interface FileSinkOptions {
  path: string;
  name?: string;
  rotateBytes?: number;
  rotateAgeMs?: number;
  fsync?: 'batch' | 'none';
  now?: () => number;
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
  readonly #opts: Required<Omit<FileSinkOptions, 'name' | 'path'>>;
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

  prune(policy: RetentionPolicy, now: number): Promise<PruneResult> {
    return this.#serial.run(async () => {
      if (this.#closed) throw new SinkClosedError(this.name);
      const anchors: Anchor[] = [];
      let first: number | undefined;
      for await (const r of this.read({})) {
        first ??= r.seq;
        if (indexRecord(r).kind === 'checkpoint') anchors.push({ seq: r.seq, time: r.time });
      }
      if (first === undefined || this.#last === undefined) return { removed: 0, anchorSeq: undefined };
      const cut = retentionCut(anchors, first, this.#last, policy, now);
      if (cut === undefined) return { removed: 0, anchorSeq: undefined };
      let removed = 0;
      const idx = this.#segments.findLastIndex((s) => s.firstSeq <= cut);
      for (const s of this.#segments.slice(0, idx)) {
        removed += await countLines(s.path);
        await rm(s.path);
      }
      // Rewrite the file holding the cut so that it starts at the anchor checkpoint.
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
      return { removed, anchorSeq: cut };
    });
  }

  close(): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#closeHandle();
    });
  }

  async #load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const pattern = new RegExp(`^${escapeRe(this.#stem)}\\.(\\d{${SEQ_DIGITS}})\\.jsonl$`);
    this.#segments = (await readdir(this.#dir))
      .map((n) => ({ n, m: pattern.exec(n) }))
      .filter((x) => x.m !== null)
      .map((x) => ({ path: join(this.#dir, x.n), firstSeq: Number(x.m![1]) }))
      .sort((a, b) => a.firstSeq - b.firstSeq);
    // The last seq is the last complete line of the newest non-empty file.
    for (let i = this.#segments.length - 1; i >= 0 && this.#last === undefined; i--) {
      this.#last = (await lastRecordOf(this.#segments[i]!.path))?.seq;
    }
    const newest = this.#segments.at(-1);
    if (newest) await this.#openAppend(newest.path);
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
