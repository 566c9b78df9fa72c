/**
 * `portcullis scan` argument handling: an unknown `--fail-on` value is a usage error, reported
 * before anything is contacted (it used to fall back to `suspicious` silently).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { runScanCli } from './cli.ts';

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

test('--fail-on with an unknown value is a usage error (exit 2) naming the allowed values, and no server is contacted', async () => {
  let contacted = 0;
  const server = createServer((_req, res) => {
    contacted++;
    res.writeHead(500);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  try {
    for (const value of ['poison', 'SUSPICIOUS', 'any', '']) {
      const { out, io: sink } = io();
      const code = await runScanCli([url, '--fail-on', value], sink);
      assert.equal(code, 2, value);
      assert.match(out.stderr, /--fail-on/, value);
      assert.match(out.stderr, /poisoned/, value);
      assert.match(out.stderr, /suspicious/, value);
      assert.equal(out.stdout, '');
    }
    // Also before starting a stdio server.
    const { out, io: sink } = io();
    assert.equal(await runScanCli(['--fail-on=bogus', '--', process.execPath, '-e', 'process.exit(3)'], sink), 2);
    assert.match(out.stderr, /--fail-on.*poisoned.*suspicious/s);
    // --timeout-ms that is not a positive whole number: the same (it became NaN before).
    for (const value of ['abc', '0', '-5', '1.5']) {
      const bad = io();
      assert.equal(await runScanCli([url, '--timeout-ms', value], bad.io), 2, value);
      assert.match(bad.out.stderr, /--timeout-ms/, value);
    }
    assert.equal(contacted, 0);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
