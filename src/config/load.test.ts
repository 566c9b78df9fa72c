import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from './load.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'config');

function lines(...l: string[]): string {
  return `${l.join('\n')}\n`;
}

function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, 'gateway.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.message, err.issues.map((i) => (i.line ? `${i.file}:${i.line}:${i.column}` : i.file) + (i.path ? ` ${i.path}: ` : ': ') + i.message).join('\n'));
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

const ROUTE = ['routes:', '  - name: default', '    path: /mcp', '    upstream:', '      url: http://127.0.0.1:3000/mcp'];

describe('parseConfig', () => {
  it('accepts a minimal config and applies defaults', () => {
    const cfg = parseConfig(lines(...ROUTE), 'gateway.yaml', {});
    assert.equal(cfg.server.port, 8080);
    assert.equal(cfg.routes[0]?.upstream.connections, 0);
  });

  it('names file, line, column and field of an unknown key, suggesting the near miss', () => {
    assert.deepEqual(problems(lines('server:', '  host: 0.0.0.0', '  prot: 8080', ...ROUTE)), [
      'gateway.yaml:3:3 server.prot: unknown key (did you mean "port"?)',
    ]);
    assert.deepEqual(problems(lines(...ROUTE, '      frobnicate: true')), ['gateway.yaml:6:7 routes[0].upstream.frobnicate: unknown key']);
  });

  it('points at the key holding a bad value, as in gateway.yaml:L:C routes[0].upstream.url: Invalid URL', () => {
    const text = lines('# header', '', ...ROUTE.slice(0, 4), '      url: not-a-url');
    assert.deepEqual(problems(text), ['gateway.yaml:7:7 routes[0].upstream.url: Invalid URL (expected http:// or https://)']);
  });

  it('reports a missing field at the key of the object that lacks it', () => {
    assert.deepEqual(problems(lines('routes:', '  - name: a', '    path: /a', '    upstream:', '      connections: 2')), [
      'gateway.yaml:4:5 routes[0].upstream.url: required (expected string)',
    ]);
    assert.deepEqual(problems(lines('server:', '  port: 1')), ['gateway.yaml:1:1 routes: required (expected array)']);
  });

  it('collects every problem, in file order', () => {
    const got = problems(lines(
      'server:',
      '  prot: 8080',
      'routes:',
      '  - name: Default',
      '    path: mcp',
      '    upstream:',
      '      url: ftp://example.com/mcp',
      '    inspectors:',
      '      - type: allow-all',
      'logging:',
      '  level: loud',
    ));
    assert.deepEqual(got, [
      'gateway.yaml:2:3 server.prot: unknown key (did you mean "port"?)',
      'gateway.yaml:4:5 routes[0].name: must match [a-z0-9-]+',
      'gateway.yaml:5:5 routes[0].path: must start with "/" and contain no whitespace, "?" or "#"',
      'gateway.yaml:7:7 routes[0].upstream.url: Invalid URL (expected http:// or https://)',
      'gateway.yaml:9:9 routes[0].inspectors[0].type: must be one of "method-deny", "redact", "dlp", "prompt-injection", "tool-poisoning"',
      'gateway.yaml:11:3 logging.level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with line:column', () => {
    assert.deepEqual(problems(lines(...ROUTE, '      url: http://other/mcp')), ['gateway.yaml:6:7: YAML: Map keys must be unique']);
    const [first] = problems(lines('server:', '  port: 8080', ' host: x', ...ROUTE));
    assert.match(first!, /^gateway\.yaml:3:\d+: YAML: /);
  });

  it('caps a cascade of YAML errors', () => {
    const got = problems(lines('server: { port: ${PORT} }', 'a: {', 'b: ]', 'c: }', 'd: [', ...ROUTE));
    assert.ok(got.length <= 6, got.join('\n'));
    assert.match(got[0]!, /^gateway\.yaml:1:\d+: YAML: .*\(inside \{ \} or \[ \], quote \$\{VAR\} references\)$/);
    assert.match(got.at(-1)!, /more errors, likely caused by the ones above/);
  });

  it('keeps absolute line numbers across documents and refuses a second document', () => {
    const text = lines(
      '# gateway',
      ...ROUTE,
      '    timeouts:',
      '      idleMs: -1',
      '---',
      'server:',
      '  port: 1',
    );
    assert.deepEqual(problems(text), [
      'gateway.yaml:8:7 routes[0].timeouts.idleMs: Too small: expected number to be >=1',
      'gateway.yaml:9:1: a config file holds one YAML document; this is a second one (remove the "---" separator)',
    ]);
  });

  it('reports a syntax error inside a later document at its line in the file', () => {
    const text = lines(...ROUTE, '---', '# second', 'server:', '  port: 1', '  port: 2');
    assert.deepEqual(problems(text), [
      'gateway.yaml:6:1: a config file holds one YAML document; this is a second one (remove the "---" separator)',
      'gateway.yaml:10:3: YAML: Map keys must be unique',
    ]);
  });

  it('ignores comment-only documents', () => {
    const cfg = parseConfig(lines('# leading', '---', ...ROUTE, '---', '# trailing'), 'gateway.yaml', {});
    assert.equal(cfg.routes.length, 1);
  });

  it('refuses an empty file with a clear message', () => {
    assert.deepEqual(problems(''), ['gateway.yaml:1:1: the file is empty; a config needs at least a "routes" list']);
    assert.deepEqual(problems('# nothing\n'), ['gateway.yaml:1:1: the file is empty; a config needs at least a "routes" list']);
    assert.deepEqual(problems('just a string\n'), ['gateway.yaml:1:1: Invalid input: expected object, received string']);
  });

  it('follows aliases when locating problems', () => {
    const text = lines(
      'x-upstream: &up',
      '  url: http://a/mcp',
      'routes:',
      '  - name: a',
      '    path: /a',
      '    upstream: *up',
    );
    // `x-upstream` itself is an unknown key: the schema has no extension area.
    assert.deepEqual(problems(text), ['gateway.yaml:1:1 x-upstream: unknown key']);
  });

  it('refuses alias bombs instead of expanding them', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      bomb.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const [first] = problems(lines(...bomb, ...ROUTE));
    assert.match(first!, /^gateway\.yaml:1:1: YAML: .*alias/i);
  });
});

describe('loadConfig', () => {
  it('loads the sample configs in test/fixtures/config', async () => {
    const minimal = await loadConfig(join(FIXTURES, 'minimal.yaml'), {});
    assert.equal(minimal.routes[0]?.upstream.url, 'http://127.0.0.1:3000/mcp');
    const full = await loadConfig(join(FIXTURES, 'full.yaml'), { UPSTREAM_KEY: 'k' });
    assert.equal(full.server.publicUrl, 'https://mcp.example.com');
    assert.deepEqual(full.routes[0]?.upstream.headers, { 'X-Api-Key': 'k' });
    assert.equal(full.routes[0]?.inspectors.length, 2);
  });

  it('reports each marked line of the invalid fixture', async () => {
    const file = join(FIXTURES, 'invalid.yaml');
    const err = await loadConfig(file, {}).then(
      () => assert.fail('expected a ConfigError'),
      (e: unknown) => e as ConfigError,
    );
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.issues.map((i) => i.line), [3, 5, 6, 8, 10]);
    assert.ok(err.message.startsWith(`${file}:3:3 server.prot: `));
  });

  it('reports an unreadable file as a ConfigError naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-config-'));
    try {
      const file = join(dir, 'absent.yaml');
      await assert.rejects(loadConfig(file), (err: unknown) => err instanceof ConfigError && err.message === `${file}: cannot read the file (ENOENT)`);
      await writeFile(join(dir, 'ok.yaml'), lines(...ROUTE));
      assert.equal((await loadConfig(join(dir, 'ok.yaml'))).routes[0]?.name, 'default');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
