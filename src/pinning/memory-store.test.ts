import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toolHash } from './canonical.ts';
import { pinStoreContract } from './contract.ts';
import { MemoryPinStore } from './memory-store.ts';

pinStoreContract('memory', async () => new MemoryPinStore());

describe('MemoryPinStore', () => {
  it('hands out copies: mutating a returned record changes no pin', async () => {
    const store = new MemoryPinStore();
    const definition = { name: 'search', description: 'safe' };
    await store.put({ upstream: 'u', tool: 'search', hash: toolHash(definition), definition, state: 'approved', firstSeen: 1, updatedAt: 1 }, undefined);
    definition.description = 'poisoned after the fact';
    const got = await store.get('u', 'search');
    (got!.definition as Record<string, unknown>)['description'] = 'poisoned through the copy';
    assert.equal((await store.get('u', 'search'))?.definition['description'], 'safe');
  });

  it('rejects use after close', async () => {
    const store = new MemoryPinStore();
    await store.close();
    await assert.rejects(store.get('u', 't'), /closed/);
  });
});
