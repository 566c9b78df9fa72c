/**
 * JSON-lines files of audit records, shared by the file sink and the spool: read line by line,
 * find the last record, make a directory entry durable.
 *
 * Two ways to read a file, for two readers:
 * - `readLines` (the gateway reading its own store or spool): a final line without its newline
 *   is a write in progress (or torn by a crash) and is skipped.
 * - `scanFile` (verification): nothing is skipped silently. Each line that is not a complete
 *   JSON record is reported with its file, line number and byte offset, and reading goes on, so
 *   bytes appended to the store without a newline are evidence, not something to pass over.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { AuditRecord } from './record.ts';
import type { StoredItem } from './verify.ts';

interface Line {
  /** 1-based line number. */
  n: number;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  text: string;
  /** False for a final line without its newline. */
  terminated: boolean;
}

/**
 * Every line of a file with its number and byte offset, split on bytes (offsets are exact). The
 * pieces of a line that spans chunks are joined once, when its end comes: joining the unfinished
 * line to each new chunk made a long line quadratic (a 256 MB line without a newline, appended to
 * a store, took 40 s to read; found by helper-62).
 */
async function* fileLines(path: string): AsyncIterable<Line> {
  let pieces: Buffer[] = [];
  /** Byte offset of the current line's start, and of the current chunk's. */
  let lineOffset = 0;
  let chunkOffset = 0;
  let n = 0;
  for await (const data of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const chunk = data as Buffer;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const end = chunk.subarray(start, nl);
      const line = pieces.length > 0 ? Buffer.concat([...pieces, end]) : end;
      pieces = [];
      yield { n: ++n, offset: lineOffset, text: line.toString('utf8'), terminated: true };
      start = nl + 1;
      lineOffset = chunkOffset + start;
    }
    if (start < chunk.length) pieces.push(chunk.subarray(start));
    chunkOffset += chunk.length;
  }
  if (pieces.length > 0) yield { n: n + 1, offset: lineOffset, text: Buffer.concat(pieces).toString('utf8'), terminated: false };
}

/**
 * Parse each complete line. A final line without its newline is a write in progress (or torn by
 * a crash) and is skipped; any other line that is not JSON is an error naming the file and line.
 */
export async function* readLines(path: string): AsyncIterable<AuditRecord> {
  for await (const line of fileLines(path)) {
    if (!line.terminated || line.text === '') continue;
    try {
      yield JSON.parse(line.text) as AuditRecord;
    } catch {
      throw new Error(`${path}:${line.n}: not a JSON audit record`);
    }
  }
}

/**
 * Every line as a record or a located defect (see the file comment). A record comes with its
 * line's text: the writer stores exactly JSON.stringify of each record, and the verifier checks
 * the bytes are that (a member named twice parses one way here and another way elsewhere).
 */
export async function* scanFile(path: string): AsyncIterable<StoredItem> {
  for await (const line of fileLines(path)) {
    const where = `${path} line ${line.n} (byte ${line.offset})`;
    if (!line.terminated) {
      yield {
        defect: {
          kind: 'unterminated',
          seq: undefined,
          where,
          message: `the last line (${Buffer.byteLength(line.text)} bytes) has no newline: a torn write, a write still in progress, or bytes appended to the store`,
        },
      };
      continue;
    }
    let record: unknown;
    try {
      record = JSON.parse(line.text);
    } catch {
      yield { defect: { kind: 'malformed', seq: undefined, where, message: line.text === '' ? 'an empty line, which the writer never writes' : 'not a JSON audit record' } };
      continue;
    }
    yield { record, where, text: line.text };
  }
}

/** Bytes cut off the end of a file by `lastRecordOf` (crash recovery). */
export interface TornTail {
  path: string;
  /** Where the cut was made (the new size). */
  offset: number;
  bytes: number;
}

/**
 * The last complete record of a file. Reads backwards in growing chunks so a large record at
 * the end still works. With `repair` (the writer opening its own file) a final line without its
 * newline, a crash mid-append, is cut off and reported to `repair`; without it the file is only
 * read, and such a line is passed over.
 */
export async function lastRecordOf(path: string, repair?: (torn: TornTail) => void): Promise<AuditRecord | undefined> {
  const fh = await open(path, repair ? 'r+' : 'r');
  try {
    let size = (await fh.stat()).size;
    let chunk = 64 * 1024;
    for (;;) {
      if (size === 0) return undefined;
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      let end = buf.length;
      if (buf[end - 1] !== 0x0a) {
        const nl = buf.lastIndexOf(0x0a);
        if (nl < 0 && start > 0) {
          chunk *= 4;
          continue;
        }
        // Torn tail: keep everything up to the last newline (or nothing).
        const keep = start + nl + 1;
        if (repair) {
          await fh.truncate(keep);
          repair({ path, offset: keep, bytes: size - keep });
        }
        size = keep;
        if (nl < 0) return undefined;
        end = nl + 1;
      }
      const prevNl = buf.lastIndexOf(0x0a, end - 2);
      if (prevNl < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      const line = buf.subarray(prevNl + 1, end - 1).toString('utf8');
      try {
        return JSON.parse(line) as AuditRecord;
      } catch {
        // Reading backwards the line number is unknown; the byte offset says where it is.
        throw new Error(`${path}: the last line (at byte ${start + prevNl + 1}) is not a JSON audit record: the file was edited or damaged (audit verify cannot open it either; inspect it from that byte)`);
      }
    }
  } finally {
    await fh.close();
  }
}

/** fsync a directory so a new file's entry is durable (POSIX); best effort where unsupported. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not supported on this platform/filesystem.
  }
}
