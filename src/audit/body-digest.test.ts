import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BodyDigest, MAX_KEPT_BODY } from './body-digest.ts';
import { Digester } from './digest.ts';

const key = randomBytes(32);
const digester = new Digester(key);
const body = () => new BodyDigest(createSecretKey(key));

describe('BodyDigest: the result_bytes digest of a body relayed unparsed', () => {
  it('a small body is handed to the audit thread as its bytes, by reference', () => {
    const b = body();
    const parts = [Buffer.from('{"jsonrpc":"2.0",'), Buffer.from('"id":1,"result":{}}')];
    for (const p of parts) b.add(p);
    const facts = b.facts() as { resultBytes: Uint8Array[] };
    assert.deepEqual(facts.resultBytes, parts);
    assert.ok(facts.resultBytes[0] === parts[0], 'not copied');
    assert.deepEqual(body().facts(), {}, 'no body, nothing to digest');
  });

  it('a large body is digested as it passes: the same digest the thread makes of all its bytes, however it was cut', () => {
    const all = randomBytes(MAX_KEPT_BODY * 3 + 17);
    const expected = digester.digestBytes([all]);
    for (const size of [1000, 65_536, MAX_KEPT_BODY + 1]) {
      const b = body();
      for (let at = 0; at < all.length; at += size) b.add(all.subarray(at, at + size));
      assert.deepEqual(b.facts(), { resultBytesDigest: expected }, `pieces of ${size}`);
    }
    // Text pieces (an SSE event's data) digest as their UTF-8 bytes.
    const text = 'é😀 data '.repeat(200_000);
    const t = body();
    // Cut between whole repeats (never inside a surrogate pair, as a stream decoder never cuts).
    for (let at = 0; at < text.length; at += 4095) t.addText(text.slice(at, at + 4095));
    assert.deepEqual(t.facts(), { resultBytesDigest: digester.digestBytes([Buffer.from(text, 'utf8')]) });
  });

  it('a body none of which reached the client (it failed while held back) digests as no result', () => {
    for (const size of [10, MAX_KEPT_BODY + 1]) {
      const b = body();
      b.add(randomBytes(size));
      b.discard();
      b.add(Buffer.from('late'));
      assert.deepEqual(b.facts(), {}, `${size} bytes`);
    }
  });

  it('once the record is made, bytes still coming (a 2025 client left, the upstream goes on) are dropped, never thrown on', () => {
    for (const size of [10, MAX_KEPT_BODY + 1]) {
      const b = body();
      const sent = randomBytes(size);
      b.add(sent);
      const first = b.facts();
      b.add(Buffer.from('late bytes'));
      b.addText('late text');
      assert.deepEqual(b.facts(), first, `${size} bytes: the record's digest is of what was sent when it was made`);
      assert.deepEqual(first, size > MAX_KEPT_BODY ? { resultBytesDigest: digester.digestBytes([sent]) } : { resultBytes: [sent] });
    }
  });
});
