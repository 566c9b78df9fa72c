/**
 * Streaming JSON rewriter for the chunk path: a message too large to parse whole is fed through
 * chunk by chunk, re-emitted as compact JSON, and every string *value* is handed to `onString`
 * in bounded pieces so an inspector can rewrite (redact, hold back) text in flight; with the
 * `keys` option every object key too, whole (a secret can travel as a key).
 *
 * Grammar: exactly one JSON text per RFC 8259 §2 (one value, insignificant whitespace around
 * tokens); anything else is a JsonStreamError with the byte offset.
 *
 * Memory: whatever the input size, the rewriter keeps at most one piece of decoded text
 * (maxStringPiece UTF-16 units), one key (maxKeyBytes), a ≤ 4-byte UTF-8 carry and a stack of
 * maxDepth containers (with `keys`, plus the new names of keys replaced in open objects); each
 * push returns the output it produced.
 *
 * Output: a piece the inspector leaves unchanged is forwarded as its original input bytes when
 * they are all in the current chunk and valid UTF-8 (validated JSON string content, equal in
 * value); otherwise the text is escaped exactly as JSON.stringify escapes it.
 *
 * Invalid UTF-8 inside strings decodes to U+FFFD per the WHATWG Encoding Standard, exactly as the
 * whole-message path (UTF-8 decode + JSON.parse) does, so both paths see the same text.
 */

import { escapePointerSegment, keyPointer } from './json-pointer.ts';
import {
  BYTES,
  Output,
  decode,
  hexValue,
  parseQuoted,
  parseQuotedText,
  sequenceLength,
  writeJsonText,
} from './json-text.ts';

// Module-local copies for the byte loops below (see BYTES for why).
const { QUOTE, BSLASH, STOP, ESCAPES } = BYTES;

// The JSON Pointer helpers live in json-pointer.ts; re-exported: this module is the public entry point.
export { collectStringLeaves, escapePointerSegment, pointerSegments } from './json-pointer.ts';

// The rewriter's public shapes and its error: json-stream-types.ts.
export { JsonStreamError, type ChunkDecision, type JsonStreamErrorCode, type JsonStreamOptions, type NumberToken, type StringChunk } from './json-stream-types.ts';
import { checkDecision, isThenable, JsonStreamError, type ChunkDecision, type JsonStreamErrorCode, type JsonStreamOptions, type NumberToken, type StringChunk } from './json-stream-types.ts';

// ---------------------------------------------------------------------------------------------
// The rewriter.

// Parser states. Structural states expect the named token; token states are inside one.
const TOP = 0; // before the document's value
const ARR_FIRST = 1; // after "[": value or "]"
const ARR_NEXT = 2; // after an element: "," or "]"
const ARR_VALUE = 3; // after ",": value
const OBJ_FIRST = 4; // after "{": key or "}"
const OBJ_KEY = 5; // after ",": key
const OBJ_COLON = 6; // after a key: ":"
const OBJ_VALUE = 7; // after ":": value
const OBJ_NEXT = 8; // after a member: "," or "}"
const DONE = 9; // after the document's value: whitespace only
const STRING = 10; // inside a string value
const KEY = 11; // inside a key
const NUMBER = 12;
const LITERAL = 13;

// Number DFA (RFC 8259 §6). Accepting states: N_ZERO, N_INT, N_FRAC, N_EXP.
const N_SIGN = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_E = 5;
const N_ESIGN = 6;
const N_EXP = 7;

/** Key bytes: 1 = STOP, 2 = needs pointer escaping ("~", "/"), 4 = not ASCII. */
const KEY_CLASS = new Uint8Array(256);
KEY_CLASS.set(STOP);
KEY_CLASS[0x7e] = 2;
KEY_CLASS[0x2f] = 2;
KEY_CLASS.fill(4, 0x80);

/** Size of the window of a chunk decoded at once as Latin-1 to slice short ASCII strings from. */
const ASCII_WINDOW = 65536;

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

interface Container {
  array: boolean;
  /** Pointer of the container itself. */
  pointer: string;
  /** Arrays: index of the next element. */
  index: number;
  /** Objects: escaped pointer segment of the current member's key. */
  key: string;
  /** Objects, with `keys`: the names replaced keys took, so two never end up alike. */
  renamed?: Set<string>;
}

export class JsonStreamRewriter {
  private readonly onString: (chunk: StringChunk) => ChunkDecision;
  private readonly onNumber: ((token: NumberToken) => ChunkDecision) | undefined;
  private readonly keys: boolean;
  private readonly maxPiece: number;
  private readonly maxDepth: number;
  private readonly maxKeyBytes: number;
  private readonly maxNumberBytes: number;

  private state = TOP;
  private readonly stack: Container[] = [];
  /** Input bytes consumed before the current chunk (for error offsets). */
  private consumed = 0;
  private readonly out = new Output();
  private failure: unknown = undefined;
  private ended = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set when onString answered with a promise: the parse loop awaits it before going on. */
  private waiting: Promise<void> | undefined = undefined;

  /** A Latin-1 decoding of chunk[asciiFrom, asciiFrom + ascii.length), for short ASCII strings. */
  private ascii = '';
  private asciiFrom = 0;

  // Current string value.
  private pointer = '';
  private pending = '';
  private strOffset = 0;
  /** Index in the current chunk where the current piece's bytes start; -1: not in this chunk. */
  private pieceStart = -1;
  /** Index in the current chunk of the backslash of the escape being read; -1: not in it. */
  private escStart = -1;
  /** Escape state: 0 none, 1 after "\", 2..5 reading the hex digits of "\uXXXX". */
  private esc = 0;
  private hex = 0;
  private readonly carry = new Uint8Array(4);
  private carryLen = 0;

  // Current key (slow path, when it spans chunks).
  private keyBuf: Uint8Array | undefined = undefined;
  private keyLen = 0;
  private keyEscaped = false;

  // Current number / literal.
  private numState = 0;
  private numLen = 0;
  /** With onNumber: the current number's pointer and its text so far (it may span chunks). */
  private numPointer = '';
  private numText = '';
  private literal = '';
  private litPos = 0;

  constructor(opts: JsonStreamOptions) {
    if (typeof opts?.onString !== 'function') throw new TypeError('JsonStreamRewriter: onString must be a function');
    this.onString = opts.onString;
    if (opts.onNumber !== undefined && typeof opts.onNumber !== 'function') throw new TypeError('JsonStreamRewriter: onNumber must be a function');
    this.onNumber = opts.onNumber;
    this.keys = opts.keys === true;
    this.maxPiece = intOption('maxStringPiece', opts.maxStringPiece, 16384, 4);
    this.maxDepth = intOption('maxDepth', opts.maxDepth, 64, 0);
    this.maxKeyBytes = intOption('maxKeyBytes', opts.maxKeyBytes, 4096, 0);
    this.maxNumberBytes = intOption('maxNumberBytes', opts.maxNumberBytes, 256, 1);
  }

  /** Feed raw UTF-8 bytes; resolves to the output bytes to forward now. Calls are serialised. */
  push(chunk: Uint8Array): Promise<Uint8Array> {
    if (!(chunk instanceof Uint8Array)) return Promise.reject(new TypeError('JsonStreamRewriter: push() takes a Uint8Array'));
    return this.enqueue(chunk, false);
  }

  /** End of input: rejects with JsonStreamError if the document is incomplete; else the final bytes. */
  end(): Promise<Uint8Array> {
    return this.enqueue(undefined, true);
  }

  private enqueue(chunk: Uint8Array | undefined, last: boolean): Promise<Uint8Array> {
    const run = this.queue.then(() => this.process(chunk, last));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async process(chunk: Uint8Array | undefined, last: boolean): Promise<Uint8Array> {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error('JsonStreamRewriter: used after end()');
    if (last) this.ended = true;
    try {
      this.out.reset((chunk?.length ?? 0) + 64);
      if (chunk !== undefined && chunk.length > 0) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        const n = buf.length;
        let i = 0;
        // Indexes into the previous chunk mean nothing now.
        this.pieceStart = this.pending.length === 0 && this.esc === 0 ? 0 : -1;
        this.ascii = '';
        this.escStart = -1;
        while (i < n) {
          i = this.step(buf, i, n);
          const w = this.waiting;
          if (w !== undefined) {
            this.waiting = undefined;
            await w;
          }
        }
        if (this.state === STRING) {
          this.chunkEnd(buf, n);
          const w = this.waiting;
          if (w !== undefined) {
            this.waiting = undefined;
            await w;
          }
        }
        this.consumed += n;
        this.ascii = '';
      }
      if (last) {
        this.endNumber();
        const w = this.waiting;
        if (w !== undefined) {
          this.waiting = undefined;
          await w;
        }
        this.finish();
      }
      return this.out.take();
    } catch (err) {
      this.failure = err;
      this.out.take();
      throw err;
    }
  }

  private fail(code: JsonStreamErrorCode, at: number, message: string): never {
    throw new JsonStreamError(code, this.consumed + at, message);
  }

  /** End of input inside a number (a top-level number): it ends here. */
  private endNumber(): void {
    if (this.state !== NUMBER) return;
    if (this.numState !== N_ZERO && this.numState !== N_INT && this.numState !== N_FRAC && this.numState !== N_EXP) {
      this.fail('json_syntax', 0, 'unexpected end of input in a number');
    }
    this.numberDone();
  }

  private finish(): void {
    if (this.state !== DONE) this.fail('json_syntax', 0, 'unexpected end of input');
  }

  /** A number token ended: handed out (`onNumber`) and written, or already copied through. */
  private numberDone(): void {
    this.afterValue();
    if (this.onNumber === undefined) return;
    const text = this.numText;
    this.numText = '';
    const r = this.onNumber({ pointer: this.numPointer, text });
    if (r === undefined || typeof r === 'string') this.writeNumber(text, r);
    else if (isThenable(r)) this.waiting = Promise.resolve(r).then((v) => this.writeNumber(text, checkDecision(v)));
    else checkDecision(r);
  }

  private writeNumber(text: string, answer: string | undefined): void {
    const out = this.out;
    if (answer === undefined || answer === text) {
      out.reserve(text.length);
      for (let k = 0; k < text.length; k++) out.buf[out.len++] = text.charCodeAt(k);
      return;
    }
    out.byte(QUOTE);
    writeJsonText(out, answer);
    out.byte(QUOTE);
  }

  private afterValue(): void {
    const d = this.stack.length;
    this.state = d === 0 ? DONE : this.stack[d - 1]!.array ? ARR_NEXT : OBJ_NEXT;
  }

  /** Pointer of the value starting now; advances the enclosing array's index. */
  private childPointer(): string {
    const d = this.stack.length;
    if (d === 0) return '';
    const top = this.stack[d - 1]!;
    return top.array ? `${top.pointer}/${top.index++}` : `${top.pointer}/${top.key}`;
  }

  /** Runs the state machine over buf[i, n) until the chunk is consumed or a decision is awaited. */
  private step(buf: Buffer, i: number, n: number): number {
    while (i < n) {
      const state = this.state;
      if (state === STRING) {
        i = this.stringBody(buf, i, n);
        if (this.waiting !== undefined) return i;
        continue;
      }
      if (state === KEY) {
        i = this.keyBody(buf, i, n);
        if (this.waiting !== undefined) return i;
        continue;
      }
      if (state === NUMBER) {
        i = this.numberBody(buf, i, n);
        if (this.waiting !== undefined) return i;
        continue;
      }
      if (state === LITERAL) {
        i = this.literalBody(buf, i, n);
        continue;
      }
      const b = buf[i]!;
      if (isWhitespace(b)) {
        i++;
        continue;
      }
      switch (state) {
        case TOP:
        case ARR_VALUE:
        case OBJ_VALUE:
          i = this.valueStart(buf, i, n);
          if (this.waiting !== undefined) return i;
          break;
        case ARR_FIRST:
          if (b === 0x5d) {
            i = this.close(i, 0x5d);
          } else {
            i = this.valueStart(buf, i, n);
            if (this.waiting !== undefined) return i;
          }
          break;
        case ARR_NEXT:
          if (b === 0x2c) {
            this.out.byte(b);
            this.state = ARR_VALUE;
            i++;
          } else if (b === 0x5d) {
            i = this.close(i, 0x5d);
          } else {
            this.fail('json_syntax', i, "expected ',' or ']'");
          }
          break;
        case OBJ_FIRST:
          if (b === 0x7d) i = this.close(i, 0x7d);
          else if (b === QUOTE) i = this.keyStart(buf, i, n);
          else this.fail('json_syntax', i, "expected a key or '}'");
          if (this.waiting !== undefined) return i;
          break;
        case OBJ_KEY:
          if (b === QUOTE) i = this.keyStart(buf, i, n);
          else this.fail('json_syntax', i, 'expected a key');
          if (this.waiting !== undefined) return i;
          break;
        case OBJ_COLON:
          if (b !== 0x3a) this.fail('json_syntax', i, "expected ':'");
          this.out.byte(b);
          this.state = OBJ_VALUE;
          i++;
          break;
        case OBJ_NEXT:
          if (b === 0x2c) {
            this.out.byte(b);
            this.state = OBJ_KEY;
            i++;
          } else if (b === 0x7d) {
            i = this.close(i, 0x7d);
          } else {
            this.fail('json_syntax', i, "expected ',' or '}'");
          }
          break;
        default: // DONE
          this.fail('json_trailing_data', i, 'data after the JSON value');
      }
    }
    return i;
  }

  private close(i: number, b: number): number {
    this.stack.pop();
    this.out.byte(b);
    this.afterValue();
    return i + 1;
  }

  private valueStart(buf: Buffer, i: number, n: number): number {
    const b = buf[i]!;
    if (b === QUOTE) return this.stringStart(buf, i, n);
    if (b === 0x7b || b === 0x5b) {
      if (this.stack.length >= this.maxDepth) this.fail('json_too_deep', i, 'nesting deeper than maxDepth');
      const pointer = this.childPointer();
      const array = b === 0x5b;
      this.stack.push({ array, pointer, index: 0, key: '' });
      this.out.byte(b);
      this.state = array ? ARR_FIRST : OBJ_FIRST;
      return i + 1;
    }
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      this.state = NUMBER;
      this.numState = b === 0x2d ? N_SIGN : b === 0x30 ? N_ZERO : N_INT;
      this.numLen = 1;
      if (this.onNumber !== undefined) {
        this.numPointer = this.childPointer();
        this.numText = b === 0x2d ? '-' : String.fromCharCode(b);
      } else {
        this.advanceIndex();
        this.out.byte(b);
      }
      return i + 1;
    }
    const literal = b === 0x74 ? 'true' : b === 0x66 ? 'false' : b === 0x6e ? 'null' : undefined;
    if (literal === undefined) this.fail('json_syntax', i, 'expected a JSON value');
    this.advanceIndex();
    this.state = LITERAL;
    this.literal = literal;
    this.litPos = 1;
    return i + 1;
  }

  private advanceIndex(): void {
    const d = this.stack.length;
    if (d > 0) {
      const top = this.stack[d - 1]!;
      if (top.array) top.index++;
    }
  }

  private literalBody(buf: Buffer, i: number, n: number): number {
    const lit = this.literal;
    while (i < n && this.litPos < lit.length) {
      if (buf[i] !== lit.charCodeAt(this.litPos)) this.fail('json_syntax', i, 'invalid literal');
      this.litPos++;
      i++;
    }
    if (this.litPos === lit.length) {
      const out = this.out;
      out.reserve(lit.length);
      for (let k = 0; k < lit.length; k++) out.buf[out.len++] = lit.charCodeAt(k);
      this.afterValue();
    }
    return i;
  }

  /**
   * Number bytes go straight to the output (on a syntax error the whole push is discarded), or,
   * with onNumber, are collected (at most maxNumberBytes) to be handed out whole at its end.
   */
  private numberBody(buf: Buffer, i: number, n: number): number {
    let s = this.numState;
    const start = i;
    for (; i < n; i++) {
      const b = buf[i]!;
      const digit = b >= 0x30 && b <= 0x39;
      let next = -1;
      switch (s) {
        case N_SIGN:
          next = b === 0x30 ? N_ZERO : digit ? N_INT : -1;
          if (next < 0) this.fail('json_syntax', i, "expected a digit after '-'");
          break;
        case N_ZERO:
        case N_INT:
        case N_FRAC:
          if (digit && s !== N_ZERO) next = s;
          else if (b === 0x2e && s !== N_FRAC) next = N_DOT;
          else if (b === 0x65 || b === 0x45) next = N_E;
          break;
        case N_DOT:
          if (!digit) this.fail('json_syntax', i, "expected a digit after '.'");
          next = N_FRAC;
          break;
        case N_E:
          next = digit ? N_EXP : b === 0x2b || b === 0x2d ? N_ESIGN : -1;
          if (next < 0) this.fail('json_syntax', i, 'expected an exponent');
          break;
        case N_ESIGN:
          if (!digit) this.fail('json_syntax', i, 'expected an exponent digit');
          next = N_EXP;
          break;
        default: // N_EXP
          if (digit) next = N_EXP;
      }
      if (next < 0) {
        // An accepting state met a byte that can't continue the number: the number ends here and
        // the byte is read again by the enclosing state.
        this.numState = s;
        if (this.onNumber === undefined) {
          this.out.bytes(buf, start, i);
          this.afterValue();
        } else {
          this.numText += buf.toString('latin1', start, i);
          this.numberDone();
        }
        return i;
      }
      if (++this.numLen > this.maxNumberBytes) this.fail('json_number_too_long', i, 'number longer than maxNumberBytes');
      s = next;
    }
    this.numState = s;
    if (this.onNumber === undefined) this.out.bytes(buf, start, n);
    else this.numText += buf.toString('latin1', start, n);
    return n;
  }

  // --- keys -----------------------------------------------------------------------------------

  private keyStart(buf: Buffer, i: number, n: number): number {
    // Fast path: the whole key lies in this chunk.
    const limit = Math.min(n, i + 2 + this.maxKeyBytes);
    let escaped = false;
    let seen = 0;
    for (let j = i + 1; j < limit; j++) {
      const b = buf[j]!;
      const c = KEY_CLASS[b]!;
      seen |= c;
      if ((c & 1) === 0) continue;
      if (b === QUOTE) {
        if (!escaped && (seen & 4) === 0) {
          // Plain ASCII: the input bytes are already the canonical encoding.
          const key = this.asciiSlice(buf, i + 1, j, n);
          if (this.keys) {
            this.setKey(key, buf, i, j + 1);
            return j + 1;
          }
          this.stack[this.stack.length - 1]!.key = (seen & 2) === 0 ? key : escapePointerSegment(key);
          this.out.bytes(buf, i, j + 1);
          this.state = OBJ_COLON;
          return j + 1;
        }
        const key = escaped ? parseQuoted(buf, i, j + 1) : decode(buf, i + 1, j);
        if (key === undefined) break; // invalid escape: let the slow path say where
        this.setKey(key);
        return j + 1;
      }
      if (b !== BSLASH) break;
      escaped = true;
      j++;
    }
    this.keyLen = 0;
    this.keyEscaped = false;
    this.esc = 0;
    this.state = KEY;
    return i + 1;
  }

  /** buf[s, e) known to be ASCII, as a string: slicing a decoded window beats a native call each. */
  private asciiSlice(buf: Buffer, s: number, e: number, n: number): string {
    if (e - s > 256) return buf.toString('latin1', s, e);
    let from = this.asciiFrom;
    if (s < from || e > from + this.ascii.length) {
      from = this.asciiFrom = s;
      this.ascii = buf.toString('latin1', s, Math.min(n, s + ASCII_WINDOW));
    }
    return this.ascii.slice(s - from, e - from);
  }

  /** A whole key read: handed out (`keys`), then written. buf[rawFrom, rawTo): its quoted bytes, if reusable. */
  private setKey(key: string, buf?: Buffer, rawFrom = -1, rawTo = -1): void {
    this.state = OBJ_COLON;
    if (!this.keys) return this.writeKey(key, undefined, buf, rawFrom, rawTo);
    const r = this.onString({ pointer: keyPointer(this.stack[this.stack.length - 1]!.pointer), text: key, offset: 0, end: true, isKey: true });
    if (r === undefined || typeof r === 'string') this.writeKey(key, r, buf, rawFrom, rawTo);
    else if (isThenable(r)) this.waiting = Promise.resolve(r).then((v) => this.writeKey(key, checkDecision(v), buf, rawFrom, rawTo));
    else checkDecision(r);
  }

  private writeKey(key: string, answer: string | undefined, buf: Buffer | undefined, rawFrom: number, rawTo: number): void {
    const top = this.stack[this.stack.length - 1]!;
    let name = key;
    if (answer !== undefined && answer !== key) {
      // Two keys masked alike would be duplicates, and a client keeps only one of them.
      const taken = (top.renamed ??= new Set());
      name = answer;
      for (let k = 2; taken.has(name); k++) name = `${answer} #${k}`;
      taken.add(name);
    }
    // Values below a renamed key are named by its new name: the old one may be the secret.
    top.key = escapePointerSegment(name);
    if (name === key && buf !== undefined && rawFrom >= 0) {
      this.out.bytes(buf, rawFrom, rawTo);
      return;
    }
    this.out.byte(QUOTE);
    writeJsonText(this.out, name);
    this.out.byte(QUOTE);
  }

  private keyBody(buf: Buffer, i: number, n: number): number {
    this.keyBuf ??= new Uint8Array(this.maxKeyBytes);
    const kb = this.keyBuf;
    for (; i < n; i++) {
      const b = buf[i]!;
      if (this.esc === 0) {
        if (b === QUOTE) {
          let key: string | undefined = decode(kb, 0, this.keyLen);
          if (this.keyEscaped) key = parseQuotedText(`"${key}"`);
          if (key === undefined) this.fail('json_syntax', i, 'invalid key'); // unreachable: escapes were checked
          this.setKey(key);
          return i + 1;
        }
        if (b < 0x20) this.fail('json_syntax', i, 'control character in a string');
        if (b === BSLASH) {
          this.esc = 1;
          this.keyEscaped = true;
        }
      } else if (this.esc === 1) {
        if (b === 0x75) this.esc = 2;
        else if (ESCAPES[b]! < 0) this.fail('json_syntax', i, 'invalid escape');
        else this.esc = 0;
      } else {
        if (hexValue(b) < 0) this.fail('json_syntax', i, 'invalid \\u escape');
        this.esc = this.esc === 5 ? 0 : this.esc + 1;
      }
      if (this.keyLen >= this.maxKeyBytes) this.fail('json_key_too_long', i, 'key longer than maxKeyBytes');
      kb[this.keyLen++] = b;
    }
    return i;
  }

  // --- string values --------------------------------------------------------------------------
  //
  // A piece is always a run of whole input items (UTF-8 sequences, escapes), never cut inside
  // one, so it corresponds to a byte range of the input. When the answer is "unchanged" and that
  // range is valid UTF-8 in this chunk, the original bytes are forwarded as they are (they are
  // already valid JSON string content); otherwise the text is re-escaped.

  private stringStart(buf: Buffer, i: number, n: number): number {
    this.pointer = this.childPointer();
    this.strOffset = 0;
    // Fast path: the whole string lies in this chunk and fits one piece (bytes ≥ UTF-16 units).
    const limit = Math.min(n, i + 2 + this.maxPiece);
    let escaped = false;
    let high = 0;
    for (let j = i + 1; j < limit; j++) {
      const b = buf[j]!;
      high |= b;
      if (STOP[b] === 0) continue;
      if (b === QUOTE) {
        const text = escaped
          ? parseQuoted(buf, i, j + 1)
          : high < 0x80
            ? this.asciiSlice(buf, i + 1, j, n)
            : decode(buf, i + 1, j);
        if (text === undefined) break;
        this.afterValue();
        this.emit(text, true, true, buf, i + 1, j);
        return j + 1;
      }
      if (b !== BSLASH) break;
      escaped = true;
      j++;
    }
    this.out.byte(QUOTE);
    this.pending = '';
    this.pieceStart = i + 1;
    this.esc = 0;
    this.carryLen = 0;
    this.state = STRING;
    return i + 1;
  }

  /**
   * Inside a string value. Returns where it stopped: the chunk end, after the closing quote, or
   * (with `waiting` set) at the first byte not yet consumed, which is read again after the wait.
   */
  private stringBody(buf: Buffer, i: number, n: number): number {
    while (i < n) {
      if (this.esc === 0 && this.carryLen === 0) {
        i = this.span(buf, i, n);
        if (i === n) return n;
      }
      if (this.esc !== 0) {
        const b = buf[i]!;
        let unit: number;
        if (this.esc === 1) {
          if (b === 0x75) {
            this.esc = 2;
            this.hex = 0;
            i++;
            continue;
          }
          unit = ESCAPES[b]!;
          if (unit < 0) this.fail('json_syntax', i, 'invalid escape');
        } else {
          const h = hexValue(b);
          if (h < 0) this.fail('json_syntax', i, 'invalid \\u escape');
          if (this.esc < 5) {
            this.hex = this.hex * 16 + h;
            this.esc++;
            i++;
            continue;
          }
          unit = this.hex * 16 + h;
        }
        // A high surrogate reserves room for its low half, so an escaped pair is never split.
        if (this.pending.length + (unit >= 0xd800 && unit <= 0xdbff ? 2 : 1) > this.maxPiece) {
          this.flush(buf, this.escStart);
          if (this.waiting !== undefined) return i;
        }
        this.pending += String.fromCharCode(unit);
        this.esc = 0;
        i++;
        continue;
      }
      let j = i;
      while (j < n && STOP[buf[j]!] === 0) j++;
      if (j > i || this.carryLen > 0) {
        i = this.raw(buf, i, j, j === n);
        if (this.waiting !== undefined) return i;
      }
      if (j === n) return n;
      const b = buf[j]!;
      if (b === BSLASH) {
        this.esc = 1;
        this.escStart = j;
        i = j + 1;
        continue;
      }
      if (b !== QUOTE) this.fail('json_syntax', j, 'control character in a string');
      const text = this.pending;
      this.pending = '';
      this.afterValue();
      this.emit(text, true, false, buf, this.pieceStart, j);
      return j + 1;
    }
    return i;
  }

  /**
   * Fast path: appends to `pending` the longest run of whole items (UTF-8 sequences, escapes)
   * from buf[i] that fits the room left in the piece, decoded in one go (escapes by JSON.parse).
   * Anything it can't take (end of string, a cut item, invalid input) is left to the item-by-item
   * path. Returns the new position.
   */
  private span(buf: Buffer, i: number, n: number): number {
    const lim = Math.min(n, i + this.maxPiece - this.pending.length);
    let j = i;
    let escaped = false;
    while (j < lim) {
      const b = buf[j]!;
      if (STOP[b] === 0) {
        j++;
        continue;
      }
      if (b !== BSLASH) break;
      // An escape goes in whole. (A pair of \u escapes can't be split here: each escape leaves 5
      // units of room unused, so the low half always fits the piece.)
      const len = buf[j + 1] === 0x75 ? 6 : 2;
      if (j + len > lim) break;
      escaped = true;
      j += len;
    }
    if (j === lim && j > i) {
      // Cut at the room limit or the chunk end: leave a sequence cut in the middle for later.
      const lo = Math.max(i, j - 3);
      let t = j - 1;
      while (t >= lo && (buf[t]! & 0xc0) === 0x80) t--;
      if (t >= lo && buf[t]! >= 0xc0 && j - t < sequenceLength(buf[t]!)) j = t;
    }
    if (j === i) return i;
    let text: string | undefined = decode(buf, i, j);
    if (escaped) {
      text = parseQuotedText(`"${text}"`);
      if (text === undefined) return i; // the item-by-item path reports where
    }
    this.pending += text;
    return j;
  }

  /**
   * Decodes raw bytes buf[s, e) of a string value into `pending`. It cuts only between UTF-8
   * sequences, so the text equals decoding the whole string at once, and a sequence split by the
   * chunk end waits in `carry`. UTF-8 never yields more UTF-16 units than bytes, so taking at
   * most `room` bytes keeps `pending` within maxStringPiece. Returns e, or where it stopped if a
   * decision is awaited.
   */
  private raw(buf: Buffer, s: number, e: number, atChunkEnd: boolean): number {
    const max = this.maxPiece;
    if (this.carryLen > 0) {
      const need = sequenceLength(this.carry[0]!);
      while (this.carryLen < need && s < e && (buf[s]! & 0xc0) === 0x80) this.carry[this.carryLen++] = buf[s++]!;
      if (this.carryLen < need && s === e && atChunkEnd) return s;
      const text = decode(this.carry, 0, this.carryLen);
      if (this.pending.length + text.length > max) {
        this.flush(buf, -1);
        if (this.waiting !== undefined) return s;
      }
      this.pending += text;
      this.carryLen = 0;
      this.pieceStart = -1; // part of this piece's bytes came with the previous chunk
    }
    while (s < e) {
      let k = s + (max - this.pending.length);
      let stop: number;
      if (k < e) {
        // Back off to the start of a sequence cut in the middle. (Past 3 continuation bytes no
        // sequence can be open, so that position is a boundary too.)
        for (let x = 0; x < 3 && k > s && (buf[k]! & 0xc0) === 0x80; x++) k--;
        if (k === s) {
          // Not even one sequence fits (the piece is non-empty: maxStringPiece ≥ 4 fits any).
          this.flush(buf, s);
          if (this.waiting !== undefined) return s;
          continue;
        }
        stop = k;
      } else {
        k = stop = e;
        if (atChunkEnd) {
          const lo = Math.max(s, e - 3);
          let t = e - 1;
          while (t >= lo && (buf[t]! & 0xc0) === 0x80) t--;
          if (t >= lo && buf[t]! >= 0xc0 && e - t < sequenceLength(buf[t]!)) {
            this.carry.set(buf.subarray(t, e));
            this.carryLen = e - t;
            stop = t;
          }
        }
      }
      if (stop > s) this.pending += decode(buf, s, stop);
      s = k;
    }
    return s;
  }

  /**
   * At the end of a chunk, hands out what is pending if it is a sizeable piece: its bytes are
   * still at hand to forward verbatim, and the text reaches inspectors without waiting for more
   * input. Small remainders wait, so a trickle of tiny chunks doesn't become a trickle of tiny
   * pieces. Never ends a piece on a high surrogate (its low half may come next).
   */
  private chunkEnd(buf: Buffer, n: number): void {
    const p = this.pending;
    if (p.length < this.maxPiece >> 2 || p.length === 0) return;
    const last = p.charCodeAt(p.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) return;
    this.flush(buf, this.esc !== 0 ? this.escStart : n - this.carryLen);
  }

  /** Hands out `pending` as a non-final piece whose bytes end at `rawEnd` (-1: not in this chunk). */
  private flush(buf: Buffer, rawEnd: number): void {
    const text = this.pending;
    this.pending = '';
    this.emit(text, false, false, buf, this.pieceStart, rawEnd);
    this.pieceStart = rawEnd;
  }

  /**
   * Calls onString and writes its answer. `whole`: the entire string (write both quotes).
   * buf[rawFrom, rawTo) are the piece's input bytes, rawFrom -1 if not all in this chunk.
   */
  private emit(text: string, end: boolean, whole: boolean, buf: Buffer, rawFrom: number, rawTo: number): void {
    const offset = this.strOffset;
    this.strOffset += text.length;
    const r = this.onString({ pointer: this.pointer, text, offset, end, isKey: false });
    if (r === undefined || typeof r === 'string') {
      this.writePiece(r, text, end, whole, buf, rawFrom, rawTo);
    } else if (isThenable(r)) {
      this.waiting = Promise.resolve(r).then((v) => {
        this.writePiece(checkDecision(v), text, end, whole, buf, rawFrom, rawTo);
      });
    } else {
      checkDecision(r);
    }
  }

  private writePiece(
    answer: string | undefined,
    text: string,
    end: boolean,
    whole: boolean,
    buf: Buffer,
    rawFrom: number,
    rawTo: number,
  ): void {
    const out = this.out;
    if (whole) out.byte(QUOTE);
    // Unchanged text whose input bytes are valid UTF-8 (invalid bytes would have decoded to
    // U+FFFD) is forwarded verbatim: its escapes were validated and keep the same value.
    if ((answer === undefined || answer === text) && rawFrom >= 0 && text.indexOf('\uFFFD') === -1) {
      out.bytes(buf, rawFrom, rawTo);
    } else {
      writeJsonText(out, answer ?? text);
    }
    if (end) out.byte(QUOTE);
  }
}

function intOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`JsonStreamRewriter: ${name} must be an integer >= ${min}`);
  }
  return value;
}
