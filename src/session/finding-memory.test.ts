import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FindingMemory } from './finding-memory.ts';

test('counts findings per caller, in total and over the last hour', () => {
  let now = Date.UTC(2026, 10, 23, 12, 0, 0);
  const m = new FindingMemory({ now: () => now });
  m.record('alice', 'pii_findings');
  m.record('alice', 'pii_findings', 2);
  m.record('bob', 'pii_findings');
  assert.deepEqual(m.counters('alice'), { pii_findings: 3, pii_findings_1h: 3 });
  now += 59 * 60_000;
  m.record('alice', 'pii_findings');
  assert.deepEqual(m.counters('alice'), { pii_findings: 4, pii_findings_1h: 4 });
  now += 2 * 60_000; // the first three are now more than an hour old
  assert.deepEqual(m.counters('alice'), { pii_findings: 4, pii_findings_1h: 1 });
  assert.deepEqual(m.counters('carol'), {});
});

test('bounded: the least recently active caller is forgotten first', () => {
  const m = new FindingMemory({ maxPrincipals: 2 });
  m.record('a', 'x');
  m.record('b', 'x');
  m.record('a', 'x'); // a is now more recent than b
  m.record('c', 'x');
  assert.equal(m.size, 2);
  assert.deepEqual(m.counters('b'), {});
  assert.equal(m.counters('a')['x'], 2);
});
