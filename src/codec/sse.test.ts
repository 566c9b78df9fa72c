import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SseLimitError, SseParser, type SseEvent, type SseParserOptions } from './sse.ts';
import { encodeSseComment, encodeSseEvent } from './sse-encode.ts';

interface Run {
  events: SseEvent[];
  comments: string[];
  retries: number[];
  idOnly: string[];
  parser: SseParser;
}

/** Feed the chunks (strings are encoded to UTF-8 bytes unless `asString`) then end the stream. */
function run(chunks: Array<string | Uint8Array>, opts: SseParserOptions & { asString?: boolean; noEnd?: boolean } = {}): Run {
  const r: Run = { events: [], comments: [], retries: [], idOnly: [], parser: undefined as unknown as SseParser };
  r.parser = new SseParser((ev) => r.events.push(ev), {
    ...opts,
    onComment: (t) => r.comments.push(t),
    onRetry: (ms) => r.retries.push(ms),
    onIdOnly: (id) => r.idOnly.push(id),
  });
  for (const c of chunks) r.parser.push(typeof c === 'string' && !opts.asString ? Buffer.from(c, 'utf8') : c);
  if (!opts.noEnd) r.parser.end();
  return r;
}

const data = (r: Run): string[] => r.events.map((e) => e.data);
const msg = (d: string, lastEventId = '', hasId = false): SseEvent => ({ type: 'message', data: d, lastEventId, hasId });

describe('SseParser: line ends', () => {
  for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    it(`splits lines on ${name}`, () => {
      const r = run([`data: a${eol}data: b${eol}${eol}data: c${eol}${eol}`]);
      assert.deepEqual(data(r), ['a\nb', 'c']);
    });
  }

  it('treats a CRLF split across two chunks as one line end', () => {
    // Two line ends would make a blank line and dispatch "a" alone.
    const r = run(['data: a\r', '\ndata: b\r\n\r\n']);
    assert.deepEqual(data(r), ['a\nb']);
  });

  it('keeps the pending CR across empty chunks', () => {
    const r = run(['data: a\r', '', new Uint8Array(0), '\ndata: b\n\n']);
    assert.deepEqual(data(r), ['a\nb']);
  });

  it('takes a CR at a chunk end followed by a chunk starting with CR as two line ends', () => {
    const r = run(['data: a\r', '\rdata: b\r\r']);
    assert.deepEqual(data(r), ['a', 'b']);
  });

  it('dispatches on a trailing CR blank line without waiting for more input', () => {
    const r = run(['data: a\r\r'], { noEnd: true });
    assert.deepEqual(data(r), ['a']);
  });

  it('joins a line split across many chunks', () => {
    const r = run(['da', 'ta', ':', ' hel', 'lo', '\n', '\n']);
    assert.deepEqual(data(r), ['hello']);
  });

  it('does not dispatch an incomplete final event at end of stream', () => {
    assert.deepEqual(data(run(['data: a\n\ndata: b\n'])), ['a']);
    assert.deepEqual(data(run(['data: a\n\ndata: b'])), ['a']);
  });

  it('refuses push after end', () => {
    const p = new SseParser(() => {});
    p.end();
    assert.throws(() => p.push('data: x\n\n'), /after end/);
  });
});

describe('SseParser: decoding', () => {
  it('strips one leading BOM', () => {
    assert.deepEqual(data(run(['\uFEFFdata: a\n\n'])), ['a']);
  });

  it('strips a BOM split across byte chunks', () => {
    const bytes = Buffer.from('\uFEFFdata: a\n\n');
    assert.deepEqual(data(run([bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)])), ['a']);
  });

  it('keeps a second BOM, which then makes the field name unknown', () => {
    assert.deepEqual(data(run(['\uFEFF\uFEFFdata: a\n\n'])), []);
  });

  it('keeps a BOM that is not at the very start of the stream', () => {
    assert.deepEqual(data(run(['data: a\n\n', '\uFEFFdata: b\n\n'])), ['a']);
    assert.deepEqual(data(run(['data: a\n\n\uFEFFdata: b\n\n'])), ['a']);
  });

  it('decodes a multi-byte character split at every byte', () => {
    const bytes = Buffer.from('data: é€😀\n\n');
    const r = run([...bytes].map((b) => Uint8Array.of(b)));
    assert.deepEqual(data(r), ['é€😀']);
  });

  it('turns invalid UTF-8 into U+FFFD', () => {
    const r = run([Buffer.from('data: a'), Uint8Array.of(0xff, 0xc3), Buffer.from('\n\n')]);
    assert.deepEqual(data(r), ['a\uFFFD\uFFFD']);
  });

  it('accepts string chunks', () => {
    assert.deepEqual(data(run(['data: é\n', '\n'], { asString: true })), ['é']);
  });

  it('flushes a cut-off character as U+FFFD when a string chunk follows bytes', () => {
    const r = run([Buffer.from('data: '), Uint8Array.of(0xc3), '\n\n'], { asString: true });
    assert.deepEqual(data(r), ['\uFFFD']);
  });
});

describe('SseParser: fields', () => {
  it('appends each data line with LF and strips one trailing LF', () => {
    assert.deepEqual(data(run(['data: a\ndata:\n\n'])), ['a\n']);
    assert.deepEqual(data(run(['data\ndata\ndata\n\n'])), ['\n\n']);
  });

  it('removes only one leading space from the value', () => {
    assert.deepEqual(data(run(['data:  x\n\ndata:x\n\ndata:\tx\n\n'])), [' x', 'x', '\tx']);
  });

  it('splits the field at the first colon only', () => {
    assert.deepEqual(data(run(['data: a:b: c\n\n'])), ['a:b: c']);
  });

  it('takes a line without colon as a field with an empty value', () => {
    const r = run(['data\n\n']);
    assert.deepEqual(r.events, [msg('')]);
  });

  it('ignores unknown and wrongly cased fields, and names with spaces', () => {
    assert.deepEqual(data(run(['foo: x\nData: y\ndata : z\n data: w\n\n'])), []);
  });

  it('dispatches the MCP priming event (id + empty data)', () => {
    const r = run(['id: 42\ndata:\n\n']);
    assert.deepEqual(r.events, [msg('', '42', true)]);
    assert.deepEqual(r.idOnly, []);
  });

  it('does not dispatch a block with id but no data; reports it and updates lastEventId', () => {
    const r = run(['id: 7\n\n', 'data: x\n\n']);
    assert.deepEqual(r.idOnly, ['7']);
    assert.deepEqual(r.events, [msg('x', '7', false)]);
    assert.equal(r.parser.lastEventId, '7');
  });

  it('sets the event type, defaulting to message, and resets it after each block', () => {
    const r = run(['event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: gone\n\ndata: 4\n\n']);
    assert.deepEqual(r.events.map((e) => [e.type, e.data]), [['add', '1'], ['message', '2'], ['message', '3'], ['message', '4']]);
  });

  it('carries the last event id to later events, with hasId only on the block that set it', () => {
    const r = run(['id: a\ndata: 1\n\ndata: 2\n\nid:\ndata: 3\n\n']);
    assert.deepEqual(r.events, [msg('1', 'a', true), msg('2', 'a', false), msg('3', '', true)]);
  });

  it('ignores an id containing NULL', () => {
    const r = run(['id: a\ndata: 1\n\nid: b\0c\ndata: 2\n\n']);
    assert.deepEqual(r.events, [msg('1', 'a', true), msg('2', 'a', false)]);
  });

  it('sets lastEventId only when a block ends', () => {
    const r = run(['id: a\ndata: 1\n\nid: b\ndata: 2\n'], { noEnd: true });
    assert.equal(r.parser.lastEventId, 'a');
  });

  it('accepts retry with ASCII digits only', () => {
    const r = run(['retry: 1500\ndata: x\n\nretry: 1a\nretry: -1\nretry: 1.5\nretry:\nretry:  9\nretry: ٣\nretry: 99999999999999999999\ndata: y\n\n']);
    assert.deepEqual(r.retries, [1500]);
    assert.deepEqual(r.events, [{ ...msg('x'), retry: 1500 }, msg('y')]);
  });

  it('reports comments and dispatches nothing for them', () => {
    const r = run([': hello\n:\n:  two\ndata: x\n: mid\n\n']);
    assert.deepEqual(r.comments, ['hello', '', ' two', 'mid']);
    assert.deepEqual(data(r), ['x']);
  });
});

describe('SseParser: limits', () => {
  it('accepts data of exactly maxEventBytes and rejects one byte more', () => {
    assert.deepEqual(data(run(['data: 12345678\n\n'], { maxEventBytes: 8 })), ['12345678']);
    assert.throws(() => run(['data: 123456789\n\n'], { maxEventBytes: 8 }), SseLimitError);
  });

  it('counts the LFs joining data lines', () => {
    assert.deepEqual(data(run(['data: 1234\ndata: 567\n\n'], { maxEventBytes: 8 })), ['1234\n567']);
    assert.throws(() => run(['data: 1234\ndata: 5678\n\n'], { maxEventBytes: 8 }), SseLimitError);
  });

  it('counts UTF-8 bytes, not characters', () => {
    assert.deepEqual(data(run(['data: éé\n\n'], { maxEventBytes: 4 })), ['éé']);
    assert.throws(() => run(['data: ééé\n\n'], { maxEventBytes: 4 }), { code: 'sse_event_too_large' });
    assert.throws(() => run(['data: 😀\ndata: a\n\n'], { maxEventBytes: 5 }), SseLimitError);
  });

  it('throws on a line growing past the bound before its terminator arrives', () => {
    const p = new SseParser(() => {}, { maxEventBytes: 100 });
    p.push(': ' + 'x'.repeat(100));
    assert.throws(() => p.push('y'.repeat(100)), SseLimitError);
    // The parser is dead: later pushes rethrow.
    assert.throws(() => p.push('\n\n'), SseLimitError);
  });

  it('bounds a long line of multi-byte text in bytes', () => {
    const p = new SseParser(() => {}, { maxEventBytes: 100 });
    p.push(Buffer.from('€'.repeat(50))); // 150 bytes, 50 UTF-16 units
    assert.throws(() => p.push(Buffer.from('€'.repeat(10))), SseLimitError);
  });

  it('keeps counting bytes exactly as an unterminated line keeps growing', () => {
    const p = new SseParser(() => {}, { maxEventBytes: 100 });
    p.push(': ' + 'x'.repeat(60));
    p.push(Buffer.from('€'.repeat(30))); // 152 bytes so far, but only 92 UTF-16 units
    assert.throws(() => p.push(Buffer.from('€'.repeat(5))), SseLimitError);
  });

  it('keeps counting bytes exactly across data lines', () => {
    assert.throws(() => run(['data: ' + 'x'.repeat(40) + '\ndata: ' + '€'.repeat(20) + '\n\n'], { maxEventBytes: 100 }), SseLimitError);
    assert.equal(data(run(['data: ' + 'x'.repeat(40) + '\ndata: ' + '€'.repeat(19) + 'x\n\n'], { maxEventBytes: 100 }))[0]?.length, 61);
  });

  it('resets the budget after each event', () => {
    assert.deepEqual(data(run(['data: 12345678\n\n', 'data: 12345678\n\n'], { maxEventBytes: 8 })), ['12345678', '12345678']);
  });

  it('propagates an error thrown by the event callback and stays failed', () => {
    const p = new SseParser(() => {
      throw new Error('boom');
    });
    assert.throws(() => p.push('data: x\n\n'), /boom/);
    assert.throws(() => p.push('data: y\n\n'), /boom/);
  });
});

describe('encodeSseEvent / encodeSseComment', () => {
  it('writes fields and a closing blank line with LF line ends', () => {
    assert.equal(encodeSseEvent({ data: '{"a":1}' }), 'data: {"a":1}\n\n');
    assert.equal(encodeSseEvent({ event: 'message', id: '7', retry: 1000, data: 'x' }), 'event: message\nid: 7\nretry: 1000\ndata: x\n\n');
    assert.equal(encodeSseEvent({ id: 'p', data: '' }), 'id: p\ndata:\n\n');
  });

  it('splits data on CRLF, CR and LF into several data lines', () => {
    assert.equal(encodeSseEvent({ data: 'a\r\nb\rc\nd\n' }), 'data: a\ndata: b\ndata: c\ndata: d\ndata:\n\n');
    assert.deepEqual(data(run([encodeSseEvent({ data: 'a\r\nb\rc\n\nd' })])), ['a\nb\nc\n\nd']);
  });

  it('round-trips leading spaces, colons and empty values', () => {
    const ev = { event: '', id: '', data: ' :x ' };
    assert.deepEqual(run([encodeSseEvent(ev)]).events, [msg(' :x ', '', true)]);
  });

  it('refuses values that would break the framing', () => {
    assert.throws(() => encodeSseEvent({ data: 'x', id: 'a\nb' }), TypeError);
    assert.throws(() => encodeSseEvent({ data: 'x', id: 'a\rb' }), TypeError);
    assert.throws(() => encodeSseEvent({ data: 'x', id: 'a\0b' }), TypeError);
    assert.throws(() => encodeSseEvent({ data: 'x', event: 'a\nb' }), TypeError);
    assert.throws(() => encodeSseEvent({ data: 'x', retry: -1 }), TypeError);
    assert.throws(() => encodeSseEvent({ data: 'x', retry: 1.5 }), TypeError);
  });

  it('writes comments that parsers ignore', () => {
    assert.equal(encodeSseComment('ping'), ': ping\n\n');
    assert.equal(encodeSseComment(), ':\n\n');
    assert.throws(() => encodeSseComment('a\nb'), TypeError);
    const r = run([encodeSseComment('ping'), encodeSseEvent({ data: 'x' }), encodeSseComment()]);
    assert.deepEqual(r.comments, ['ping', '']);
    assert.deepEqual(data(r), ['x']);
    assert.deepEqual(r.idOnly, []);
  });
});
