/**
 * The bytes of a response body the gateway relays without parsing it (pass-through JSON, an SSE
 * event it did not read, an answer on the chunk path), for the exchange record's `result_bytes`
 * digest: the keyed HMAC of exactly the bytes the client was sent (digest.ts).
 *
 * A small body is kept by reference and digested by the audit thread (the one-shot HMAC there is
 * cheaper than a hash context here, and off the data path). A body past MAX_KEPT_BODY is digested
 * here as it passes, so memory stays flat and the digest still covers every byte: keeping only
 * the first megabyte used to record the digest of a prefix as if it were the body's.
 */
import { createHmac, type Hmac, type KeyObject } from 'node:crypto';
import { RAW_DIGEST_PREFIX } from './digest.ts';

/** Bodies kept by reference for the audit thread to digest, up to this size. */
export const MAX_KEPT_BODY = 1024 * 1024;

/** What an exchange record carries of the body (ExchangeFacts). */
export type BodyDigestFacts = { resultBytes: readonly Uint8Array[] } | { resultBytesDigest: string } | Record<string, never>;

export class BodyDigest {
  readonly #key: KeyObject;
  #parts: Uint8Array[] = [];
  #size = 0;
  #hmac: Hmac | undefined;
  /** Made once: an HMAC context cannot be read twice. */
  #digest: string | undefined;
  /** The record was made: nothing more is taken. */
  #done = false;

  constructor(key: KeyObject) {
    this.#key = key;
  }

  /**
   * The next bytes as sent to the client. Once the record was made (facts()), later bytes are
   * dropped: the record already says what the client had got (a 2025 client that left while the
   * upstream goes on writing). Throwing here failed the relay and aborted the upstream call.
   */
  add(chunk: Uint8Array): void {
    if (this.#done) return;
    if (this.#hmac !== undefined) {
      this.#hmac.update(chunk);
      return;
    }
    this.#parts.push(chunk);
    this.#size += chunk.byteLength;
    if (this.#size > MAX_KEPT_BODY) {
      const h = (this.#hmac = createHmac('sha256', this.#key));
      for (const p of this.#parts) h.update(p);
      this.#parts = [];
    }
  }

  /** The next text as sent (UTF-8, as it goes on the wire). */
  addText(text: string): void {
    if (this.#done) return;
    if (this.#hmac !== undefined) this.#hmac.update(text, 'utf8');
    else this.add(Buffer.from(text, 'utf8'));
  }

  /**
   * None of it reached the client (the body failed while its first chunk was still held back, and
   * the client gets an error instead): the record digests no result.
   */
  discard(): void {
    this.#done = true;
    this.#parts = [];
    this.#hmac = undefined;
  }

  /** For the record, once the body is over: the bytes for the thread, or their digest. */
  facts(): BodyDigestFacts {
    this.#done = true;
    if (this.#hmac !== undefined) return { resultBytesDigest: (this.#digest ??= RAW_DIGEST_PREFIX + this.#hmac.digest('base64url')) };
    return this.#parts.length > 0 ? { resultBytes: this.#parts } : {};
  }
}
