/**
 * The real `portcullis` command, spawned as a user runs it (the package.json "bin" entry,
 * bin/portcullis.js, and src/cli/main.ts for `npm start`): exit codes, what it prints, and that
 * the gateway it starts serves MCP, answers the admin health check and stops cleanly on SIGTERM.
 *
 * Every child runs in a fresh temp working directory: `run` keeps its state (.portcullis/: audit
 * database, keys, pins) in the working directory, and that must never land in the repository.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { initSession, legacyCall, modernCall, responseOf, textOf, type Loose } from '../../src/demo/testkit.ts';
import { FAKE_API_KEY, FAKE_AWS_KEY } from '../../src/demo/tools.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'bin', 'portcullis.js');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
/** How long `run` may take to print its banner (it loads the whole gateway, ~2 s cold). */
const STARTUP_MS = 20_000;

interface Cli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` on stdout; rejects if the process exits first. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code and signal (kills it with SIGKILL after `ms`). */
  exited(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function cli(script: string, args: string[], cwd: string): Cli {
  // process.execPath: the Node 24 this test runs under (the CLI needs type stripping).
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: '' } });
  let out = '';
  let err = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const listeners = new Set<() => void>();
  const poke = () => { for (const l of listeners) l(); };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; poke(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  child.on('exit', (code, signal) => { exit = { code, signal }; poke(); });
  const waitFor = (re: RegExp, ms = STARTUP_MS) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(re);
        if (m) return done(() => resolve(m));
        if (exit) return done(() => reject(new Error(`exited (${exit!.code ?? exit!.signal}) before printing ${re}\nstdout:\n${out}\nstderr:\n${err}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${re} within ${ms} ms\nstdout:\n${out}\nstderr:\n${err}`))), ms);
      const done = (f: () => void) => { clearTimeout(timer); listeners.delete(check); f(); };
      listeners.add(check);
      check();
    });
  const exited = (ms = 10_000) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (exit) return resolve(exit);
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
    });
  return { child, stdout: () => out, stderr: () => err, waitFor, exited };
}

/** pino lines at error (50) or fatal (60) on stderr. */
function errorLogs(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /"level":(5|6)0\b/.test(l));
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-cli-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  return mkdtemp(join(work, 'cwd-'));
}

describe('portcullis validate', () => {
  it('accepts a valid config: exit 0 and "<file>: ok"', async () => {
    const dir = await tempDir();
    const file = join(dir, 'good.yaml');
    await writeFile(file, ['server: { port: 8080 }', 'routes:', '  - name: default', '    path: /mcp', '    upstream:', '      url: http://127.0.0.1:3000/mcp', ''].join('\n'));
    const run = cli(BIN, ['validate', file], dir);
    const { code } = await run.exited();
    assert.equal(code, 0, `stderr: ${run.stderr()}`);
    assert.equal(run.stdout().trim(), `${file}: ok`);
    assert.equal(run.stderr(), '');
  });

  it('rejects a bad config: non-zero exit, one line per problem naming file, line:column and field', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'server:',
        '  port: 8080',
        'routes:',
        '  - name: default',
        '    path: /mcp',
        '    upstream:',
        '      url: ftp://example.com/mcp', // line 7, column 7
        '    timout: 5', // line 8, column 5: unknown key
        '',
      ].join('\n'),
    );
    const run = cli(BIN, ['validate', file], dir);
    const { code } = await run.exited();
    assert.notEqual(code, 0, 'a bad config must fail the command');
    assert.equal(code, 1);
    assert.doesNotMatch(run.stdout(), /: ok/);
    const lines = run.stderr().trim().split('\n');
    assert.ok(lines.some((l) => l.startsWith(`${file}:7:7 routes[0].upstream.url: `) && /http/.test(l)), `no line for the bad URL:\n${run.stderr()}`);
    assert.ok(lines.some((l) => l.startsWith(`${file}:8:5 routes[0].timout: unknown key`)), `no line for the unknown key:\n${run.stderr()}`);
    assert.equal(lines.length, 2, `exactly the two problems:\n${run.stderr()}`);
  });

  it('reports a file it cannot read with a non-zero exit and the file name', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'nope.yaml');
    const run = cli(BIN, ['validate', missing], dir);
    const { code } = await run.exited();
    assert.equal(code, 1);
    assert.match(run.stderr(), new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read`));
  });
});

describe('portcullis run --upstream', () => {
  let demo: DemoServer;
  before(async () => {
    demo = await startDemoServer({ port: 0 });
  });
  after(async () => {
    await demo?.close();
  });

  it('prints its URLs, proxies MCP of both eras, answers /livez and exits 0 on SIGTERM', async () => {
    const dir = await tempDir();
    const run = cli(BIN, ['run', '--upstream', demo.url, '--port', '0', '--admin-port', '0'], dir);
    try {
      const [, base] = await run.waitFor(/portcullis listening on (http:\/\/127\.0\.0\.1:\d+) \(routes: \/mcp\)/);
      const [, admin] = await run.waitFor(/admin: (http:\/\/127\.0\.0\.1:\d+)\/livez/);
      const mcp = `${base}/mcp`;
      // The client snippet follows in a later write: wait for it rather than read too early.
      await run.waitFor(new RegExp(`claude mcp add --transport http portcullis ${mcp}\\b`));

      // 2026-07-28, stateless: tools/list through the gateway is the demo's catalog.
      const list = (await responseOf(await modernCall(mcp, 'tools/list'))) as Loose;
      assert.equal(list.error, undefined, JSON.stringify(list.error));
      const names = (list.result.tools as Array<{ name: string }>).map((t) => t.name);
      for (const n of ['echo', 'add', 'countdown']) assert.ok(names.includes(n), `tools/list lacks ${n}: ${names.join(', ')}`);
      const add = (await responseOf(await modernCall(mcp, 'tools/call', { name: 'add', arguments: { a: 2, b: 40 } }))) as Loose;
      assert.deepEqual(add.result?.structuredContent, { sum: 42 }, JSON.stringify(add));

      // 2025-11-25, sessionful: initialize, then a call in the session.
      const sid = await initSession(mcp);
      const echo = (await responseOf(await legacyCall(mcp, sid, 7, 'tools/call', { name: 'echo', arguments: { text: 'through the CLI' } }))) as Loose;
      assert.equal(textOf(echo.result), 'through the CLI');

      const live = await fetch(`${admin}/livez`);
      assert.equal(live.status, 200);

      run.child.kill('SIGTERM');
      const { code, signal } = await run.exited();
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `stderr:\n${run.stderr()}`);
      assert.deepEqual(errorLogs(run.stderr()), []);
      await assert.rejects(fetch(`${base}/mcp`, { method: 'POST' }), 'the data plane is closed after exit');
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('refuses a bad flag value with a message naming the flag and a non-zero exit', async () => {
    const dir = await tempDir();
    const run = cli(BIN, ['run', '--upstream', 'ftp://example.com/mcp', '--port', '0', '--admin-port', '0'], dir);
    const { code } = await run.exited();
    assert.equal(code, 1);
    assert.match(run.stderr(), /^<command line> --upstream: /m);
    assert.doesNotMatch(run.stdout(), /listening/);
  });
});

describe('portcullis run --demo (npm start)', () => {
  it('starts the bundled demo, prints a URL with Claude Code and VS Code snippets, and serves the demo tools', async () => {
    const dir = await tempDir();
    // `npm start` is `node src/cli/main.ts run --demo`; ephemeral ports so the test never collides.
    const run = cli(MAIN, ['run', '--demo', '--port', '0', '--admin-port', '0'], dir);
    try {
      await run.waitFor(/VS Code/);
      const out = run.stdout();
      assert.match(out, /^demo upstream \(bundled\) at http:\/\/127\.0\.0\.1:\d+\/mcp$/m);
      const [, url] = out.match(/^Point an MCP client at (http:\/\/127\.0\.0\.1:\d+\/mcp)$/m) ?? [];
      assert.ok(url, `no client URL printed:\n${out}`);
      assert.match(out, new RegExp(`^  Claude Code:  claude mcp add --transport http portcullis ${url}$`, 'm'));
      const vscode = out.match(/^  VS Code \(\.vscode\/mcp\.json\):  (\{.*\})$/m)?.[1];
      assert.ok(vscode, `no VS Code snippet:\n${out}`);
      assert.deepEqual(JSON.parse(vscode), { servers: { portcullis: { type: 'http', url } } }, 'the VS Code snippet is valid mcp.json');

      const list = (await responseOf(await modernCall(url, 'tools/list'))) as Loose;
      const names = (list.result?.tools as Array<{ name: string }> | undefined)?.map((t) => t.name) ?? [];
      for (const n of ['echo', 'countdown', 'leak_secret', 'ask_user']) assert.ok(names.includes(n), `demo tools missing ${n}: ${JSON.stringify(list)}`);

      const echo = (await responseOf(await modernCall(url, 'tools/call', { name: 'echo', arguments: { text: 'hello demo' } }))) as Loose;
      assert.equal(textOf(echo.result), 'hello demo', JSON.stringify(echo));

      // The demo defaults a newcomer should see: DLP redacts the fake key on the way back…
      const leak = (await responseOf(await modernCall(url, 'tools/call', { name: 'leak_secret', arguments: {} }))) as Loose;
      assert.equal(leak.error, undefined, JSON.stringify(leak.error));
      const leaked = textOf(leak.result);
      assert.match(leaked, /OPENAI_API_KEY=\[REDACTED:[a-z-]+\]/, `the demo's DLP did not redact: ${leaked}`);
      assert.match(leaked, /AWS_ACCESS_KEY_ID=\[REDACTED:aws-access-key-id\]/, `the demo's DLP did not redact: ${leaked}`);
      assert.match(leaked, /AWS_SECRET_ACCESS_KEY=\[REDACTED:[a-z-]+\]/, `the demo's DLP did not redact: ${leaked}`);
      assert.ok(!leaked.includes(FAKE_API_KEY) && !leaked.includes(FAKE_AWS_KEY), `the demo's DLP let a fake key through: ${leaked}`);
      // …and a tool without readOnlyHint waits for a person's approval (asked via MRTR elicitation).
      const ask = (await responseOf(await modernCall(url, 'tools/call', { name: 'ask_user', arguments: {} }, { capabilities: { elicitation: {} } }))) as Loose;
      assert.equal(ask.result?.resultType, 'input_required', JSON.stringify(ask));
      assert.match(JSON.stringify(ask.result.inputRequests), /Approve the call to tool \\"ask_user\\"/);

      run.child.kill('SIGTERM');
      const { code, signal } = await run.exited();
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `stderr:\n${run.stderr()}`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
