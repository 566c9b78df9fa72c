import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigSchema } from './schema.ts';

const route = { name: 'default', path: '/mcp', upstream: { url: 'http://127.0.0.1:3000/mcp' } };

function messages(input: unknown): string[] {
  const r = ConfigSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ConfigSchema', () => {
  it('fills every default from a config holding only one route with an upstream url', () => {
    const cfg = ConfigSchema.parse({ routes: [route] });
    assert.deepEqual(cfg.server, { host: '127.0.0.1', port: 8080, shutdownGraceMs: 10_000 });
    assert.deepEqual(cfg.admin, { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(cfg.security, { allowedOrigins: [], allowedHosts: [], requireProtocolHeaderValidation: true });
    assert.deepEqual(cfg.limits, { maxBodyBytes: 4194304, maxEventBytes: 16777216, maxBufferedMessageBytes: 1048576, maxHeaderBytes: 16384 });
    assert.deepEqual(cfg.streams, { keepAliveMs: 15000, eventReplayBuffer: 1000, eventReplayBytes: 8 * 1024 * 1024, replayBudgetBytes: 256 * 1024 * 1024, revalidateMs: 60000 });
    assert.deepEqual(cfg.sessions, { idleTtlMs: 3600000, maxSessions: 10000, maxPerPrincipal: 100 });
    assert.deepEqual(cfg.rateLimits, { limits: [], quotas: [] });
    assert.equal(cfg.policy, undefined, 'no policy unless configured');
    assert.deepEqual(cfg.pinning, { enabled: false, mode: 'trust-on-first-use', store: { type: 'sqlite', path: '.portcullis/pins.db' } });
    assert.deepEqual(cfg.approvals, { channel: 'auto', timeoutMs: 120000, stateTtlMs: 600000, maxPending: 100, keys: [] });
    assert.deepEqual(cfg.logging, { level: 'info' });
    assert.deepEqual(cfg.routes[0], {
      ...route,
      upstream: { url: route.upstream.url, headers: {}, connections: 0, insecureSkipVerify: false },
      auth: { required: false, authorizationServers: [], scopesSupported: [], requiredScopes: [] },
      timeouts: { connectMs: 5000, requestMs: 300000, idleMs: 60000 },
      inspectors: [],
      inspectorTimeoutMs: 2000,
    });
  });

  it('admin Host/Origin allow lists (DNS rebinding): optional, exact origins only', () => {
    const cfg = ConfigSchema.parse({ routes: [route], admin: { allowedHosts: ['metrics.internal', 'ops.example:9090'], allowedOrigins: ['https://ops.example.com'] } });
    assert.deepEqual(cfg.admin.allowedHosts, ['metrics.internal', 'ops.example:9090']);
    assert.deepEqual(cfg.admin.allowedOrigins, ['https://ops.example.com']);
    assert.equal(ConfigSchema.parse({ routes: [route] }).admin.allowedHosts, undefined, 'absent: the guard defaults apply');
    assert.deepEqual(messages({ routes: [route], admin: { allowedOrigins: ['https://ops.example.com/'] } }), [
      'admin.allowedOrigins.0: must be an exact origin like https://app.example.com (lowercase, no path or trailing slash)',
    ]);
    assert.deepEqual(messages({ routes: [route], admin: { allowedHosts: ['bad host'] } }), ['admin.allowedHosts.0: must not contain whitespace']);
  });

  it('requires an admin token when the admin listener (which approves calls) leaves loopback', () => {
    assert.deepEqual(messages({ routes: [route], admin: { host: '0.0.0.0' } }), ['admin.token: required when admin.host (0.0.0.0) is not loopback']);
    assert.ok(ConfigSchema.safeParse({ routes: [route], admin: { host: '0.0.0.0', token: 'x'.repeat(20) } }).success);
    assert.ok(ConfigSchema.safeParse({ routes: [route], admin: { host: '127.0.0.2' } }).success);
  });

  it('fills defaults inside a partially given section', () => {
    const cfg = ConfigSchema.parse({ server: { port: 0 }, routes: [{ ...route, timeouts: { idleMs: 5 } }] });
    assert.deepEqual(cfg.server, { host: '127.0.0.1', port: 0, shutdownGraceMs: 10_000 });
    assert.deepEqual(cfg.routes[0]?.timeouts, { connectMs: 5000, requestMs: 300000, idleMs: 5 });
  });

  it('rejects unknown keys at every level', () => {
    assert.deepEqual(messages({ routes: [route], srever: {} }), [': Unrecognized key: "srever"']);
    assert.deepEqual(messages({ routes: [{ ...route, upstream: { ...route.upstream, timeout: 1 } }] }), [
      'routes.0.upstream: Unrecognized key: "timeout"',
    ]);
    assert.deepEqual(messages({ routes: [{ ...route, inspectors: [{ type: 'method-deny', methods: ['x'], mode: 'y' }] }] }), [
      'routes.0.inspectors.0: Unrecognized key: "mode"',
    ]);
  });

  it('requires at least one route', () => {
    assert.deepEqual(messages({ routes: [] }), ['routes: at least one route is required']);
    assert.match(messages({})[0]!, /^routes: /);
  });

  it('rejects duplicate route names and paths, reporting the repeat and every other problem together', () => {
    const got = messages({
      routes: [route, { ...route, upstream: { url: 'not a url' } }],
    });
    assert.deepEqual(got.sort(), [
      'routes.1.name: duplicate name "default" (also at [0])',
      'routes.1.path: duplicate path "/mcp" (also at [0])',
      'routes.1.upstream.url: Invalid URL (expected http:// or https://)',
    ]);
  });

  it('validates route names, paths and upstream URLs', () => {
    assert.equal(messages({ routes: [{ ...route, name: 'My Route' }] }).length, 1);
    assert.equal(messages({ routes: [{ ...route, path: 'mcp' }] }).length, 1);
    assert.equal(messages({ routes: [{ ...route, upstream: { url: 'ws://x/mcp' } }] }).length, 1);
    assert.doesNotThrow(() => ConfigSchema.parse({ routes: [{ ...route, upstream: { url: 'https://x.example/mcp' } }] }));
  });

  it('accepts only exact origins', () => {
    assert.doesNotThrow(() => ConfigSchema.parse({ routes: [route], security: { allowedOrigins: ['https://app.example.com', 'http://localhost:5173'] } }));
    for (const bad of ['https://app.example.com/', 'app.example.com', 'https://app.example.com/path', '*']) {
      assert.equal(messages({ routes: [route], security: { allowedOrigins: [bad] } }).length, 1, bad);
    }
  });

  it('rejects upstream headers the gateway owns, invalid names, case duplicates and CR/LF values', () => {
    const withHeaders = (headers: Record<string, string>) => ({ routes: [{ ...route, upstream: { ...route.upstream, headers } }] });
    assert.doesNotThrow(() => ConfigSchema.parse(withHeaders({ 'X-Api-Key': 'k', Authorization: 'Bearer t' })));
    assert.match(messages(withHeaders({ Host: 'x' }))[0]!, /Host.*set by the gateway/);
    assert.match(messages(withHeaders({ 'Transfer-Encoding': 'chunked' }))[0]!, /set by the gateway/);
    // The MCP headers the gateway computes per request: a static one would pin every exchange.
    for (const h of ['Mcp-Session-Id', 'MCP-Protocol-Version', 'Mcp-Method', 'Content-Type']) {
      assert.match(messages(withHeaders({ [h]: 'x' }))[0]!, /set by the gateway/, h);
    }
    assert.match(messages(withHeaders({ 'Bad Name': 'x' }))[0]!, /not a valid HTTP header name/);
    assert.match(messages(withHeaders({ 'X-A': '1', 'x-a': '2' }))[0]!, /x-a: duplicates "X-A"/);
    assert.match(messages(withHeaders({ 'X-A': 'v\r\nX-Injected: 1' }))[0]!, /CR, LF/);
  });

  it('discriminates inspectors on type and checks each kind', () => {
    const cfg = ConfigSchema.parse({
      routes: [
        {
          ...route,
          inspectors: [
            { type: 'method-deny', methods: ['tools/call:delete_*'] },
            { type: 'redact', patterns: [{ name: 'demo-secret', regex: 'sk-[A-Za-z0-9]{20,}' }] },
          ],
        },
      ],
    });
    assert.deepEqual(cfg.routes[0]?.inspectors[1], {
      type: 'redact',
      patterns: [{ name: 'demo-secret', regex: 'sk-[A-Za-z0-9]{20,}' }],
      replacement: '[REDACTED:{name}]',
      windowChars: 256,
    });
    const inspectors = (list: unknown[]) => ({ routes: [{ ...route, inspectors: list }] });
    assert.match(messages(inspectors([{ type: 'allow-all' }]))[0]!, /type: Invalid discriminator/);
    assert.match(messages(inspectors([{ type: 'method-deny', methods: [] }]))[0]!, /methods/);
    assert.match(messages(inspectors([{ type: 'redact', patterns: [{ name: 'a', regex: 'sk-[' }] }]))[0]!, /regex: Invalid regular expression/);
    assert.match(
      messages(inspectors([{ type: 'redact', patterns: [{ name: 'a', regex: 'x' }, { name: 'a', regex: 'y' }] }]))[0]!,
      /patterns.1.name: duplicate name "a"/,
    );
  });

  it('refuses the admin listener on the data-plane address, but allows two ephemeral ports', () => {
    assert.deepEqual(messages({ routes: [route], admin: { port: 8080 } }), ['admin.port: must differ from server.port (8080)']);
    assert.equal(messages({ routes: [route], server: { host: '0.0.0.0', port: 7 }, admin: { port: 7 } }).length, 1);
    assert.doesNotThrow(() => ConfigSchema.parse({ routes: [route], server: { port: 0 }, admin: { port: 0 } }));
    assert.doesNotThrow(() => ConfigSchema.parse({ routes: [route], server: { host: '10.0.0.1', port: 7 }, admin: { port: 7 } }));
  });

  it('rejects out-of-range and non-integer numbers', () => {
    assert.equal(messages({ routes: [route], server: { port: 65536 } }).length, 1);
    assert.equal(messages({ routes: [route], limits: { maxBodyBytes: 0 } }).length, 1);
    assert.equal(messages({ routes: [route], sessions: { idleTtlMs: 1.5 } }).length, 1);
    assert.equal(messages({ routes: [route], logging: { level: 'verbose' } }).length, 1);
  });
});
