import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, normalizeUri, pathWithin } from './paths.ts';

test('normalizePath resolves dot segments the way the kernel does', () => {
  assert.equal(normalizePath('/allowed/../etc/passwd'), '/etc/passwd');
  assert.equal(normalizePath('/allowed/./a//b/'), '/allowed/a/b');
  assert.equal(normalizePath('/../../etc'), '/etc');
  assert.equal(normalizePath('a/../../b'), '../b');
  assert.equal(normalizePath('a/..'), '.');
  assert.equal(normalizePath('/'), '/');
});

test('normalizePath keeps backslashes as file-name characters (POSIX)', () => {
  // On a POSIX upstream this is a file inside /etc; treating "\" as a separator would call it /tmp.
  assert.equal(normalizePath('/etc/a\\..\\..\\tmp'), '/etc/a\\..\\..\\tmp');
});

test('normalizePath refuses NUL bytes', () => {
  assert.throws(() => normalizePath('/srv/data/ok\0/../../etc'), /NUL/);
});

test('pathWithin compares whole segments after normalising', () => {
  assert.equal(pathWithin('/srv/data/x.txt', '/srv/data'), true);
  assert.equal(pathWithin('/srv/data', '/srv/data/'), true);
  assert.equal(pathWithin('/srv/data/../../etc/passwd', '/srv/data'), false);
  assert.equal(pathWithin('/srv/data-evil/x', '/srv/data'), false);
  assert.equal(pathWithin('srv/data/x', '/srv/data'), false, 'a relative path is never inside an absolute dir');
  assert.equal(pathWithin('/anything', '/'), true);
  assert.equal(pathWithin('a/b', '.'), true);
  assert.equal(pathWithin('../b', '.'), false);
});

test('normalizeUri removes dot segments, encoded ones included', () => {
  assert.equal(normalizeUri('file:///srv/docs/../secrets'), 'file:///srv/secrets');
  assert.equal(normalizeUri('file:///srv/docs/%2e%2e/secrets'), 'file:///srv/secrets');
  assert.equal(normalizeUri('HTTPS://Example.COM/a/./b'), 'https://example.com/a/b');
});

test('normalizeUri refuses encoded separators and non-URIs', () => {
  assert.throws(() => normalizeUri('file:///srv/docs/..%2Fsecrets'), /encoded/);
  assert.throws(() => normalizeUri('file:///srv/docs/..%5csecrets'), /encoded/);
  assert.throws(() => normalizeUri('not a uri'), /valid absolute URI/);
});

test('normalizeUri refuses a file: URI with a query or fragment, and a fragment shaped like a path', () => {
  // A server that cuts off `file://` and resolves the rest reads these as /etc/passwd.
  assert.throws(() => normalizeUri('file:///srv/docs/#/../../../etc/passwd'), /query or fragment/);
  assert.throws(() => normalizeUri('file:///srv/docs/x?/../../../../etc/passwd'), /query or fragment/);
  assert.throws(() => normalizeUri('file:///srv/docs/readme.md#'), /query or fragment/);
  assert.throws(() => normalizeUri('docs://manual/#/../../secrets'), /fragment/);
  assert.equal(normalizeUri('https://example.com/search?q=a/b#section-2'), 'https://example.com/search?q=a/b#section-2');
  assert.equal(normalizeUri('docs://manual/intro#part-1'), 'docs://manual/intro#part-1');
});
