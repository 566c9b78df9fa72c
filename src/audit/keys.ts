/**
 * The audit log's two keys: the Ed25519 checkpoint signing key and the HMAC digest key.
 *
 * Configured keys win (`checkpoint.signingKey`: a PKCS#8 PEM or the raw 32-byte Ed25519 seed in
 * base64, RFC 8032 §5.1.5; `digestKey`: at least 16 bytes, base64). Without them the first start
 * generates both and persists them in the key directory (default `.portcullis/audit-keys/`):
 *
 *   audit-signing.key           PKCS#8 PEM private key, mode 0600
 *   audit-signing.<id>.pub.pem  SPKI PEM public key, one file per key ever used, so
 *                               `audit verify` can check checkpoints made before a rotation
 *   audit-digest.key            32 random bytes, base64, mode 0600
 *
 * Files are published atomically and never overwritten (core/create-once.ts): two gateways
 * starting at once cannot both generate and silently overwrite each other's key, and the loser
 * reads the winner's whole key, never a half-written one.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { readOrCreateFileSync, writeFileAtomicSync } from '../core/create-once.ts';
import { join } from 'node:path';
import { createSigner, publicKeyId, type Signer } from './chain.ts';

export const DEFAULT_KEY_DIR = '.portcullis/audit-keys';

/** PKCS#8 DER prefix for an Ed25519 private key (RFC 8410 §7): the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class AuditKeyError extends Error {
  override name = 'AuditKeyError';
}

/** Parse a configured signing key. The error never echoes the key. */
export function parseSigningKey(spec: string): KeyObject {
  const text = spec.trim();
  let key: KeyObject;
  try {
    if (text.startsWith('-----BEGIN')) {
      key = createPrivateKey(text);
    } else {
      const raw = Buffer.from(text, 'base64');
      if (raw.length !== 32 && raw.length !== 64) throw new AuditKeyError('raw signing key must be 32 bytes (Ed25519 seed), base64');
      key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    }
  } catch (err) {
    if (err instanceof AuditKeyError) throw err;
    throw new AuditKeyError('checkpoint signing key is not a valid PKCS#8 PEM or base64 Ed25519 seed');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AuditKeyError(`checkpoint signing key must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

export function parseDigestKey(spec: string): Buffer {
  const raw = Buffer.from(spec.trim(), 'base64');
  if (raw.length < 16) throw new AuditKeyError('audit digest key must decode to at least 16 bytes (base64)');
  return raw;
}

export interface AuditKeys {
  signer: Signer;
  publicKey: KeyObject;
  digestKey: Buffer;
  /** Where each key came from: 'config' or the file path (for the startup log; never the key). */
  source: { signing: string; digest: string };
}

export interface KeyOptions {
  signingKey?: string | undefined;
  digestKey?: string | undefined;
  keyDir: string;
}

export async function loadAuditKeys(opts: KeyOptions): Promise<AuditKeys> {
  await mkdir(opts.keyDir, { recursive: true, mode: 0o700 });
  let priv: KeyObject;
  let signingSource = 'config';
  if (opts.signingKey !== undefined) {
    priv = parseSigningKey(opts.signingKey);
  } else {
    const path = join(opts.keyDir, 'audit-signing.key');
    signingSource = path;
    const pem = readOrCreateFileSync(path, () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    priv = parseSigningKey(pem);
  }
  const publicKey = createPublicKey(priv);
  // Publish the public key beside the others so verification keeps working across rotations.
  const pubPath = join(opts.keyDir, `audit-signing.${publicKeyId(publicKey)}.pub.pem`);
  // Same key, same content, replaced whole: a reader never sees it half-written, and a file
  // damaged earlier (truncated by a crash) is mended rather than kept.
  writeFileAtomicSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);

  let digestKey: Buffer;
  let digestSource = 'config';
  if (opts.digestKey !== undefined) {
    digestKey = parseDigestKey(opts.digestKey);
  } else {
    const path = join(opts.keyDir, 'audit-digest.key');
    digestSource = path;
    digestKey = parseDigestKey(readOrCreateFileSync(path, () => randomBytes(32).toString('base64'), 0o600));
  }
  return { signer: createSigner(priv), publicKey, digestKey, source: { signing: signingSource, digest: digestSource } };
}

/** Public keys from PEM texts (or private keys, whose public half is taken), by key id. */
export function publicKeysFrom(pems: readonly string[]): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const pem of pems) {
    const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    out.set(publicKeyId(key), key);
  }
  return out;
}

/**
 * Every `*.pub.pem` in the key directory. A file that is not a readable PEM public key (damaged,
 * truncated, not a key) is skipped and passed to `onSkip` with its path and why, rather than
 * failing the whole load: one bad file must not stop verification with the other keys (the
 * checkpoints it signed then show as signed by an unknown key).
 */
export async function loadPublicKeys(keyDir: string, onSkip?: (path: string, reason: string) => void): Promise<Map<string, KeyObject>> {
  let names: string[];
  try {
    names = await readdir(keyDir);
  } catch {
    return new Map();
  }
  const out = new Map<string, KeyObject>();
  for (const n of names.filter((n) => n.endsWith('.pub.pem')).sort()) {
    const path = join(keyDir, n);
    try {
      for (const [id, key] of publicKeysFrom([await readFile(path, 'utf8')])) out.set(id, key);
    } catch (err) {
      onSkip?.(path, (err as Error).message);
    }
  }
  return out;
}
