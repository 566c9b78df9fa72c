/**
 * A private state directory per test gateway (audit database, spool, keys, pins), removed when
 * the test process exits. Two gateways must never share an audit trail: each owns its chain.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.once('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDataDir(prefix = 'portcullis-gw-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
