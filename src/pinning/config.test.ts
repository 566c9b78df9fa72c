import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPinner, openPinStore, PinningSchema } from './config.ts';
import { MemoryPinStore } from './memory-store.ts';
import { SqlitePinStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'pins-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('PinningSchema', () => {
  it('defaults to off, trust on first use, SQLite at .portcullis/pins.db', () => {
    assert.deepEqual(PinningSchema.parse({}), { enabled: false, mode: 'trust-on-first-use', store: { type: 'sqlite', path: '.portcullis/pins.db' } });
  });

  it('accepts explicit mode and a memory store', () => {
    assert.deepEqual(PinningSchema.parse({ enabled: true, mode: 'explicit', store: { type: 'memory' } }), { enabled: true, mode: 'explicit', store: { type: 'memory' } });
  });

  it('rejects typos and unknown values instead of silently leaving pinning off', () => {
    for (const bad of [{ enabeld: true }, { mode: 'tofu' }, { store: { type: 'redis' } }, { store: { type: 'memory', path: 'x' } }, { store: { type: 'sqlite', path: '' } }]) {
      assert.equal(PinningSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe('createPinner', () => {
  it('is undefined when pinning is off', () => {
    assert.equal(createPinner(PinningSchema.parse({})), undefined);
  });

  it('opens the configured store, resolving a relative SQLite path against the base directory', async () => {
    const pinner = createPinner(PinningSchema.parse({ enabled: true, mode: 'explicit', store: { type: 'sqlite', path: 'state/pins.db' } }), dir)!;
    assert.equal(pinner.mode, 'explicit');
    assert.ok(pinner.store instanceof SqlitePinStore);
    assert.ok(existsSync(join(dir, 'state', 'pins.db')));
    await pinner.store.close();
    assert.ok(openPinStore({ type: 'memory' }) instanceof MemoryPinStore);
  });
});
