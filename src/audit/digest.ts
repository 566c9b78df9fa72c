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
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';

export const DIGEST_PREFIX = 'hmac-sha256:';
export const RAW_DIGEST_PREFIX = 'hmac-sha256-bytes:';

export class Digester {
  /** A KeyObject, not a Buffer: createHmac re-imports a raw key on every call (~8x slower). */
  readonly #key: KeyObject;
  /** A public handle on the key (SHA-256 of it, 8 bytes hex): says which key made a digest. */
  readonly keyId: string;

  constructor(key: Uint8Array) {
    if (key.byteLength < 16) throw new RangeError('audit digest key must be at least 16 bytes');
    this.#key = createSecretKey(Buffer.from(key));
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
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
    const h = createHmac('sha256', this.#key);
    for (const p of parts) h.update(p);
    return RAW_DIGEST_PREFIX + h.digest('base64url');
  }

  /** Digest of a string as is (e.g. a session id, which is a bearer capability in MCP 2025). */
  digestText(text: string): string {
    return DIGEST_PREFIX + createHmac('sha256', this.#key).update(text, 'utf8').digest('base64url');
  }
}
