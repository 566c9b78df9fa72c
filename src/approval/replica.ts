/**
 * Which gateway process (replica) issued an approval state, so it is redeemed only there.
 *
 * Single use needs a replay cache the redeeming process can see. The cache is in the data
 * directory (sqlite-nonce-store.ts): shared by a restart, not by replicas on other hosts. A state
 * that any replica holding the key could redeem would be good once per replica, so states carry
 * the issuing replica's id and another replica refuses them (`replica-mismatch`): fail closed,
 * until a shared replay cache exists. With several replicas, an MRTR retry must reach the replica
 * that answered `input_required` (session affinity on the load balancer).
 *
 * The id lives in the data directory too, so a restart keeps it and its replay cache together,
 * prefixed by the host name: a data directory copied to several hosts (baked into an image) gives
 * each its own id, as each has its own replay cache.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const FILE = join('.portcullis', 'replica-id');

/** This host's and data directory's replica id, the directory's part made on first use. */
export function replicaId(dataDir: string): string {
  const path = join(dataDir, FILE);
  let id: string | undefined;
  try {
    const stored = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{16,64}$/.test(stored)) id = stored;
  } catch {
    // First start here.
  }
  if (id === undefined) {
    mkdirSync(join(dataDir, '.portcullis'), { recursive: true, mode: 0o700 });
    id = randomBytes(12).toString('base64url');
    writeFileSync(path, `${id}\n`, { mode: 0o600 });
  }
  return `${hostname()}/${id}`;
}
