import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argsHash } from './canonical-json.ts';

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
