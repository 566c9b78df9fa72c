import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unifiedDiff } from './diff.ts';

const lines = (n: number, prefix = 'l') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('unifiedDiff', () => {
  it('is empty for equal inputs', () => {
    assert.deepEqual(unifiedDiff(['a', 'b'], ['a', 'b']), []);
  });

  it('shows one changed line with three lines of context, diff -u style', () => {
    const a = lines(10);
    const b = [...a];
    b[4] = 'CHANGED';
    assert.deepEqual(unifiedDiff(a, b), ['@@ -2,7 +2,7 @@', ' l2', ' l3', ' l4', '-l5', '+CHANGED', ' l6', ' l7', ' l8']);
  });

  it('merges nearby changes into one hunk and splits distant ones', () => {
    const a = lines(30);
    const near = [...a];
    near[2] = 'X';
    near[8] = 'Y';
    assert.equal(unifiedDiff(a, near).filter((l) => l.startsWith('@@')).length, 1);
    const far = [...a];
    far[2] = 'X';
    far[25] = 'Y';
    assert.deepEqual(unifiedDiff(a, far).filter((l) => l.startsWith('@@')), ['@@ -1,6 +1,6 @@', '@@ -23,7 +23,7 @@']);
  });

  it('finds the minimal edit for insertions and deletions', () => {
    assert.deepEqual(unifiedDiff(['a', 'b', 'c'], ['a', 'x', 'b', 'c']), ['@@ -1,3 +1,4 @@', ' a', '+x', ' b', ' c']);
    assert.deepEqual(unifiedDiff(['a', 'b', 'c'], ['a', 'c']), ['@@ -1,3 +1,2 @@', ' a', '-b', ' c']);
    assert.deepEqual(unifiedDiff([], ['new']), ['@@ -0,0 +1,1 @@', '+new']);
  });

  it('stays correct (if not minimal) on inputs too large for the LCS table', () => {
    const a = lines(3000, 'a');
    const b = lines(3000, 'b');
    const out = unifiedDiff(a, b, 0);
    assert.equal(out.filter((l) => l.startsWith('-')).length, 3000);
    assert.equal(out.filter((l) => l.startsWith('+')).length, 3000);
  });
});
