import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParamHeaderIndex } from './param-headers.ts';

const tools = {
  tools: [
    { name: 'deploy', inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, replicas: { type: 'integer', 'x-mcp-header': 'Replicas' }, note: { type: 'string' } } } },
    { name: 'plain', inputSchema: { type: 'object', properties: { a: { type: 'string' } } } },
  ],
};

function mismatch(fn: () => void): boolean {
  try { fn(); return false; } catch (e) { return (e as { code?: string }).code === 'header_mismatch'; }
}

test('mirrored arguments must match their Mcp-Param-* headers, decoded', () => {
  const idx = new ParamHeaderIndex();
  idx.learn(tools);
  const ok = { 'mcp-param-region': 'eu-west-1', 'mcp-param-replicas': '3' };
  assert.equal(mismatch(() => idx.check('deploy', { region: 'eu-west-1', replicas: 3 }, ok)), false);
  assert.equal(mismatch(() => idx.check('deploy', { region: 'us-east-1', replicas: 3 }, ok)), true);
  assert.equal(mismatch(() => idx.check('deploy', { region: 'eu-west-1', replicas: 4 }, ok)), true);
  assert.equal(mismatch(() => idx.check('deploy', { region: 'eu-west-1', replicas: 3 }, { 'mcp-param-replicas': '3' })), true, 'missing header');
  const b64 = `=?base64?${Buffer.from(' zürich ').toString('base64')}?=`;
  assert.equal(mismatch(() => idx.check('deploy', { region: ' zürich ' }, { 'mcp-param-region': b64 })), false);
  assert.equal(mismatch(() => idx.check('deploy', {}, { 'mcp-param-region': 'x' })), true, 'header without argument');
  assert.equal(mismatch(() => idx.check('deploy', {}, {})), false, 'absent argument, absent header');
});

test('tools without annotations, and unknown tools, are not checked', () => {
  const idx = new ParamHeaderIndex();
  idx.learn(tools);
  assert.equal(mismatch(() => idx.check('plain', { a: 'x' }, { 'mcp-param-whatever': 'y' })), false);
  assert.equal(mismatch(() => idx.check('never-listed', {}, { 'mcp-param-region': 'y' })), false);
});
