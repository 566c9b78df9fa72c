/**
 * Server→client messages through the s2c pipeline: parse, classify, correlate with the request,
 * inspect, and decide what the client gets (the message, a redacted copy, an error, nothing).
 * Shared by the JSON relay (relay.ts) and the SSE relay (relay-sse.ts).
 */
import { ambiguousMember } from '../codec/ambiguous-member.ts';
import { classify, MAX_JSON_DEPTH, nestsDeeperThan, type Classified, type JsonRpcId } from '../codec/jsonrpc.ts';
import { GatewayError, rpcError } from '../core/errors.ts';
import type { HeldAmend, JsonRpcMessage, Patch } from '../pipeline/types.ts';
import { wrapApprovedInputRequired } from './approval.ts';
import { applyTaskBindings, foreignTaskStatus } from './tasks.ts';
import { inspect, makeFrame, type Exchange } from './context.ts';
import { blockError, errorMessage } from './respond.ts';
import { learnToolList, recheckUpstreamTools } from './upstream-tools.ts';

/** What the relay learned that the caller needs (initialize capture, completion). */
export interface RelayOutcome {
  /** The final response to the exchange's request was relayed. */
  responded: boolean;
  /** First result seen for the request (initialize result, for version capture). */
  result: JsonRpcMessage | undefined;
}

/** One inspected server→client message: what to forward (undefined: drop) and stream hints. */
export interface S2cResult {
  text: string | undefined;
  droppedRequest?: JsonRpcId;
  /** The message as forwarded (parsed), for amending it while it is held. */
  message?: JsonRpcMessage;
  holdMs?: number;
  /** The inspected frame's id: how later events' hints name this event while it is held. */
  frameId?: string;
  keepHeld?: string[];
  amendHeld?: HeldAmend[];
  amendPrevious?: Patch[];
  /** The stream must end after `text` (a blocked message mid-stream); the error code. */
  endStream?: string;
}

export function blockedError(id: JsonRpcId | null, message: string | undefined, reasons: readonly string[]): JsonRpcMessage {
  return { jsonrpc: '2.0', id, error: rpcError('blocked', message, { reasons }) };
}

/** Does an answer with this id belong here: the exchange's request, or one of its batch? Strict (JSON-RPC ids: 2 is not "2"). */
function answersThisExchange(ex: Exchange, id: JsonRpcId): boolean {
  return (ex.request !== undefined && ex.request.rpcId === id) || ex.batchMethods?.has(id) === true;
}

/** The method a server→client message is about: its own, or the request it answers. */
function s2cMethod(ex: Exchange, c: Classified): string {
  if (c.kind === 'request' || c.kind === 'notification') return c.method;
  if (c.id !== undefined && ex.request?.rpcId === c.id) return ex.request.method;
  if (c.id !== undefined) return ex.batchMethods?.get(c.id) ?? '';
  return '';
}

/**
 * Inspects one server→client message. Returns the JSON text to forward, or undefined to drop it.
 * A blocked result becomes a JSON-RPC error for the same id; a blocked notification or server
 * request is dropped (a dropped server request is answered upstream with an error by the caller).
 */
export async function inspectS2c(
  ex: Exchange,
  data: string,
  carrier: 'json' | 'sse',
  out: RelayOutcome,
): Promise<S2cResult> {
  // Bounded before it is built (codec/jsonrpc.ts MAX_JSON_DEPTH says why).
  if (nestsDeeperThan(data, MAX_JSON_DEPTH)) throw new GatewayError('upstream_protocol', `nesting deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new GatewayError('upstream_protocol', 'upstream sent a message that is not JSON');
  }
  // The mirror of the client-side check (codec/ambiguous-member.ts): the text is relayed
  // as the upstream sent it, so a duplicate or case-folded name anywhere (`"description"` twice)
  // would be judged by its last spelling here and read by its first, or case-insensitively, by
  // the client (mcp-go), and a lone case-variant of a result member (`"Tools"`) would hide the
  // list from pinning while such a client reads it; so would a `"Description"` in a listed tool.
  const ambiguous = ambiguousMember(data);
  if (ambiguous !== undefined) throw new GatewayError('upstream_protocol', `ambiguous JSON: ${ambiguous}`);
  if (Array.isArray(parsed) && ex.batchMethods) {
    // 2025-03-26 batch response: every element is a message of its own. An array event is never
    // held (its elements are not one message to amend), but what its elements ask of events held
    // before it is passed on, so a split secret's earlier parts are still cut.
    const texts: string[] = [];
    const amendHeld: HeldAmend[] = [];
    const amendPrevious: Patch[] = [];
    for (const element of parsed) {
      const r = await inspectMessage(ex, element, JSON.stringify(element), carrier, out);
      if (r.text !== undefined) texts.push(r.text);
      if (r.amendHeld) amendHeld.push(...r.amendHeld);
      if (r.amendPrevious) amendPrevious.push(...r.amendPrevious);
    }
    const amends = { ...(amendHeld.length ? { amendHeld } : {}), ...(amendPrevious.length ? { amendPrevious } : {}) };
    // Every element dropped: nothing to send (an empty array is not a JSON-RPC batch response).
    return { text: texts.length > 0 ? `[${texts.join(',')}]` : undefined, ...amends };
  }
  return inspectMessage(ex, parsed, data, carrier, out);
}

async function inspectMessage(
  ex: Exchange,
  parsed: unknown,
  text: string,
  carrier: 'json' | 'sse',
  out: RelayOutcome,
): Promise<S2cResult> {
  const c = classify(parsed);
  if (!c.ok) throw new GatewayError('upstream_protocol', c.reason);
  let data = text;
  const msg = c.value;
  if ((msg.kind === 'result' || msg.kind === 'error') && msg.id !== undefined && !answersThisExchange(ex, msg.id)) {
    // An answer for another id (or the same number as a string): which inspectors apply is
    // decided by the request an answer belongs to, and clients match ids loosely (the TS SDK
    // by Number(id), on any stream), so relaying it would let the upstream pick the checks a
    // result gets (e.g. a tools/list answered on a ping's stream skips pinning). 2025-11-25
    // transports: a POST stream carries the answers to that POST's requests; the standalone GET
    // stream none. Not relayed: the client's own answer may still come.
    ex.services.metrics.countError('upstream_protocol');
    ex.services.logger.warn({ route: ex.route.name }, 'upstream answered a request id this stream did not carry; not relayed');
    if (carrier === 'json') throw new GatewayError('upstream_protocol', 'the upstream answered another request id');
    return { text: undefined };
  }
  if ((msg.kind === 'result' || msg.kind === 'error') && msg.id !== undefined && msg.id === ex.request?.rpcId) {
    out.responded = true;
    ex.response = msg.message;
    if (ex.approved && msg.kind === 'result') {
      const wrapped = wrapApprovedInputRequired(ex, msg.message);
      if (wrapped !== msg.message) {
        msg.message = wrapped;
        data = JSON.stringify(wrapped);
      }
    }
    if (ex.tracksTasks && msg.kind === 'result') {
      // A created task is bound to its caller; a task list keeps the caller's own (tasks.ts).
      const bound = applyTaskBindings(ex, msg.message);
      if (bound !== msg.message) {
        msg.message = bound;
        data = JSON.stringify(bound);
      }
    }
    if (msg.kind === 'result') {
      out.result = msg.message;
      if (ex.request?.method === 'tools/list') {
        learnToolList(ex.route, msg.message['result']);
      }
    }
  }
  // By method, whatever the kind: an id beside it makes it a "request" to the classifier, not to a
  // client dispatching by method name.
  if ((msg.kind === 'notification' || msg.kind === 'request') && foreignTaskStatus(ex, msg.method, msg.message)) {
    ex.notes['task_status_dropped'] = ((ex.notes['task_status_dropped'] as number | undefined) ?? 0) + 1;
    return { text: undefined };
  }
  if (msg.kind === 'request' && ex.session) rememberServerRequest(ex.session.pendingServerRequests, msg.id, msg.method);
  if (msg.kind === 'notification' && msg.method === 'notifications/tools/list_changed' && ex.route.pinner) recheckUpstreamTools(ex);
  const frame = makeFrame(ex, 's2c', msg, s2cMethod(ex, msg), { transport: carrier, bytes: data.length });
  const result = await inspect(ex, frame);
  if (out.responded && ex.response === msg.message && (!result || result.verdict.kind === 'allow' || result.verdict.kind === 'redact')) ex.responseForwarded = result?.message ?? msg.message;
  if (!result) return { text: data };
  // Amendments of held events go with every verdict (a block cuts its parts out of them).
  const amends = { ...(result.amendPrevious ? { amendPrevious: result.amendPrevious } : {}), ...(result.amendHeld ? { amendHeld: result.amendHeld } : {}) };
  const hints = { message: result.message, frameId: frame.id, ...(result.holdMs ? { holdMs: result.holdMs } : {}), ...(result.keepHeld ? { keepHeld: result.keepHeld } : {}), ...amends };
  if (result.verdict.kind === 'allow') return { text: data, ...hints };
  if (result.verdict.kind === 'redact') return { text: JSON.stringify(result.message), ...hints };
  // block (and require-approval, which has no approval channel yet: fail closed)
  const v = result.verdict;
  if (msg.kind === 'result' || msg.kind === 'error') {
    const ge = blockError(v.kind === 'block' ? v : { reasons: v.reasons, message: 'approval required' });
    ex.errorCode = ge.code;
    return { text: JSON.stringify(errorMessage(msg.id ?? null, ge)), ...amends };
  }
  // Held events are amended on every block path: the parts of what was blocked come out of them.
  if (msg.kind === 'request') {
    ex.session?.pendingServerRequests.delete(msg.id);
    return { text: undefined, droppedRequest: msg.id, ...amends };
  }
  // A blocked message inside the stream answering a request (a leak in a progress or log
  // notification): the request fails with the error and the stream ends there, rather than
  // going on with a hole the client cannot see.
  if (carrier === 'sse' && ex.request?.rpcId !== undefined && v.kind === 'block') {
    const ge = blockError(v);
    ex.errorCode = ge.code;
    return { text: JSON.stringify(errorMessage(ex.request.rpcId, ge)), endStream: ge.code, ...amends };
  }
  return { text: undefined, ...amends };
}

export function needsParse(ex: Exchange): boolean {
  const m = ex.request?.method;
  return !ex.route.plan.isEmpty || m === 'initialize' || (m === 'tools/list' && ex.era === 'modern') || ex.approved === true || ex.tracksTasks === true;
}

/**
 * Does the gateway itself read this exchange's answer whole, whatever the inspectors? initialize
 * (the session), tools/list (the tool catalog, pins), an approved call's sealed rounds, a task to
 * bind or a task list to filter (tasks.ts). Such an answer is never passed unread nor streamed.
 */
export function gatewayReadsAnswer(ex: Exchange): boolean {
  const m = ex.request?.method;
  return m === 'initialize' || m === 'tools/list' || ex.approved === true || ex.tracksTasks === true;
}

/** Does a JSON answer to this exchange go to the client unread (no inspector, no capture)? */
export function passesJsonUnread(ex: Exchange): boolean {
  if (!needsParse(ex)) return true;
  const m = ex.request?.method;
  if (m === undefined || gatewayReadsAnswer(ex)) return false;
  return ex.route.plan.plan('s2c', false, m).buffering === 'none';
}

/** Server→client requests a session remembers awaiting the client's answer, at most. */
const MAX_PENDING_SERVER_REQUESTS = 1024;

/**
 * Remembers a server→client request so the client's answer is inspected as its method's. Bounded:
 * an upstream sending requests nobody answers (with long ids) must not grow the session without
 * limit; the oldest is forgotten first (its late answer is then inspected without a method).
 */
function rememberServerRequest(pending: Map<JsonRpcId, string>, id: JsonRpcId, method: string): void {
  if (typeof id === 'string' && id.length > 256) return;
  pending.delete(id);
  while (pending.size >= MAX_PENDING_SERVER_REQUESTS) pending.delete(pending.keys().next().value!);
  pending.set(id, method);
}
