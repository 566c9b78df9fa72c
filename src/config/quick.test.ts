import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './issues.ts';
import { quickConfig } from './quick.ts';
import { ConfigSchema } from './schema.ts';

describe('quickConfig', () => {
  it('builds one default route at /mcp with every other default', () => {
    const cfg = quickConfig({ upstream: 'http://127.0.0.1:3000/mcp', port: 8081 });
    assert.deepEqual(cfg, ConfigSchema.parse({ server: { port: 8081 }, routes: [{ name: 'default', path: '/mcp', upstream: { url: 'http://127.0.0.1:3000/mcp' } }] }));
  });

  it('applies host to the admin listener only with an admin token; without one the admin API stays on loopback', () => {
    const cfg = quickConfig({ upstream: 'https://up.example/mcp', host: '0.0.0.0', port: 0, adminPort: 9191 });
    assert.deepEqual(cfg.server, { host: '0.0.0.0', port: 0, shutdownGraceMs: 10_000 });
    assert.deepEqual(cfg.admin, { host: '127.0.0.1', port: 9191 });
    const withToken = quickConfig({ upstream: 'https://up.example/mcp', host: '0.0.0.0', port: 0, adminPort: 9191, adminToken: 't'.repeat(32) });
    assert.deepEqual(withToken.admin, { host: '0.0.0.0', port: 9191, token: 't'.repeat(32) });
  });

  it('names the offending flags', () => {
    assert.throws(
      () => quickConfig({ upstream: 'localhost:3000', port: 70000 }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message === '<command line> --port: Too big: expected number to be <=65535\n<command line> --upstream: Invalid URL (expected http:// or https://)',
    );
    assert.throws(
      () => quickConfig({ upstream: 'http://x/mcp', port: 9000, adminPort: 9000 }),
      (err: unknown) => err instanceof ConfigError && err.message === '<command line> --admin-port: must differ from server.port (9000)',
    );
  });
});
