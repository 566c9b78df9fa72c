/**
 * `portcullis scan URL [--header 'Name: value']… [--fail-on poisoned|suspicious] [--json]`
 * `portcullis scan [options] -- COMMAND [ARGS…]`   (a stdio server, started for the scan)
 *
 * Exit codes: 0 clean, 1 findings, 2 usage or connection error.
 */
import { parseArgs } from 'node:util';
import { collectInventory, type ScanTarget } from './collect.ts';
import { analyse, formatScanReport } from './report.ts';

export interface ScanIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export async function runScanCli(argv: readonly string[], io: ScanIo): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : [...argv];
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: own,
      options: { header: { type: 'string', multiple: true }, 'fail-on': { type: 'string' }, json: { type: 'boolean' }, 'timeout-ms': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  // Checked before anything is contacted: a typo must not silently become another CI gate.
  const FAIL_ON = ['poisoned', 'suspicious'] as const;
  const failOnArg = values['fail-on'] ?? 'suspicious';
  if (!(FAIL_ON as readonly string[]).includes(failOnArg)) {
    io.stderr.write(`--fail-on must be one of ${FAIL_ON.join(', ')}; got ${JSON.stringify(failOnArg)}\n`);
    return 2;
  }
  const failOn = failOnArg as (typeof FAIL_ON)[number];
  const timeoutMs = Number(values['timeout-ms'] ?? 30_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    io.stderr.write(`--timeout-ms must be a positive whole number of milliseconds, got ${JSON.stringify(values['timeout-ms'])}\n`);
    return 2;
  }
  let target: ScanTarget;
  if (command.length > 0) target = { kind: 'command', command: command[0]!, args: command.slice(1) };
  else if (positionals[0]) {
    const headers: Record<string, string> = {};
    for (const h of values.header ?? []) {
      const i = h.indexOf(':');
      if (i <= 0) {
        io.stderr.write(`--header must be "Name: value", got ${JSON.stringify(h)}\n`);
        return 2;
      }
      headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
    }
    target = { kind: 'url', url: positionals[0], ...(Object.keys(headers).length ? { headers } : {}) };
  } else {
    io.stderr.write('usage: portcullis scan URL [--header "Name: value"]… | portcullis scan -- COMMAND [ARGS…]\n');
    return 2;
  }
  try {
    const inventory = await collectInventory(target, timeoutMs);
    const report = analyse(inventory, { failOn });
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatScanReport(report)}\n`);
    return report.exitCode;
  } catch (err) {
    io.stderr.write(`scan failed: ${(err as Error).message}\n`);
    return 2;
  }
}
