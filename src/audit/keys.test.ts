import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditKeyError, loadAuditKeys, loadPublicKeys, parseSigningKey } from './keys.ts';
import { checkCheckpoint, signCheckpoint } from './chain.ts';
import { tempDir } from './testkit.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = tempDir('keys');
  dirs.push(d);
  return d;
};

describe('audit keys', () => {
  it('generates both keys on first start, persists them 0600, and reuses them', async () => {
    const d = join(dir(), 'k');
    const a = await loadAuditKeys({ keyDir: d });
    assert.equal(statSync(join(d, 'audit-signing.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(d, 'audit-digest.key')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(d).sort(), ['audit-digest.key', `audit-signing.${a.signer.keyId}.pub.pem`, 'audit-signing.key']);
    assert.equal(a.source.signing, join(d, 'audit-signing.key'));
    const b = await loadAuditKeys({ keyDir: d });
    assert.equal(b.signer.keyId, a.signer.keyId);
    assert.deepEqual(b.digestKey, a.digestKey);
    // The published public key verifies what the private key signs.
    const proof = signCheckpoint({ seq: 3, hash: 'a'.repeat(64) }, 1, a.signer);
    assert.equal(checkCheckpoint(proof, await loadPublicKeys(d)), 'ok');
  });

  it('two processes starting at once end up with one key', async () => {
    const d = join(dir(), 'race');
    const [a, b] = await Promise.all([loadAuditKeys({ keyDir: d }), loadAuditKeys({ keyDir: d })]);
    assert.equal(a.signer.keyId, b.signer.keyId);
    assert.deepEqual(a.digestKey, b.digestKey);
  });

  it('accepts a configured PKCS#8 PEM or a raw base64 seed, and keeps every public key for rotation', async () => {
    const d = dir();
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const a = await loadAuditKeys({ keyDir: d, signingKey: pem, digestKey: Buffer.alloc(16, 1).toString('base64') });
    assert.equal(a.source.signing, 'config');
    const seed = Buffer.alloc(32, 5).toString('base64');
    const b = await loadAuditKeys({ keyDir: d, signingKey: seed });
    assert.notEqual(a.signer.keyId, b.signer.keyId);
    assert.equal(parseSigningKey(seed).asymmetricKeyType, 'ed25519');
    const keys = await loadPublicKeys(d);
    assert.deepEqual([...keys.keys()].sort(), [a.signer.keyId, b.signer.keyId].sort());
  });

  it('rejects wrong keys with a message that never echoes the key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => parseSigningKey(rsa), (e: Error) => e instanceof AuditKeyError && /must be Ed25519, not rsa/.test(e.message));
    const garbage = 'c2VjcmV0LW5vdC1hLWtleQ==';
    assert.throws(() => parseSigningKey(garbage), (e: Error) => e instanceof AuditKeyError && !e.message.includes(garbage));
    assert.throws(() => parseSigningKey('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----'), /not a valid PKCS#8 PEM/);
  });

  it('refuses a configured digest key shorter than 16 bytes', async () => {
    await assert.rejects(loadAuditKeys({ keyDir: dir(), digestKey: Buffer.alloc(8).toString('base64') }), /at least 16 bytes/);
  });

  it('mends a public key file left truncated (a crash mid-write), so verification keeps working', async () => {
    const d = dir();
    const k = await loadAuditKeys({ keyDir: d });
    const pub = join(d, `audit-signing.${k.signer.keyId}.pub.pem`);
    writeFileSync(pub, '');
    await loadAuditKeys({ keyDir: d });
    assert.match(readFileSync(pub, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    assert.equal((await loadPublicKeys(d)).size, 1);
  });

  it('never writes the private key into the public key file', async () => {
    const d = dir();
    const k = await loadAuditKeys({ keyDir: d });
    const pub = readFileSync(join(d, `audit-signing.${k.signer.keyId}.pub.pem`), 'utf8');
    assert.match(pub, /^-----BEGIN PUBLIC KEY-----/);
    assert.ok(!pub.includes('PRIVATE'));
  });
});
