/**
 * One sink's disk spool: append-only segment files of JSON-lines records, in seq order.
 *
 * The audit log appends here when a sink is slow or down (its in-memory window is full), and
 * reads back from the oldest unread record when the sink returns. Appends are synchronous
 * (buffered) so the data path never waits; a writer drains the buffer with one write and one
 * `datasync` per batch (whatever accumulated while the previous batch was syncing).
 *
 * Segments are named by their first seq (`<16 digits>.jsonl`) so they sort in chain order; one
 * is deleted once every record in it has been acknowledged by the sink. A crash can leave a torn
 * last line: opening cuts it off (those records had not been synced, hence never acknowledged
 * as spooled).
 */
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { lastRecordOf, syncDir } from './jsonl.ts';
import type { AuditRecord } from './record.ts';
import { Serial } from './sink.ts';
import { recordText } from './record-text.ts';

interface Segment {
  path: string;
  firstSeq: number;
  /** Bytes written and synced. */
  bytes: number;
}

const NAME = /^(\d{16})\.jsonl$/;
const READ_CHUNK = 1024 * 1024;

export class Spool {
  readonly dir: string;
  readonly #segmentBytes: number;
  readonly #serial = new Serial();
  #segments: Segment[] = [];
  #fh: FileHandle | undefined;
  /** Appended records, serialized once at append: {seq, JSON line}. */
  #buf: Array<{ seq: number; line: string }> = [];
  #bufBytes = 0;
  #diskBytes = 0;
  #tail: AuditRecord | undefined;
  /** Read position: segment index and byte offset within it. */
  #readSeg = 0;
  #readOff = 0;
  #flushScheduled = false;
  /** Records taken off the buffer whose write is in progress (not yet counted in `bytes`). */
  #writing = 0;
  #error: Error | undefined;

  private constructor(dir: string, segmentBytes: number) {
    this.dir = dir;
    this.#segmentBytes = segmentBytes;
  }

  static async open(dir: string, segmentBytes = 16 * 1024 * 1024): Promise<Spool> {
    const s = new Spool(dir, segmentBytes);
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((n) => NAME.test(n)).sort();
    for (const n of names) {
      const path = join(dir, n);
      s.#segments.push({ path, firstSeq: Number(NAME.exec(n)![1]), bytes: 0 });
    }
    // Only the newest segment can have a torn tail; lastRecordOf repairs it. Silently: what the
    // crash lost is attested by the lane's signed gap marker, and the spool is not evidence.
    for (let i = s.#segments.length - 1; i >= 0 && s.#tail === undefined; i--) s.#tail = await lastRecordOf(s.#segments[i]!.path, () => undefined);
    for (const seg of s.#segments) {
      seg.bytes = (await stat(seg.path)).size;
      s.#diskBytes += seg.bytes;
    }
    return s;
  }

  /** Bytes on disk plus bytes waiting to be written. */
  get bytes(): number {
    return this.#diskBytes + this.#bufBytes;
  }

  /** The last record appended (buffered or on disk), for the chain position after a restart. */
  get tail(): AuditRecord | undefined {
    return this.#tail;
  }

  /** Whether a record remains that `read` has not returned yet. */
  hasUnread(): boolean {
    if (this.#buf.length > 0 || this.#writing > 0) return true;
    const seg = this.#segments[this.#readSeg];
    if (!seg) return false;
    return this.#readOff < seg.bytes || this.#readSeg < this.#segments.length - 1;
  }

  /** The last write error, if the disk refused (the audit log reports it and stops accepting). */
  get error(): Error | undefined {
    return this.#error;
  }

  append(r: AuditRecord): void {
    const line = recordText(r) + '\n';
    this.#buf.push({ seq: r.seq, line });
    this.#bufBytes += Buffer.byteLength(line);
    this.#tail = r;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.flush().catch(() => undefined);
      });
    }
  }

  /** Write and sync everything appended so far. */
  flush(): Promise<void> {
    return this.#serial.run(async () => {
      while (this.#buf.length > 0) {
        const batch = this.#buf;
        this.#buf = [];
        const bufBytes = this.#bufBytes;
        this.#bufBytes = 0;
        this.#writing = batch.length;
        try {
          await this.#write(batch);
          this.#error = undefined;
        } catch (err) {
          // Put the batch back in front so nothing is lost; the next flush retries it.
          this.#buf = [...batch, ...this.#buf];
          this.#bufBytes += bufBytes;
          this.#error = err as Error;
          throw err;
        } finally {
          this.#writing = 0;
        }
      }
    });
  }

  async #write(batch: Array<{ seq: number; line: string }>): Promise<void> {
    let text = '';
    let textBytes = 0;
    for (const { seq, line } of batch) {
      const seg = this.#segments.at(-1);
      if (this.#fh === undefined || seg === undefined || (seg.bytes + textBytes >= this.#segmentBytes && seg.bytes + textBytes > 0)) {
        await this.#writeText(text);
        text = '';
        textBytes = 0;
        await this.#newSegment(seq);
      }
      text += line;
      textBytes += Buffer.byteLength(line);
    }
    await this.#writeText(text);
  }

  async #writeText(text: string): Promise<void> {
    if (text === '' || this.#fh === undefined) return;
    const data = Buffer.from(text, 'utf8');
    await this.#fh.write(data);
    await this.#fh.datasync();
    this.#segments.at(-1)!.bytes += data.length;
    this.#diskBytes += data.length;
  }

  async #newSegment(firstSeq: number): Promise<void> {
    await this.#fh?.close();
    const path = join(this.dir, `${String(firstSeq).padStart(16, '0')}.jsonl`);
    this.#fh = await open(path, 'a');
    this.#segments.push({ path, firstSeq, bytes: 0 });
    await syncDir(this.dir);
  }

  /** Up to `max` unread records with seq > `afterSeq`, in order (writes pending appends first). */
  async read(max: number, afterSeq: number): Promise<AuditRecord[]> {
    // Through the serial queue even when the buffer is empty: waits for a write in progress.
    await this.flush();
    const out: AuditRecord[] = [];
    while (out.length < max) {
      const seg = this.#segments[this.#readSeg];
      if (!seg) break;
      if (this.#readOff >= seg.bytes) {
        if (this.#readSeg >= this.#segments.length - 1) break;
        this.#readSeg++;
        this.#readOff = 0;
        continue;
      }
      const lines = await readChunk(seg.path, this.#readOff, seg.bytes);
      for (const { record, end } of lines) {
        this.#readOff = end;
        if (record.seq > afterSeq) out.push(record);
        if (out.length >= max) break;
      }
    }
    return out;
  }

  /** Delete segments whose records all have seq <= `seq` (delivered). */
  async release(seq: number): Promise<void> {
    await this.#serial.run(async () => {
      while (this.#segments.length > 0) {
        const first = this.#segments[0]!;
        const next = this.#segments[1];
        const isLast = next === undefined;
        // A segment's records are all below the next segment's first seq.
        const done = isLast ? this.#buf.length === 0 && this.#tail !== undefined && this.#tail.seq <= seq && this.#readSeg === 0 && this.#readOff >= first.bytes : next.firstSeq <= seq + 1 && this.#readSeg > 0;
        if (!done) return;
        if (isLast) {
          await this.#fh?.close();
          this.#fh = undefined;
        }
        await rm(first.path, { force: true });
        this.#diskBytes -= first.bytes;
        this.#segments.shift();
        if (this.#readSeg > 0) this.#readSeg--;
        else this.#readOff = 0;
      }
    });
  }

  /**
   * At shutdown: persist records that precede everything unread here (they were only in the
   * lane's memory window) as their own segment. Segment files sort by first seq, so the next
   * open reads them first.
   */
  async persistBefore(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#serial.run(async () => {
      const path = join(this.dir, `${String(records[0]!.seq).padStart(16, '0')}.jsonl`);
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(records.map((r) => recordText(r) + '\n').join(''));
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await syncDir(this.dir);
    });
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.#serial.run(async () => {
      await this.#fh?.close();
      this.#fh = undefined;
    });
  }
}

/** Complete lines from `offset`, with the byte offset after each (growing the chunk for big lines). */
async function readChunk(path: string, offset: number, limit: number): Promise<Array<{ record: AuditRecord; end: number }>> {
  const fh = await open(path, 'r');
  try {
    let size = Math.min(READ_CHUNK, limit - offset);
    for (;;) {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, offset);
      const data = buf.subarray(0, bytesRead);
      const out: Array<{ record: AuditRecord; end: number }> = [];
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
        out.push({ record: JSON.parse(data.subarray(start, nl).toString('utf8')) as AuditRecord, end: offset + nl + 1 });
        start = nl + 1;
      }
      if (out.length > 0 || offset + size >= limit) return out;
      size = Math.min(size * 4, limit - offset);
    }
  } finally {
    await fh.close();
  }
}
