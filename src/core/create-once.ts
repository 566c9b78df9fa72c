/**
 * A file made once and then shared: the first process to publish it wins, every other process
 * (started at the same moment, or later) reads the winner's content.
 *
 * Exclusive create (`wx`) alone is not enough: the winner's file exists, empty, before its
 * content is written, and a loser reading it then gets an empty or partial key. So the content
 * goes to a private temporary file first and is published with link(2), which is atomic and
 * fails with EEXIST when the name is taken (POSIX link(): "the link shall not be created" if it
 * exists). A reader only ever sees a complete file.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** The file's content; when there is none yet, `make()`'s, published atomically with `mode`. */
export function readOrCreateFileSync(path: string, make: () => string, mode: number): string {
  const existing = readIfPresent(path);
  if (existing !== undefined) return existing;
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, make(), { flag: 'wx', mode });
  try {
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  return readFileSync(path, 'utf8');
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
