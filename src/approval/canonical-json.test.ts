import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argsHash, canonicalJson, MAX_CANONICAL_DEPTH } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts object keys at every level and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, 1], c: null } }), '{"a":{"c":null,"d":[3,1]},"b":1}');
  });

  it('orders keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input: Record<string, string> = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // The order RFC 8785 §3.2.3 gives: the emoji's high surrogate (D83D) sorts before U+FB33.
    const expectedOrder = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'];
    const expected = `{${expectedOrder.map((k) => `${JSON.stringify(k)}:${JSON.stringify(input[k])}`).join(',')}}`;
    assert.equal(canonicalJson(input), expected);
  });

  it('serializes numbers and strings as ECMAScript JSON does', () => {
    assert.equal(canonicalJson([1.0, -0, 1e21, 0.1, 'a"\u2028']), '[1,0,1e+21,0.1,"a\\"\u2028"]');
  });

  it('skips undefined members like JSON.stringify', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  });

  it('rejects what is not JSON instead of coercing it', () => {
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
    assert.throws(() => canonicalJson({ a: Infinity }), TypeError);
    assert.throws(() => canonicalJson(10n), TypeError);
    assert.throws(() => canonicalJson([undefined]), TypeError);
    assert.throws(() => canonicalJson(new Date(0)), TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), /cyclic/);
  });

  it('allows shared (non-cyclic) references', () => {
    const shared = { x: 1 };
    assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}');
  });

  it('refuses hostile nesting with a clear error, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_CANONICAL_DEPTH + 1; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), /nesting deeper/);
  });
});

describe('argsHash', () => {
  it('is the same for reordered keys and different for different values', () => {
    assert.equal(argsHash({ path: '/a', mode: 'r' }), argsHash({ mode: 'r', path: '/a' }));
    assert.notEqual(argsHash({ path: '/a' }), argsHash({ path: '/b' }));
    assert.notEqual(argsHash({ n: 1 }), argsHash({ n: '1' }));
  });

  it('treats absent arguments as {} and is base64url SHA-256', () => {
    assert.equal(argsHash(undefined), argsHash({}));
    // SHA-256("{}") = 44136fa3…
    assert.equal(Buffer.from(argsHash({}), 'base64url').toString('hex'), '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});
