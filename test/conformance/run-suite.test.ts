/**
 * The result parsing in run-suite.ts, on synthetic CLI output: a parser that silently reads
 * "0 failed" from a crashed run would make every conformance test green.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRequirementSet, parseResultsDir, parseSummary, summariseChecks } from './run-suite.ts';

describe('run-suite parsing', () => {
  it('counts only FAILURE checks as failures; WARNING/SKIPPED/INFO are not', () => {
    const r = summariseChecks([
      { id: 'a', status: 'SUCCESS' },
      { id: 'b', status: 'WARNING', errorMessage: 'should' },
      { id: 'c', status: 'SKIPPED' },
      { id: 'd', status: 'INFO' },
      { id: 'e', status: 'FAILURE', errorMessage: 'boom' }
    ]);
    assert.deepEqual(r, { passed: 1, failed: 1, warnings: 1, ok: false, failures: [{ id: 'e', message: 'boom' }] });
  });

  it('reads the SUMMARY block, including scenario names with dashes', () => {
    const raw = [
      'noise ✓ not-a-summary: 9 passed, 0 failed',
      '=== SUMMARY ===',
      '✓ server-stateless: 30 passed, 0 failed',
      '✗ input-required-result-multi-round: 3 passed, 1 failed',
      '',
      'Total: 33 passed, 1 failed'
    ].join('\n');
    const m = parseSummary(raw);
    assert.deepEqual([...m.keys()], ['server-stateless', 'input-required-result-multi-round']);
    assert.equal(m.get('input-required-result-multi-round')?.ok, false);
    assert.equal(m.get('server-stateless')?.passed, 30);
  });

  it('reads checks.json per scenario from the -o directory, latest run winning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'run-suite-test-'));
    try {
      const put = async (name: string, checks: unknown) => {
        await mkdir(join(dir, name));
        await writeFile(join(dir, name, 'checks.json'), JSON.stringify(checks));
      };
      await put('server-tools-call-error-2026-01-01T00-00-00-000Z', [{ id: 'x', status: 'FAILURE' }]);
      await put('server-tools-call-error-2026-01-01T00-00-01-000Z', [{ id: 'x', status: 'SUCCESS' }]);
      await put('server-dns-rebinding-protection-2026-01-01T00-00-00-000Z', [{ id: 'y', status: 'FAILURE', errorMessage: 'got 200' }]);
      await mkdir(join(dir, 'unrelated'));
      const results = await parseResultsDir(dir);
      assert.deepEqual([...results.keys()].sort(), ['dns-rebinding-protection', 'tools-call-error']);
      assert.equal(results.get('tools-call-error')?.ok, true);
      assert.deepEqual(results.get('dns-rebinding-protection')?.failures, [{ id: 'y', message: 'got 200' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('separates scored from not_scored server scenarios using the pinned requirement files', async () => {
    const set2026 = await loadRequirementSet('2026-07-28');
    assert.ok(set2026.scored.includes('server-stateless'));
    assert.equal(set2026.notScored.get('tasks-lifecycle'), 'extension');
    assert.ok(!set2026.scored.includes('tasks-lifecycle'));
    // Client-leg entries must not leak into the server view.
    assert.ok(!set2026.notScored.has('auth/dpop'));
    const set2025 = await loadRequirementSet('2025-11-25');
    assert.equal(set2025.notScored.get('server-sse-polling'), 'pending');
    assert.ok(set2025.scored.includes('dns-rebinding-protection'));
  });
});
