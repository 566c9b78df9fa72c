/**
 * Runs the official MCP conformance CLI (@modelcontextprotocol/conformance, pinned in
 * devDependencies) against a server URL for one frozen requirement set, and turns its output
 * into per-scenario results.
 *
 * Results come from the per-scenario `checks.json` files the CLI writes under `-o <dir>`
 * (`server-<scenario>-<timestamp>/checks.json`); the stdout `=== SUMMARY ===` block is the
 * fallback when no JSON was written. Which scenarios are scored is read from the package's own
 * `requirements/<revision>.yaml`: `not_scored` entries (extensions, pending, added after the
 * revision shipped) are reported separately and never count as failures — the CLI's exit code
 * follows the same rule.
 *
 * A check counts as failed only with status FAILURE; WARNING (SHOULD-level), SKIPPED and INFO
 * are not failures, matching the CLI's own summary.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export type Requirements = '2025-11-25' | '2026-07-28';

export interface CheckFailure {
  readonly id: string;
  readonly message: string;
}

export interface ScenarioResult {
  readonly passed: number;
  readonly failed: number;
  readonly warnings: number;
  /** No FAILURE check, and the scenario actually ran. */
  readonly ok: boolean;
  readonly failures: readonly CheckFailure[];
}

export interface NotScoredResult extends ScenarioResult {
  /** Why the requirement set does not score it: extension | pending | added-after-release. */
  readonly reason: string;
}

export interface ConformanceRun {
  /** Scored server scenarios of the requirement set. A scored scenario that never ran is `ok: false`. */
  readonly scenarios: Record<string, ScenarioResult>;
  /** Scenarios the set runs but does not score. */
  readonly notScored: Record<string, NotScoredResult>;
  /** The CLI's exit code (0 iff every scored scenario passed), or -1 if it was killed. */
  readonly exitCode: number;
  /** CLI stdout + stderr, ANSI colour codes stripped. */
  readonly raw: string;
  readonly durationMs: number;
  /** Where results were parsed from. */
  readonly source: 'checks.json' | 'summary';
  /** Directory holding this run's checks.json files (may be deleted, see `keepResults`). */
  readonly resultsDir: string;
}

export interface RunConformanceOptions {
  readonly url: string;
  readonly requirements: Requirements;
  /** Parent directory for results; a fresh per-run subdirectory is created inside it. */
  readonly outputDir?: string;
  /** Kill the CLI after this long (default 10 min). */
  readonly timeoutMs?: number;
  /** The CLI's per-scenario timeout (`--timeout`, default 30 s). */
  readonly scenarioTimeoutMs?: number;
  /**
   * What to do with the per-run results directory afterwards. Default: `'always'` when
   * `outputDir` was given, else `'on-failure'` (a temp dir is kept only to debug a failure).
   */
  readonly keepResults?: 'always' | 'on-failure' | 'never';
}

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const PACKAGE_DIR = join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', 'conformance');
const CLI = join(PACKAGE_DIR, 'dist', 'index.js');

/** The pinned Node: this process when it is Node >= 24, else the `node` devDependency's binary. */
export function pinnedNode(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return process.execPath;
  const bin = join(REPO_ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
  if (!existsSync(bin)) throw new Error(`Node ${process.versions.node} cannot run the conformance CLI and ${bin} is missing`);
  return bin;
}

interface RequirementSet {
  readonly scored: readonly string[];
  readonly notScored: ReadonlyMap<string, string>;
}

/** Server leg of `requirements/<revision>.yaml` shipped inside the pinned package. */
export async function loadRequirementSet(requirements: Requirements): Promise<RequirementSet> {
  const doc = parseYaml(await readFile(join(PACKAGE_DIR, 'requirements', `${requirements}.yaml`), 'utf8')) as {
    server?: unknown;
    not_scored?: unknown;
  };
  const scored = Array.isArray(doc.server) ? doc.server.filter((s): s is string => typeof s === 'string') : [];
  const notScored = new Map<string, string>();
  if (Array.isArray(doc.not_scored)) {
    for (const e of doc.not_scored as Array<Record<string, unknown>>) {
      if (e['leg'] === 'server' && typeof e['scenario'] === 'string') notScored.set(e['scenario'], String(e['reason'] ?? 'not scored'));
    }
  }
  return { scored, notScored };
}

const ANSI = /\x1b\[[0-9;]*m/g;
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

interface Check {
  id?: unknown;
  status?: unknown;
  errorMessage?: unknown;
}

export function summariseChecks(checks: readonly Check[]): ScenarioResult {
  const failures: CheckFailure[] = [];
  let passed = 0;
  let warnings = 0;
  for (const c of checks) {
    if (c.status === 'SUCCESS') passed++;
    else if (c.status === 'WARNING') warnings++;
    else if (c.status === 'FAILURE') failures.push({ id: String(c.id), message: typeof c.errorMessage === 'string' ? c.errorMessage : '' });
  }
  return { passed, failed: failures.length, warnings, ok: failures.length === 0, failures };
}

/** Per-scenario results from a `-o` directory (latest run per scenario if several). */
export async function parseResultsDir(dir: string): Promise<Map<string, ScenarioResult>> {
  const out = new Map<string, ScenarioResult>();
  const entries = existsSync(dir) ? (await readdir(dir)).sort() : []; // timestamps sort lexically
  for (const entry of entries) {
    const m = RESULT_DIR.exec(entry);
    const file = join(dir, entry, 'checks.json');
    if (!m?.[1] || !existsSync(file)) continue;
    const checks: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (Array.isArray(checks)) out.set(m[1], summariseChecks(checks as Check[]));
  }
  return out;
}

/** Per-scenario counts from the CLI's `=== SUMMARY ===` block (no per-check detail). */
export function parseSummary(raw: string): Map<string, ScenarioResult> {
  const out = new Map<string, ScenarioResult>();
  const start = raw.lastIndexOf('=== SUMMARY ===');
  if (start < 0) return out;
  for (const line of raw.slice(start).split('\n')) {
    const m = /^[✓✗] (\S+): (\d+) passed, (\d+) failed\s*$/.exec(line.trim());
    if (!m?.[1]) continue;
    const failed = Number(m[3]);
    out.set(m[1], { passed: Number(m[2]), failed, warnings: 0, ok: failed === 0, failures: [] });
  }
  return out;
}

const NEVER_RAN: ScenarioResult = {
  passed: 0,
  failed: 1,
  warnings: 0,
  ok: false,
  failures: [{ id: 'scenario-missing', message: 'scenario produced no results (CLI crashed or timed out?)' }]
};

function spawnCli(args: readonly string[], timeoutMs: number): Promise<{ exitCode: number; raw: string }> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env };
    // A node:test parent marks its children as test subprocesses; the CLI is not one.
    delete env['NODE_TEST_CONTEXT'];
    const child = spawn(pinnedNode(), [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ exitCode: code ?? -1, raw: Buffer.concat(chunks).toString('utf8').replace(ANSI, '') });
    });
  });
}

export async function runConformance(opts: RunConformanceOptions): Promise<ConformanceRun> {
  if (!existsSync(CLI)) throw new Error(`conformance CLI not installed at ${CLI}`);
  const set = await loadRequirementSet(opts.requirements);
  const parent = opts.outputDir ?? tmpdir();
  await mkdir(parent, { recursive: true });
  // A fresh directory per run: two runs (e.g. both revisions) never read each other's files.
  const resultsDir = await mkdtemp(join(parent, `conformance-${opts.requirements}-`));

  const args = ['server', '--url', opts.url, '--requirements', opts.requirements, '-o', resultsDir];
  if (opts.scenarioTimeoutMs !== undefined) args.push('--timeout', String(opts.scenarioTimeoutMs));
  const started = performance.now();
  const { exitCode, raw } = await spawnCli(args, opts.timeoutMs ?? 600_000);
  const durationMs = Math.round(performance.now() - started);

  let results = await parseResultsDir(resultsDir);
  let source: ConformanceRun['source'] = 'checks.json';
  if (results.size === 0) {
    results = parseSummary(raw);
    source = 'summary';
  }

  const scenarios: Record<string, ScenarioResult> = {};
  for (const name of set.scored) scenarios[name] = results.get(name) ?? NEVER_RAN;
  const notScored: Record<string, NotScoredResult> = {};
  for (const [name, result] of results) {
    if (name in scenarios) continue;
    notScored[name] = { ...result, reason: set.notScored.get(name) ?? 'not in requirement set' };
  }

  const allOk = exitCode === 0 && Object.values(scenarios).every((s) => s.ok);
  const keep = opts.keepResults ?? (opts.outputDir === undefined ? 'on-failure' : 'always');
  if (keep === 'never' || (keep === 'on-failure' && allOk)) await rm(resultsDir, { recursive: true, force: true });
  return { scenarios, notScored, exitCode, raw, durationMs, source, resultsDir };
}
