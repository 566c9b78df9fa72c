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
import { mkdirSync, readFileSync } from 'node:fs';
import { readOrCreateFileSync, writeFileAtomicSync } from '../core/create-once.ts';
import { hostname } from 'node:os';
import { join } from 'node:path';

const FILE = join('.portcullis', 'replica-id');
const ID = /^[A-Za-z0-9_-]{16,64}$/;

/** This host's and data directory's replica id, the directory's part made on first use. */
export function replicaId(dataDir: string): string {
  const path = join(dataDir, FILE);
  mkdirSync(join(dataDir, '.portcullis'), { recursive: true, mode: 0o700 });
  const make = () => `${randomBytes(12).toString('base64url')}\n`;
  // Published atomically: two gateways starting here at once agree on one id.
  let id = readOrCreateFileSync(path, make, 0o600).trim();
  if (!ID.test(id)) {
    // A damaged file (not one of ours): replaced whole, through a fresh temporary file.
    writeFileAtomicSync(path, make(), 0o600);
    // Read back, so two gateways mending at once usually end with one id (one writing between the
    // other's write and read still splits them: fail closed, replica-mismatch, until a restart).
    id = readFileSync(path, 'utf8').trim();
  }
  return `${hostname()}/${id}`;
}
