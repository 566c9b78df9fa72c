import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toolHash } from './canonical.ts';
import { pinStoreContract } from './contract.ts';
import { SqlitePinStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'pins-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

pinStoreContract('sqlite', async () => new SqlitePinStore({ path: join(dir, 'contract', 'pins.db') }));

const definition = { name: 'search', description: 'Searches the web.' };
const draft = { upstream: 'github', tool: 'search', hash: toolHash(definition), definition, state: 'approved' as const, firstSeen: 1, updatedAt: 1 };

describe('SqlitePinStore', () => {
  it('persists pins across reopening (a restart does not re-trust anything)', async () => {
    const path = join(dir, 'reopen.db');
    const a = new SqlitePinStore({ path });
    await a.put(draft, undefined);
    await a.close();
    const b = new SqlitePinStore({ path });
    assert.equal((await b.get('github', 'search'))?.hash, draft.hash);
    await b.close();
  });

  it('sees writes made by another connection at once (the CLI approving while the gateway runs)', async () => {
    const path = join(dir, 'two-connections.db');
    const gateway = new SqlitePinStore({ path });
    const cli = new SqlitePinStore({ path, mustExist: true });
    await gateway.put({ ...draft, state: 'pending' }, undefined);
    await cli.approve({ upstream: 'github', tool: 'search', hash: draft.hash, by: 'alice', at: 2 });
    assert.equal((await gateway.get('github', 'search'))?.state, 'approved');
    await cli.close();
    await gateway.close();
  });

  it('runs in WAL mode and records its schema version', async () => {
    const path = join(dir, 'wal.db');
    await new SqlitePinStore({ path }).close();
    const db = new DatabaseSync(path);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    assert.deepEqual(db.prepare('SELECT version FROM pin_schema_migrations').all().map((r) => (r as { version: number }).version), [1]);
    db.close();
  });

  it('refuses a database written by a newer version instead of misreading it', async () => {
    const path = join(dir, 'newer.db');
    await new SqlitePinStore({ path }).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO pin_schema_migrations (version, applied_at) VALUES (99, 0)').run();
    db.close();
    assert.throws(() => new SqlitePinStore({ path }), /schema version 99/);
  });

  it('read-only and must-exist openings never create a database at a mistyped path', () => {
    assert.throws(() => new SqlitePinStore({ path: join(dir, 'typo.db'), readOnly: true }), /no pin database/);
    assert.throws(() => new SqlitePinStore({ path: join(dir, 'typo.db'), mustExist: true }), /no pin database/);
  });

  it('a read-only store reads but cannot write', async () => {
    const path = join(dir, 'ro.db');
    const w = new SqlitePinStore({ path });
    await w.put(draft, undefined);
    await w.close();
    const ro = new SqlitePinStore({ path, readOnly: true });
    assert.equal((await ro.list()).length, 1);
    await assert.rejects(ro.put({ ...draft, tool: 'other' }, undefined), /readonly|read-only/i);
    await ro.close();
  });
});
