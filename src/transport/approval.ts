/**
 * Human approval of a call the policy marked require-approval: the call pauses until a person
 * says yes, and is refused otherwise (no answer in time is a no).
 *
 * Who is asked, in order (channel `auto`):
 * - 2026-07-28, client declared form elicitation: the answer is an `input_required` result
 *   (MRTR) with an `elicitation/create` input request and a `requestState` the gateway seals
 *   (AES-256-GCM: principal, route, issuing replica, method and target, argument hash, policy
 *   version, expiry, single-use nonce). The client retries with the state and the user's answer;
 *   the replica that issued it redeems it (approval/replica.ts).
 * - 2025 era, session whose client declared elicitation: the POST is answered with an SSE stream
 *   carrying the gateway's own `elicitation/create`; the client POSTs the answer back; on accept
 *   the call goes upstream and its answer continues on the same stream.
 * - otherwise (or channel `queue`): the call waits in the operator queue (admin API, CLI).
 *
 * Elicitation lets the caller's own user approve; where that is not separation of duties
 * enough, `approvals.channel: queue` sends every approval to an operator.
 *
 * A wait ends when the client leaves, in both eras, and the call is not run. 2026-07-28:
 * "Closing the SSE response stream MUST be treated by the server as cancellation". 2025-11-25
 * says a disconnect SHOULD NOT be read as cancelling a request, but that is about a request the
 * server is already processing, whose answer the client can still fetch by resuming: a call
 * still waiting for approval has not started, and its answer (an operator queue wait has no
 * stream at all) could reach no one, so starting it then would run a side effect nobody asked to
 * see. The pending approval is withdrawn at once (the operator sees it gone; approving it later
 * is a 409) and the exchange's record says `cancelled`. Shutdown withdraws waits the same way,
 * recorded `withdrawn` with reason `shutdown`.
 *
 * The record of the exchange is written at the response's 'close' (listener/handler.ts), so the
 * note saying how the wait ended is set by a 'close' listener put ahead of it (prependListener).
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { argsHash } from '../approval/canonical-json.ts';
import { argumentsForReview } from '../approval/review.ts';
import { buildApprovalElicitation, ELICITATION_METHOD, interpretApprovalElicitResult, supportsFormElicitation } from '../approval/elicitation.ts';
import {
  buildApprovalInputRequired,
  isGatewayState,
  isInputRequiredResult,
  paramsForUpstream,
  readRetry,
  upstreamStateOf,
  wrapUpstreamInputRequired,
} from '../approval/input-required.ts';
import type { Classified } from '../codec/jsonrpc.ts';
import { GatewayError } from '../core/errors.ts';
import type { JsonRpcMessage, Verdict } from '../pipeline/types.ts';
import { describeCall } from '../policy/inspector.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import { callerKey } from '../session/sessions.ts';
import { openRelayStream, targetOf, type Exchange } from './context.ts';
import { errorMessage, sendJson, SSE_HEADERS } from './respond.ts';

type ApprovalVerdict = Extract<Verdict, { kind: 'require-approval' }>;

/**
 * What the approver reads: the verdict's summary, with the call described from the message as it
 * will be forwarded (policy/inspector.ts describeCall). Policy runs before DLP: its own summary
 * quoted the arguments with a secret DLP then masked (found by helper-61's review).
 */
function summaryOf(v: ApprovalVerdict, message: JsonRpcMessage): string {
  return v.describe ? describeCall(message, v.describe.subject, v.describe.why) : v.summary;
}

/** What the POST handler does next. */
export type ApprovalOutcome =
  /** Forward `message` upstream (the approval markers removed). `stream`: answer on it. */
  | { kind: 'proceed'; message: JsonRpcMessage; stream?: RelayStream }
  /** The client has been answered (input_required, or a refusal). */
  | { kind: 'answered' };

const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';
/** Longest tool name, prompt name or resource URI a person is asked to approve. */
const MAX_REVIEWABLE_TARGET = 2048;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function paramsOf(message: JsonRpcMessage): Record<string, unknown> {
  const p = message['params'];
  return isRecord(p) ? p : {};
}

/**
 * The thing being approved, chosen by method as the policy chose it (context.ts targetOf): the
 * tool or prompt name, the resource URI. Never "name, else uri": a resources/read with a decoy
 * `name` would show (and bind) the decoy and leave the URI it reads unbound.
 */
function subjectOf(message: JsonRpcMessage): string {
  return targetOf(message) ?? '';
}

/** Every argument by name, each value cut on its own (approval/review.ts says why). */
function preview(message: JsonRpcMessage): string {
  return argumentsForReview(paramsOf(message)['arguments']).preview;
}

function refuse(ex: Exchange, c: Classified, error: GatewayError): ApprovalOutcome {
  ex.errorCode = error.code;
  ex.notes['approval'] = { ...(ex.notes['approval'] as object | undefined), refused: error.code, detail: error.detail };
  sendJson(ex.res, 200, errorMessage(c.id ?? null, error));
  return { kind: 'answered' };
}

/**
 * Decides how to get approval for `message` (already through the pipeline, redactions applied)
 * and gets it. Never throws for a refusal: the client is answered and `answered` returned.
 */
export async function seekApproval(ex: Exchange, c: Classified, message: JsonRpcMessage, v: ApprovalVerdict): Promise<ApprovalOutcome> {
  const cfg = ex.services.approvals.config;
  // What is approved must be readable in full where it is shown (the queue keeps 4096 characters
  // of it, a prompt line less): a longer target could hide its end (`…/../../etc/shadow`).
  if (subjectOf(message).length > MAX_REVIEWABLE_TARGET) {
    return refuse(ex, c, new GatewayError('approval_denied', `the ${String(message['method'])} target is too long to review (over ${MAX_REVIEWABLE_TARGET} characters)`));
  }
  if (ex.era === 'modern') {
    const retry = readRetry(message['params']);
    if (isGatewayState(retry.requestState)) return redeemModern(ex, c, message, retry.requestState, retry.approvalResponse);
    const caps = (paramsOf(message)['_meta'] as Record<string, unknown> | undefined)?.[META_CAPS];
    if (cfg.channel === 'auto' && supportsFormElicitation(ex.protocolVersion, caps)) return askModern(ex, c, message, v, retry.requestState);
  } else if (cfg.channel === 'auto' && ex.session && supportsFormElicitation(ex.session.protocolVersion, ex.session.clientCapabilities)) {
    return askLegacy(ex, c, message, v);
  }
  return askOperator(ex, c, message, v);
}

function binding(ex: Exchange, message: JsonRpcMessage) {
  return {
    // The caller (an anonymous one by address): another anonymous client cannot redeem it.
    principal: callerKey(ex.principal, ex.clientAddress),
    route: ex.route.name,
    replica: ex.services.approvals.replica,
    // Method and target both: an approval of `prompts/get deploy` must not run `tools/call deploy`.
    method: String(message['method']),
    tool: subjectOf(message),
    argsHash: argsHash(paramsOf(message)['arguments']),
    policyVersion: ex.services.approvals.policyVersion,
  };
}

/** 2026-07-28, first attempt: answer `input_required` asking the user, with sealed state. */
function askModern(ex: Exchange, c: Classified, message: JsonRpcMessage, v: ApprovalVerdict, upstreamState: string | undefined): ApprovalOutcome {
  const { sealer, config } = ex.services.approvals;
  const state = sealer.seal({ ...binding(ex, message), upstreamState, ttlMs: config.stateTtlMs, now: Date.now() });
  const elicitation = buildApprovalElicitation({ tool: subjectOf(message), summary: summaryOf(v, message), argumentsPreview: preview(message) }, ex.protocolVersion);
  ex.notes['approval'] = { channel: 'input_required', decision: 'asked', reasons: v.reasons };
  sendJson(ex.res, 200, { jsonrpc: '2.0', id: c.id ?? null, result: buildApprovalInputRequired({ requestState: state, elicitation }) });
  return { kind: 'answered' };
}

/** 2026-07-28 retry: verify the sealed state (bound, fresh, unused) and read the user's answer. */
async function redeemModern(ex: Exchange, c: Classified, message: JsonRpcMessage, token: string, answer: unknown): Promise<ApprovalOutcome> {
  const { sealer, nonces } = ex.services.approvals;
  let state;
  try {
    state = await sealer.redeem(token, { ...binding(ex, message), now: Date.now() }, nonces);
  } catch (err) {
    return refuse(ex, c, err instanceof GatewayError ? err : new GatewayError('approval_state_invalid'));
  }
  const params = paramsForUpstream(paramsOf(message), { upstreamState: state.upstreamState, gatewayAsked: state.approved !== true });
  const forward = { ...message, params };
  if (state.approved === true) {
    // An upstream MRTR round of a call approved earlier: not asked again.
    ex.approved = true;
    return { kind: 'proceed', message: forward };
  }
  // The state asked the caller's own user (channel auto). Since then the channel may have become
  // `queue` (a reload): only an operator approves now.
  if (ex.services.approvals.config.channel !== 'auto') {
    return refuse(ex, c, new GatewayError('approval_state_invalid', 'approvals now go to an operator; retry without requestState', { reason: 'channel-changed' }));
  }
  const outcome = interpretApprovalElicitResult(answer);
  ex.notes['approval'] = { channel: 'input_required', decision: outcome.decision, reason: outcome.reason };
  if (outcome.decision !== 'approved') return refuse(ex, c, new GatewayError('approval_denied', `the user ${outcome.reason === 'declined' ? 'declined' : 'did not approve'}`));
  ex.approved = true;
  return { kind: 'proceed', message: forward };
}

/**
 * The upstream of an approved 2026 call asks for input itself: its `requestState` goes inside a
 * gateway state marked approved, so the client's next retry is forwarded without a new prompt.
 */
export function wrapApprovedInputRequired(ex: Exchange, response: JsonRpcMessage): JsonRpcMessage {
  const result = response['result'];
  if (!ex.approved || ex.era !== 'modern' || !ex.request || !isInputRequiredResult(result)) return response;
  const { sealer, config } = ex.services.approvals;
  const sealed = sealer.seal({
    ...binding(ex, ex.request.message),
    upstreamState: upstreamStateOf(result),
    approved: true,
    ttlMs: config.stateTtlMs,
    now: Date.now(),
  });
  return { ...response, result: wrapUpstreamInputRequired(result, sealed) };
}

/** How an elicitation wait ended: the client's answer, no answer in time, or nobody left to ask. */
type LegacyWait =
  | { kind: 'answer'; reply: Readonly<Record<string, unknown>> }
  | { kind: 'timeout' }
  | { kind: 'gone'; reason: 'client-disconnect' | 'shutdown' };

/** 2025 era: ask through the client with the gateway's own elicitation/create on an SSE stream. */
async function askLegacy(ex: Exchange, c: Classified, message: JsonRpcMessage, v: ApprovalVerdict): Promise<ApprovalOutcome> {
  const session = ex.session!;
  if (ex.res.destroyed) return cancelled(ex, 'elicitation');
  const stream = openRelayStream(ex, 'p');
  ex.res.writeHead(200, SSE_HEADERS);
  ex.res.flushHeaders();
  stream.attach(ex.res);
  const id = `portcullis-approval-${randomBytes(9).toString('base64url')}`;
  const { queue, config } = ex.services.approvals;
  ex.notes['approval'] = { channel: 'elicitation', decision: 'pending' };
  const answer = new Promise<LegacyWait>((resolve) => {
    const timer = setTimeout(() => finish({ kind: 'timeout' }), config.timeoutMs);
    timer.unref();
    const onClose = () => {
      // Shutdown cuts the stream with cause 'shutdown'; anything else closing it is the client.
      const reason = stream.endCause === 'shutdown' ? 'shutdown' : 'client-disconnect';
      ex.notes['approval'] = reason === 'shutdown' ? { channel: 'elicitation', decision: 'withdrawn', reason } : { channel: 'elicitation', decision: 'cancelled', reason };
      finish({ kind: 'gone', reason });
    };
    const offShutdown = queue.onClose(() => finish({ kind: 'gone', reason: 'shutdown' }));
    const finish = (w: LegacyWait) => {
      clearTimeout(timer);
      offShutdown();
      ex.res.off('close', onClose);
      session.gatewayRequests.delete(id);
      resolve(w);
    };
    session.gatewayRequests.set(id, (reply) => finish({ kind: 'answer', reply }));
    // Ahead of the listener that writes the exchange's record, so the record says cancelled.
    ex.res.prependListener('close', onClose);
  });
  const params = buildApprovalElicitation({ tool: subjectOf(message), summary: summaryOf(v, message), argumentsPreview: preview(message) }, session.protocolVersion);
  await stream.emit(JSON.stringify({ jsonrpc: '2.0', id, method: ELICITATION_METHOD, params }));
  const wait = await answer;
  if (wait.kind === 'gone' && wait.reason === 'client-disconnect') {
    // Note set by onClose. Nothing to answer, and nothing to keep for a resume: the prompt's
    // answer would no longer be taken. Closed, the stream is recorded cancelled by the client
    // (not completed).
    stream.close();
    return { kind: 'answered' };
  }
  let error: GatewayError;
  if (wait.kind === 'gone') {
    ex.notes['approval'] = { channel: 'elicitation', decision: 'withdrawn', reason: 'shutdown' };
    error = new GatewayError('approval_denied', 'the gateway is shutting down; the call was not run');
  } else {
    const outcome = wait.kind === 'timeout' ? { decision: 'timeout' as const, reason: 'timeout' } : interpretApprovalElicitResult(wait.reply['result']);
    ex.notes['approval'] = { channel: 'elicitation', decision: outcome.decision, reason: outcome.reason };
    if (outcome.decision === 'approved') {
      ex.approved = true;
      return { kind: 'proceed', message, stream };
    }
    error = wait.kind === 'timeout' ? new GatewayError('approval_timeout') : new GatewayError('approval_denied', 'the user did not approve');
  }
  // The error on the wire is the exchange's outcome (its record is written when the stream ends).
  ex.errorCode = error.code;
  if (!ex.res.destroyed) await stream.emit(JSON.stringify(errorMessage(c.id ?? null, error)));
  stream.complete();
  return { kind: 'answered' };
}

/** The client left before the approval was asked: nothing is asked, nothing runs. */
function cancelled(ex: Exchange, channel: 'queue' | 'elicitation'): ApprovalOutcome {
  ex.notes['approval'] = { channel, decision: 'cancelled', reason: 'client-disconnect' };
  return { kind: 'answered' };
}

/** Wait for an operator (admin API / `portcullis approvals`), up to `approvals.timeoutMs`. */
async function askOperator(ex: Exchange, c: Classified, message: JsonRpcMessage, v: ApprovalVerdict): Promise<ApprovalOutcome> {
  const { queue, config } = ex.services.approvals;
  // Left while the pipeline ran: no operator should be asked about a call no one waits for.
  if (ex.res.destroyed) return cancelled(ex, 'queue');
  let pending;
  const review = argumentsForReview(paramsOf(message)['arguments']);
  try {
    pending = queue.request({
      principal: ex.principal.subject,
      route: ex.route.name,
      tool: subjectOf(message),
      argumentsPreview: review.preview,
      ...(review.length > 0 ? { arguments: { json: review.full, cut: review.fullCut, length: review.length } } : {}),
      summary: summaryOf(v, message),
      reasons: v.reasons,
      ttlMs: config.timeoutMs,
    });
  } catch (err) {
    return refuse(ex, c, err instanceof GatewayError ? err : new GatewayError('approval_denied'));
  }
  const id = pending.id;
  ex.notes['approval'] = { channel: 'queue', id, decision: 'pending' };
  ex.services.logger.info({ route: ex.route.name, approval: id, tool: subjectOf(message) }, 'call waiting for approval');
  // Who decided, for the audit record (the listener runs before this await resumes).
  let by: string | undefined;
  let reason: string | undefined;
  const off = queue.onDecision((e) => {
    if (e.request.id !== id) return;
    by = e.by;
    reason = e.reason;
  });
  // The client leaving withdraws the request at once: it leaves the operators' list, a later
  // approve is a 409, and the record written at this same 'close' (listener/handler.ts; this
  // listener goes ahead of it) says cancelled instead of a pending call that looks allowed.
  const onClose = () => {
    if (queue.withdraw(id, 'client-disconnect').ok) ex.notes['approval'] = { channel: 'queue', id, decision: 'cancelled', reason: 'client-disconnect' };
  };
  ex.res.prependListener('close', onClose);
  const decision = await pending.decision.finally(() => {
    off();
    ex.res.off('close', onClose);
  });
  if (decision === 'withdrawn') {
    // Client gone: noted by onClose, nothing to answer. Shutdown: the client is still there.
    if (reason !== 'shutdown' || ex.res.destroyed) return { kind: 'answered' };
    ex.notes['approval'] = { channel: 'queue', id, decision: 'withdrawn', reason };
    return refuse(ex, c, new GatewayError('approval_denied', 'the gateway is shutting down; the call was not run'));
  }
  ex.notes['approval'] = { channel: 'queue', id, decision, ...(by !== undefined && { by }) };
  if (decision === 'approved' && ex.session?.ended) {
    // The client ended its session (DELETE) while the operator decided: nothing of it runs after
    // that (the upstream may not check its own session id).
    ex.notes['approval'] = { channel: 'queue', id, decision: 'withdrawn', reason: 'session-ended' };
    if (ex.res.destroyed) return { kind: 'answered' };
    return refuse(ex, c, new GatewayError('session_not_found', 'the session ended while the call waited for approval; it was not run'));
  }
  if (decision === 'approved') {
    ex.approved = true;
    return { kind: 'proceed', message };
  }
  if (ex.res.destroyed) return { kind: 'answered' };
  return refuse(ex, c, new GatewayError(decision === 'timeout' ? 'approval_timeout' : 'approval_denied', decision === 'denied' ? 'an operator denied the call' : undefined));
}

/** A client's POSTed answer to a request the gateway itself sent (approval prompts). */
export function takeGatewayAnswer(ex: Exchange, c: Classified, res: ServerResponse): boolean {
  if ((c.kind !== 'result' && c.kind !== 'error') || c.id === undefined || !ex.session) return false;
  const deliver = ex.session.gatewayRequests.get(c.id);
  if (!deliver) return false;
  deliver(c.message);
  // Streamable HTTP: a POSTed response the server accepts is answered 202 with no body.
  res.writeHead(202);
  res.end();
  return true;
}
