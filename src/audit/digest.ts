/**
 * Keyed digests of arguments, results and other values the audit trail must be able to match
 * without holding them.
 *
 * HMAC-SHA256 (RFC 2104) over the RFC 8785 canonical JSON of the value: two calls with the same
 * arguments in any key order digest alike, so an auditor holding the key can answer "was this
 * exact call made?" by digesting the candidate. Keyed rather than a plain hash because tool
 * arguments are often low-entropy (a customer id, a file path): an unkeyed digest in a leaked
 * audit log could be reversed by guessing. The key lives with the gateway (config or the key
 * directory), never in the records.
 */
import { createHash, createHmac, createSecretKey, hash as oneShotHash, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';

export const DIGEST_PREFIX = 'hmac-sha256:';
export const RAW_DIGEST_PREFIX = 'hmac-sha256-bytes:';

/** SHA-256's block size: HMAC pads the key to it (RFC 2104 §2). */
const BLOCK = 64;
/** Values up to this many bytes go through the one-shot path (its buffer grows to fit them). */
const ONE_SHOT_MAX = 64 * 1024;

export class Digester {
  /**
   * For values past ONE_SHOT_MAX. A KeyObject, not a Buffer: createHmac re-imports a raw key on
   * every call (~8x slower).
   */
  readonly #key: KeyObject;
  /**
   * HMAC as RFC 2104 spells it, H((K ^ opad) ‖ H((K ^ ipad) ‖ m)), with two one-shot
   * `crypto.hash` calls: `#inner` holds K ^ ipad followed by the message, `#outer` K ^ opad
   * followed by the inner hash. `createHmac` builds a native HMAC context per value: two of
   * them were ~5 µs of the ~13 µs an exchange record took to build (audit probe profile); this
   * path gives the same digests (digest.test.ts checks them against createHmac) in ~1.4 µs each.
   * Longer values use createHmac rather than grow the buffer without bound.
   */
  #inner: Buffer;
  readonly #outer: Buffer;
  /** A public handle on the key (SHA-256 of it, 8 bytes hex): says which key made a digest. */
  readonly keyId: string;

  constructor(key: Uint8Array) {
    if (key.byteLength < 16) throw new RangeError('audit digest key must be at least 16 bytes');
    this.#key = createSecretKey(Buffer.from(key));
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
    // A key longer than a block is replaced by its hash; a shorter one is padded with zeros.
    const k = key.byteLength > BLOCK ? createHash('sha256').update(key).digest() : key;
    this.#inner = Buffer.alloc(BLOCK + 1024);
    this.#outer = Buffer.alloc(BLOCK + 32);
    for (let i = 0; i < BLOCK; i++) {
      const b = i < k.byteLength ? k[i]! : 0;
      this.#inner[i] = b ^ 0x36;
      this.#outer[i] = b ^ 0x5c;
    }
  }

  /**
   * Digest of a JSON value. Never throws: a value canonical JSON refuses (a cycle, a bigint,
   * nesting past its limit) digests as a marker naming the problem, so a hostile body cannot
   * make the audit path fail.
   */
  digest(value: unknown): string {
    let text: string;
    try {
      text = canonicalJson(value === undefined ? null : value);
    } catch (err) {
      text = `\u0000unserializable:${(err as Error).name}`;
    }
    return this.digestText(text);
  }

  /**
   * Digest of bytes as they crossed the wire (a body the gateway relayed without parsing it).
   * A different prefix: it matches the exact bytes, not the JSON value.
   */
  digestBytes(parts: readonly Uint8Array[]): string {
    let n = 0;
    for (const p of parts) n += p.byteLength;
    if (n > ONE_SHOT_MAX) {
      const h = createHmac('sha256', this.#key);
      for (const p of parts) h.update(p);
      return RAW_DIGEST_PREFIX + h.digest('base64url');
    }
    const inner = this.#room(n);
    let at = BLOCK;
    for (const p of parts) {
      inner.set(p, at);
      at += p.byteLength;
    }
    return RAW_DIGEST_PREFIX + this.#hmac(at);
  }

  /** Digest of a string as is (e.g. a session id, which is a bearer capability in MCP 2025). */
  digestText(text: string): string {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit (a pair: 4 bytes for 2 units).
    if (text.length * 3 > ONE_SHOT_MAX) return DIGEST_PREFIX + createHmac('sha256', this.#key).update(text, 'utf8').digest('base64url');
    const inner = this.#room(text.length * 3);
    // Lone surrogates become U+FFFD here as in `Hmac.update(text, 'utf8')`.
    return DIGEST_PREFIX + this.#hmac(BLOCK + inner.write(text, BLOCK, 'utf8'));
  }

  /** The inner buffer, with room for `bytes` after the key block. */
  #room(bytes: number): Buffer {
    if (BLOCK + bytes > this.#inner.byteLength) {
      const grown = Buffer.alloc(Math.min(BLOCK + ONE_SHOT_MAX, Math.max(BLOCK + bytes, this.#inner.byteLength * 2)));
      this.#inner.copy(grown, 0, 0, BLOCK);
      this.#inner = grown;
    }
    return this.#inner;
  }

  /**
   * HMAC-SHA256 (base64url) of the message in `#inner` up to `end`. The inner hash comes back as
   * a 'binary' (latin1) string, one character per byte, written into `#outer` as those bytes: a
   * Buffer result costs an ArrayBuffer per call (measured: 1.4 µs per HMAC this way, 2.4 µs
   * with a Buffer, 2.6 µs with createHmac).
   */
  #hmac(end: number): string {
    this.#outer.write(oneShotHash('sha256', this.#inner.subarray(0, end), 'binary'), BLOCK, 'latin1');
    return oneShotHash('sha256', this.#outer, 'base64url');
  }
}
