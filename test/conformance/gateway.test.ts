/**
 * The gateway is transparent to the official conformance suite: whatever an upstream passes
 * with nothing in front of it, it still passes with Portcullis in front of it, its identity,
 * policy and rate-limit stages switched on but permissive (see gatewayInFront). Two upstreams,
 * both frozen requirement sets:
 *
 *  - the conformance fixture (passes every scored scenario directly): through the gateway the
 *    set of passing scored scenarios must be the same, scenario by scenario;
 *  - `@modelcontextprotocol/server-everything` (fails most scenarios by design, see
 *    server-everything-direct.test.ts): no scenario that passes directly may fail through the
 *    gateway. The gateway may pass more (it adds the Host/Origin check the package lacks).
 *
 * Beyond whole scenarios, every check of every scenario (scored or not) is compared: a check that
 * passes directly (status SUCCESS) must pass through the gateway too. A scenario that fails
 * directly may hide a check the gateway breaks; the per-check comparison catches that. The
 * gateway passing a check the upstream fails alone is fine (e.g. server-everything's
 * `tasks-request-headers` on 2026-07-28, where the gateway's own header validation passes one).
 *
 * Each case runs the suite directly, then through the gateway, against the same upstream
 * instance, strictly one run at a time: the fixture broadcasts list_changed notifications to
 * every live session, so overlapping runs would see each other's events and a difference could
 * no longer be pinned on the gateway. The gateway listens on 127.0.0.1, because the suite's
 * `dns-rebinding-protection` scenario only counts a 4xx as protection when the URL host is
 * loopback.
 *
 * Timing is reported as a test diagnostic (CI budget), never asserted.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { quickConfig } from '../../src/config/quick.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { startConformanceServer, type RunningConformanceServer } from '../fixtures/conformance-server/server.ts';
import { startServerEverything, type RunningServerEverything } from '../fixtures/server-everything.ts';
import { runConformance, type ConformanceRun, type Requirements, type ScenarioResult } from './run-suite.ts';
import { tempDataDir } from '../support/data-dir.ts';

const REVISIONS: readonly Requirements[] = ['2025-11-25', '2026-07-28'];

/**
 * The gateway with its security stages switched on but permissive, so the suite also proves they
 * are transparent: optional OAuth on the route (the suite sends no token: callers are anonymous),
 * a policy that decides every call (allow, with a warning rule that matches everything, and list
 * filtering armed), and rate limits far above what the suite sends. Every message is therefore
 * parsed and run through the pipeline, both directions.
 */
async function gatewayInFront(upstream: string): Promise<{ gateway: Gateway; url: string }> {
  const quick = quickConfig({ upstream, port: 0, adminPort: 0, host: '127.0.0.1' });
  const config = ConfigSchema.parse({
    ...quick,
    logging: { level: 'silent' },
    routes: [{ ...quick.routes[0]!, auth: { required: false, jwt: { issuer: 'https://idp.invalid', jwksUrl: 'https://idp.invalid/jwks' } } }],
    policy: {
      default: 'allow',
      methods: ['tools/call', 'resources/read', 'prompts/get'],
      rules: [
        { name: 'watch-everything', when: 'true', decision: 'warn', reason: 'conformance-watch' },
        { name: 'never-matches', when: 'principal.subject == "nobody-at-all"', decision: 'deny', reason: 'unreachable' },
      ],
    },
    rateLimits: { limits: [{ name: 'generous', scope: 'principal', capacity: 100000, refillPerSecond: 10000 }] },
  });
  const gateway = await startGateway({ dataDir: tempDataDir(), config, admin: false, logger: silentLogger });
  // The route path quickConfig gave the single route (default `/mcp`).
  return { gateway, url: `${gateway.url}${config.routes[0]!.path}` };
}

function passing(results: Record<string, ScenarioResult>): string[] {
  return Object.entries(results)
    .filter(([, s]) => s.ok)
    .map(([n]) => n)
    .sort();
}

function cell(s: ScenarioResult | undefined): string {
  if (!s) return '—';
  return s.ok ? `pass (${s.passed})` : `FAIL (${s.failed}/${s.passed + s.failed})`;
}

/** Scenario-by-scenario table, scored first then not scored, marking every disagreement. */
function comparisonTable(direct: ConformanceRun, via: ConformanceRun): string[] {
  const lines: string[] = [];
  const row = (name: string, d: ScenarioResult | undefined, g: ScenarioResult | undefined, tag: string) => {
    const mark = (d?.ok ?? false) !== (g?.ok ?? false) ? (d?.ok ? '  <-- REGRESSION' : '  (gateway better)') : '';
    lines.push(`${tag} ${name.padEnd(46)} direct: ${cell(d).padEnd(14)} gateway: ${cell(g)}${mark}`);
  };
  for (const name of Object.keys(direct.scenarios)) row(name, direct.scenarios[name], via.scenarios[name], 'scored    ');
  const extra = [...new Set([...Object.keys(direct.notScored), ...Object.keys(via.notScored)])].sort();
  for (const name of extra) row(name, direct.notScored[name], via.notScored[name], 'not scored');
  return lines;
}

/** What went wrong through the gateway, per regressed scenario, with the checks' own messages. */
function regressionReport(names: readonly string[], direct: ConformanceRun, via: ConformanceRun): string {
  const lines = [`${names.length} scenario(s) pass directly but fail through the gateway: ${names.join(', ')}`];
  for (const name of names) {
    const g = via.scenarios[name] ?? via.notScored[name];
    lines.push(`${name}: direct ${cell(direct.scenarios[name] ?? direct.notScored[name])}, gateway ${cell(g)}`);
    for (const f of g?.failures ?? []) lines.push(`  - ${f.id}: ${f.message}`);
  }
  lines.push(`gateway results: ${via.resultsDir}`);
  return lines.join('\n');
}

/** One check's outcome in one run: the CLI's status (SUCCESS, FAILURE, WARNING, SKIPPED, INFO). */
interface CheckOutcome {
  readonly status: string;
  readonly message: string;
}

/** Every check of a run: scenario → check key → outcome. */
type RunChecks = Map<string, Map<string, CheckOutcome>>;

/** `server-<scenario>-<timestamp>`, as the CLI names its per-scenario directories (run-suite.ts). */
const SCENARIO_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/**
 * Reads every scenario's checks.json of a run. A check is keyed by its id and name (several
 * checks share an id, e.g. `wire-schema-valid` or the SEP-2243 rejections); a key repeated
 * inside one scenario (the same probe with different inputs) gets its ordinal, `#2`, `#3`…,
 * since the suite runs a scenario's probes in a fixed order.
 */
async function readChecks(resultsDir: string): Promise<RunChecks> {
  const out: RunChecks = new Map();
  const entries = existsSync(resultsDir) ? (await readdir(resultsDir)).sort() : []; // latest run per scenario wins
  for (const entry of entries) {
    const scenario = SCENARIO_DIR.exec(entry)?.[1];
    const file = join(resultsDir, entry, 'checks.json');
    if (!scenario || !existsSync(file)) continue;
    const raw: unknown = JSON.parse(await readFile(file, 'utf8'));
    const checks = new Map<string, CheckOutcome>();
    const seen = new Map<string, number>();
    for (const c of Array.isArray(raw) ? (raw as Array<Record<string, unknown>>) : []) {
      const base = `${String(c['id'])} (${String(c['name'] ?? '')})`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      checks.set(n === 1 ? base : `${base} #${n}`, {
        status: String(c['status']),
        message: typeof c['errorMessage'] === 'string' ? c['errorMessage'] : '',
      });
    }
    out.set(scenario, checks);
  }
  return out;
}

/**
 * Every check that passes directly but not through the gateway, in every scenario the direct run
 * produced (scored or not), one line each: `scenario: check — direct SUCCESS, gateway FAILURE: why`.
 */
function checkRegressions(direct: RunChecks, via: RunChecks): string[] {
  const out: string[] = [];
  for (const [scenario, checks] of [...direct].sort(([a], [b]) => a.localeCompare(b))) {
    const gw = via.get(scenario);
    for (const [key, d] of checks) {
      if (d.status !== 'SUCCESS') continue;
      const g = gw?.get(key);
      if (g?.status === 'SUCCESS') continue;
      const got = !gw ? 'no results (scenario did not run)' : !g ? 'check not reached' : `${g.status}${g.message ? `: ${g.message}` : ''}`;
      out.push(`${scenario}: ${key} — direct SUCCESS, gateway ${got}`);
    }
  }
  return out;
}

function countChecks(run: RunChecks, status: string): number {
  let n = 0;
  for (const checks of run.values()) for (const c of checks.values()) if (c.status === status) n++;
  return n;
}

/**
 * Runs the suite directly, then through the gateway, and hands both runs to `compare`. Both
 * results directories are kept only when `compare` throws (that is when they are needed: the
 * checks.json files say what went wrong on the wire); server-everything fails most scenarios
 * by design, so "keep on CLI failure" would leave two directories behind on every green run.
 */
async function compareRuns(
  t: TestContext,
  directUrl: string,
  gatewayUrl: string,
  requirements: Requirements,
  compare: (direct: ConformanceRun, via: ConformanceRun) => void,
): Promise<void> {
  const direct = await runConformance({ url: directUrl, requirements, keepResults: 'always' });
  const via = await runConformance({ url: gatewayUrl, requirements, keepResults: 'always' });
  t.diagnostic(`${requirements}: direct ${direct.durationMs} ms (${direct.source}), through gateway ${via.durationMs} ms (${via.source})`);
  for (const line of comparisonTable(direct, via)) t.diagnostic(line);
  try {
    // Per-check outcomes exist only in checks.json; the summary fallback would hide regressions.
    assert.equal(direct.source, 'checks.json', `direct run wrote no checks.json:\n${direct.raw.slice(-2000)}`);
    assert.equal(via.source, 'checks.json', `gateway run wrote no checks.json:\n${via.raw.slice(-2000)}`);
    const [directChecks, viaChecks] = await Promise.all([readChecks(direct.resultsDir), readChecks(via.resultsDir)]);
    const passedDirect = countChecks(directChecks, 'SUCCESS');
    t.diagnostic(
      `${requirements}: ${directChecks.size} scenarios, ${passedDirect} checks pass directly, ${countChecks(viaChecks, 'SUCCESS')} through the gateway`,
    );
    assert.ok(passedDirect > 0, 'no check passed directly: a broken harness, not a baseline');
    compare(direct, via);
    const regressed = checkRegressions(directChecks, viaChecks);
    assert.deepEqual(
      regressed,
      [],
      `${regressed.length} check(s) pass directly but not through the gateway:\n${regressed.join('\n')}\ngateway results: ${via.resultsDir}`,
    );
  } catch (err) {
    t.diagnostic(`results kept: direct ${direct.resultsDir}, gateway ${via.resultsDir}`);
    throw err;
  }
  await Promise.all([direct.resultsDir, via.resultsDir].map((d) => rm(d, { recursive: true, force: true })));
}

describe('gateway in front of the conformance fixture', () => {
  let fixture: RunningConformanceServer;
  let gateway: Gateway;
  let gatewayUrl: string;

  before(async () => {
    fixture = await startConformanceServer({ port: 0 });
    ({ gateway, url: gatewayUrl } = await gatewayInFront(fixture.url));
  });
  after(async () => {
    await gateway?.close();
    await fixture?.close();
  });

  for (const requirements of REVISIONS) {
    it(`passes the same scored scenarios, and every check, the fixture passes alone, --requirements ${requirements}`, async (t) => {
      await compareRuns(t, fixture.url, gatewayUrl, requirements, (direct, via) => {
        const directPass = passing(direct.scenarios);
        // The baseline must mean something: the fixture passes every scored scenario on its own
        // (fixture-direct.test.ts), so an empty direct pass set is a broken harness.
        assert.ok(directPass.length > 0, `the fixture passed no scenario directly:\n${direct.raw.slice(-2000)}`);
        assert.deepEqual(Object.keys(via.scenarios).sort(), Object.keys(direct.scenarios).sort(), 'both runs score the same scenarios');

        const viaPass = new Set(passing(via.scenarios));
        const regressed = directPass.filter((n) => !viaPass.has(n));
        assert.deepEqual(regressed, [], regressionReport(regressed, direct, via));
        assert.deepEqual([...viaPass].sort(), directPass, 'the gateway passes exactly what the fixture passes');
      });
    });
  }
});

describe('gateway in front of server-everything', () => {
  let server: RunningServerEverything;
  let gateway: Gateway;
  let gatewayUrl: string;

  before(async () => {
    server = await startServerEverything({ port: 0 });
    ({ gateway, url: gatewayUrl } = await gatewayInFront(server.url));
  });
  after(async () => {
    await gateway?.close();
    await server?.close();
  });

  for (const requirements of REVISIONS) {
    it(`fails no scored scenario and no check that server-everything passes alone, --requirements ${requirements}`, async (t) => {
      await compareRuns(t, server.url, gatewayUrl, requirements, (direct, via) => {
        const directPass = passing(direct.scenarios);
        // server-everything-direct.test.ts pins a non-empty pass set for both revisions.
        assert.ok(directPass.length > 0, `server-everything passed no scenario directly:\n${direct.raw.slice(-2000)}`);
        const viaPass = new Set(passing(via.scenarios));
        const regressed = directPass.filter((n) => !viaPass.has(n));
        assert.deepEqual(regressed, [], regressionReport(regressed, direct, via));
      });
    });
  }
});
