import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';
import { DIGEST_PREFIX, Digester, RAW_DIGEST_PREFIX } from './digest.ts';

/** What the digests are by definition (and what earlier versions computed): createHmac. */
const hmacText = (key: Uint8Array, text: string) => DIGEST_PREFIX + createHmac('sha256', key).update(text, 'utf8').digest('base64url');
const hmacBytes = (key: Uint8Array, parts: readonly Uint8Array[]) => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return RAW_DIGEST_PREFIX + h.digest('base64url');
};

describe('Digester', () => {
  // Shorter than, equal to and longer than SHA-256's 64-byte block (a longer key is hashed first).
  const keys = [16, 32, 63, 64, 65, 200].map((n) => randomBytes(n));
  const texts = ['', 'a', 'x\ud800y', '\udc00', 'é😀', 'z'.repeat(5000), '\ud83d'.repeat(22_000), 'é'.repeat(21_845), 'é'.repeat(21_846), 'r'.repeat(70_000)];

  it('digests text as HMAC-SHA256 over its UTF-8 (lone surrogates as U+FFFD), whatever its length', () => {
    for (const key of keys) {
      const d = new Digester(key);
      // Twice: after a long value has grown the buffer, short ones still digest alike.
      for (const t of [...texts, ...texts]) assert.equal(d.digestText(t), hmacText(key, t), `key ${key.length} B, text ${t.length} chars`);
    }
  });

  it('digests bytes as HMAC-SHA256 over their concatenation', () => {
    for (const key of keys) {
      const d = new Digester(key);
      for (const parts of [[], [new Uint8Array(0)], [randomBytes(10), randomBytes(3000)], [randomBytes(65_536)], [randomBytes(65_537)], [randomBytes(40_000), randomBytes(40_000)], [randomBytes(100)]]) {
        assert.equal(d.digestBytes(parts), hmacBytes(key, parts));
      }
    }
  });

  it('digests a JSON value over its canonical JSON, and an unserializable one as a marker', () => {
    const key = randomBytes(32);
    const d = new Digester(key);
    assert.equal(d.digest({ b: 1, a: ['x', null] }), hmacText(key, canonicalJson({ a: ['x', null], b: 1 })));
    assert.equal(d.digest(undefined), hmacText(key, 'null'));
    assert.equal(d.digest(10n), hmacText(key, '\u0000unserializable:TypeError'));
  });
});
