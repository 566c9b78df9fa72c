import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandString } from './env.ts';
import { ConfigError, parseConfig } from './load.ts';

const withUpstream = (lines: string) => `routes:
  - name: default
    path: /mcp
    upstream:
${lines}
`;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('expandString', () => {
  it('substitutes set variables, defaults and escapes', () => {
    const env = { A: 'one', EMPTY: '' };
    assert.deepEqual(expandString('x-${A}-y', env), { value: 'x-one-y', problems: [] });
    assert.deepEqual(expandString('${MISSING:-fallback}', env), { value: 'fallback', problems: [] });
    // As in sh, `:-` also replaces an empty value.
    assert.deepEqual(expandString('${EMPTY:-fallback}', env), { value: 'fallback', problems: [] });
    assert.deepEqual(expandString('${A:-fallback}', env), { value: 'one', problems: [] });
    assert.deepEqual(expandString('${MISSING:-}', env), { value: '', problems: [] });
    assert.deepEqual(expandString('$${A} costs $5', env), { value: '${A} costs $5', problems: [] });
    // Only `$${` is an escape; a lone `$` before it is literal.
    assert.deepEqual(expandString('$$${A}', env), { value: '$${A}', problems: [] });
  });

  it('reports every missing variable, malformed and unterminated reference', () => {
    const { problems } = expandString('${X}/${Y}/${1BAD}/${Z', {});
    assert.equal(problems.length, 4);
    assert.match(problems[0]!, /environment variable X is not set/);
    assert.match(problems[1]!, /environment variable Y is not set/);
    assert.match(problems[2]!, /malformed reference/);
    assert.match(problems[3]!, /unterminated/);
  });
});

describe('env substitution in config files', () => {
  it('substitutes in string values, using defaults when unset', () => {
    const text = withUpstream(`      url: \${UPSTREAM_URL:-http://127.0.0.1:3000/mcp}
      headers: { X-Api-Key: "\${UPSTREAM_KEY}", X-Literal: "$\${NOT_A_VAR}" }`);
    const cfg = parseConfig(text, 'gateway.yaml', { UPSTREAM_KEY: 'sk-123' });
    assert.equal(cfg.routes[0]?.upstream.url, 'http://127.0.0.1:3000/mcp');
    assert.deepEqual(cfg.routes[0]?.upstream.headers, { 'X-Api-Key': 'sk-123', 'X-Literal': '${NOT_A_VAR}' });
  });

  it('names file, line and variable for a missing variable without default, and never the values', () => {
    const text = withUpstream(`      url: http://127.0.0.1:3000/mcp
      headers:
        X-Api-Key: "\${UPSTREAM_KEY}"
        X-Other: "\${SECRET_OK}"`);
    const err = configError(() => parseConfig(text, 'gateway.yaml', { SECRET_OK: 'hunter2' }));
    assert.equal(err.issues.length, 1);
    assert.match(err.message, /^gateway\.yaml:7:20 routes\[0\]\.upstream\.headers\.X-Api-Key: environment variable UPSTREAM_KEY is not set/);
    assert.doesNotMatch(err.message, /hunter2/);
  });

  it('reports only the missing variable, not a follow-on schema error for the unexpanded text', () => {
    const err = configError(() => parseConfig(withUpstream('      url: ${UPSTREAM_URL}'), 'g.yaml', {}));
    assert.deepEqual(err.message, 'g.yaml:5:12 routes[0].upstream.url: environment variable UPSTREAM_URL is not set (use ${UPSTREAM_URL:-default} to give a default)');
  });

  it('cannot inject YAML structure: a value stays one string', () => {
    const text = withUpstream(`      url: http://127.0.0.1:3000/mcp
    inspectors:
      - type: redact
        patterns: [{ name: a, regex: x }]
        replacement: \${MASK}`);
    const cfg = parseConfig(text, 'g.yaml', { MASK: 'k\nadmin: { port: 1 }' });
    assert.deepEqual(cfg.routes[0]?.inspectors[0], {
      type: 'redact',
      patterns: [{ name: 'a', regex: 'x' }],
      replacement: 'k\nadmin: { port: 1 }',
      windowChars: 256,
    });
    assert.equal(cfg.admin.port, 9090);
  });

  it('types an unquoted reference as YAML would type its text; a quoted one stays a string', () => {
    const base = withUpstream('      url: http://127.0.0.1:3000/mcp');
    const text = `server:\n  port: \${PORT:-8081}\nsecurity:\n  requireProtocolHeaderValidation: \${CHECK}\n${base}`;
    const cfg = parseConfig(text, 'g.yaml', { CHECK: 'false' });
    assert.equal(cfg.server.port, 8081);
    assert.equal(cfg.security.requireProtocolHeaderValidation, false);
    const err = configError(() => parseConfig(`server: { port: "\${PORT}" }\n${base}`, 'g.yaml', { PORT: '8081' }));
    assert.equal(err.message, 'g.yaml:1:11 server.port: Invalid input: expected number, received string (a quoted ${VAR} stays a string; write it unquoted)');
  });

  it('leaves map keys alone', () => {
    const text = withUpstream(`      url: http://127.0.0.1:3000/mcp
      headers: { "\${NAME}": v }`);
    const err = configError(() => parseConfig(text, 'g.yaml', { NAME: 'X-Injected' }));
    assert.match(err.message, /"\$\{NAME\}" is not a valid HTTP header name/);
  });
});
