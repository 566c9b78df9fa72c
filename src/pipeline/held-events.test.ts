/**
 * The relay's queue of held SSE events, alone (the relay and the DLP model both drive it): order,
 * the caps whatever inspectors ask, deadlines, which events a verdict keeps, amendments by frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeldQueue, heldText, type Held } from './held-events.ts';
import { HELD_CHARS_MAX, HELD_EVENTS_MAX } from './types.ts';

const ev = (frame: string, deadline = 50, data = frame, latest = deadline + 2_000): Held<undefined> => {
  const message = { jsonrpc: '2.0', method: 'notifications/message', params: { data } };
  return { frame, message, text: JSON.stringify(message), amend: [], deadline, latest, extra: undefined };
};
const frames = (hs: ReadonlyArray<Held<undefined>>) => hs.map((h) => h.frame);

describe('HeldQueue', () => {
  it('holds at most HELD_EVENTS_MAX events: the oldest go out first, in order', () => {
    const q = new HeldQueue<undefined>();
    const out: string[] = [];
    for (let i = 0; i < HELD_EVENTS_MAX + 10; i++) out.push(...frames(q.push(ev(`e${i}`))) as string[]);
    assert.equal(q.size, HELD_EVENTS_MAX);
    assert.deepEqual(out, Array.from({ length: 10 }, (_, i) => `e${i}`));
    assert.deepEqual(frames(q.drain()), Array.from({ length: HELD_EVENTS_MAX }, (_, i) => `e${i + 10}`));
  });

  it('holds at most HELD_CHARS_MAX characters, but always the newest event', () => {
    const q = new HeldQueue<undefined>();
    const big = 'x'.repeat(HELD_CHARS_MAX / 2);
    assert.deepEqual(frames(q.push(ev('a', 50, big))), []);
    assert.deepEqual(frames(q.push(ev('b', 50, big))), ['a']);
    assert.deepEqual(frames(q.push(ev('c', 50, 'x'.repeat(HELD_CHARS_MAX + 1)))), ['b']);
    assert.equal(q.size, 1);
  });

  it('an ended hold sends its event and every one before it, not the later ones', () => {
    const q = new HeldQueue<undefined>();
    q.push(ev('a', 100));
    q.push(ev('b', 60)); // a shorter hold asked later
    q.push(ev('c', 120));
    assert.deepEqual(frames(q.expire(59)), []);
    assert.deepEqual(frames(q.expire(60)), ['a', 'b']);
    q.postpone(1000);
    assert.deepEqual(frames(q.expire(200)), []);
    assert.equal(q.nextDeadline(), 1120);
  });

  it('a verdict keeps held the events from the oldest it names; sends all when the current event is not held', () => {
    const q = new HeldQueue<undefined>();
    for (const f of ['a', 'b', 'c', 'd']) q.push(ev(f));
    assert.deepEqual(frames(q.settle(['c'], true)), ['a', 'b']);
    assert.deepEqual(frames(q.settle(undefined, true)), ['c', 'd'], 'nothing named: the two-event behaviour');
    for (const f of ['e', 'f']) q.push(ev(f));
    assert.deepEqual(frames(q.settle(['f'], false)), ['e', 'f']);
  });

  it('amendments go to the events they name and apply on release; those for events already sent are counted', () => {
    const q = new HeldQueue<undefined>();
    q.push(ev('a', 50, 'key AKIA'));
    q.push(ev('b', 50, 'QYLP'));
    const p = (start: number, end: number, replacement = '') => ({ pointer: '/params/data', start, end, replacement });
    assert.equal(q.amend({ amendHeld: [{ frame: 'a', patches: [p(4, 8)] }, { frame: 'gone', patches: [p(0, 1)] }], amendPrevious: [p(0, 4, '[R]')] }), 1);
    assert.equal(q.amend({ amendHeld: [{ frame: 'a', patches: [p(3, 6)] }] }), 0, 'accumulated, in the offsets of the event as held');
    assert.deepEqual(q.drain().map((h) => JSON.parse(heldText(h)).params.data), ['key', '[R]']);
    assert.equal(q.amend({ amendPrevious: [p(0, 1)] }), 1, 'nothing held: the previous event went out');
  });

  it('a run keeps its pieces held while they come within the hold of one another, never past their latest', () => {
    const q = new HeldQueue<undefined>();
    q.push(ev('a', 50, 'a', 100));
    q.push(ev('b', 90, 'b', 140));
    q.refresh(90);
    assert.equal(q.nextDeadline(), 90, 'a waits for b\'s deadline');
    q.refresh(130);
    assert.deepEqual(frames(q.expire(100)), ['a'], 'a never past its latest (100)');
    assert.deepEqual(frames(q.expire(130)), ['b']);
  });

  it('amendPrevious patches the last inspected event, not an unread one queued behind it', () => {
    const q = new HeldQueue<undefined>();
    q.push(ev('a', 50, 'key AKIAXXXX'));
    q.push({ ...ev('b', 50, ''), frame: undefined });
    q.amend({ amendPrevious: [{ pointer: '/params/data', start: 4, end: 12, replacement: '' }] });
    assert.deepEqual(q.drain().map((h) => heldText(h)), [JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'key ' } }), ev('b', 50, '').text]);
  });
});
