import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayBudget } from './event-store.ts';
import { RelayStream } from './relay-stream.ts';
import { clientPair } from './sse-test-client.ts';

const opts = { id: 's1', resumable: true, capacity: 3, keepAliveMs: 0, detachedTtlMs: 60_000 };

test('event ids name the stream; replay after an id sends only later events', async () => {
  const stream = new RelayStream(opts);
  const a = await clientPair();
  stream.attach(a.res);
  await stream.emit('one');
  await stream.emit('two');
  a.res.end();
  assert.match(await a.body, /id: s1\.0\ndata: one\n\nid: s1\.1\ndata: two\n\n/);
  assert.deepEqual(RelayStream.parseEventId('s1.1'), { stream: 's1', seq: 1 });
  assert.equal(RelayStream.parseEventId('garbage'), undefined);

  // A second client resumes after s1.0: gets "two" replayed, then live events.
  const b = await clientPair();
  stream.attach(b.res, 0);
  await stream.emit('three');
  stream.complete();
  const text = await b.body;
  assert.doesNotMatch(text, /data: one/);
  assert.match(text, /id: s1\.1\ndata: two\n\nid: s1\.2\ndata: three\n\n/);
  a.close(); b.close();
});

test('while detached, the reader pauses once the replay buffer is full, and resumes on attach', async () => {
  const stream = new RelayStream(opts);
  await stream.emit('1');
  await stream.emit('2');
  let thirdDone = false;
  const third = stream.emit('3').then(() => (thirdDone = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(thirdDone, false, 'paused: no client and the buffer is full');
  const c = await clientPair();
  stream.attach(c.res, -1);
  await third;
  assert.equal(thirdDone, true);
  await stream.emit('4');
  // Capacity 3: event 0 ('1') has now left the replay buffer.
  assert.equal(stream.canReplayFrom(-1), false, 'event 0 is gone');
  assert.equal(stream.canReplayFrom(0), true);
  stream.complete();
  const text = await c.body;
  assert.deepEqual([...text.matchAll(/data: (\d)/g)].map((m) => m[1]), ['1', '2', '3', '4']);
  c.close();
});

test('while detached, the reader pauses before an event would push out unseen ones by bytes, and none is lost', async () => {
  const big = 'y'.repeat(400);
  const stream = new RelayStream({ ...opts, capacity: 100, capacityBytes: 1000 });
  await stream.emit(`a${big}`);
  await stream.emit(`b${big}`);
  let thirdDone = false;
  const third = stream.emit(`c${big}`).then(() => (thirdDone = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(thirdDone, false, 'paused: a third event would push out the first, which no client saw');
  const c = await clientPair();
  stream.attach(c.res, -1);
  await third;
  stream.complete();
  const text = await c.body;
  assert.deepEqual([...text.matchAll(/data: ([abc])y/g)].map((m) => m[1]), ['a', 'b', 'c'], 'every event reached the client, in order');
  assert.equal(stream.canReplayFrom(-1), false, 'the first has since left the buffer');
  c.close();
});

test('detached streams sharing a replay budget stop at it (the reader pauses), and a closed one gives its share back', async () => {
  const budget = new ReplayBudget(1000);
  const big = 'z'.repeat(400);
  const first = new RelayStream({ ...opts, id: 'b1', capacity: 100, capacityBytes: 10_000, budget });
  await first.emit(`a${big}`);
  await first.emit(`b${big}`);
  const second = new RelayStream({ ...opts, id: 'b2', capacity: 100, capacityBytes: 10_000, budget });
  let done = false;
  const third = second.emit(`c${big}`).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  // The second stream's first event is kept whatever the budget (a store keeps its newest), but
  // the gateway-wide total is back within it once it drops; the first stream kept its events.
  assert.ok(budget.used <= 1000 || !done, `${budget.used} bytes kept`);
  first.close();
  second.close();
  await third;
  assert.equal(budget.used, 0, 'closed streams keep nothing');
});

test("a detached stream whose caller's share of the budget is taken waits for room, even with nothing of its own kept", async () => {
  // Events here are ~58 characters (id and data lines included). Past half the budget (400),
  // carol may keep 100.
  const budget = new ReplayBudget(800);
  const dave = new RelayStream({ ...opts, id: 'd1', capacity: 100, capacityBytes: 10_000, budget, caller: 'dave' });
  for (let i = 0; i < 6; i++) await dave.emit(String(i).repeat(40));
  const first = new RelayStream({ ...opts, id: 's1', capacity: 100, capacityBytes: 10_000, budget, caller: 'carol' });
  await first.emit('a'.repeat(40));
  const second = new RelayStream({ ...opts, id: 's2', capacity: 100, capacityBytes: 10_000, budget, caller: 'carol' });
  let done = false;
  const pending = second.emit('d'.repeat(40)).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  // Kept and dropped at once, it would be lost to replay: the reader pauses instead.
  assert.equal(done, false);
  // Its client comes back: the event goes to it live.
  const c = await clientPair();
  second.attach(c.res);
  await pending;
  dave.close();
  first.close();
  second.complete();
  assert.match(await c.body, /data: d{40}/);
  c.close();
  assert.equal(budget.used, 0);
});

test('a modern (non-resumable) stream closes and aborts upstream when the client leaves', async () => {
  const stream = new RelayStream({ ...opts, resumable: false });
  let aborted = false;
  stream.abortUpstream = () => (aborted = true);
  const c = await clientPair();
  stream.attach(c.res);
  await stream.emit('x');
  c.res.destroy();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(aborted, true);
  assert.equal(stream.state, 'closed');
  c.close();
});
