/**
 * `server.shutdownGraceMs`: how long close() lets calls in flight finish before it cuts them,
 * set in the config file (the CLI's `--shutdown-grace-ms` overrides it; test/cli/shutdown.test.ts
 * covers the flag and the signals).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { modernCall } from '../../src/demo/testkit.ts';
import { startGateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';

describe('server.shutdownGraceMs', () => {
  let demo: DemoServer;
  before(async () => {
    demo = await startDemoServer({ port: 0 });
  });
  after(async () => {
    await demo.close();
  });

  it('defaults to 10 s', () => {
    assert.equal(ConfigSchema.parse({ routes: [{ name: 'r', path: '/mcp', upstream: { url: 'http://127.0.0.1:1/mcp' } }] }).server.shutdownGraceMs, 10_000);
  });

  it('set to 300 ms, close() cuts a 60 s call after the grace instead of waiting the default 10 s', async () => {
    const config = ConfigSchema.parse({
      server: { port: 0, shutdownGraceMs: 300 },
      logging: { level: 'silent' },
      routes: [{ name: 'tools', path: '/mcp', upstream: { url: demo.url } }],
    });
    const gw = await startGateway({ config, admin: false, dataDir: tempDataDir(), logger: silentLogger });
    const call = modernCall(`${gw.url}/mcp`, 'tools/call', { name: 'slow', arguments: { ms: 60_000 } }).then(
      (r) => r.text(),
      (e: unknown) => `cut: ${(e as Error).message}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await gw.close();
    const took = Date.now() - t0;
    // Far less than the 10 s default (the cut's own steps are bounded by 2 s each,
    // listener/shutdown.ts). No lower bound: on a busy machine the call may not be in flight yet.
    assert.ok(took < 8_000, `close() took ${took} ms: the configured grace was not used`);
    const outcome = await call;
    assert.doesNotMatch(outcome, /"result"/, 'the 60 s call did not complete');
  });
});
