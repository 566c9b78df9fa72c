/**
 * A file made once and then shared: the first process to publish it wins, every other process
 * (started at the same moment, or later) reads the winner's content.
 *
 * Exclusive create (`wx`) alone is not enough: the winner's file exists, empty, before its
 * content is written, and a loser reading it then gets an empty or partial key. So the content
 * goes to a private temporary file first (created `wx`, so not through a planted symlink; synced,
 * so a crash after publishing cannot leave it empty) and is published with link(2), which is
 * atomic and fails with EEXIST when the name is taken (POSIX link(): "the link shall not be
 * created" if it exists). A reader only ever sees a complete file.
 *
 * Filesystems without hard links (some SMB, FUSE and desktop-Docker volumes) refuse link(2): there
 * the file is created `wx` and written whole, and a reader that finds it still empty waits for
 * the writer, briefly. A file still empty after that was left by a writer that crashed between
 * creating and writing it: it holds nothing to keep, and is made again (by atomic rename, so two
 * processes mending the same empty file at once can each keep their own content: rare, needs a
 * crashed writer first, and each process still reads a whole file).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

/** link(2) errors that mean "this filesystem has no hard links", not "something is wrong". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
/** How long a reader waits for content behind an empty file (the no-hard-link fallback). */
const SETTLE_MS = 1000;

/** The file's content; when there is none yet, `make()`'s, published atomically with `mode`. */
export function readOrCreateFileSync(path: string, make: () => string, mode: number): string {
  const existing = readIfPresent(path);
  if (existing !== undefined) return mendEmpty(path, settled(path, existing), make, mode);
  const content = make();
  const temp = tempBeside(path);
  writeWhole(temp, content, mode, 'wx');
  try {
    linkSync(temp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code !== 'EEXIST' && !NO_HARD_LINKS.has(code)) throw err;
    if (code !== 'EEXIST') {
      try {
        writeWhole(path, content, mode, 'wx');
      } catch (again) {
        if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
      }
    }
  } finally {
    rmSync(temp, { force: true });
  }
  return mendEmpty(path, settled(path, readFileSync(path, 'utf8')), make, mode);
}

/** readOrCreateFileSync, except that an empty file (a crashed writer's) is replaced by `make()`'s. */
function mendEmpty(path: string, text: string, make: () => string, mode: number): string {
  if (text !== '') return text;
  writeFileAtomicSync(path, make(), mode);
  return readFileSync(path, 'utf8');
}

/** Replaces the file's content atomically (write beside, sync, rename over) unless it already is `content`. */
export function writeFileAtomicSync(path: string, content: string, mode: number): void {
  if (readIfPresent(path) === content) return;
  const temp = tempBeside(path);
  writeWhole(temp, content, mode, 'wx');
  try {
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

function tempBeside(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

function writeWhole(path: string, content: string, mode: number, flag: 'wx'): void {
  const fd = openSync(path, flag, mode);
  try {
    // writeSync may write less than asked (network filesystems): until every byte is down.
    const bytes = Buffer.from(content, 'utf8');
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** An empty file is a writer's not yet written (no-hard-link fallback): re-read it for a moment. */
function settled(path: string, text: string): string {
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; text === '' && waited < SETTLE_MS; waited += 10) {
    Atomics.wait(wait, 0, 0, 10);
    text = readFileSync(path, 'utf8');
  }
  return text;
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
