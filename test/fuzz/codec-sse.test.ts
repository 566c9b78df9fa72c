/**
 * Property tests for the SSE codec: chunking, line-end style and UTF-8 splits must never change
 * the events, and hostile bytes must never crash the parser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SseLimitError, SseParser, type SseEvent } from '../../src/codec/sse.ts';
import { encodeSseEvent } from '../../src/codec/sse-encode.ts';

interface Input {
  data: string;
  event?: string;
  id?: string;
  retry?: number;
}

/** Feed `chunks` to a fresh parser; returns the events and the id-only blocks, in order. */
function parse(chunks: Iterable<Uint8Array | string>, maxEventBytes?: number): { events: SseEvent[]; idOnly: string[] } {
  const events: SseEvent[] = [];
  const idOnly: string[] = [];
  const p = new SseParser((ev) => events.push(ev), { onIdOnly: (id) => idOnly.push(id), ...(maxEventBytes === undefined ? {} : { maxEventBytes }) });
  for (const c of chunks) p.push(c);
  p.end();
  return { events, idOnly };
}

/** Split `bytes` at the given cut points (any order, duplicates allowed: empty chunks too). */
function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** What a spec-conforming parser must yield for the encoded inputs. */
function expected(inputs: Input[]): SseEvent[] {
  let lastId = '';
  return inputs.map((i) => {
    if (i.id !== undefined) lastId = i.id;
    const ev: SseEvent = { type: i.event || 'message', data: i.data.replace(/\r\n|\r/g, '\n'), lastEventId: lastId, hasId: i.id !== undefined };
    if (i.retry !== undefined) ev.retry = i.retry;
    return ev;
  });
}

// Text with line breaks, spaces, colons, NUL, BOM and astral characters among ordinary ones.
const tricky = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('\r', '\n', '\r\n', ' ', ':', 'a', 'é', '€', '😀', '\0', '\uFEFF', 'data'), maxLength: 12 }) },
);
const noBreak = (s: string): string => s.replace(/[\r\n]/g, '');
const input: fc.Arbitrary<Input> = fc.record(
  {
    data: tricky,
    event: tricky.map(noBreak),
    id: tricky.map((s) => noBreak(s).replace(/\0/g, '')),
    retry: fc.nat({ max: 1e7 }),
  },
  { requiredKeys: ['data'] },
);
const inputs = fc.array(input, { minLength: 1, maxLength: 6 });
const encode = (list: Input[]): string => list.map(encodeSseEvent).join('');

describe('SSE properties', () => {
  it('(a) chunking at arbitrary points yields the same events as whole input', () => {
    fc.assert(
      fc.property(inputs, fc.array(fc.nat(), { maxLength: 12 }), (list, cuts) => {
        const bytes = Buffer.from(encode(list));
        const whole = parse([bytes]);
        assert.deepEqual(whole.events, expected(list));
        assert.deepEqual(parse(splitAt(bytes, cuts)), whole);
      }),
      { numRuns: 500 },
    );
  });

  it('(b) every CRLF split between two chunks is one line end', () => {
    fc.assert(
      fc.property(inputs, (list) => {
        const text = encode(list).replace(/\n/g, '\r\n');
        const bytes = Buffer.from(text);
        const want = expected(list);
        assert.deepEqual(parse([bytes]).events, want);
        for (let i = bytes.indexOf(0x0d); i !== -1; i = bytes.indexOf(0x0d, i + 1)) {
          assert.deepEqual(parse([bytes.subarray(0, i + 1), bytes.subarray(i + 1)]).events, want);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('(c) any mix of CR, LF and CRLF line ends yields the same events', () => {
    fc.assert(
      fc.property(inputs, fc.infiniteStream(fc.constantFrom('\r', '\n', '\r\n')), fc.array(fc.nat(), { maxLength: 6 }), (list, styles, cuts) => {
        // The encoder writes LF only and data lines never contain a break, so each LF is a line end.
        const lines = encode(list).split('\n');
        lines.pop();
        let text = '';
        let prevCR = false;
        for (const line of lines) {
          let eol = styles.next().value as string;
          // A lone CR followed by an LF ending an empty line would read as one CRLF: avoid it.
          if (prevCR && line === '' && eol === '\n') eol = '\r\n';
          text += line + eol;
          prevCR = eol === '\r';
        }
        assert.deepEqual(parse(splitAt(Buffer.from(text), cuts)).events, expected(list));
      }),
      { numRuns: 200 },
    );
  });

  it('(d) multi-byte UTF-8 split at every byte position decodes the same', () => {
    const unicode = fc.string({ unit: fc.constantFrom('é', '€', '😀', '𝄞', '中', 'a'), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(unicode.map((data) => ({ data })), { minLength: 1, maxLength: 3 }), (list) => {
        const bytes = Buffer.from(encode(list));
        const want = expected(list);
        for (let i = 0; i <= bytes.length; i++) {
          assert.deepEqual(parse([bytes.subarray(0, i), bytes.subarray(i)]).events, want);
        }
        assert.deepEqual(parse([...bytes].map((b) => Uint8Array.of(b))).events, want);
      }),
      { numRuns: 100 },
    );
  });

  it('(e) random garbage never throws anything but SseLimitError', () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom('data', 'id', 'event', 'retry', ':', ' ', '\r', '\n', '\0', '\uFEFF', '123', 'é').map((s) => Buffer.from(s)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 0, max: 64 }), (chunks, max) => {
        try {
          parse(chunks, max);
        } catch (err) {
          assert.ok(err instanceof SseLimitError, String(err));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('(f) agrees with a literal, whole-input reading of the spec on random streams', () => {
    const token = fc.constantFrom('data', 'id', 'event', 'retry', 'Data', ':', ': ', ' ', '\r', '\n', '\r\n', '\0', '\uFEFF', '7', 'x', 'é', '😀');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (tokens, cuts) => {
        const bytes = Buffer.from(tokens.join(''));
        assert.deepEqual(parse(splitAt(bytes, cuts)), reference(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('(g) streamed data (streamDataOver) is the same data, however the bytes are split', () => {
    /** Parses with streamed data; a streamed event gets its pieces back as its data. */
    const parseStreamed = (chunks: Iterable<Uint8Array>, over: number) => {
      const events: SseEvent[] = [];
      const idOnly: string[] = [];
      let pieces = '';
      const p = new SseParser(
        (ev) => {
          if (ev.streamed) {
            assert.equal(ev.data, '');
            assert.ok(pieces.length > over, 'only data past the bound is streamed');
            const { streamed: _, ...rest } = ev;
            events.push({ ...rest, data: pieces });
            pieces = '';
          } else {
            assert.ok(ev.data.length <= over, 'data past the bound is never collected');
            events.push(ev);
          }
        },
        { onIdOnly: (id) => idOnly.push(id), streamDataOver: over, onData: (piece) => (pieces += piece) },
      );
      for (const c of chunks) p.push(c);
      p.end();
      // What is left is an event the stream cut off (never dispatched, as the spec says).
      assert.equal(pieces !== '', p.streaming && pieces.length > 0);
      return { events, idOnly };
    };
    // Well-formed events, multi-line data included (the encoder splits data on line breaks).
    fc.assert(
      fc.property(inputs, fc.array(fc.nat(), { maxLength: 12 }), fc.nat({ max: 12 }), (list, cuts, over) => {
        assert.deepEqual(parseStreamed(splitAt(Buffer.from(encode(list)), cuts), over).events, expected(list));
      }),
      { numRuns: 1000 },
    );
    // Any stream at all, against the literal reading of the spec.
    const token = fc.constantFrom('data', 'data:', 'data: ', 'id', 'event', ':', ' ', '\r', '\n', '\r\n', '\n\n', 'x', 'yy', 'é', '😀');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 10 }), fc.nat({ max: 12 }), (tokens, cuts, over) => {
        const bytes = Buffer.from(tokens.join(''));
        assert.deepEqual(parseStreamed(splitAt(bytes, cuts), over), reference(bytes));
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * §9.2.6 transcribed as plainly as possible over the whole input (no streaming), as an oracle.
 */
function reference(bytes: Uint8Array): { events: SseEvent[]; idOnly: string[] } {
  const text = new TextDecoder().decode(bytes); // strips one leading BOM, like UTF-8 decode
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // the unterminated remainder is discarded at end of stream
  const events: SseEvent[] = [];
  const idOnly: string[] = [];
  let data = '';
  let type = '';
  let idBuf = '';
  let hasId = false;
  let retry: number | undefined;
  for (const line of lines) {
    if (line === '') {
      const blockHasId = hasId;
      const blockRetry = retry;
      hasId = false;
      retry = undefined;
      if (data === '') {
        type = '';
        if (blockHasId) idOnly.push(idBuf);
        continue;
      }
      if (data.endsWith('\n')) data = data.slice(0, -1);
      const ev: SseEvent = { type: type || 'message', data, lastEventId: idBuf, hasId: blockHasId };
      if (blockRetry !== undefined) ev.retry = blockRetry;
      events.push(ev);
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data += value + '\n';
    else if (field === 'id') {
      if (!value.includes('\0')) {
        idBuf = value;
        hasId = true;
      }
    } else if (field === 'retry' && /^[0-9]+$/.test(value) && Number.isSafeInteger(Number(value))) retry = Number(value);
  }
  return { events, idOnly };
}
