/**
 * The conformance fixture, with nothing in front of it, passes every scored server scenario of
 * both frozen requirement sets of the official suite. This is the baseline the gateway runs
 * are compared against: a scenario that fails through the gateway but passes here is the
 * gateway's fault.
 *
 * Timing is reported as a test diagnostic (CI budget), never asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startConformanceServer, type RunningConformanceServer } from '../fixtures/conformance-server/server.ts';
import { loadRequirementSet, runConformance, type ConformanceRun, type Requirements } from './run-suite.ts';

const REVISIONS: readonly Requirements[] = ['2025-11-25', '2026-07-28'];

function describeFailures(run: ConformanceRun): string {
  const lines: string[] = [];
  for (const [name, s] of Object.entries(run.scenarios)) {
    if (s.ok) continue;
    lines.push(`${name}: ${s.failed} failed`);
    for (const f of s.failures) lines.push(`  - ${f.id}: ${f.message}`);
  }
  return `${lines.join('\n')}\nresults: ${run.resultsDir}`;
}

describe('conformance fixture, directly', () => {
  let fixture: RunningConformanceServer;

  before(async () => {
    fixture = await startConformanceServer({ port: 0 });
  });
  after(async () => {
    await fixture.close();
  });

  // Sequential on purpose: the 2026 run publishes list_changed events that would otherwise
  // reach the 2025 run's sessions and make failures harder to attribute.
  for (const requirements of REVISIONS) {
    it(`passes every scored server scenario of --requirements ${requirements}`, async (t) => {
      const expected = (await loadRequirementSet(requirements)).scored;
      const run = await runConformance({ url: fixture.url, requirements });

      const notScored = Object.entries(run.notScored).map(([n, s]) => `${s.ok ? 'pass' : 'FAIL'} ${n} (${s.reason})`);
      t.diagnostic(`${requirements}: ${run.durationMs} ms, ${expected.length} scored scenarios, source ${run.source}`);
      if (notScored.length > 0) t.diagnostic(`not scored: ${notScored.join('; ')}`);

      assert.ok(expected.length > 0, 'requirement set lists no server scenarios');
      // A scored scenario that produced no results (CLI crash/timeout) is reported as failing.
      const failing = Object.entries(run.scenarios).filter(([, s]) => !s.ok).map(([n]) => n);
      assert.deepEqual(failing, [], describeFailures(run));
      assert.equal(run.exitCode, 0, run.raw.slice(-4000));
    });
  }
});
