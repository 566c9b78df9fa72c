import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskOwners } from './task-owners.ts';

describe('TaskOwners', () => {
  it('a task is its creator\'s, per route; nobody owns an unknown task', () => {
    const t = new TaskOwners();
    t.bind('r', 'task-1', 'alice');
    assert.equal(t.owns('r', 'task-1', 'alice'), true);
    assert.equal(t.owns('r', 'task-1', 'bob'), false);
    assert.equal(t.owns('other-route', 'task-1', 'alice'), false);
    assert.equal(t.owns('r', 'task-2', 'alice'), false);
  });

  it('an upstream reusing a live task id cannot hand the task to a second caller', () => {
    const t = new TaskOwners();
    t.bind('r', 'task-1', 'alice');
    t.bind('r', 'task-1', 'bob');
    assert.equal(t.owns('r', 'task-1', 'alice'), true);
    assert.equal(t.owns('r', 'task-1', 'bob'), false);
  });

  it('a binding expires with the task (ttl, capped at 24 h; 1 h without one)', () => {
    let now = 0;
    const t = new TaskOwners({ now: () => now });
    t.bind('r', 'short', 'alice', 1_000);
    t.bind('r', 'default', 'alice');
    t.bind('r', 'forever', 'alice', 1e12);
    now = 1_001;
    assert.equal(t.owns('r', 'short', 'alice'), false);
    assert.equal(t.owns('r', 'default', 'alice'), true);
    now = 60 * 60 * 1000 + 1;
    assert.equal(t.owns('r', 'default', 'alice'), false);
    now = 24 * 60 * 60 * 1000 + 1;
    assert.equal(t.owns('r', 'forever', 'alice'), false);
    // Expired, the id can be bound anew.
    t.bind('r', 'short', 'bob');
    assert.equal(t.owns('r', 'short', 'bob'), true);
  });

  it('keeps at most maxEntries bindings, forgetting the oldest', () => {
    const t = new TaskOwners({ maxEntries: 2 });
    t.bind('r', 'a', 'x');
    t.bind('r', 'b', 'x');
    t.bind('r', 'c', 'x');
    assert.equal(t.size, 2);
    assert.equal(t.owns('r', 'a', 'x'), false);
    assert.equal(t.owns('r', 'c', 'x'), true);
  });

  it('a caller creating tasks in bulk forgets only its own oldest bindings (maxPerOwner)', () => {
    const t = new TaskOwners({ maxPerOwner: 2 });
    t.bind('r', 'alice-1', 'alice');
    for (let i = 0; i < 5; i++) t.bind('r', `mallory-${i}`, 'mallory');
    assert.equal(t.owns('r', 'alice-1', 'alice'), true);
    assert.equal(t.owns('r', 'mallory-0', 'mallory'), false);
    assert.equal(t.owns('r', 'mallory-4', 'mallory'), true);
    assert.equal(t.size, 3);
  });
});
