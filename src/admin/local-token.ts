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
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Relative to the gateway's data directory (its working directory by default). */
export const LOCAL_TOKEN_FILE = join('.portcullis', 'admin-token');

/** Makes a fresh token and writes it (mode 0600, replacing any earlier file); returns it. */
export function issueLocalAdminToken(dataDir: string): string {
  const token = randomBytes(32).toString('base64url');
  const path = join(dataDir, LOCAL_TOKEN_FILE);
  mkdirSync(join(dataDir, '.portcullis'), { recursive: true, mode: 0o700 });
  // A fresh file of our own (exclusive create: `mode` applies only to a file being created),
  // then renamed over the old one: two gateways starting here never see each other's half-write.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temp, path);
  return token;
}

/** Removes the token file at shutdown, if it still holds this gateway's token (not a newer one's). */
export function withdrawLocalAdminToken(dataDir: string, token: string): void {
  if (token !== '' && readLocalAdminToken(dataDir) === token) rmSync(join(dataDir, LOCAL_TOKEN_FILE), { force: true });
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
