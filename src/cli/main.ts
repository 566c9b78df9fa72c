/**
 * The `portcullis` command line.
 *
 *   portcullis run --config FILE                    run from a config file (hot-reloaded)
 *   portcullis run --upstream URL [--port N] [--admin-port M] [--host H]
 *   portcullis run --demo [--port N]                embedded default: bundled demo upstream
 *       (every run form: [--shutdown-grace-ms N], how long SIGTERM/SIGINT lets calls in flight
 *       finish, default server.shutdownGraceMs, else 10000; a second signal cuts them at once)
 *   portcullis validate FILE                        check a config file; exit 1 with errors
 *   portcullis policy test FILE                     run table-driven policy tests; exit 1 on a failure
 *   portcullis approvals list|show|approve|deny     act on calls waiting for approval (admin API)
 *   portcullis pins list|diff|approve|quarantine      review and approve pinned tool definitions
 *   portcullis scan URL | scan -- COMMAND           one-shot poisoning/secret scan of a server (exit 1 on findings)
 *   portcullis audit verify|query|export|report     the audit trail
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { withDemoDefaults } from '../config/demo.ts';
import { quickConfig } from '../config/quick.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../config/issues.ts';
import { startDemoServer } from '../demo/server.ts';
import { LOCAL_TOKEN_FILE } from '../admin/local-token.ts';
import { startGateway } from '../gateway.ts';
import { DEFAULT_SHUTDOWN_GRACE_MS } from '../listener/shutdown.ts';
import { createLogger } from '../telemetry/logger.ts';
import { runApprovalsCli } from '../approval/cli.ts';
import { formatReport, runPolicyTestFile } from '../policy/test-runner.ts';
import { runPinsCli } from '../pinning/cli.ts';
import { runScanCli } from '../scan/cli.ts';
import { runAuditCli } from '../audit/index.ts';

const USAGE = `usage:
  portcullis run --config FILE
  portcullis run --upstream URL [--port N] [--admin-port M] [--host H]
  portcullis run --demo [--port N] [--admin-port M]
      run also takes [--shutdown-grace-ms N] (default: server.shutdownGraceMs, else ${DEFAULT_SHUTDOWN_GRACE_MS})
  portcullis validate FILE
  portcullis policy test FILE
  portcullis approvals list|show ID|approve ID|deny ID [--admin URL] [--token T] [--by NAME] [--note TEXT]
  portcullis scan URL [--header "Name: value"]… [--fail-on poisoned|suspicious] [--json] | scan -- COMMAND [ARGS…]
  portcullis audit verify|query|export|report [--db FILE] …
  portcullis pins list|diff UPSTREAM TOOL|approve UPSTREAM TOOL [--hash H] [--by NAME]|quarantine UPSTREAM TOOL [--db PATH]`;

function clientSnippet(url: string): string {
  return [
    `Point an MCP client at ${url}`,
    `  Claude Code:  claude mcp add --transport http portcullis ${url}`,
    `  VS Code (.vscode/mcp.json):  { "servers": { "portcullis": { "type": "http", "url": "${url}" } } }`,
  ].join('\n');
}

async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      upstream: { type: 'string' },
      demo: { type: 'boolean' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      host: { type: 'string' },
      'shutdown-grace-ms': { type: 'string' },
    },
    strict: true,
  });
  const graceText = values['shutdown-grace-ms'];
  const graceFlag = graceText === undefined ? undefined : Number(graceText);
  if (graceText !== undefined && (!/^\d+$/.test(graceText) || !Number.isSafeInteger(graceFlag))) throw new UsageError(`--shutdown-grace-ms must be a whole number of milliseconds, got ${JSON.stringify(graceText)}`);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  let config: Config;
  let cleanup: (() => Promise<void>) | undefined;
  if (values.config) {
    config = await loadConfig(values.config);
  } else if (values.upstream || values.demo) {
    let upstream = values.upstream;
    if (values.demo) {
      const demo = await startDemoServer({ host: '127.0.0.1', port: 0 });
      upstream = demo.url;
      cleanup = () => demo.close();
      process.stdout.write(`demo upstream (bundled) at ${demo.url}\n`);
    }
    config = quickConfig({
      upstream: upstream!,
      ...(values.port !== undefined ? { port: num(values.port)! } : {}),
      ...(values['admin-port'] !== undefined ? { adminPort: num(values['admin-port'])! } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(process.env['PORTCULLIS_ADMIN_TOKEN'] ? { adminToken: process.env['PORTCULLIS_ADMIN_TOKEN'] } : {}),
    });
    if (values.demo) config = withDemoDefaults(config);
  } else {
    throw new UsageError('run needs --config FILE, --upstream URL or --demo');
  }
  const logger = createLogger({ level: config.logging.level });
  // The flag wins over the config file's server.shutdownGraceMs; without it the config's value at
  // the signal applies (a reload may have changed it), as when embedding.
  const gw = await startGateway({ config, logger, ...(graceFlag !== undefined ? { shutdownGraceMs: graceFlag } : {}), ...(values.config ? { configPath: values.config } : {}) });
  const mcpUrl = `${gw.url}${config.routes[0]!.path}`;
  process.stdout.write(`portcullis listening on ${gw.url} (routes: ${config.routes.map((r) => r.path).join(', ')})\n`);
  if (gw.adminUrl) {
    process.stdout.write(`admin: ${gw.adminUrl}/livez /readyz /metrics /approvals\n`);
    // Never the token itself (a secret in a log): where the operator's CLI finds it.
    if (config.admin.token === undefined) process.stdout.write(`approvals API token: ${LOCAL_TOKEN_FILE} (run \`npx portcullis approvals list\` from this directory)\n`);
  }
  process.stdout.write(`${clientSnippet(mcpUrl)}\n`);
  // One shutdown however many signals arrive (SIGTERM from the orchestrator, then Ctrl-C, …):
  // two concurrent close() runs lost the stop record and the final checkpoint. A second signal
  // cuts the calls still in flight instead of waiting out the grace; the audit trail is still
  // closed (stop record, signed checkpoint) before the process exits.
  let stopping = false;
  const stop = async () => {
    let code = 0;
    try {
      await gw.close();
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'shutdown failed');
      code = 1;
    }
    // The bundled demo upstream: a call it still serves must not hold the exit.
    if (cleanup) await Promise.race([cleanup().catch(() => {}), new Promise((r) => setTimeout(r, CLEANUP_MS).unref())]);
    process.exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: cutting calls in flight now (the audit trail is still closed before exit)');
      void gw.close({ graceMs: 0 });
      return;
    }
    stopping = true;
    const graceMs = graceFlag ?? gw.config.server.shutdownGraceMs;
    logger.info({ signal, graceMs }, 'signal received: shutting down; send another to stop without waiting for calls in flight');
    // Last resort if something still hangs: every step of close() is bounded, so this only fires
    // on a bug, and says so.
    setTimeout(() => {
      logger.fatal({ afterMs: graceMs + BACKSTOP_MS }, 'shutdown did not finish: exiting anyway');
      process.exit(1);
    }, graceMs + BACKSTOP_MS).unref();
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Beyond the grace: the cut, the settle and the audit trail's drain all have their own bounds. */
const BACKSTOP_MS = 30_000;
const CLEANUP_MS = 2_000;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        await run(rest);
        return -1; // keep running
      case 'validate': {
        if (!rest[0]) throw new UsageError('validate needs a FILE');
        await loadConfig(rest[0]);
        process.stdout.write(`${rest[0]}: ok\n`);
        return 0;
      }
      case 'policy': {
        if (rest[0] !== 'test' || !rest[1]) throw new UsageError('policy test needs a FILE');
        const report = await runPolicyTestFile(rest[1]);
        process.stdout.write(`${formatReport(report)}\n`);
        return report.failed.length > 0 ? 1 : 0;
      }
      case 'approvals':
        return await runApprovalsCli(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
      case 'scan':
        return await runScanCli(rest, { stdout: process.stdout, stderr: process.stderr });
      case 'audit':
        return await runAuditCli(rest, { stdout: process.stdout, stderr: process.stderr });
      case 'pins':
        return await runPinsCli(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'no command');
    }
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
      return 2;
    } else process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

/**
 * Resolves once everything written to `stream` so far has been handed to the OS. On a pipe
 * process.stdout is asynchronous: process.exit() with a write still queued dropped the rest
 * (`audit export | …` cut at 64 KiB, exit 0). An empty write's callback runs after the writes
 * queued before it; an error (the reader went away: EPIPE) also ends the wait.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}

const code = await main(process.argv.slice(2));
if (code >= 0) {
  // exitCode first: if flushing fails the status is still the command's.
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  // Exit explicitly: a command may leave handles open (an HTTP keep-alive agent, a pool).
  process.exit(code);
}
