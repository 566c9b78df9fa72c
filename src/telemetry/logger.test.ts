import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, silentLogger } from './logger.ts';

function capture(): { lines: string[]; destination: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

describe('createLogger', () => {
  it('redacts an Authorization header and other secret-bearing fields', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.info(
      {
        req: { method: 'POST', url: '/mcp', headers: { authorization: 'Bearer sk-live-AAA', cookie: 'sid=BBB', 'x-api-key': 'CCC' } },
        headers: { 'x-api-key': 'DDD', 'content-type': 'application/json' },
        upstream: { token: 'EEE', url: 'http://up.example' },
        password: 'FFF',
      },
      'request received',
    );
    assert.equal(lines.length, 1);
    const text = lines[0] as string;
    for (const secret of ['sk-live-AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF']) {
      assert.ok(!text.includes(secret), `log line leaks ${secret}: ${text}`);
    }
    const entry = JSON.parse(text);
    assert.equal(entry.req.headers.authorization, '[redacted]');
    assert.equal(entry.req.headers.cookie, '[redacted]');
    assert.equal(entry.headers['x-api-key'], '[redacted]');
    assert.equal(entry.upstream.token, '[redacted]');
    // Non-secret fields stay readable.
    assert.equal(entry.req.url, '/mcp');
    assert.equal(entry.headers['content-type'], 'application/json');
    assert.equal(entry.upstream.url, 'http://up.example');
    assert.equal(entry.msg, 'request received');
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'warn', destination });
    log.info('dropped');
    log.warn('kept');
    assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ['kept']);
  });

  it('rejects an unknown level with a clear error', () => {
    assert.throws(() => createLogger({ level: 'loud' as never }), /log level must be one of/);
  });

  it('offers a silent logger', () => {
    assert.equal(silentLogger.isLevelEnabled('fatal'), false);
  });
});
