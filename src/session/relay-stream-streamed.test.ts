/**
 * RelayStream.beginEvent: one event written as its data arrives, for upstream events too large
 * to hold (the SSE chunk path). What a client reads must be exactly one event with exactly that
 * data, never half an event, and never a replay with a hole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABANDONED_EVENT_TYPE, RelayStream } from './relay-stream.ts';
import { clientPair } from './sse-test-client.ts';

const opts = { id: 's1', resumable: true, capacity: 8, keepAliveMs: 0, detachedTtlMs: 60_000 };
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a streamed event reaches the client as one event with exactly its data, line breaks included', async () => {
  const emitted: Array<[number, number]> = [];
  const stream = new RelayStream({ ...opts, onEmitStreamed: (seq, bytes) => emitted.push([seq, bytes]) });
  const c = await clientPair();
  stream.attach(c.res);
  await stream.emit('before');
  const ev = (await stream.beginEvent())!;
  await ev.write('{"result":');
  await ev.write('\n  "€uro"');
  await ev.write('\r\n}');
  ev.end();
  await stream.emit('after');
  stream.complete();
  const events = await c.events;
  assert.deepEqual(events.map((e) => [e.data, e.lastEventId]), [
    ['before', 's1.0'],
    ['{"result":\n  "€uro"\n}', 's1.1'],
    ['after', 's1.2'],
  ]);
  assert.deepEqual(emitted, [[1, Buffer.byteLength('{"result":\n  "€uro"\r\n}')]]);
  assert.equal(stream.eventsDelivered, 3);
  c.close();
});

test('no keep-alive comment is written into an event still being written', async () => {
  const stream = new RelayStream({ ...opts, resumable: false, keepAliveMs: 20 });
  const c = await clientPair();
  stream.attach(c.res);
  const ev = (await stream.beginEvent())!;
  await ev.write('{"a":"');
  await tick(120); // several keep-alive periods with the event open
  await ev.write('b"}');
  ev.end();
  await tick(60); // quiet again: keep-alives resume
  stream.complete();
  const body = await c.body;
  assert.match(body, /^data: \{"a":"b"\}\n\n/, 'the event is whole, nothing inside it');
  assert.match(body.slice(body.indexOf('\n\n') + 2), /^(:\n\n)+$/, 'keep-alives after it');
  assert.deepEqual((await c.events).map((e) => e.data), ['{"a":"b"}']);
  c.close();
});

test('a client resuming from before a streamed event is refused; from it, served', async () => {
  const stream = new RelayStream(opts);
  const c = await clientPair();
  stream.attach(c.res);
  await stream.emit('one');
  const ev = (await stream.beginEvent())!;
  await ev.write('big');
  ev.end();
  await stream.emit('three');
  assert.equal(stream.canReplayFrom(0), false, 'the streamed event (seq 1) cannot be replayed');
  assert.equal(stream.canReplayFrom(1), true, 'after it, the kept events can');
  c.res.end();
  await c.body;
  const d = await clientPair();
  stream.attach(d.res, 1);
  stream.complete();
  assert.deepEqual((await d.events).map((e) => e.data), ['three']);
  c.close();
  d.close();
});

test('a streamed event waits for a client while the stream is detached', async () => {
  const stream = new RelayStream(opts);
  let begun = false;
  const pending = stream.beginEvent().then((ev) => {
    begun = true;
    return ev;
  });
  await tick(30);
  assert.equal(begun, false, 'nothing to write it to, and it cannot be kept for replay');
  const c = await clientPair();
  stream.attach(c.res);
  const ev = (await pending)!;
  await ev.write('late');
  ev.end();
  stream.complete();
  assert.deepEqual((await c.events).map((e) => e.data), ['late']);
  c.close();
});

test('a client that resumes mid-event gets none of the rest of it, and the first never dispatches a part', async () => {
  const stream = new RelayStream(opts);
  const a = await clientPair();
  stream.attach(a.res);
  await stream.emit('zero');
  const ev = (await stream.beginEvent())!;
  await ev.write('first half ');
  const b = await clientPair();
  stream.attach(b.res, 0); // takes over, as a client resuming on a new connection does
  await ev.write('second half');
  ev.end();
  await stream.emit('next');
  stream.complete();
  assert.deepEqual((await a.events).map((e) => e.data), ['zero'], 'the cut-off event is not dispatched');
  assert.doesNotMatch(await b.body, /half/);
  assert.deepEqual((await b.events).map((e) => e.data), ['next']);
  a.close();
  b.close();
});

test('an event emitted while a streamed one is open gives that one up first, instead of joining its data line', async () => {
  const stream = new RelayStream({ ...opts, resumable: false });
  const c = await clientPair();
  stream.attach(c.res);
  const ev = (await stream.beginEvent())!;
  await ev.write('{"result":"part');
  // What a credential that just expired does: the ending, a last error event, then the close.
  stream.end('cut', 'credential_expired');
  const error = '{"jsonrpc":"2.0","id":1,"error":{"code":-31042,"message":"expired"}}';
  await stream.emit(error);
  assert.equal(ev.abandoned, true);
  await assert.rejects(ev.write('rest"}'), /abandoned/, 'the rest of the given-up event is never written');
  ev.end();
  stream.close();
  const events = await c.events;
  assert.deepEqual(events.map((e) => [e.type, e.data]), [
    [ABANDONED_EVENT_TYPE, '{"result":"part\nportcullis: abandoned'],
    ['message', error],
  ]);
  assert.throws(() => JSON.parse(events[0]!.data), SyntaxError);
  assert.equal(stream.ending, 'cut');
  c.close();
});

test('a writer may give its event up: a client reads no message from it, and the stream goes on', async () => {
  const stream = new RelayStream(opts);
  const c = await clientPair();
  stream.attach(c.res);
  const ev = (await stream.beginEvent())!;
  // Even a part that is a complete JSON text on its own never parses once given up.
  await ev.write('{"jsonrpc":"2.0","id":7,"result":{}}');
  ev.abandon();
  ev.abandon();
  await stream.emit('next');
  stream.complete();
  const events = await c.events;
  assert.deepEqual(events.map((e) => e.type), [ABANDONED_EVENT_TYPE, 'message']);
  assert.throws(() => JSON.parse(events[0]!.data), SyntaxError);
  assert.equal(events[1]!.data, 'next');
  c.close();
});

test('beginEvent on a closed stream gives nothing to write to', async () => {
  const stream = new RelayStream(opts);
  stream.close();
  assert.equal(await stream.beginEvent(), undefined);
});
