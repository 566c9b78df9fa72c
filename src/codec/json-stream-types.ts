/**
 * What the streaming JSON rewriter (json-stream.ts) hands to its caller and takes from it: the
 * string pieces, the caller's decision on each, the options bounding memory, and the error for
 * invalid or over-limit input.
 */

export interface StringChunk {
  /**
   * RFC 6901 JSON Pointer of the string leaf ("" for a top-level string); for a key (`isKey`),
   * its object's pointer plus `/~key` (json-pointer.ts KEY_SEGMENT), never the key itself.
   */
  pointer: string;
  /** Decoded text of this piece; a surrogate pair is never split across pieces. */
  text: string;
  /** Offset of `text` (UTF-16 code units) within the whole decoded string. */
  offset: number;
  /** Last piece of this string leaf (an empty string yields exactly one piece, with end: true). */
  end: boolean;
  /**
   * An object key (only with the `keys` option): handed out whole, as one piece with end: true
   * whatever maxStringPiece (it is bounded by maxKeyBytes). A replacement renames the member.
   */
  isKey: boolean;
}

/** undefined = emit the piece unchanged; a string = emit this text instead (any length). */
export type ChunkDecision = string | undefined | Promise<string | undefined>;

/** A JSON number token, whole (bounded by maxNumberBytes), for `onNumber`. */
export interface NumberToken {
  /** RFC 6901 JSON Pointer of the number ("" for a top-level number). */
  pointer: string;
  /** The token as it came (RFC 8259 §6 grammar, ASCII). */
  text: string;
}

export interface JsonStreamOptions {
  onString: (chunk: StringChunk) => ChunkDecision;
  /**
   * Hand each number token to the caller, whole (default: numbers are copied through as they
   * come). undefined = the number as it came; a string = that text instead, written as a JSON
   * string (a masked number becomes its mask, as on the whole-message path, pipeline/patch.ts).
   */
  onNumber?: (token: NumberToken) => ChunkDecision;
  /**
   * Hand object keys to onString too (default false: keys are re-emitted as they came). A key
   * replaced with a name another replaced key of the same object already took gets " #2", " #3"…
   * so no member is lost to a duplicate; a replacement equal to an original key of the object is
   * not detected (that would mean remembering every key).
   */
  keys?: boolean;
  /** Max decoded UTF-16 units per piece (default 16384; at least 4, so any UTF-8 sequence fits). */
  maxStringPiece?: number;
  /** Max nesting of arrays/objects (default 64). */
  maxDepth?: number;
  /** Max raw bytes between the quotes of an object key (default 4096). */
  maxKeyBytes?: number;
  /** Max bytes of a number token (default 256). */
  maxNumberBytes?: number;
}

export type JsonStreamErrorCode =
  | 'json_syntax'
  | 'json_too_deep'
  | 'json_key_too_long'
  | 'json_number_too_long'
  | 'json_trailing_data';

/** Invalid or over-limit input. The message never quotes input bytes (they may be secrets). */
export class JsonStreamError extends Error {
  readonly code: JsonStreamErrorCode;
  /** Byte offset in the input stream where the problem was detected. */
  readonly offset: number;

  constructor(code: JsonStreamErrorCode, offset: number, message: string) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonStreamError';
    this.code = code;
    this.offset = offset;
  }
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** A caller's decision on a piece, checked: a string or undefined, anything else is its bug. */
export function checkDecision(v: unknown): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  throw new TypeError('JsonStreamRewriter: onString must return a string or undefined');
}
