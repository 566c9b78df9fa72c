import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { replicaId } from './replica.ts';

describe('replicaId', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replica-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, '.portcullis', 'replica-id');

  it('is made once, owner-only, prefixed by the host name, and the same on every later start', () => {
    const first = replicaId(dir);
    assert.match(first, new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[A-Za-z0-9_-]{16}$`));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(replicaId(dir), first);
  });

  it('mends a damaged or empty file with a fresh id, and keeps that one', () => {
    for (const damage of ['not an id!', '']) {
      writeFileSync(file, damage);
      const mended = replicaId(dir);
      assert.match(mended, /\/[A-Za-z0-9_-]{16}$/);
      assert.equal(readFileSync(file, 'utf8').trim(), mended.split('/').at(-1));
      assert.equal(replicaId(dir), mended);
    }
  });
});
