/**
 * Incremental Server-Sent Events codec.
 *
 * The parser follows the WHATWG HTML Living Standard §9.2.6 "Interpreting an event stream"
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
 * step by step; the comments below quote the rule each branch implements. It sits on the hot path
 * of the proxy, so it scans with native `indexOf` (positions cached, so the scan is linear), does
 * not slice a line before it knows it needs its value, and joins strings only across chunk edges
 * and for multi-line `data`.
 *
 * Memory is bounded against a hostile upstream: one event's data, and any single line still waiting
 * for its terminator, may not exceed `maxEventBytes` (plus a little room for the field name).
 * With `streamDataOver`, an event whose data outgrows that bound is not collected at all: its data
 * goes to `onData` piece by piece as the bytes arrive (a single `data:` line of many megabytes
 * included), so memory stays at a chunk's size whatever the event's.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const ZERO = 0x30;
const NINE = 0x39;
const BOM = 0xfeff;

/** Default bound for one event's data (UTF-8 bytes). */
export const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024;
/** Room a line may take beyond maxEventBytes: the field name, colon and space (`data: `). */
const LINE_SLACK = 64;

const STREAM = Object.freeze({ stream: true });

export interface SseEvent {
  /** The `event` field, or 'message' when the block had none (or an empty one). */
  type: string;
  data: string;
  /** The stream's last event ID at dispatch (inherited from earlier blocks when this one had no id). */
  lastEventId: string;
  /** True when this event block carried its own (valid) id field. */
  hasId: boolean;
  /** The last valid `retry` value in this block, if any. */
  retry?: number;
  /** Its data went to `onData` in pieces (see SseParserOptions.streamDataOver); `data` is ''. */
  streamed?: true;
}

export interface SseParserOptions {
  /** Max UTF-8 bytes of one event's data, and (plus 64) of one line. Default 16 MiB. */
  maxEventBytes?: number;
  /** A comment line (`:text`); one leading space after the colon is removed, like a field value. */
  onComment?: (text: string) => void;
  /** A valid `retry` field, as soon as its line is read. */
  onRetry?: (ms: number) => void;
  /** A block that set an id but dispatched no event (no `data` field). */
  onIdOnly?: (id: string) => void;
  /**
   * Stream an event's data once it holds more than this many UTF-16 code units (the memory the
   * data would take; default: never). The first `onData` piece is all of its data so far, every
   * later one what has arrived since, including the LF joining two `data` lines, and a line is
   * passed on before its terminator arrives; the pieces concatenated are exactly the data the
   * event would have had. Its blank line then dispatches it with `streamed: true` and empty
   * `data`; a stream that ends before that line leaves it undispatched (`streaming` says so).
   * `maxEventBytes` still bounds the whole event. Pieces of byte input never split a surrogate
   * pair; a string pushed with a lone surrogate at its end is passed on as it is.
   */
  streamDataOver?: number;
  /**
   * The pieces of a streamed event's data (required with streamDataOver), with the event's type
   * as its block reads so far ('message' when no `event` line came yet): what a consumer must
   * decide on before the block ends.
   */
  onData?: (piece: string, type: string) => void;
}

export class SseLimitError extends Error {
  readonly code = 'sse_event_too_large' as const;
  readonly limit: number;

  constructor(what: 'event data' | 'line', limit: number) {
    super(`SSE ${what} exceeds ${limit} bytes`);
    this.name = 'SseLimitError';
    this.limit = limit;
  }
}

export class SseParser {
  readonly #onEvent: (ev: SseEvent) => void;
  readonly #onComment: ((text: string) => void) | undefined;
  readonly #onRetry: ((ms: number) => void) | undefined;
  readonly #onIdOnly: ((id: string) => void) | undefined;
  readonly #onData: ((piece: string, type: string) => void) | undefined;
  /** streamDataOver, or Infinity. */
  readonly #streamOver: number;
  readonly #maxData: number;
  readonly #maxLine: number;
  // ignoreBOM: the BOM is stripped by hand so string and byte input behave alike.
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  #started = false;
  /** The previous text ended in a CR: an LF starting the next text belongs to it (CRLF). */
  #skipLF = false;
  /** Unterminated tail of the text seen so far (a line still waiting for its end). */
  #pending = '';
  /** UTF-8 bytes of #pending, or -1 while it is too short to matter. */
  #pendingBytes = -1;
  #ended = false;
  #failed = false;
  #failure: unknown = undefined;

  // The spec's buffers. Data is kept without its trailing LF: lines are joined with LF instead,
  // which is the same string once dispatch strips the last LF (§9.2.6 dispatch step 3).
  #data = '';
  #dataLines = 0;
  /** UTF-8 bytes of #data, or -1 while it is too short to matter. */
  #dataBytes = -1;
  #type = '';
  #idBuffer = '';
  #lastEventId = '';
  #blockHasId = false;
  #blockRetry: number | undefined = undefined;

  // Streamed data (streamDataOver): the event's data goes out in pieces instead of into #data.
  #streaming = false;
  /** The line being read is a `data` line whose value is passed on as it arrives. */
  #lineStreaming = false;
  /** UTF-8 bytes of the streamed event's data so far (bounded by maxEventBytes). */
  #streamedBytes = 0;

  constructor(onEvent: (ev: SseEvent) => void, opts: SseParserOptions = {}) {
    const max = opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    if (!(max >= 0)) throw new RangeError('SseParser: maxEventBytes must be a non-negative number');
    this.#onEvent = onEvent;
    this.#onComment = opts.onComment;
    this.#onRetry = opts.onRetry;
    this.#onIdOnly = opts.onIdOnly;
    const over = opts.streamDataOver;
    if (over !== undefined && (!(over >= 0) || opts.onData === undefined)) throw new RangeError('SseParser: streamDataOver must be a non-negative number, with onData');
    this.#onData = opts.onData;
    this.#streamOver = over ?? Infinity;
    this.#maxData = max;
    this.#maxLine = max + LINE_SLACK;
  }

  /** The event source's last event ID string: set at each blank line, not by an unfinished block. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** An event's data is being streamed: its blank line has not come yet. */
  get streaming(): boolean {
    return this.#streaming;
  }

  /**
   * Feed the next piece of the stream. Callbacks run synchronously from here. Throws SseLimitError
   * when a bound is exceeded; after any throw (a limit or a callback's own error) the parser is
   * dead and every later push rethrows the same error.
   */
  push(chunk: Uint8Array | string): void {
    if (this.#failed) throw this.#failure;
    if (this.#ended) throw new Error('SseParser: push() after end()');
    let text: string;
    if (typeof chunk === 'string') {
      // Bytes of a character cut off by this string can never complete: flush them (as U+FFFD).
      text = this.#decoder.decode() + chunk;
    } else {
      // Streams must be decoded with UTF-8 decode (§9.2.6); stream:true keeps a split
      // multi-byte sequence for the next chunk, invalid bytes become U+FFFD.
      text = this.#decoder.decode(chunk, STREAM);
    }
    if (text.length === 0) return;
    try {
      this.#feed(text);
    } catch (err) {
      this.#failed = true;
      this.#failure = err;
      throw err;
    }
  }

  /**
   * End of stream. "Once the end of the file is reached, any pending data must be discarded. (If
   * the file ends in the middle of an event, before the final empty line, the incomplete event is
   * not dispatched.)" — so nothing is dispatched here.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#decoder.decode();
    this.#pending = '';
    this.#data = '';
    this.#dataLines = 0;
    this.#type = '';
    this.#blockHasId = false;
    this.#blockRetry = undefined;
    this.#lineStreaming = false;
  }

  #feed(text: string): void {
    const len = text.length;
    let pos = 0;
    if (!this.#started) {
      this.#started = true;
      // UTF-8 decode strips one leading BOM, at the start of the stream only.
      if (text.charCodeAt(0) === BOM) pos = 1;
    }
    if (this.#skipLF) {
      this.#skipLF = false;
      if (text.charCodeAt(pos) === LF) pos++;
    }
    // Lines end in CRLF, a lone LF, or a lone CR (§9.2.6). Both next positions are cached and
    // searched again only once passed, so the scan stays linear in the text.
    let nextLF = text.indexOf('\n', pos);
    let nextCR = text.indexOf('\r', pos);
    for (;;) {
      let eol: number;
      if (nextLF === -1) {
        if (nextCR === -1) break;
        eol = nextCR;
      } else {
        eol = nextCR === -1 || nextLF < nextCR ? nextLF : nextCR;
      }
      if (this.#lineStreaming) {
        // The rest of a data line already being passed on; its end is just the end of a line.
        if (eol > pos) this.#piece(text.slice(pos, eol));
        this.#lineStreaming = false;
      } else if (this.#pending.length === 0) {
        this.#line(text, pos, eol);
      } else {
        const line = this.#pending + text.slice(pos, eol);
        this.#pending = '';
        this.#pendingBytes = -1;
        this.#line(line, 0, line.length);
      }
      pos = eol + 1;
      if (eol === nextCR) {
        // A CR ends the line at once (no need to wait for the next chunk: the line is complete
        // either way); only an LF right after it is swallowed, here or at the start of the next
        // text, so a CRLF split across chunks is still one line end.
        if (pos === len) this.#skipLF = true;
        else if (text.charCodeAt(pos) === LF) pos++;
        nextCR = text.indexOf('\r', pos);
      }
      if (nextLF !== -1 && nextLF < pos) nextLF = text.indexOf('\n', pos);
    }
    if (pos < len) {
      const tail = pos === 0 ? text : text.slice(pos);
      if (this.#lineStreaming) {
        this.#piece(tail);
        return;
      }
      const counted = this.#pendingBytes >= 0;
      this.#pending = this.#pending.length === 0 ? tail : this.#pending + tail;
      this.#pendingBytes = this.#checkedBytes(this.#pending, counted ? this.#pendingBytes : -1, tail, this.#maxLine, 'line');
      if (this.#streamOver !== Infinity) this.#streamPendingLine();
    }
  }

  /**
   * The unterminated line is a `data` line that takes the event past streamDataOver (or the
   * event streams already): pass its value on now and the rest as it comes, rather than hold a
   * line of any length. `data:` alone waits for one more character (a space after the colon is
   * not part of the value), and a line that might still be another field waits for its colon.
   */
  #streamPendingLine(): void {
    const line = this.#pending;
    if (line.length < 6 || !line.startsWith('data:')) return;
    const v = line.charCodeAt(5) === SPACE ? 6 : 5;
    const joined = this.#dataLines === 0 ? 0 : this.#data.length + 1;
    if (!this.#streaming && joined + line.length - v <= this.#streamOver) return;
    this.#pending = '';
    this.#pendingBytes = -1;
    this.#appendData(line.slice(v), true);
    this.#lineStreaming = true;
  }

  /** More of a streamed event's data. */
  #piece(text: string): void {
    this.#streamedBytes += Buffer.byteLength(text, 'utf8');
    if (this.#streamedBytes > this.#maxData) throw new SseLimitError('event data', this.#maxData);
    this.#onData!(text, this.#type === '' ? 'message' : this.#type);
  }

  /**
   * Bytes of `whole` (which just grew by `added`), or -1 while it is provably within `max`: UTF-8
   * takes 1–3 bytes per UTF-16 unit, so bytes are only counted (once, then incrementally) when the
   * unit count alone can't decide. Throws SseLimitError above `max`.
   */
  #checkedBytes(whole: string, prevBytes: number, added: string, max: number, what: 'line' | 'event data'): number {
    if (whole.length * 3 <= max) return -1;
    if (whole.length > max) throw new SseLimitError(what, max);
    const bytes = prevBytes < 0 ? Buffer.byteLength(whole, 'utf8') : prevBytes + Buffer.byteLength(added, 'utf8');
    if (bytes > max) throw new SseLimitError(what, max);
    return bytes;
  }

  /** Process one line, `s[start, end)`, per §9.2.6. */
  #line(s: string, start: number, end: number): void {
    // "If the line is empty (a blank line): Dispatch the event."
    if (start === end) {
      this.#dispatch();
      return;
    }
    // "If the line starts with a U+003A COLON character (:): Ignore the line."
    if (s.charCodeAt(start) === COLON) {
      if (this.#onComment !== undefined) {
        let v = start + 1;
        if (v < end && s.charCodeAt(v) === SPACE) v++;
        this.#onComment(s.slice(v, end));
      }
      return;
    }
    // "If the line contains a colon: field = characters before the first colon, value = after it;
    // if value starts with a U+0020 SPACE, remove it. Otherwise: field = the whole line, value =
    // the empty string."
    let colon = start + 1;
    while (colon < end && s.charCodeAt(colon) !== COLON) colon++;
    let v = end;
    if (colon < end) {
      v = colon + 1;
      if (v < end && s.charCodeAt(v) === SPACE) v++;
    }
    // Field names are compared case-sensitively; unknown fields are ignored.
    switch (colon - start) {
      case 4:
        if (s.startsWith('data', start)) this.#appendData(s.slice(v, end), false);
        return;
      case 5:
        if (s.startsWith('event', start)) this.#type = s.slice(v, end);
        else if (s.startsWith('retry', start)) this.#retry(s, v, end);
        return;
      case 2:
        if (s.startsWith('id', start)) {
          // "If the field value does not contain U+0000 NULL, then set the last event ID buffer
          // to the field value. Otherwise, ignore the field."
          const id = s.slice(v, end);
          if (id.indexOf('\0') === -1) {
            this.#idBuffer = id;
            this.#blockHasId = true;
          }
        }
        return;
      default:
        return;
    }
  }

  /**
   * "Append the field value to the data buffer, then append a single U+000A LINE FEED." Streamed
   * (or, with `start`, starting to stream: the line's value so far), the value and its joining
   * LF go to onData instead.
   */
  #appendData(value: string, start: boolean): void {
    if (!this.#streaming && (start || (this.#dataLines === 0 ? 0 : this.#data.length + 1) + value.length > this.#streamOver)) {
      // Everything collected so far is the first piece (the data buffer is empty from here on).
      this.#streaming = true;
      this.#streamedBytes = 0;
      const head = this.#dataLines === 0 ? '' : this.#data + '\n';
      this.#data = '';
      this.#dataBytes = -1;
      this.#dataLines++;
      this.#piece(head + value);
      return;
    }
    if (this.#streaming) {
      this.#dataLines++;
      this.#piece('\n' + value);
      return;
    }
    if (this.#dataLines === 0) {
      this.#data = value;
      this.#dataBytes = this.#checkedBytes(value, -1, value, this.#maxData, 'event data');
    } else {
      this.#data = this.#data + '\n' + value;
      const prev = this.#dataBytes < 0 ? -1 : this.#dataBytes + 1;
      this.#dataBytes = this.#checkedBytes(this.#data, prev, value, this.#maxData, 'event data');
    }
    this.#dataLines++;
  }

  /** "If the field value consists of only ASCII digits, ... set the reconnection time." */
  #retry(s: string, start: number, end: number): void {
    // An empty value "consists of only ASCII digits" only vacuously and has no integer to
    // interpret, so it is ignored (implementations differ here; nothing in MCP relies on it).
    if (start === end) return;
    let ms = 0;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c < ZERO || c > NINE) return;
      ms = ms * 10 + (c - ZERO);
    }
    // Beyond 2^53 the integer can't be represented exactly; no client could honour it anyway.
    if (!Number.isSafeInteger(ms)) return;
    this.#blockRetry = ms;
    if (this.#onRetry !== undefined) this.#onRetry(ms);
  }

  /** §9.2.6 "dispatch the event". */
  #dispatch(): void {
    // Step 1: the source's last event ID string := the last event ID buffer (which is not reset).
    this.#lastEventId = this.#idBuffer;
    const hasId = this.#blockHasId;
    const retry = this.#blockRetry;
    this.#blockHasId = false;
    this.#blockRetry = undefined;
    // Step 2: "If the data buffer is an empty string, set the data buffer and the event type
    // buffer to the empty string and return."
    if (this.#dataLines === 0) {
      this.#type = '';
      if (hasId && this.#onIdOnly !== undefined) this.#onIdOnly(this.#idBuffer);
      return;
    }
    // Steps 3–7: data without its last LF (never added here), type defaults to 'message'.
    const ev: SseEvent = {
      type: this.#type === '' ? 'message' : this.#type,
      data: this.#data,
      lastEventId: this.#lastEventId,
      hasId,
    };
    if (retry !== undefined) ev.retry = retry;
    if (this.#streaming) {
      ev.streamed = true;
      this.#streaming = false;
    }
    this.#type = '';
    this.#data = '';
    this.#dataLines = 0;
    this.#dataBytes = -1;
    this.#onEvent(ev);
  }
}
