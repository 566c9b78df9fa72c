/**
 * Small persisted state (cursors, the chain head, a network sink's last acknowledged seq),
 * written atomically: write a temporary file, fsync it, rename over the old one (POSIX rename is
 * atomic), so a crash leaves either the old state or the new one, never a torn file.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeJsonAtomic(path: string, value: unknown, durable = true): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  // The directory almost always exists (the head is rewritten per delivery round): create it
  // only when the open says it is missing, not with a mkdir round trip every time.
  const fh = await open(tmp, 'w', 0o600).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(tmp, 'w', 0o600);
  });
  try {
    await fh.writeFile(JSON.stringify(value));
    if (durable) await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${path}: state file is not valid JSON`);
  }
}

/**
 * The last seq a network sink (syslog, HEC, webhook) got acknowledged. Those destinations cannot
 * be asked what they hold, so the sink remembers, to stay idempotent by seq across restarts.
 * Without a path it is kept in memory only.
 */
export class SeqState {
  readonly #path: string | undefined;
  #seq: number | undefined;

  private constructor(path: string | undefined, seq: number | undefined) {
    this.#path = path;
    this.#seq = seq;
  }

  static async open(path: string | undefined): Promise<SeqState> {
    const saved = path === undefined ? undefined : await readJson<{ seq?: unknown }>(path);
    const seq = typeof saved?.seq === 'number' && Number.isSafeInteger(saved.seq) ? saved.seq : undefined;
    return new SeqState(path, seq);
  }

  get seq(): number | undefined {
    return this.#seq;
  }

  async set(seq: number): Promise<void> {
    this.#seq = seq;
    if (this.#path !== undefined) await writeJsonAtomic(this.#path, { seq });
  }
}
