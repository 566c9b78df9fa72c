/**
 * JSON-lines files of audit records, shared by the file sink and the spool: read line by line,
 * find the last record (repairing a torn final line), make a directory entry durable.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { AuditRecord } from './record.ts';

/**
 * Parse each complete line. A final line without its newline is a write in progress (or torn by
 * a crash) and is skipped; any other line that is not JSON is an error naming the file and line.
 */
export async function* readLines(path: string): AsyncIterable<AuditRecord> {
  let rest = '';
  let n = 0;
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      start = nl + 1;
      n++;
      if (line === '') continue;
      try {
        yield JSON.parse(line) as AuditRecord;
      } catch {
        throw new Error(`${path}:${n}: not a JSON audit record`);
      }
    }
    rest = text.slice(start);
  }
}

/**
 * The last complete record of a file; cuts a torn final line (a crash mid-append) off the file.
 * Reads backwards in growing chunks so a large record at the end still works.
 */
export async function lastRecordOf(path: string): Promise<AuditRecord | undefined> {
  const fh = await open(path, 'r+');
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
        size = start + nl + 1;
        await fh.truncate(size);
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
        throw new Error(`${path}: last line is not a JSON audit record`);
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
