/**
 * The event store contract: what `Last-Event-ID` replay relies on, run against every
 * implementation (in memory today; a shared store joins the list when it exists).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplayBudget, MemoryEventStore, type EventStore } from './event-store.ts';

export function eventStoreContract(name: string, make: (capacity: number, maxBytes?: number) => EventStore): void {
  describe(`event store contract: ${name}`, () => {
    const fill = (s: EventStore, from: number, to: number) => {
      for (let seq = from; seq <= to; seq++) s.append({ seq, text: `id: s.${seq}\ndata: ${seq}\n\n` });
    };
    const seqs = (it: Iterable<{ seq: number }>) => [...it].map((e) => e.seq);

    it('replays what came after the last event a client saw, in order', () => {
      const s = make(10);
      fill(s, 0, 4);
      assert.deepEqual(seqs(s.after(1)), [2, 3, 4]);
      assert.deepEqual(seqs(s.after(-1)), [0, 1, 2, 3, 4]);
      assert.deepEqual(seqs(s.after(4)), []);
      assert.equal(s.after(2)[Symbol.iterator]().next().value?.text, 'id: s.3\ndata: 3\n\n');
    });

    it('keeps the newest events up to its capacity, and says when a gap makes replay impossible', () => {
      const s = make(3);
      fill(s, 0, 5);
      assert.equal(s.size, 3);
      assert.deepEqual(seqs(s.after(-1)), [3, 4, 5]);
      assert.equal(s.canReplayFrom(2, 6), true, 'saw 2: 3.. are all kept');
      assert.equal(s.canReplayFrom(1, 6), false, 'saw 1: 2 was dropped');
      assert.equal(s.canReplayFrom(5, 6), true, 'saw everything');
    });

    it('keeps at most maxBytes of event text: the oldest go first, and one event over the bound alone is not kept', () => {
      const ev = (seq: number, size: number) => ({ seq, text: `id: s.${seq}\ndata: ${'x'.repeat(size)}\n\n` });
      const len = (size: number) => ev(0, size).text.length;
      const s = make(100, 3 * len(100));
      for (let seq = 0; seq < 5; seq++) s.append(ev(seq, 100));
      assert.deepEqual(seqs(s.after(-1)), [2, 3, 4], 'three events fit the bytes');
      assert.equal(s.fits(ev(5, 100).text), false, 'a fourth would push out event 2');
      assert.equal(s.canReplayFrom(1, 5), true);
      assert.equal(s.canReplayFrom(0, 5), false, 'event 1 went for bytes');
      s.append(ev(5, 10_000));
      assert.deepEqual(seqs(s.after(-1)), [], 'an event larger than the bound pushes everything out, itself included');
      assert.equal(s.canReplayFrom(4, 6), false, 'so a client that saw 4 cannot get 5');
      assert.equal(s.canReplayFrom(5, 6), true);
      assert.equal(s.fits(ev(6, 100).text), true);
    });

    it('with nothing kept, only a client that saw the last event issued can resume', () => {
      const s = make(3);
      assert.equal(s.canReplayFrom(-1, 0), true, 'nothing issued yet');
      fill(s, 0, 2);
      s.clear();
      assert.equal(s.size, 0);
      assert.equal(s.canReplayFrom(2, 3), true);
      assert.equal(s.canReplayFrom(1, 3), false);
    });
  });
}

eventStoreContract('memory', (capacity, maxBytes) => new MemoryEventStore(capacity, maxBytes));

describe('MemoryEventStore', () => {
  it('with capacity 0 keeps nothing (no replay)', () => {
    const s = new MemoryEventStore(0);
    s.append({ seq: 0, text: 'x' });
    assert.equal(s.size, 0);
    assert.equal(s.canReplayFrom(-1, 1), false);
  });

  it('stores sharing a ReplayBudget keep no more text together than it allows; the appending one pays, clear() gives back', () => {
    const budget = new ReplayBudget(100);
    const idle = new MemoryEventStore(1000, 1_000_000, budget);
    const busy = new MemoryEventStore(1000, 1_000_000, budget);
    for (let i = 0; i < 8; i++) idle.append({ seq: i, text: 'x'.repeat(10) });
    assert.equal(budget.used, 80);
    assert.equal(idle.fits('y'.repeat(30)), false, 'no room left for a detached stream to keep more');
    for (let i = 0; i < 5; i++) busy.append({ seq: i, text: 'y'.repeat(10) });
    assert.ok(budget.used <= 100, `${budget.used}`);
    assert.equal(idle.size, 8, 'the stream that was not appending keeps its events');
    assert.equal(busy.size, 2, 'the appending one dropped its own oldest');
    assert.equal(busy.canReplayFrom(0, 5), false);
    idle.clear();
    assert.equal(budget.used, 20);
    assert.equal(busy.fits('z'.repeat(30)), true);
  });

  it("past half the budget one caller keeps no more than an eighth: filling it leaves another caller's events kept", () => {
    const budget = new ReplayBudget(800);
    assert.equal(budget.perCaller, 100);
    const hog = Array.from({ length: 40 }, () => new MemoryEventStore(1000, 1_000_000, budget, 'mallory'));
    hog.forEach((s, i) => s.append({ seq: i, text: 'm'.repeat(40) }));
    // Below half anyone may use it all; past it, her new events drop as they are kept.
    assert.ok(budget.usedBy('mallory') <= 440, `mallory keeps ${budget.usedBy('mallory')}`);
    assert.equal(hog[0]!.fits('m'.repeat(30)), false, 'a detached stream of hers finds no room (its reader pauses)');
    assert.equal(hog[0]!.couldFit('m'.repeat(40)), true, 'but would, once room frees up');
    assert.equal(hog[0]!.couldFit('m'.repeat(101)), false, 'an event over her whole share never would');
    const bob = new MemoryEventStore(1000, 1_000_000, budget, 'bob');
    for (let i = 0; i < 2; i++) bob.append({ seq: i, text: 'b'.repeat(40) });
    assert.equal(bob.size, 2, "bob's events are kept: his resumption still works");
    assert.equal(bob.canReplayFrom(-1, 2), true);
    hog.forEach((s) => s.clear());
    assert.equal(budget.usedBy('mallory'), 0);
    assert.equal(budget.used, 80);
  });

  it('a lone caller may use the whole budget while nobody else needs it', () => {
    const budget = new ReplayBudget(800);
    const stores = Array.from({ length: 10 }, () => new MemoryEventStore(1000, 1_000_000, budget, 'service'));
    stores.forEach((s, i) => s.append({ seq: i, text: 's'.repeat(40) }));
    assert.equal(budget.usedBy('service'), 400, 'half of it, four times its share past half');
    assert.equal(stores.every((s) => s.size === 1), true);
  });
});
