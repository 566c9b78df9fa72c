/**
 * JSON string content at the byte level, for the streaming rewriter (json-stream.ts): byte
 * classes, UTF-8 and escape decoding (RFC 8259 §7), and writing text back out, escaped exactly as
 * JSON.stringify escapes it, into a growable output buffer.
 */

const QUOTE = 0x22;
const BSLASH = 0x5c;

/** RFC 8259 §7 two-character escapes → UTF-16 unit; -1 = not an escape (`u` handled apart). */
const ESCAPES = new Int16Array(256).fill(-1);
ESCAPES[0x22] = 0x22;
ESCAPES[0x5c] = 0x5c;
ESCAPES[0x2f] = 0x2f;
ESCAPES[0x62] = 0x08;
ESCAPES[0x66] = 0x0c;
ESCAPES[0x6e] = 0x0a;
ESCAPES[0x72] = 0x0d;
ESCAPES[0x74] = 0x09;

/** Bytes that end a run of plain string content: quote, backslash, control characters. */
const STOP = new Uint8Array(256);
STOP[QUOTE] = 1;
STOP[BSLASH] = 1;
STOP.fill(1, 0, 0x20);

/**
 * The constants above for other modules' byte loops, which should copy them into module-local
 * consts. They are not exported one by one because V8 reads an exported or imported binding
 * through its module cell on every access (module bindings are live), while it can treat a
 * module-local const as a constant: measured ~6-15% of bench/json-stream.ts throughput.
 */
export const BYTES = { QUOTE, BSLASH, STOP, ESCAPES } as const;

// Non-streaming decodes, each cut at a sequence boundary. ignoreBOM: a U+FEFF at the start of a
// cut is content, not a byte order mark.
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

export function decode(buf: Uint8Array, s: number, e: number): string {
  // A plain view: Buffer#subarray goes through the species constructor, measurably slower.
  return UTF8.decode(new Uint8Array(buf.buffer, buf.byteOffset + s, e - s));
}

export function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x57;
  return -1;
}

/** Length of the UTF-8 sequence a lead byte announces (invalid leads count as 4: harmless). */
export function sequenceLength(b: number): number {
  return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
}

/** JSON.parse of buf[s, e) (a quoted string); undefined if invalid. */
export function parseQuoted(buf: Buffer, s: number, e: number): string | undefined {
  return parseQuotedText(decode(buf, s, e));
}

export function parseQuotedText(quoted: string): string | undefined {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Output.

/** Growable output buffer; one per push. */
export class Output {
  buf: Buffer = Buffer.allocUnsafe(0);
  len = 0;

  reset(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.len = 0;
  }

  reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + extra));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number): void {
    if (this.len === this.buf.length) this.reserve(1);
    this.buf[this.len++] = b;
  }

  text(s: string): void {
    this.reserve(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /** Copies src[s, e). Short runs are copied in JS: a native call costs more than the copy. */
  bytes(src: Uint8Array, s: number, e: number): void {
    const n = e - s;
    if (n <= 0) return;
    this.reserve(n);
    if (n > 48) {
      this.buf.set(new Uint8Array(src.buffer, src.byteOffset + s, n), this.len);
      this.len += n;
      return;
    }
    const b = this.buf;
    let o = this.len;
    for (let k = s; k < e; k++) b[o++] = src[k]!;
    this.len = o;
  }

  take(): Uint8Array {
    const { buf, len } = this;
    this.buf = Buffer.allocUnsafe(0);
    this.len = 0;
    // Don't hand out (and pin) a mostly empty allocation.
    if (len * 2 >= buf.length) return buf.subarray(0, len);
    const copy = new Uint8Array(len);
    copy.set(buf.subarray(0, len));
    return copy;
  }
}

/** Characters JSON.stringify would escape, or surrogates (which may be lone). */
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;
const HEX = '0123456789abcdef';
const BLOCK = 8192;

/**
 * Writes `text` as JSON string content (no quotes), byte-identical to JSON.stringify: the
 * RFC 8259 §7 short escapes, \u00XX for other controls, lone surrogates as \uXXXX (ES2019
 * well-formed JSON.stringify), everything else as UTF-8. One pass, no intermediate string.
 */
export function writeJsonText(out: Output, text: string): void {
  const len = text.length;
  if (!NEEDS_CARE.test(text)) {
    out.text(text);
    return;
  }
  for (let k = 0; k < len; ) {
    const stop = Math.min(len, k + BLOCK);
    out.reserve((stop - k) * 6);
    const b = out.buf;
    let o = out.len;
    for (; k < stop; k++) {
      const c = text.charCodeAt(k);
      if (c < 0x80) {
        if (STOP[c] === 0) {
          b[o++] = c;
          continue;
        }
        b[o++] = BSLASH;
        if (c === QUOTE || c === BSLASH) b[o++] = c;
        else if (c === 0x0a) b[o++] = 0x6e;
        else if (c === 0x0d) b[o++] = 0x72;
        else if (c === 0x09) b[o++] = 0x74;
        else if (c === 0x08) b[o++] = 0x62;
        else if (c === 0x0c) b[o++] = 0x66;
        else o = hex4(b, o, c);
      } else if (c < 0x800) {
        b[o++] = 0xc0 | (c >> 6);
        b[o++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        b[o++] = 0xe0 | (c >> 12);
        b[o++] = 0x80 | ((c >> 6) & 0x3f);
        b[o++] = 0x80 | (c & 0x3f);
      } else {
        const d = c <= 0xdbff && k + 1 < len ? text.charCodeAt(k + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          b[o++] = 0xf0 | (cp >> 18);
          b[o++] = 0x80 | ((cp >> 12) & 0x3f);
          b[o++] = 0x80 | ((cp >> 6) & 0x3f);
          b[o++] = 0x80 | (cp & 0x3f);
          k++; // a pair may straddle the block end: reserve() left room for it
        } else {
          b[o++] = BSLASH;
          o = hex4(b, o, c);
        }
      }
    }
    out.len = o;
  }
}

/** Writes "uXXXX" (lowercase hex, as JSON.stringify does). */
function hex4(b: Uint8Array, o: number, c: number): number {
  b[o] = 0x75;
  b[o + 1] = HEX.charCodeAt(c >> 12);
  b[o + 2] = HEX.charCodeAt((c >> 8) & 15);
  b[o + 3] = HEX.charCodeAt((c >> 4) & 15);
  b[o + 4] = HEX.charCodeAt(c & 15);
  return o + 5;
}
