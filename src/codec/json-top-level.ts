/**
 * One-pass scanner of a JSON object text's top level, fed as string pieces split anywhere.
 *
 * The gateway relays an SSE event whose JSON-RPC message may be megabytes without holding it
 * whole. Before and while streaming it, it must learn which top-level members come in which order
 * (`result` / `error`: a response; `method` / `params`: a request or notification, JSON-RPC 2.0
 * §4, §5) and the raw text of a few small scalar members (`id`, `jsonrpc`, `method`) to check at
 * the end that the answer belongs to the request.
 *
 * Grammar (RFC 8259 §2, §4): `ws { ws "name" ws : ws value ws ( , ws "name" ws : ws value ws )* } ws`.
 * The top level is checked exactly: the grammar above, numbers (§6), literals (§3), and every
 * escape in every string (§7). Raw control characters (§7) are refused only in the text the
 * scanner reads one character at a time and hands out: member names and captured values; other
 * strings are skipped with indexOf. Below the top level the scanner only does what keeps it from
 * being fooled: strings with their escapes (a `"result"` or a brace inside a string is text; `\"`
 * does not end a string, `\\"` does), brackets matched by kind (`[1}` cannot end a nested value
 * early), and no character that cannot stand outside a JSON string. Nested values are not
 * otherwise validated: the gateway's full parser does that, and this scan must stay cheap.
 *
 * Memory: whatever the text size, the scanner holds one member name being read (≤ maxKeyLength),
 * one captured value being read (≤ maxCaptured), the captured values, up to 256 names, and one
 * bit per open nested container (≤ MAX_DEPTH bits). Strings it keeps are copied off the caller's
 * pieces: V8 makes a slice of a long string a view that keeps the whole piece alive, so a
 * 20-character name sliced from a 10 MB piece would otherwise hold 10 MB.
 */

import { hexValue } from './json-text.ts';

export interface TopLevelOptions {
  /** Called with each top-level member name (decoded: escapes resolved, lone surrogates as U+FFFD), in order, as soon as the name is complete. */
  onKey?: (name: string) => void;
  /** Names whose scalar values (string, number, true, false, null) are captured as raw JSON text. */
  capture?: readonly string[];
  /** Max raw length (UTF-16 units) of a captured value; a longer one is not captured (reported as 'too-long'). Default 256. */
  maxCaptured?: number;
  /** Max decoded length of one top-level member name; longer → error. Default 4096. */
  maxKeyLength?: number;
}

/** Input that is not (the start of) one JSON object text. The message never quotes the input. */
export class TopLevelError extends Error {
  /** UTF-16 offset in the whole text where the problem was detected. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'TopLevelError';
    this.offset = offset;
  }
}

/** Deepest nesting of arrays and objects below the top-level object. */
const MAX_DEPTH = 10_000;
/** Characters of a skipped string read one by one before handing the search to indexOf. */
const SHORT_SCAN = 32;
/** Names kept for `keys`; beyond, only counted (an object may have millions of members). */
const MAX_KEPT_KEYS = 256;

// States. Structural states expect the named token; the others are inside one.
const START = 0; // before the first non-whitespace character
const OTHER = 1; // the text is not an object: the rest is ignored
const OBJ_FIRST = 2; // after "{": a name or "}"
const OBJ_KEY = 3; // after ",": a name
const COLON = 4; // after a name: ":"
const VALUE = 5; // after ":": a value
const OBJ_NEXT = 6; // after a member: "," or "}"
const DONE = 7; // after the closing "}": whitespace only
const KEY = 8; // inside a member name
const STRING = 9; // inside a string value (top-level or nested)
const NUMBER = 10; // inside a top-level number
const LITERAL = 11; // inside a top-level true / false / null
const NESTED = 12; // inside a nested array or object, outside strings

// Number DFA (RFC 8259 §6): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
const N_SIGN = 0; // after "-"
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_E = 5;
const N_ESIGN = 6;
const N_EXP = 7;
const N_ACCEPT = (1 << N_ZERO) | (1 << N_INT) | (1 << N_FRAC) | (1 << N_EXP);
/** Character classes: 0 "0", 1 "1"-"9", 2 ".", 3 "e" "E", 4 "+" "-", 5 anything else. */
function numClass(c: number): number {
  return c === 0x30 ? 0 : c >= 0x31 && c <= 0x39 ? 1 : c === 0x2e ? 2 : (c | 0x20) === 0x65 ? 3 : c === 0x2b || c === 0x2d ? 4 : 5;
}
/** NUM_NEXT[state * 6 + class]: the next state, or -1: the number ends here (or is invalid, if not accepting). */
const NUM_NEXT = Int8Array.from([
  /* N_SIGN  */ N_ZERO, N_INT, -1, -1, -1, -1,
  /* N_ZERO  */ -1, -1, N_DOT, N_E, -1, -1,
  /* N_INT   */ N_INT, N_INT, N_DOT, N_E, -1, -1,
  /* N_DOT   */ N_FRAC, N_FRAC, -1, -1, -1, -1,
  /* N_FRAC  */ N_FRAC, N_FRAC, -1, N_E, -1, -1,
  /* N_E     */ N_EXP, N_EXP, -1, -1, N_ESIGN, -1,
  /* N_ESIGN */ N_EXP, N_EXP, -1, -1, -1, -1,
  /* N_EXP   */ N_EXP, N_EXP, -1, -1, -1, -1,
]);

const QUOTE = 0x22;
const BSLASH = 0x5c;

/**
 * ASCII characters that may stand outside strings inside a nested value: whitespace, `,` `:`,
 * number characters and the letters of true / false / null. Anything else (a stray `}` excepted,
 * handled as a bracket) cannot be JSON, and stopping early spares relaying garbage.
 */
const NESTED_OK = new Uint8Array(128);
for (const ch of ' \t\n\r,:0123456789-+.eEtruefalsn') NESTED_OK[ch.charCodeAt(0)] = 1;

/** 1 for the characters that may follow a backslash as a one-character escape (RFC 8259 §7). */
const ESCAPED = new Uint8Array(128);
for (const ch of '"\\/bfnrt') ESCAPED[ch.charCodeAt(0)] = 1;

/** The one-character escapes of RFC 8259 §7, by the character after the backslash → its value. */
const SIMPLE_ESCAPES: ReadonlyMap<number, string> = new Map(
  Object.entries({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }).map(([k, v]) => [k.charCodeAt(0), v]),
);

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * A copy of `s` that shares no memory with the piece it was sliced from: V8 flattens the
 * concatenation into a fresh string before slicing it (strings under 13 units are copied anyway).
 */
function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

function intOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`TopLevelScanner: ${name} must be an integer >= 0`);
  return value;
}

export class TopLevelScanner {
  private readonly onKey: ((name: string) => void) | undefined;
  private readonly wanted: ReadonlySet<string>;
  private readonly maxCaptured: number;
  private readonly maxKeyLength: number;

  private state = START;
  private kind: 'object' | 'other' | undefined = undefined;
  /** UTF-16 units of the text before the current piece (for error offsets). */
  private base = 0;
  private failure: unknown = undefined;
  private ended = false;

  private readonly names: string[] = [];
  private count = 0;
  private readonly values = new Map<string, string>();

  /** Nesting below the top level, and one bit per open container: 1 = array. */
  private depth = 0;
  private kinds: Uint8Array | undefined = undefined;

  /** Escape state in a string: 0 none, 1 after "\", 2..5 reading the hex digits of "\uXXXX". */
  private esc = 0;
  private hex = 0;
  /** The member name being read, decoded. */
  private key = '';
  /** The name whose value is being read, when it is one to capture. */
  private target: string | undefined = undefined;
  /** Raw text of the value being captured; `overflow` once it passed maxCaptured. */
  private raw = '';
  private overflow = false;
  private numState = 0;
  private literal = '';
  private litPos = 0;
  /** Next `"` and `\` at or after the scan position in the current piece (its length: none). */
  private nextQuote = -1;
  private nextBslash = -1;

  constructor(opts: TopLevelOptions = {}) {
    if (opts.onKey !== undefined && typeof opts.onKey !== 'function') throw new TypeError('TopLevelScanner: onKey must be a function');
    this.onKey = opts.onKey;
    if (opts.capture !== undefined && (!Array.isArray(opts.capture) || !opts.capture.every((n) => typeof n === 'string'))) {
      throw new TypeError('TopLevelScanner: capture must be an array of names');
    }
    this.wanted = new Set(opts.capture ?? []);
    this.maxCaptured = intOption('maxCaptured', opts.maxCaptured, 256);
    this.maxKeyLength = intOption('maxKeyLength', opts.maxKeyLength, 4096);
  }

  get shape(): 'object' | 'other' | undefined {
    return this.kind;
  }

  /** Top-level member names seen so far, in order, duplicates kept; the first 256 only. */
  get keys(): readonly string[] {
    return this.names;
  }

  get keyCount(): number {
    return this.count;
  }

  /** UTF-16 units of text the scanner holds now (names, captures, partial tokens): bounded by the options. */
  get held(): number {
    let n = this.key.length + this.raw.length;
    for (const name of this.names) n += name.length;
    for (const [name, value] of this.values) n += name.length + value.length;
    return n;
  }

  captured(name: string): string | 'too-long' | undefined {
    return this.values.get(name);
  }

  /** Feed the next piece. Throws TopLevelError on text that cannot begin a JSON object text; after an error every call rethrows it. */
  push(piece: string): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error('TopLevelScanner: push() after end()');
    if (typeof piece !== 'string') throw new TypeError('TopLevelScanner: push() takes a string');
    try {
      if (this.state !== OTHER) this.scan(piece);
      this.base += piece.length;
    } catch (err) {
      // Includes an onKey exception: the scan stopped mid-piece, so the state is unusable.
      this.failure = err;
      this.key = this.raw = '';
      throw err;
    }
  }

  /** End of the text: throws TopLevelError unless exactly one complete object was read (or the text is not an object). */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error('TopLevelScanner: end() called twice');
    this.ended = true;
    if (this.state === OTHER || this.state === DONE) return;
    this.failure = new TopLevelError(this.state === START ? 'empty JSON text' : 'unexpected end of the JSON text', this.base);
    throw this.failure;
  }

  private fail(at: number, message: string): never {
    throw new TopLevelError(message, this.base + at);
  }

  private scan(s: string): void {
    const n = s.length;
    this.nextQuote = this.nextBslash = -1; // positions in the previous piece mean nothing now
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case STRING:
          i = this.target !== undefined && !this.overflow ? this.capturedString(s, i, n) : this.skippedString(s, i, n);
          break;
        case KEY:
          i = this.keyBody(s, i, n);
          break;
        case NESTED:
          i = this.nested(s, i, n);
          break;
        case NUMBER:
          i = this.number(s, i, n);
          break;
        case LITERAL:
          i = this.literalBody(s, i, n);
          break;
        case OTHER:
          return;
        default: {
          const c = s.charCodeAt(i);
          i = isWhitespace(c) ? i + 1 : this.token(s, i, c);
        }
      }
    }
    // A name or capture still open keeps no view of this piece (see detach).
    this.key = detach(this.key);
    this.raw = detach(this.raw);
  }

  /** One structural token `c` at s[i]; returns where scanning goes on. */
  private token(s: string, i: number, c: number): number {
    switch (this.state) {
      case START:
        if (c !== 0x7b) {
          this.kind = 'other';
          this.state = OTHER;
          return s.length;
        }
        this.kind = 'object';
        this.state = OBJ_FIRST;
        return i + 1;
      case OBJ_FIRST:
      case OBJ_KEY:
        if (c === QUOTE) {
          this.key = '';
          this.esc = 0;
          this.state = KEY;
        } else if (c === 0x7d && this.state === OBJ_FIRST) {
          this.state = DONE;
        } else {
          this.fail(i, this.state === OBJ_FIRST ? "expected a member name or '}'" : 'expected a member name');
        }
        return i + 1;
      case COLON:
        if (c !== 0x3a) this.fail(i, "expected ':' after a member name");
        this.state = VALUE;
        return i + 1;
      case VALUE:
        return this.valueStart(i, c);
      case OBJ_NEXT:
        if (c === 0x2c) this.state = OBJ_KEY;
        else if (c === 0x7d) this.state = DONE;
        else this.fail(i, "expected ',' or '}' after a member");
        return i + 1;
      default: // DONE
        return this.fail(i, 'data after the JSON object');
    }
  }

  private valueStart(i: number, c: number): number {
    this.raw = '';
    this.overflow = false;
    if (c === QUOTE) {
      this.state = STRING;
      this.esc = 0;
      this.raw = '"';
      this.overflow = this.maxCaptured < 2; // even "" would not fit
    } else if (c === 0x7b || c === 0x5b) {
      this.target = undefined; // not a scalar: nothing to capture
      this.open(i, c);
      this.state = NESTED;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.state = NUMBER;
      this.numState = c === 0x2d ? N_SIGN : c === 0x30 ? N_ZERO : N_INT;
      this.raw = String.fromCharCode(c);
      this.overflow = this.maxCaptured < 1;
    } else {
      const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
      if (literal === undefined) this.fail(i, 'expected a JSON value');
      this.state = LITERAL;
      this.literal = literal;
      this.litPos = 1;
    }
    return i + 1;
  }

  /** A top-level scalar value is complete: record it if its name is one to capture. */
  private scalarDone(raw: string): void {
    const name = this.target;
    if (name !== undefined) this.values.set(name, this.overflow || raw.length > this.maxCaptured ? 'too-long' : detach(raw));
    this.target = undefined;
    this.raw = '';
    this.state = OBJ_NEXT;
  }

  private nameDone(): void {
    // toWellFormed: a lone surrogate (escaped or split off) is U+FFFD, as to any UTF-8 encoder.
    const name = detach(this.key.toWellFormed());
    this.key = '';
    this.state = COLON;
    if (this.names.length < MAX_KEPT_KEYS) this.names.push(name);
    this.count++;
    if (this.wanted.has(name)) {
      // The last occurrence decides: a repeated name whose value is not a scalar has no capture.
      this.values.delete(name);
      this.target = name;
    } else {
      this.target = undefined;
    }
    this.onKey?.(name);
  }

  /** One character of an escape (esc > 0) at s[i]; returns its decoded text once complete, else ''. */
  private escapeStep(i: number, c: number): string {
    if (this.esc === 1) {
      if (c === 0x75 /* u */) {
        this.esc = 2;
        this.hex = 0;
        return '';
      }
      const simple = SIMPLE_ESCAPES.get(c);
      if (simple === undefined) this.fail(i, 'invalid escape in a string');
      this.esc = 0;
      return simple;
    }
    const h = hexValue(c);
    if (h < 0) this.fail(i, 'invalid \\u escape in a string');
    this.hex = (this.hex << 4) | h;
    if (++this.esc < 6) return '';
    this.esc = 0;
    return String.fromCharCode(this.hex);
  }

  private keyBody(s: string, i: number, n: number): number {
    const max = this.maxKeyLength;
    let start = i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (this.esc !== 0) {
        this.key += this.escapeStep(i, c);
        if (this.key.length > max) this.fail(i, 'member name longer than maxKeyLength');
        start = i + 1;
      } else if (c === QUOTE) {
        this.key += s.slice(start, i);
        this.nameDone();
        return i + 1;
      } else if (c === BSLASH) {
        this.key += s.slice(start, i);
        this.esc = 1;
        start = i + 1;
      } else if (c < 0x20) {
        this.fail(i, 'control character in a member name');
      } else if (this.key.length + (i + 1 - start) > max) {
        // Checked per character so a huge name stops here, before it is scanned or held.
        this.fail(i, 'member name longer than maxKeyLength');
      }
    }
    this.key += s.slice(start, n);
    return n;
  }

  /** A top-level string value being captured: read per character, raw text kept up to maxCaptured. */
  private capturedString(s: string, i: number, n: number): number {
    const room = this.maxCaptured - this.raw.length;
    const start = i;
    for (; i < n; i++) {
      if (i - start >= room) {
        // Too long to capture: drop what was kept and read the rest the fast way.
        this.raw = '';
        this.overflow = true;
        return i;
      }
      const c = s.charCodeAt(i);
      if (this.esc !== 0) {
        this.escapeStep(i, c);
      } else if (c === QUOTE) {
        this.scalarDone(this.raw + s.slice(start, i + 1));
        return i + 1;
      } else if (c === BSLASH) {
        this.esc = 1;
      } else if (c < 0x20) {
        // The captured text is handed out as JSON: it must be JSON (RFC 8259 §7).
        this.fail(i, 'control character in a string');
      }
    }
    this.raw += s.slice(start, n);
    return n;
  }

  /**
   * A string not captured: read by hand while it is short or dense with escapes, and once a run
   * of SHORT_SCAN plain characters shows a long plain stretch, indexOf finds the next quote and
   * backslash at memchr speed. Both positions are kept for the piece: a string without
   * backslashes costs one search for them per piece, not one per string. Every escape is checked.
   */
  private skippedString(s: string, i: number, n: number): number {
    let esc = this.esc;
    let run = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (esc !== 0) {
        if (esc > 1) {
          if (hexValue(c) < 0) this.fail(i, 'invalid \\u escape in a string');
          esc = esc === 5 ? 0 : esc + 1;
        } else if (c === 0x75 /* u */) {
          esc = 2;
        } else if (c < 0x80 && ESCAPED[c] !== 0) {
          esc = 0;
        } else {
          this.fail(i, 'invalid escape in a string');
        }
        i++;
        continue;
      }
      if (c === QUOTE) {
        this.esc = 0;
        return this.stringDone(i);
      }
      i++;
      if (c === BSLASH) {
        esc = 1;
        run = 0;
      } else if (++run === SHORT_SCAN) {
        run = 0;
        if (this.nextQuote < i) {
          const q = s.indexOf('"', i);
          this.nextQuote = q < 0 ? n : q;
        }
        if (this.nextBslash < i) {
          const b = s.indexOf('\\', i);
          this.nextBslash = b < 0 ? n : b;
        }
        if (this.nextQuote < this.nextBslash) {
          this.esc = 0;
          return this.stringDone(this.nextQuote);
        }
        // The next backslash (or the piece's end) comes first: everything before it is plain.
        i = this.nextBslash;
      }
    }
    this.esc = esc;
    return n;
  }

  /** The closing quote of a skipped string at `q`; returns where scanning goes on. */
  private stringDone(q: number): number {
    if (this.depth > 0) this.state = NESTED;
    else this.scalarDone(''); // overflowed or not wanted: scalarDone reads `overflow`
    return q + 1;
  }

  private number(s: string, i: number, n: number): number {
    let st = this.numState;
    const start = i;
    for (; i < n; i++) {
      const next = NUM_NEXT[st * 6 + numClass(s.charCodeAt(i))]!;
      if (next < 0) {
        if ((N_ACCEPT & (1 << st)) === 0) this.fail(i, 'invalid number');
        // The character cannot continue the number: it ends here, and the character is read
        // again as a structural token.
        this.scalarDone(this.appendRaw(s, start, i));
        return i;
      }
      st = next;
    }
    this.numState = st;
    this.raw = this.appendRaw(s, start, n);
    return n;
  }

  /** Raw text so far plus s[from, to), or '' once over maxCaptured (a digit run may be endless). */
  private appendRaw(s: string, from: number, to: number): string {
    if (this.target === undefined || this.overflow) return '';
    if (this.raw.length + (to - from) > this.maxCaptured) {
      this.overflow = true;
      return '';
    }
    return this.raw + s.slice(from, to);
  }

  private literalBody(s: string, i: number, n: number): number {
    const lit = this.literal;
    for (; i < n && this.litPos < lit.length; i++, this.litPos++) {
      if (s.charCodeAt(i) !== lit.charCodeAt(this.litPos)) this.fail(i, 'invalid literal');
    }
    if (this.litPos === lit.length) this.scalarDone(lit);
    return i;
  }

  /** Opens a nested container at s[i] (`c`: "{" or "["). */
  private open(i: number, c: number): void {
    const d = this.depth;
    if (d >= MAX_DEPTH) this.fail(i, `nesting deeper than ${MAX_DEPTH}`);
    const kinds = (this.kinds ??= new Uint8Array(MAX_DEPTH >> 3));
    if (c === 0x5b) kinds[d >> 3]! |= 1 << (d & 7);
    else kinds[d >> 3]! &= ~(1 << (d & 7));
    this.depth = d + 1;
  }

  /** Inside nested values, outside strings: brackets counted, strings entered. */
  private nested(s: string, i: number, n: number): number {
    while (i < n) {
      const c = s.charCodeAt(i++);
      if (c === QUOTE) {
        // Read here rather than through scan(): nested values are mostly short strings.
        this.state = STRING;
        this.esc = 0;
        i = this.skippedString(s, i, n);
        if (this.state !== NESTED) return i;
      } else if (c === 0x7b || c === 0x5b) {
        this.open(i - 1, c);
      } else if (c === 0x7d || c === 0x5d) {
        const d = --this.depth;
        // A bracket closing the other kind (`[1}`) would let a nested name pass for a top-level one.
        const array = (this.kinds![d >> 3]! >> (d & 7)) & 1;
        if (array !== (c === 0x5d ? 1 : 0)) this.fail(i - 1, 'mismatched bracket');
        if (d === 0) {
          this.state = OBJ_NEXT;
          return i;
        }
      } else if (c >= 0x80 || NESTED_OK[c] === 0) {
        this.fail(i - 1, 'unexpected character outside a string');
      }
    }
    return n;
  }
}
