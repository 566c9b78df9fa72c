/**
 * The admin API's token when the config sets none.
 *
 * The approvals API decides whether a held tool call runs. Open to anything that can reach the
 * admin port, it is open to the agent the approval is meant to check: an agent with a shell on
 * the same host can `curl` its own call through (Host and Origin checks stop browsers, not
 * processes). So the API always needs a bearer token: `admin.token` when configured, else a
 * random one made at each start and written where the operator's CLI, run from the same
 * directory, finds it — `.portcullis/admin-token`, readable by the owner only (0600).
 *
 * What this does not do: an agent running as the same OS user can read that file. Separation of
 * duties needs the agent and the gateway under different users (or hosts), or `admin.token`
 * from a secret the agent cannot read.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Relative to the gateway's data directory (its working directory by default). */
export const LOCAL_TOKEN_FILE = join('.portcullis', 'admin-token');

/** Makes a fresh token and writes it (mode 0600, replacing any earlier file); returns it. */
export function issueLocalAdminToken(dataDir: string): string {
  const token = randomBytes(32).toString('base64url');
  const path = join(dataDir, LOCAL_TOKEN_FILE);
  mkdirSync(join(dataDir, '.portcullis'), { recursive: true, mode: 0o700 });
  // Removed first: `mode` applies only to a file being created, and an older file may be wider.
  rmSync(path, { force: true });
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

/** The token a gateway started from `dir` wrote, if any (for `portcullis approvals`). */
export function readLocalAdminToken(dir: string): string | undefined {
  try {
    const token = readFileSync(join(dir, LOCAL_TOKEN_FILE), 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}
