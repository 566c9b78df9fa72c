/**
 * SseParser with `streamDataOver`: an event's data past the bound goes out in pieces as it
 * arrives, so the gateway can inspect and relay an event of any size without holding it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SseLimitError, SseParser, type SseEvent } from './sse.ts';

interface Run {
  events: SseEvent[];
  /** Pieces of each streamed event, in order; a new array starts with the first piece of an event. */
  pieces: string[];
  parser: SseParser;
}

function streamed(over: number, opts: { maxEventBytes?: number } = {}): Run {
  const r: Run = { events: [], pieces: [], parser: undefined as unknown as SseParser };
  r.parser = new SseParser((ev) => r.events.push(ev), { ...opts, streamDataOver: over, onData: (p) => r.pieces.push(p) });
  return r;
}

describe('SseParser: streamed data', () => {
  it('collects an event under the bound as usual and streams one over it', () => {
    const r = streamed(5);
    r.parser.push('data: 12345\n\n');
    r.parser.push('id: 7\ndata: 123456\n\n');
    assert.deepEqual(r.events, [
      { type: 'message', data: '12345', lastEventId: '', hasId: false },
      { type: 'message', data: '', lastEventId: '7', hasId: true, streamed: true },
    ]);
    assert.deepEqual(r.pieces, ['123456']);
  });

  it('passes a long data line on before its end arrives, not at the blank line', () => {
    const r = streamed(100);
    r.parser.push('event: message\ndata: {"result":"');
    r.parser.push('x'.repeat(150));
    assert.equal(r.pieces.join(''), '{"result":"' + 'x'.repeat(150), 'the line so far went out before its terminator');
    r.parser.push('x'.repeat(50));
    assert.equal(r.pieces.at(-1), 'x'.repeat(50), 'later bytes go out as they come, not gathered');
    assert.equal(r.events.length, 0);
    r.parser.push('"}\n\n');
    assert.equal(r.pieces.join(''), '{"result":"' + 'x'.repeat(200) + '"}');
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0]!.streamed, true);
    assert.equal(r.parser.streaming, false);
  });

  it('sends what was collected first, then each later line with its joining LF', () => {
    const r = streamed(8);
    r.parser.push('data: abc\ndata: def\n');
    assert.deepEqual(r.pieces, [], 'still under the bound');
    r.parser.push('data: ghi\ndata: j\n\n');
    assert.deepEqual(r.pieces, ['abc\ndef\nghi', '\nj']);
    assert.equal(r.events[0]!.streamed, true);
  });

  it('strips the one space after `data:` even when the line is cut right after the colon', () => {
    const r = streamed(0);
    r.parser.push('data:');
    r.parser.push(' ');
    r.parser.push('value');
    r.parser.push('\n\n');
    assert.equal(r.pieces.join(''), 'value');
  });

  it('does not mistake another field for data, or a comment for a line to stream', () => {
    const r = streamed(1);
    r.parser.push(': ' + 'c'.repeat(20) + '\n');
    r.parser.push('event: ' + 'e'.repeat(20) + '\n');
    r.parser.push('data: ok\n\n');
    assert.deepEqual(r.pieces, ['ok']);
    assert.equal(r.events[0]!.type, 'e'.repeat(20));
  });

  it('gives each piece the type of its block as read so far, even when the block ends in the same push', () => {
    const types: string[] = [];
    const p = new SseParser(() => {}, { streamDataOver: 0, onData: (_piece, type) => types.push(type) });
    p.push('event: notice\ndata: x\n\ndata: y\n\nevent: late\ndata: z');
    assert.deepEqual(types, ['notice', 'message', 'late']);
  });

  it('ends a streamed line at a CR, and swallows the LF of a CRLF split across chunks', () => {
    const r = streamed(0);
    r.parser.push('data: abc\r');
    r.parser.push('\ndata: d\r\n\r\n');
    assert.deepEqual(r.pieces, ['abc', '\nd']);
    assert.equal(r.events.length, 1);
  });

  it('leaves an event cut off by the end of the stream undispatched, and says so', () => {
    const r = streamed(2);
    r.parser.push('data: abcdef');
    r.parser.end();
    assert.equal(r.events.length, 0);
    assert.equal(r.parser.streaming, true);
    assert.equal(r.pieces.join(''), 'abcdef');
  });

  it('still bounds the whole streamed event by maxEventBytes, in UTF-8 bytes', () => {
    const r = streamed(2, { maxEventBytes: 10 });
    r.parser.push(Buffer.from('data: €€€'));
    assert.throws(() => r.parser.push(Buffer.from('€')), SseLimitError);
    // A line far longer than the line bound streams rather than failing, while the event fits.
    const big = streamed(10, { maxEventBytes: 1000 });
    for (let i = 0; i < 9; i++) big.parser.push('x'.repeat(100).replace(/^x{6}/, i === 0 ? 'data: ' : 'xxxxxx'));
    big.parser.push('\n\n');
    assert.equal(big.pieces.join('').length, 894);
  });

  it('refuses streamDataOver without onData', () => {
    assert.throws(() => new SseParser(() => {}, { streamDataOver: 10 }), RangeError);
  });
});
