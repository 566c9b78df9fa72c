/**
 * Shutdown of the real `portcullis run` process by signal, with calls in flight: it ends within
 * its grace period (not when the slowest upstream call happens to finish), a second signal cuts
 * what is left without losing a record, and the audit trail it leaves verifies, ends with its stop
 * record and a signed checkpoint, and says which streams and calls shutdown cut.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runAuditCli } from '../../src/audit/index.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { initSession, legacyCall, modernCall, type Loose } from '../../src/demo/testkit.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'bin', 'portcullis.js');

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with exit code and signal, and how long after `since` it came (SIGKILL after `ms`). */
  exited(since: number, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
}

function start(args: string[], cwd: string): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: '' } });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) => child.once('exit', (code, signal) => r({ code, signal, at: Date.now() })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async exited(since, ms) {
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const e = await exit;
      clearTimeout(timer);
      return { code: e.code, signal: e.signal, afterMs: e.at - since };
    },
  };
}

async function waitForOutput(run: Run, re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const until = Date.now() + ms;
  for (;;) {
    const m = run.stdout().match(re);
    if (m) return m;
    if (run.child.exitCode !== null || Date.now() > until) assert.fail(`no ${re}\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    await sleep(25);
  }
}

async function audit(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((out += s), true) } };
  const state = join(cwd, '.portcullis');
  const extra = args[0] === 'verify' ? ['--keys', join(state, 'audit-keys'), '--state', join(state, 'audit-spool')] : [];
  const code = await runAuditCli([args[0]!, '--db', join(state, 'audit.db'), ...extra, ...args.slice(1)], io as never);
  return { code, out };
}

async function records(cwd: string): Promise<Loose[]> {
  const r = await audit(cwd, ['export', '--format', 'jsonl']);
  assert.equal(r.code, 0, r.out);
  return r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Loose);
}

/** pino lines at error (50) or fatal (60). */
function errorLogs(text: string): string[] {
  return text.split('\n').filter((l) => /"level":(5|6)0\b/.test(l));
}

/** A request left running; the test only cares that it settles one way or another. */
function inFlight(p: Promise<Response>): Promise<string> {
  return p.then((r) => r.text()).catch((e: unknown) => `error: ${(e as Error).message}`);
}

let work: string;
let demo: DemoServer;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-shutdown-'));
  demo = await startDemoServer({ port: 0 });
});
after(async () => {
  await demo.close();
  await rm(work, { recursive: true, force: true });
});

/** The gateway up, with a slow 2025 JSON call, a 2025 standalone GET stream and a 2026 stream in flight. */
async function busyGateway(extraArgs: string[]): Promise<{ run: Run; cwd: string; pending: Array<Promise<string>> }> {
  const cwd = await mkdtemp(join(work, 'cwd-'));
  const run = start(['run', '--upstream', demo.url, '--port', '0', '--admin-port', '0', ...extraArgs], cwd);
  const [, base] = await waitForOutput(run, /portcullis listening on (http:\/\/127\.0\.0\.1:\d+)/);
  await waitForOutput(run, /claude mcp add/);
  const mcp = `${base}/mcp`;
  const sid = await initSession(mcp);
  const pending = [
    // 2025: the client staying connected does not cancel it, and the upstream takes 60 s.
    inFlight(legacyCall(mcp, sid, 1, 'tools/call', { name: 'slow', arguments: { ms: 60_000 } })),
    // 2025 standalone stream: never ends by itself.
    inFlight(fetch(mcp, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } })),
    // 2026 stream, 60 s of events.
    inFlight(modernCall(mcp, 'tools/call', { name: 'countdown', arguments: { from: 600, intervalMs: 100 } }, { meta: { progressToken: 'p' } })),
  ];
  await sleep(1_000);
  return { run, cwd, pending };
}

describe('portcullis run: shutdown with calls in flight', () => {
  it('SIGTERM drains for the grace period, then cuts: exit 0 in bounded time, the trail verifies and records the cut', async () => {
    const { run, cwd, pending } = await busyGateway(['--shutdown-grace-ms', '1500']);
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const { code, signal, afterMs } = await run.exited(t0, 40_000);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    // Grace 1.5 s, then bounded steps; the slow call alone would have taken a minute.
    assert.ok(afterMs < 15_000, `exited ${afterMs} ms after SIGTERM`);
    await Promise.all(pending);
    assert.deepEqual(errorLogs(run.stdout()), []);
    assert.deepEqual(errorLogs(run.stderr()), []);

    const v = await audit(cwd, ['verify']);
    assert.equal(v.code, 0, v.out);
    const recs = await records(cwd);
    const kinds = recs.map((r) => r.unmapped?.kind as string);
    assert.equal(kinds.filter((k) => k === 'lifecycle').length, 2, `start and stop: ${kinds.join(',')}`);
    assert.equal(recs.at(-2)?.activity_name, 'Stop', 'the stop record is the last record before the final checkpoint');
    assert.equal(kinds.at(-1), 'checkpoint');
    const slow = recs.find((r) => r.unmapped?.kind === 'exchange' && r.api?.operation === 'tools/call' && r.unmapped?.era === 'legacy');
    assert.equal(slow?.unmapped?.notes?.shutdown, 'cut', JSON.stringify(slow?.unmapped));
    const closed = recs.filter((r) => r.unmapped?.kind === 'stream' && r.unmapped?.stream?.phase === 'closed');
    assert.ok(closed.length >= 2, JSON.stringify(closed.map((r) => r.unmapped.stream)));
    for (const c of closed) {
      assert.equal(c.unmapped.stream.end, 'cut', JSON.stringify(c.unmapped.stream));
      assert.equal(c.unmapped.stream.cause, 'shutdown', 'cut by shutdown, not a client that left');
    }
  });

  it('SIGTERM then SIGINT: one shutdown, the second signal cuts now, and the stop record and checkpoint are still written', async () => {
    const { run, cwd, pending } = await busyGateway([]);
    run.child.kill('SIGTERM');
    await sleep(1_000);
    const t0 = Date.now();
    run.child.kill('SIGINT');
    const { code, signal, afterMs } = await run.exited(t0, 40_000);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    // The default grace is 10 s: the second signal did not wait for it, nor for the slow call.
    assert.ok(afterMs < 8_000, `exited ${afterMs} ms after the second signal`);
    await Promise.all(pending);
    assert.deepEqual(errorLogs(run.stdout()), [], 'no shed records, no failed close');
    assert.match(run.stdout(), /second signal/);

    const v = await audit(cwd, ['verify']);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /1 checkpoints/);
    const recs = await records(cwd);
    assert.deepEqual(
      recs.filter((r) => r.unmapped?.kind === 'lifecycle').map((r) => r.activity_name),
      ['Start', 'Stop'],
      'exactly one stop record',
    );
    assert.equal(recs.at(-1)?.unmapped?.kind, 'checkpoint');
    assert.equal(recs.at(-2)?.activity_name, 'Stop');
    const slow = recs.find((r) => r.unmapped?.kind === 'exchange' && r.api?.operation === 'tools/call' && r.unmapped?.era === 'legacy');
    assert.equal(slow?.unmapped?.notes?.shutdown, 'cut', JSON.stringify(slow?.unmapped));
    const closed = recs.filter((r) => r.unmapped?.kind === 'stream' && r.unmapped?.stream?.phase === 'closed');
    assert.ok(closed.length >= 2, JSON.stringify(closed.map((r) => r.unmapped.stream)));
    for (const c of closed) assert.deepEqual([c.unmapped.stream.end, c.unmapped.stream.cause], ['cut', 'shutdown'], JSON.stringify(c.unmapped.stream));
  });
});
