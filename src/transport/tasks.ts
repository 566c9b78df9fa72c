/**
 * Tasks bound to the caller that created them (session/task-owners.ts says why).
 *
 * - A request that may create a task (2025-11-25: `params.task`; 2026-07-28: the client declared
 *   the `io.modelcontextprotocol/tasks` extension on it) has its answer read, whatever the route's
 *   inspectors: a `CreateTaskResult` binds its `task.taskId` to the caller.
 * - `tasks/get`, `tasks/result`, `tasks/cancel`, `tasks/update` (any `tasks/*` with a `taskId`)
 *   name a task: one the caller did not create is refused before it reaches the upstream, as an
 *   unknown task.
 * - Tasks do not exist in 2025-03-26, the one version with batches: a batch carrying a `tasks/*`
 *   request or a `params.task` is refused (its answers would bypass the bindings).
 * - `tasks/list` (2025-11-25) answers with the caller's own tasks only.
 * - `notifications/tasks/status` reaches only the task's creator. The upstream sees every caller
 *   as the gateway's one credential, so it may tell any of its sessions or listeners about any
 *   task "of theirs"; relayed as sent, one caller would learn another's task ids and status.
 */
import type { Classified } from '../codec/jsonrpc.ts';
import { GatewayError } from '../core/errors.ts';
import type { JsonRpcMessage } from '../pipeline/types.ts';
import { callerKey } from '../session/sessions.ts';
import type { Exchange } from './context.ts';

/**
 * Any `tasks/*` request naming a task by `params.taskId`, whatever the era it claims: an upstream
 * that speaks both eras serves `tasks/update` to a 2025 request too, so judging by the era's own
 * method list would let one through unchecked.
 */
function namesATask(method: string, params: Record<string, unknown> | undefined): boolean {
  return method.startsWith('tasks/') && method !== 'tasks/list' && (params?.['taskId'] !== undefined || KNOWN_TASK_METHODS.has(method));
}
const KNOWN_TASK_METHODS = new Set(['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/update']);
/**
 * Removed by the 2026-07-28 tasks extension (SEP-2663: "tasks/result and tasks/list are
 * removed"): answered as a compliant server would (-32601) rather than passed to an upstream that
 * might still serve them, unbound, to any caller.
 */
const REMOVED_IN_2026 = new Set(['tasks/result', 'tasks/list']);
const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';
const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Whether the answer to this client request must be read for task bindings. */
export function tracksTasks(c: Classified): boolean {
  if (c.kind !== 'request') return false;
  if (c.method === 'tasks/list') return true;
  const params = record(c.message['params']);
  if (!params) return false;
  if (record(params['task'])) return true;
  const caps = record(record(params['_meta'])?.[META_CAPS]);
  return record(caps?.['extensions'])?.[TASKS_EXTENSION] !== undefined;
}

/** The refusal for a request naming a task the caller did not create, if it does. */
export function taskAccessRefusal(ex: Exchange, c: Classified): GatewayError | undefined {
  if (c.kind !== 'request') return undefined;
  if (ex.era === 'modern' && REMOVED_IN_2026.has(c.method)) return new GatewayError('method_not_found', `${c.method} is not part of the 2026-07-28 tasks extension`);
  const params = record(c.message['params']);
  if (!namesATask(c.method, params)) return undefined;
  const taskId = params?.['taskId'];
  if (typeof taskId !== 'string') return new GatewayError('invalid_params', 'taskId must be a string');
  if (ex.services.tasks.owns(ex.route.name, taskId, callerKey(ex.principal, ex.clientAddress))) return undefined;
  // The same answer for another caller's task and for no task at all: nothing to learn by probing.
  return new GatewayError('task_not_found');
}

/**
 * The answer to this exchange's request, with what it says about tasks applied: a created task
 * is bound to the caller; a `tasks/list` keeps the caller's own tasks. Returns the message to
 * forward (the same object when nothing changed).
 */
export function applyTaskBindings(ex: Exchange, response: JsonRpcMessage): JsonRpcMessage {
  const result = record(response['result']);
  if (!result || !ex.request) return response;
  const owner = callerKey(ex.principal, ex.clientAddress);
  const task = record(result['task']);
  // Only an answer to a request that creates tasks binds one: a tasks/* answer naming a task id
  // (possibly one never bound) must not hand that task to whoever asked.
  if (task && typeof task['taskId'] === 'string' && !ex.request.method.startsWith('tasks/')) {
    // 2025-11-25 `ttl`, 2026-07-28 `ttlMs`: both milliseconds; absent or null is "unlimited".
    const ttl = typeof task['ttlMs'] === 'number' ? task['ttlMs'] : typeof task['ttl'] === 'number' ? task['ttl'] : undefined;
    ex.services.tasks.bind(ex.route.name, task['taskId'], owner, ttl);
  }
  if (ex.request.method === 'tasks/list' && Array.isArray(result['tasks'])) {
    const own = result['tasks'].filter((t) => {
      const id = record(t)?.['taskId'];
      return typeof id === 'string' && ex.services.tasks.owns(ex.route.name, id, owner);
    });
    if (own.length !== result['tasks'].length) return { ...response, result: { ...result, tasks: own } };
  }
  return response;
}

/** Whether a 2025-03-26 batch element touches tasks (refused: see the module comment). */
export function taskInBatch(c: Classified): boolean {
  if (c.kind !== 'request' && c.kind !== 'notification') return false;
  return c.method.startsWith('tasks/') || record(record(c.message['params'])?.['task']) !== undefined;
}

/** Whether a server→client notification is the status of a task this exchange's caller did not create. */
export function foreignTaskStatus(ex: Exchange, method: string, message: JsonRpcMessage): boolean {
  if (method !== 'notifications/tasks/status') return false;
  const taskId = record(message['params'])?.['taskId'];
  return typeof taskId !== 'string' || !ex.services.tasks.owns(ex.route.name, taskId, callerKey(ex.principal, ex.clientAddress));
}

/**
 * An SSE event relayed unread (no inspector, no capture) with the status of another caller's task
 * taken out: undefined to send it as it is, null to drop it, or the text of a batch array without
 * those elements. (A JSON answer body relayed unread is one message, the answer, by the transport:
 * it is not read for notifications.) Read per event, on every stream and every route: a stream opened before the
 * route's first task (the 2025 standalone GET stream, opened right after initialize) or a task
 * created before a restart must not let the status through. Only events that can name the method
 * are parsed: `tasks` in clear, or any `\u` escape (a letter of the method could hide behind one;
 * `\/` leaves `tasks` readable).
 */
export function withoutForeignTaskStatus(ex: Exchange, data: string): string | null | undefined {
  if (!data.includes('tasks') && !data.includes('\\u')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    // Not JSON to us, but it could name the method to a lenient client: not relayed (the read
    // path refuses it too, as upstream_protocol).
    return null;
  }
  // By method alone: an `"id": null` beside it must not make a status pass as something else.
  const foreign = (m: unknown) => {
    const msg = record(m);
    return msg !== undefined && msg['method'] === 'notifications/tasks/status' && foreignTaskStatus(ex, msg['method'], msg as JsonRpcMessage);
  };
  if (!Array.isArray(parsed)) return foreign(parsed) ? null : undefined;
  const kept = parsed.filter((m) => !foreign(m));
  if (kept.length === parsed.length) return undefined;
  return kept.length === 0 ? null : JSON.stringify(kept);
}
