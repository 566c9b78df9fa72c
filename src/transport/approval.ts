/**
 * Human approval of a call the policy marked require-approval: the call pauses until a person
 * says yes, and is refused otherwise (no answer in time is a no).
 *
 * Who is asked, in order (channel `auto`):
 * - 2026-07-28, client declared form elicitation: the answer is an `input_required` result
 *   (MRTR) with an `elicitation/create` input request and a `requestState` the gateway seals
 *   (AES-256-GCM: principal, tool, argument hash, policy version, expiry, single-use nonce). The
 *   client retries with the state and the user's answer; any replica can verify it.
 * - 2025 era, session whose client declared elicitation: the POST is answered with an SSE stream
 *   carrying the gateway's own `elicitation/create`; the client POSTs the answer back; on accept
 *   the call goes upstream and its answer continues on the same stream.
 * - otherwise (or channel `queue`): the call waits in the operator queue (admin API, CLI).
 *
 * Elicitation lets the caller's own user approve; where that is not separation of duties
 * enough, `approvals.channel: queue` sends every approval to an operator.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { argsHash } from '../approval/canonical-json.ts';
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
import type { RelayStream } from '../session/relay-stream.ts';
import { callerKey } from '../session/sessions.ts';
import { openRelayStream, type Exchange } from './context.ts';
import { errorMessage, sendJson, SSE_HEADERS } from './respond.ts';

type ApprovalVerdict = Extract<Verdict, { kind: 'require-approval' }>;

/** What the POST handler does next. */
export type ApprovalOutcome =
  /** Forward `message` upstream (the approval markers removed). `stream`: answer on it. */
  | { kind: 'proceed'; message: JsonRpcMessage; stream?: RelayStream }
  /** The client has been answered (input_required, or a refusal). */
  | { kind: 'answered' };

const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';
const PREVIEW_CHARS = 300;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function paramsOf(message: JsonRpcMessage): Record<string, unknown> {
  const p = message['params'];
  return isRecord(p) ? p : {};
}

/** The thing being approved: tool name, prompt name or resource URI. */
function subjectOf(message: JsonRpcMessage): string {
  const p = paramsOf(message);
  return String(p['name'] ?? p['uri'] ?? '');
}

function preview(message: JsonRpcMessage): string {
  const args = paramsOf(message)['arguments'];
  if (args === undefined) return '';
  const json = JSON.stringify(args);
  return json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS)}…` : json;
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
    tool: subjectOf(message),
    argsHash: argsHash(paramsOf(message)['arguments']),
    policyVersion: ex.services.approvals.policyVersion,
  };
}

/** 2026-07-28, first attempt: answer `input_required` asking the user, with sealed state. */
function askModern(ex: Exchange, c: Classified, message: JsonRpcMessage, v: ApprovalVerdict, upstreamState: string | undefined): ApprovalOutcome {
  const { sealer, config } = ex.services.approvals;
  const state = sealer.seal({ ...binding(ex, message), upstreamState, ttlMs: config.stateTtlMs, now: Date.now() });
  const elicitation = buildApprovalElicitation({ tool: subjectOf(message), summary: v.summary, argumentsPreview: preview(message) }, ex.protocolVersion);
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

/** 2025 era: ask through the client with the gateway's own elicitation/create on an SSE stream. */
async function askLegacy(ex: Exchange, c: Classified, message: JsonRpcMessage, v: ApprovalVerdict): Promise<ApprovalOutcome> {
  const session = ex.session!;
  const stream = openRelayStream(ex, 'p');
  ex.res.writeHead(200, SSE_HEADERS);
  ex.res.flushHeaders();
  stream.attach(ex.res);
  const id = `portcullis-approval-${randomBytes(9).toString('base64url')}`;
  const answer = new Promise<Readonly<Record<string, unknown>> | undefined>((resolve) => {
    const timer = setTimeout(() => finish(undefined), ex.services.approvals.config.timeoutMs);
    timer.unref();
    const onClose = () => finish(undefined);
    const finish = (a: Readonly<Record<string, unknown>> | undefined) => {
      clearTimeout(timer);
      ex.res.off('close', onClose);
      session.gatewayRequests.delete(id);
      resolve(a);
    };
    session.gatewayRequests.set(id, finish);
    ex.res.once('close', onClose);
  });
  const params = buildApprovalElicitation({ tool: subjectOf(message), summary: v.summary, argumentsPreview: preview(message) }, session.protocolVersion);
  await stream.emit(JSON.stringify({ jsonrpc: '2.0', id, method: ELICITATION_METHOD, params }));
  const reply = await answer;
  const outcome = reply === undefined ? { decision: 'denied' as const, reason: 'timeout' } : interpretApprovalElicitResult(reply['result']);
  ex.notes['approval'] = { channel: 'elicitation', decision: outcome.decision, reason: outcome.reason };
  if (outcome.decision === 'approved') return { kind: 'proceed', message, stream };
  const error = reply === undefined ? new GatewayError('approval_timeout') : new GatewayError('approval_denied', 'the user did not approve');
  if (!ex.res.destroyed) await stream.emit(JSON.stringify(errorMessage(c.id ?? null, error)));
  stream.complete();
  return { kind: 'answered' };
}

/** Wait for an operator (admin API / `portcullis approvals`), up to `approvals.timeoutMs`. */
async function askOperator(ex: Exchange, c: Classified, message: JsonRpcMessage, v: ApprovalVerdict): Promise<ApprovalOutcome> {
  const { queue, config } = ex.services.approvals;
  let pending;
  try {
    pending = queue.request({
      principal: ex.principal.subject,
      route: ex.route.name,
      tool: subjectOf(message),
      argumentsPreview: preview(message),
      summary: v.summary,
      reasons: v.reasons,
      ttlMs: config.timeoutMs,
    });
  } catch (err) {
    return refuse(ex, c, err instanceof GatewayError ? err : new GatewayError('approval_denied'));
  }
  ex.notes['approval'] = { channel: 'queue', id: pending.id, decision: 'pending' };
  ex.services.logger.info({ route: ex.route.name, approval: pending.id, tool: subjectOf(message) }, 'call waiting for approval');
  // Who decided, for the audit record (the listener runs before this await resumes).
  let by: string | undefined;
  const off = queue.onDecision((e) => {
    if (e.request.id === pending.id) by = e.by;
  });
  const decision = await pending.decision.finally(off);
  ex.notes['approval'] = { channel: 'queue', id: pending.id, decision, ...(by !== undefined && { by }) };
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
