import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ToolCatalog } from './tool-catalog.ts';

test('learns tool definitions and annotations from tools/list pages, skipping malformed entries', () => {
  const c = new ToolCatalog();
  c.learn({ tools: [{ name: 'read_file', annotations: { readOnlyHint: true } }, { title: 'no name' }, 'junk'], nextCursor: 'p2' });
  c.learn({ tools: [{ name: 'delete_repo', description: 'Deletes', annotations: { destructiveHint: true } }] });
  assert.equal(c.size, 2);
  assert.deepEqual(c.get('read_file')?.annotations, { readOnlyHint: true });
  assert.equal(c.get('delete_repo')?.annotations?.['destructiveHint'], true);
  // A changed definition replaces the old one.
  c.learn({ tools: [{ name: 'read_file' }] });
  assert.equal(c.get('read_file')?.annotations, undefined);
  c.learn(undefined);
  c.learn({ tools: 'nope' });
  assert.equal(c.size, 2);
});
