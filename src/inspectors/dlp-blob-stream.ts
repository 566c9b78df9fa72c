/**
 * One base64 `blob` leaf of an oversized message (the chunk path), scanned as the text it encodes.
 * The whole-message path decodes a blob, scans it as text when its bytes are text and re-encodes
 * it with the masks in (dlp-binary.ts). Scanning the base64 characters instead would let a secret
 * in a large text file through, so this does the same in one pass with bounded memory:
 *
 *   base64 pieces → bytes → UTF-8 text → scanChunk (hold-back window) → released text with masks
 *   → UTF-8 bytes → base64 pieces.
 *
 * Each stage keeps only what it cannot finish yet: ≤ 3 base64 characters of an incomplete
 * 4-character group, ≤ 3 bytes of an incomplete UTF-8 sequence, the scan window's carry, and ≤ 2
 * released bytes not yet forming a 3-byte group. The output does not depend on where the pieces
 * were cut.
 *
 * Decoding copies Node's `Buffer.from(s, 'base64')` (its legacy decoder, which the fast path
 * agrees with), not strict RFC 4648 §4: each UTF-16 unit is read by its low byte; characters
 * outside both alphabets (§4 and the URL-safe §5 `-_`) are skipped, whitespace included; the
 * first `=` (§3.2 padding) ends the data, whatever follows; a final group of 2 or 3 characters
 * yields 1 or 2 bytes, a lone final character none. The output is standard §4 base64, padded;
 * or, for a blob written in the URL-safe alphabet (§5: `-` or `_` and neither `+` nor `/` in its
 * first piece), §5 base64url, padded only if the blob was. Why read it at all: MCP says base64,
 * but the whole path decodes with Buffer, which takes both alphabets, so a text file sent as
 * base64url was scanned there and went through the chunk path as characters. Why keep its
 * alphabet: a blob with nothing to mask then comes out as it came, to the letter.
 *
 * Text or binary, by the bytes only, as they come: a NUL byte, bytes that are not UTF-8 (WHATWG
 * Encoding's UTF-8 decoder, fatal; the BOM kept, as Buffer keeps it), or a decoded U+FFFD
 * (decodeTextBlob reads any U+FFFD as a decoding error) make the blob binary from there on. Once
 * binary, nothing more is scanned or masked: every byte not yet released (the text the window
 * held back included) goes out as it came, so a binary blob is forwarded byte for byte; masks
 * already sent stay (they are gone, and the text they masked was text). Real binary content
 * (images, archives) fails these tests within its first bytes.
 *
 * Differences from the whole path, each towards scanning more, never less:
 * - no label: a `mimeType` is not trusted here. In a stream it is known only if it came before
 *   the blob, and a hostile upstream can repeat the member or the whole container (clients keep
 *   the last copy; the chunk path does not check duplicates below the top level): a label
 *   "image/png" that let a `.env` file through unscanned is the bypass this avoids;
 * - no control-character ratio: the whole path also calls text with > 1% control characters
 *   binary; decided part-way, the ratio let a log with a coloured banner first turn binary
 *   before the key that followed it. Here such text is scanned (and masked if need be);
 * - findings are scanChunk's (window, dedup), as for any oversized string leaf, not scanText's.
 *   Masks of overlapping findings are merged per released slice (patchString), as dlp.ts
 *   onChunk does; a block reported in several steps (a long key body) gets one mask per step
 *   where the whole path writes one.
 */
import type { Finding, ScanOptions } from '../detectors/index.ts';
import { INITIAL_STREAM_STATE, scanChunk, type StreamState } from '../detectors/stream-window.ts';
import { patchString } from '../pipeline/patch.ts';
import { base64AlphabetOf, type Base64Alphabet } from './dlp-binary.ts';


/** Value of each byte in base64 (RFC 4648 §4 and §5 alphabets together); 255: skipped. */
const SEXTET = new Uint8Array(256).fill(255);
[...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].forEach((c, i) => (SEXTET[c.charCodeAt(0)] = i));
SEXTET[0x2d] = 62; // '-'
SEXTET[0x5f] = 63; // '_'
const PAD = 0x3d; // '='

// fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM: a BOM stays in the text
// (and so in the bytes re-encoded), as Buffer's toString keeps it.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const EMPTY = new Uint8Array(0);

/** Where an incomplete UTF-8 sequence at the end of `b` starts (`b.length` if none). */
function completeUpTo(b: Uint8Array): number {
  for (let j = b.length - 1; j >= Math.max(0, b.length - 3); j--) {
    const c = b[j]!;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: look for its lead
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return b.length - j < need ? j : b.length;
  }
  return b.length; // no lead within 3 bytes: invalid whatever follows, the decoder says so
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.length === 0 ? b : b.length === 0 ? a : Buffer.concat([a, b]);
}

export interface BlobStep {
  /** Base64 to forward now (all emits together: the blob's new value). */
  readonly emit: string;
  /** New findings, offsets in the decoded text (UTF-16, from the start of the blob). */
  readonly findings: Finding[];
  /** The text each finding matched, for its keyed fingerprint (never recorded as such). */
  readonly values: string[];
  /** The blob is binary (from this step on, bytes pass unchanged). */
  readonly binary: boolean;
}

export class BlobTextStream {
  private readonly scan: ScanOptions;
  private readonly maskOf: (f: Finding) => string | undefined;
  // Base64 in: the sextets of an incomplete group, and whether `=` ended the data.
  private group = 0;
  private groupLen = 0;
  private padded = false;
  // Text: bytes of an incomplete UTF-8 sequence, and the scan.
  private utf8Tail: Uint8Array = EMPTY;
  private state: StreamState = INITIAL_STREAM_STATE;
  /** A high surrogate the window released without its low half (sent with the next text). */
  private highSurrogate = '';
  private isBinary = false;
  // Base64 out: released bytes not yet a whole 3-byte group.
  private outTail: Uint8Array = EMPTY;
  private ended = false;
  /** The output alphabet: the input's (see the file comment). */
  private readonly alphabet: Base64Alphabet;

  constructor(scan: ScanOptions, maskOf: (f: Finding) => string | undefined, alphabet: Base64Alphabet = 'base64') {
    this.scan = scan;
    this.maskOf = maskOf;
    this.alphabet = alphabet;
  }

  /** Characters and bytes held: bounded by the window, whatever the blob's size. */
  get retained(): number {
    return this.groupLen + this.utf8Tail.length + this.state.carry.length + this.highSurrogate.length + this.outTail.length;
  }

  push(piece: string, end: boolean): BlobStep {
    if (this.ended) throw new Error('BlobTextStream: push after end');
    this.ended = end;
    const bytes = this.decode(piece, end);
    const out: Uint8Array[] = [];
    const findings: Finding[] = [];
    const values: string[] = [];
    if (this.isBinary) out.push(bytes);
    else this.text(bytes, end, out, findings, values);
    return { emit: this.encode(out, end), findings, values, binary: this.isBinary };
  }

  /** Bytes of `piece`, as Buffer.from(whole, 'base64') decodes them (see the file comment). */
  private decode(piece: string, end: boolean): Uint8Array {
    if (this.padded) return EMPTY;
    const out = new Uint8Array(Math.floor(((this.groupLen + piece.length) * 3) / 4) + 2);
    let k = 0;
    let { group, groupLen } = this;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i) & 0xff;
      if (c === PAD) {
        this.padded = true;
        break;
      }
      const v = SEXTET[c]!;
      if (v === 255) continue;
      group = (group << 6) | v;
      if (++groupLen === 4) {
        out[k++] = group >>> 16;
        out[k++] = (group >>> 8) & 0xff;
        out[k++] = group & 0xff;
        group = groupLen = 0;
      }
    }
    if (this.padded || end) {
      // A short final group: its whole bytes (2 sextets → 1 byte, 3 → 2), extra bits dropped.
      if (groupLen === 2) out[k++] = (group >>> 4) & 0xff;
      if (groupLen === 3) {
        out[k++] = (group >>> 10) & 0xff;
        out[k++] = (group >>> 2) & 0xff;
      }
      group = groupLen = 0;
    }
    this.group = group;
    this.groupLen = groupLen;
    return out.subarray(0, k);
  }

  /** Decodes, judges and scans `bytes`; pushes the released bytes (masks in) onto `out`. */
  private text(bytes: Uint8Array, end: boolean, out: Uint8Array[], findings: Finding[], values: string[]): void {
    const all = concat(this.utf8Tail, bytes);
    if (bytes.includes(0)) return this.toBinary(all, out);
    // At the end an incomplete sequence is decoded too, so the fatal decoder rejects it.
    const cut = end ? all.length : completeUpTo(all);
    let s: string;
    try {
      s = UTF8.decode(all.subarray(0, cut));
    } catch {
      return this.toBinary(all, out);
    }
    if (s.includes('\uFFFD')) return this.toBinary(all, out);
    this.utf8Tail = Uint8Array.from(all.subarray(cut)); // a copy: `all` may be a whole piece
    const chunk = s;
    const prev = this.state;
    const step = scanChunk(prev, chunk, end, this.scan);
    this.state = step.state;
    findings.push(...step.findings);
    // The scan saw the carry (from carryStart) and this chunk: each match lies there.
    const window = prev.carry + chunk;
    for (const f of step.findings) values.push(window.slice(f.start - prev.carryStart, f.end - prev.carryStart));
    // As dlp.ts onChunk: the chunk sits after the carry; the slice released now starts at the
    // previous `released`, and masks are clipped to it (patchString merges overlaps).
    const from = prev.released;
    const emitted = (prev.carry.slice(from - prev.carryStart) + chunk).slice(0, step.released - from);
    const masks: Array<{ start: number; end: number; replacement: string }> = [];
    for (const f of step.findings) {
      const mask = this.maskOf(f);
      if (mask !== undefined) masks.push({ start: Math.max(0, f.start - from), end: Math.min(emitted.length, f.end - from), replacement: mask });
    }
    let released = this.highSurrogate + patchString(emitted, masks);
    this.highSurrogate = '';
    // A lone high surrogate would encode as U+FFFD: it waits for its low half.
    const last = released.charCodeAt(released.length - 1);
    if (!end && last >= 0xd800 && last <= 0xdbff) {
      this.highSurrogate = released.slice(-1);
      released = released.slice(0, -1);
    }
    out.push(Buffer.from(released, 'utf8'));
  }

  /** From here on binary: all unreleased text and `rest` go out as the original bytes. */
  private toBinary(rest: Uint8Array, out: Uint8Array[]): void {
    const held = this.highSurrogate + this.state.carry.slice(this.state.released - this.state.carryStart);
    // Text came from valid UTF-8 (fatal decode, BOM kept): encoding it again gives its bytes back.
    out.push(Buffer.from(held, 'utf8'), rest);
    this.isBinary = true;
    this.state = INITIAL_STREAM_STATE;
    this.highSurrogate = '';
    this.utf8Tail = EMPTY;
  }

  /** Base64 of whole 3-byte groups, in the input's alphabet and padding at the end; the rest waits. */
  private encode(out: Uint8Array[], end: boolean): string {
    const all = Buffer.concat([this.outTail, ...out]);
    const n = end ? all.length : all.length - (all.length % 3);
    this.outTail = Uint8Array.from(all.subarray(n)); // a copy, not a view on the piece
    const text = all.subarray(0, n).toString(this.alphabet);
    // Buffer writes base64url unpadded (RFC 4648 §5 allows it); a padded input gets its `=` back.
    return this.alphabet === 'base64url' && end && this.padded && text.length % 4 !== 0 ? text + '='.repeat(4 - (text.length % 4)) : text;
  }
}

/** Base64 as encoders write it (RFC 4648 §4, or §5's URL-safe alphabet), wrapped in lines or not. */
const BASE64_TEXT = /^[A-Za-z0-9+/_\-\r\n]*={0,2}[\r\n]*$/;

/**
 * Does a `blob` leaf read as base64, judged on its first piece (up to the rewriter's 16 K
 * characters)? Only then is it decoded, and re-encoded: a string that merely sits under a `blob`
 * name (a tool's own structured data) would come out changed: decoded and re-encoded, "hello"
 * becomes "hell", "hello world" "helloworlQ==". A whole leaf in that piece must be canonical to
 * the letter (line breaks aside: length a multiple of 4, padding only at the end; URL-safe
 * base64 may also come unpadded, and must then read back the same).
 */
export function readsAsBase64(firstPiece: string, wholeLeaf: boolean): boolean {
  if (!BASE64_TEXT.test(firstPiece)) return false;
  // Both alphabets at once is no encoder's output ("/srv/my_app/data"): re-encoded in one of
  // them, such a string would come out changed.
  if (/[-_]/.test(firstPiece) && /[+/]/.test(firstPiece)) return false;
  if (!wholeLeaf) return true;
  const flat = firstPiece.replace(/[\r\n]/g, '');
  if (base64AlphabetOf(flat) === 'base64') return flat.length % 4 === 0;
  // §5 may leave the padding out (§3.2): then the last group is 2 or 3 characters, and comes
  // back the same only if its spare bits are zero.
  const unpadded = flat.replace(/=+$/, '');
  if (unpadded.length < flat.length && flat.length % 4 !== 0) return false;
  return Buffer.from(unpadded, 'base64url').toString('base64url') === unpadded;
}

/**
 * The blobs of one oversized message being read (dlp.ts onChunk): per `blob` leaf, a text stream
 * made on its first piece and dropped after its last (a repeated container starts afresh), or
 * 'plain' when that piece was no base64 (the leaf is then scanned as any string is).
 */
export class ChunkBlobs {
  readonly #blobs = new Map<string, BlobTextStream | 'plain'>();

  blob(pointer: string, text: string, end: boolean, make: (alphabet: Base64Alphabet) => BlobTextStream): BlobTextStream | 'plain' {
    let s = this.#blobs.get(pointer);
    if (s === undefined) this.#blobs.set(pointer, (s = readsAsBase64(text, end) ? make(base64AlphabetOf(text)) : 'plain'));
    if (end) this.#blobs.delete(pointer);
    return s;
  }
}
