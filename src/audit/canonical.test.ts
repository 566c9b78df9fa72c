import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from '../approval/canonical-json.ts';
import { canonicalize } from './canonical.ts';

describe('canonicalize (RFC 8785)', () => {
  it('matches the reference canonical JSON on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        assert.equal(canonicalize(v), canonicalJson(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts members by UTF-16 code units and serializes numbers per ECMAScript', () => {
    assert.equal(canonicalize({ b: 1, a: [true, null, 'x'], '\u20ac': 1e21, é: -0, '\ud83d\ude00': 0.1 }), '{"a":[true,null,"x"],"b":1,"é":0,"€":1e+21,"😀":0.1}');
    assert.equal(canonicalize({ a: undefined, b: 2 }), '{"b":2}');
  });

  it('refuses values JSON cannot carry faithfully', () => {
    assert.throws(() => canonicalize({ n: Number.NaN }), /non-finite/);
    assert.throws(() => canonicalize({ d: new Date(0) }), /not a plain object/);
    assert.throws(() => canonicalize([1n]), /bigint/);
    const cyc: Record<string, unknown> = {};
    cyc['self'] = cyc;
    assert.throws(() => canonicalize(cyc), /deeper than 256/);
  });
});
