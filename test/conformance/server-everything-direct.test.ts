/**
 * Baseline: what `@modelcontextprotocol/server-everything` (pinned in the lockfile) scores on
 * the official suite with nothing in front of it. It is not a conformance fixture — it has its
 * own tool names, no Host/Origin check and no 2026-07-28 support — so most scenarios fail by
 * design. The point is a fixed reference: a gateway run in front of it must reproduce exactly
 * this pass set, and a dependency bump that changes it must update this file deliberately.
 *
 * Some passes are vacuous: `tools-call-simple-text` / `tools-call-error` pass because calling
 * an unknown tool yields an `isError` result with a text block, and on 2026-07-28
 * `input-required-result-validate-input` passes because every request is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServerEverything, type RunningServerEverything } from '../fixtures/server-everything.ts';
import { runConformance, type Requirements } from './run-suite.ts';

const EXPECTED_PASSING: Record<Requirements, readonly string[]> = {
  '2025-11-25': [
    'logging-set-level',
    'ping',
    'prompts-list',
    'resources-list',
    'resources-subscribe',
    'resources-unsubscribe',
    'server-initialize',
    'server-sse-multiple-streams',
    'tools-call-error',
    'tools-call-simple-text',
    'tools-list'
  ],
  // SDK v1 speaks no 2026-07-28: stateless requests get 400 "Server not initialized".
  '2026-07-28': ['input-required-result-validate-input']
};

describe('server-everything, directly (baseline)', () => {
  let server: RunningServerEverything;

  before(async () => {
    server = await startServerEverything({ port: 0 });
  });
  after(async () => {
    await server.close();
  });

  for (const requirements of Object.keys(EXPECTED_PASSING) as Requirements[]) {
    it(`passes exactly the recorded scored scenarios of --requirements ${requirements}`, async (t) => {
      // Failing is its normal state here, so there is nothing to keep the results for.
      const run = await runConformance({ url: server.url, requirements, keepResults: 'never' });
      t.diagnostic(`${requirements}: ${run.durationMs} ms`);
      const passing = Object.entries(run.scenarios)
        .filter(([, s]) => s.ok)
        .map(([n]) => n)
        .sort();
      assert.deepEqual(passing, [...EXPECTED_PASSING[requirements]].sort());
      // No Host/Origin validation: the rebinding probe is answered (2025: 200) instead of 4xx.
      assert.equal(run.scenarios['dns-rebinding-protection']?.ok, false);
      assert.notEqual(run.exitCode, 0);
    });
  }
});
