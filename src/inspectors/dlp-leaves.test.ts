/**
 * dlp-leaves.ts against what it replaced: `collectStringLeaves` with key and number callbacks
 * and OPAQUE (redact.ts) tested on every pointer, on random JSON whose names mix protocol
 * names, `_meta` entries, `~` and `/`, and line terminators (which OPAQUE's `.` does not match).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { collectStringLeaves } from '../codec/json-pointer.ts';
import { leavesOf, ZONES_APPLY, type KnownKeys } from './dlp-leaves.ts';
import { mayHoldIdentifier, type NumberLeaf } from './dlp-numbers.ts';
import { OPAQUE } from './redact.ts';

/** The reference: the inspector's walk before dlp-leaves.ts. */
function reference(message: unknown, clean: ReadonlySet<string>) {
  const suspects: Array<{ object: string; key: string }> = [];
  const numbers: NumberLeaf[] = [];
  const strings = collectStringLeaves(
    message,
    (object, key) => {
      if (!clean.has(key)) suspects.push({ object, key });
    },
    (pointer, value, key) => {
      if (mayHoldIdentifier(value)) numbers.push({ pointer, value, key });
    },
  ).filter((l) => !OPAQUE.test(l.pointer));
  return { strings: strings.map((l) => ({ pointer: l.pointer, text: l.text })), suspects: suspects.filter((s) => !OPAQUE.test(s.object)), numbers: numbers.filter((n) => !OPAQUE.test(n.pointer)) };
}

const known = (clean: ReadonlySet<string>): KnownKeys => ({ segmentOf: (k) => (clean.has(k) ? k.replaceAll('~', '~0').replaceAll('/', '~1') : undefined) });

function walk(message: unknown, clean: ReadonlySet<string>) {
  const got = leavesOf(message, known(clean));
  // `key` is the leaf's member name: the last segment of its pointer, unescaped.
  for (const l of got.strings) {
    if (l.pointer === '') assert.equal(l.key, '');
    else assert.equal(l.pointer.slice(l.pointer.lastIndexOf('/') + 1), l.key.replaceAll('~', '~0').replaceAll('/', '~1'));
  }
  return { strings: got.strings.map((l) => ({ pointer: l.pointer, text: l.text })), suspects: got.suspects, numbers: got.numbers };
}

const NAMES = [
  'jsonrpc', 'id', 'method', 'params', 'result', 'error', '_meta', 'progressToken', 'cursor', 'nextCursor', 'requestState', 'resultType', 'requestId',
  'io.modelcontextprotocol/serverInfo', 'io.modelcontextprotocol/', 'io.modelcontextprotocol~1x', 'io.modelcontextprotocol/a\nb', 'x\ny', 'a\rb', 'u\u2028', 'v\u2029',
  'a/b', '~', '~1', 'text', 'blob', 'data', '0', '1', '',
];

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('s', 'AKIA', ''),
    fc.constantFrom(1, 123456789, 4111111111111111, 2 ** 60, -1e6, 0.5),
    fc.constantFrom(null, true),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...NAMES), tie('value'), { maxKeys: 5 }),
  ),
}));
const message = fc.dictionary(fc.constantFrom(...NAMES), json.value, { maxKeys: 6 });

describe('dlp-leaves', () => {
  it('knows the OPAQUE it was written for (else update its zones)', () => {
    assert.equal(ZONES_APPLY, true);
  });

  it('lists what collectStringLeaves and the OPAQUE filter list, in the same order', () => {
    fc.assert(
      fc.property(message, fc.subarray(NAMES), (m, cleanNames) => {
        const clean = new Set(cleanNames);
        assert.deepEqual(walk(m, clean), reference(m, clean));
      }),
      { numRuns: 3000 },
    );
  });

  it('handles the protocol locations and their edge cases', () => {
    const m = {
      jsonrpc: '2.0',
      id: 123456789,
      method: 'tools/call',
      params: {
        name: 'echo',
        cursor: 'c',
        _meta: { progressToken: { a: 's', 'b\nc': { d: 's' } }, 'io.modelcontextprotocol/x': { 'k\u2028': 's', k: 's' }, other: 's' },
        arguments: { jsonrpc: 's', 'a/b~c': 's' },
      },
    };
    const clean = new Set(['params', 'name']);
    const got = walk(m, clean);
    assert.deepEqual(got, reference(m, clean));
    assert.deepEqual(
      got.strings.map((l) => l.pointer),
      ['/params/name', '/params/_meta/progressToken/b\nc/d', '/params/_meta/io.modelcontextprotocol~1x/k\u2028', '/params/_meta/other', '/params/arguments/jsonrpc', '/params/arguments/a~1b~0c'],
    );
    assert.deepEqual(walk('text', clean), reference('text', clean));
    assert.deepEqual(walk([1, 'a', { k: 'v' }], clean), reference([1, 'a', { k: 'v' }], clean));
  });
});
