import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskOwners } from '../session/task-owners.ts';
import { callerKey } from '../session/sessions.ts';
import type { Exchange } from './context.ts';
import { withoutForeignTaskStatus } from './tasks.ts';

/** Just what the filter reads of an exchange: its route, its caller and the task bindings. */
function exchangeOf(subject: string, tasks: TaskOwners): Exchange {
  const principal = { subject, method: 'api-key' as const };
  return { route: { name: 'r' }, principal, clientAddress: '127.0.0.1', services: { tasks } } as unknown as Exchange;
}

describe('withoutForeignTaskStatus: task status on an SSE stream relayed unread', () => {
  const tasks = new TaskOwners();
  const alice = exchangeOf('alice', tasks);
  const bob = exchangeOf('bob', tasks);
  tasks.bind('r', 't1', callerKey(alice.principal, alice.clientAddress));
  const status = (extra: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tasks/status', params: { taskId: 't1', status: 'working' }, ...extra });

  it("passes the creator's status and drops anyone else's", () => {
    assert.equal(withoutForeignTaskStatus(alice, status()), undefined);
    assert.equal(withoutForeignTaskStatus(bob, status()), null);
  });

  it('reads the method however it is escaped, and with an id beside it', () => {
    assert.equal(withoutForeignTaskStatus(bob, status().replace('notifications/tasks/status', 'notifications\\/\\u0074asks\\/status')), null);
    assert.equal(withoutForeignTaskStatus(bob, status({ id: null })), null);
  });

  it('takes the status out of a batch array, keeps the rest, and drops an array left empty', () => {
    const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } };
    assert.equal(withoutForeignTaskStatus(bob, `[${status()},${JSON.stringify(note)}]`), JSON.stringify([note]));
    assert.equal(withoutForeignTaskStatus(bob, `[${status()}]`), null);
  });

  it('drops text that could name the method but is not JSON; leaves alone what cannot name it', () => {
    assert.equal(withoutForeignTaskStatus(bob, `${status()} trailing`), null);
    assert.equal(withoutForeignTaskStatus(bob, '{"jsonrpc":"2.0","method":"notifications/message","params":{}}'), undefined);
    assert.equal(withoutForeignTaskStatus(bob, 'not json, no method'), undefined);
  });
});
