import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotationsOf, completeInput, mergeInputs, PolicyInputPatchSchema, requestKind, toolAnnotations } from './vocabulary.ts';

test('request kinds keep actions, reads and lists apart', () => {
  assert.equal(requestKind('tools/call'), 'tool');
  assert.equal(requestKind('resources/read'), 'resource');
  assert.equal(requestKind('prompts/get'), 'prompt');
  assert.equal(requestKind('resources/templates/list'), 'list');
  assert.equal(requestKind('initialize'), 'other');
  assert.equal(requestKind('constructor'), 'other');
});

test('completeInput fills every section so rules never meet a missing field', () => {
  const now = new Date('2025-01-05T23:30:00Z'); // a Sunday
  const input = completeInput({}, now);
  assert.deepEqual(input.principal, { subject: 'anonymous', method: 'none', issuer: '', clientId: '', scopes: [], claims: {} });
  assert.deepEqual(input.request, { method: '', era: 'modern', protocolVersion: '', kind: 'other' });
  assert.deepEqual(input.tool, {
    name: '',
    arguments: {},
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false, title: '' },
  });
  assert.deepEqual(input.time, { now, hour: 23, weekday: 0 });
  assert.deepEqual(input.session, { id: '', counters: {} });
});

test('naming only a target implies its method', () => {
  assert.equal(completeInput({ tool: { name: 'x' } }).request.method, 'tools/call');
  assert.equal(completeInput({ resource: { uri: 'file:///x' } }).request.kind, 'resource');
  assert.equal(completeInput({ prompt: { name: 'p' } }).request.method, 'prompts/get');
  assert.equal(completeInput({ request: { method: 'ping' }, tool: { name: 'x' } }).request.kind, 'other');
});

test('an un-annotated tool gets the MCP defaults; read-only tools are not destructive', () => {
  assert.deepEqual(toolAnnotations(undefined), { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true, title: '' });
  assert.equal(toolAnnotations({ readOnlyHint: true }).destructiveHint, false);
  assert.equal(toolAnnotations({ readOnlyHint: true, destructiveHint: true }).destructiveHint, true);
  assert.equal(completeInput({ tool: { name: 'x' } }).tool.annotations.destructiveHint, true);
});

test('annotationsOf keeps well-typed hints and falls back to the top-level title', () => {
  assert.deepEqual(annotationsOf({ name: 'x', title: 'X', annotations: { readOnlyHint: true, destructiveHint: 'no' } }), { readOnlyHint: true, title: 'X' });
  assert.deepEqual(annotationsOf({ annotations: { title: 'A' }, title: 'X' }), { title: 'A' });
  assert.deepEqual(annotationsOf(null), {});
});

test('mergeInputs overrides field by field, annotations one level deeper', () => {
  const merged = mergeInputs(
    { tool: { name: 'a', annotations: { readOnlyHint: true } }, session: { counters: { n: 1 } } },
    undefined,
    { tool: { name: 'b', annotations: { title: 'T' } }, session: { id: 's' } },
  );
  assert.deepEqual(merged, { tool: { name: 'b', annotations: { readOnlyHint: true, title: 'T' } }, session: { counters: { n: 1 }, id: 's' } });
});

test('the patch schema rejects misspelt sections and parses time', () => {
  assert.equal(PolicyInputPatchSchema.safeParse({ principle: { subject: 'x' } }).success, false);
  assert.equal(PolicyInputPatchSchema.safeParse({ tool: { nmae: 'x' } }).success, false);
  const parsed = PolicyInputPatchSchema.parse({ time: { now: '2025-01-06T10:00:00Z' } });
  assert.deepEqual(parsed.time?.now, new Date('2025-01-06T10:00:00Z'));
});
