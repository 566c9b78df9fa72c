/**
 * The MCP 2026-07-28 `input_required` result and retry, as the approval flow uses them.
 *
 * Source: modelcontextprotocol/modelcontextprotocol `schema/2026-07-28/schema.ts` (identical in
 * `schema/draft/`) and `docs/specification/2026-07-28/basic/patterns/mrtr.mdx`:
 *
 *   interface Result { _meta?; resultType: 'complete' | 'input_required' | string; … }
 *   interface InputRequiredResult extends Result {
 *     inputRequests?: { [key: string]: CreateMessageRequest | ListRootsRequest | ElicitRequest };
 *     requestState?: string;            // "At least one of inputRequests or requestState MUST be present."
 *   }
 *   interface ElicitRequest { method: 'elicitation/create'; params: ElicitRequestParams }  // no jsonrpc/id
 *   interface InputResponseRequestParams extends RequestParams {
 *     inputResponses?: { [key: string]: CreateMessageResult | ListRootsResult | ElicitResult };
 *     requestState?: string;
 *   }
 *
 * So the gateway answers `tools/call` (also allowed: `prompts/get`, `resources/read`) with
 *
 *   { "resultType": "input_required",
 *     "inputRequests": { "portcullis_approval": { "method": "elicitation/create", "params": {…} } },
 *     "requestState": "pcs1.…" }
 *
 * and the client retries the same call (new JSON-RPC id) with `params.requestState` echoed and
 * `params.inputResponses.portcullis_approval` holding its ElicitResult. Without the elicitation
 * capability the gateway MUST NOT include the elicitation (mrtr.mdx, Server Requirements 7) and
 * sends `requestState` alone — the "load shedding" shape — while an operator decides through the
 * queue; the client MAY then retry at once (Client Requirements 1).
 *
 * When the call was approved and the UPSTREAM answers `input_required`, the gateway must stay in
 * the loop so the next retry is not asked for approval again: it seals the upstream's
 * `requestState` inside its own (`ApprovalState.upstreamState`, `approved: true`) and passes the
 * upstream's `inputRequests` through. On that retry it restores the upstream's state before
 * forwarding (`paramsForUpstream`).
 */
import { STATE_PREFIX } from './sealed-state.ts';
import type { ElicitFormParams } from './elicitation.ts';
import { ELICITATION_METHOD } from './elicitation.ts';

/** The gateway's key in `inputRequests` / `inputResponses`. */
export const APPROVAL_INPUT_KEY = 'portcullis_approval';

export interface InputRequest {
  method: string;
  params?: Record<string, unknown>;
}

export interface InputRequiredResult {
  resultType: 'input_required';
  inputRequests?: Record<string, InputRequest>;
  requestState?: string;
  _meta?: Record<string, unknown>;
}

/**
 * The result asking for approval. `elicitation` only when the client declared form elicitation
 * (`supportsFormElicitation`); otherwise the result carries the state alone.
 */
export function buildApprovalInputRequired(opts: { requestState: string; elicitation?: ElicitFormParams | undefined }): InputRequiredResult {
  return {
    resultType: 'input_required',
    ...(opts.elicitation
      ? { inputRequests: { [APPROVAL_INPUT_KEY]: { method: ELICITATION_METHOD, params: opts.elicitation as unknown as Record<string, unknown> } } }
      : {}),
    requestState: opts.requestState,
  };
}

export function isInputRequiredResult(result: unknown): result is InputRequiredResult {
  return isObject(result) && result.resultType === 'input_required';
}

/** A `requestState` the gateway sealed (as opposed to one from an older upstream round). */
export function isGatewayState(state: unknown): state is string {
  return typeof state === 'string' && state.startsWith(`${STATE_PREFIX}.`);
}

/** The upstream's own `requestState` in its input_required result, if any (to seal inside ours). */
export function upstreamStateOf(result: InputRequiredResult): string | undefined {
  return typeof result.requestState === 'string' ? result.requestState : undefined;
}

/**
 * The upstream's input_required result as the client must see it: its `inputRequests` unchanged,
 * its `requestState` replaced by the gateway's sealed state (which carries the upstream's inside).
 */
export function wrapUpstreamInputRequired(upstream: InputRequiredResult, sealedState: string): InputRequiredResult {
  return { ...upstream, resultType: 'input_required', requestState: sealedState };
}

export interface RetryParts {
  /** `params.requestState`, when a string. */
  readonly requestState: string | undefined;
  /** `params.inputResponses.portcullis_approval` (an ElicitResult, unvalidated). */
  readonly approvalResponse: unknown;
}

/** What a retry carries for the gateway. */
export function readRetry(params: unknown): RetryParts {
  if (!isObject(params)) return { requestState: undefined, approvalResponse: undefined };
  const responses = params.inputResponses;
  return {
    requestState: typeof params.requestState === 'string' ? params.requestState : undefined,
    approvalResponse: isObject(responses) ? responses[APPROVAL_INPUT_KEY] : undefined,
  };
}

/**
 * The retry's params as the upstream must see them: the gateway's `requestState` replaced by the
 * upstream's own (or removed when it had none — a client "MUST NOT include one" it was not given,
 * and neither may the gateway on its behalf). When the gateway's state asked for approval input
 * (`gatewayAsked`: its payload is not `approved`), the gateway's entry is removed from
 * `inputResponses` (dropped entirely when nothing is left); in an upstream-only round every
 * response belongs to the upstream and passes untouched. Returns a new object.
 */
export function paramsForUpstream(
  params: Record<string, unknown>,
  round: { readonly upstreamState: string | undefined; readonly gatewayAsked: boolean },
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params };
  delete out.requestState;
  if (round.upstreamState !== undefined) out.requestState = round.upstreamState;
  if (round.gatewayAsked && isObject(out.inputResponses)) {
    const rest: Record<string, unknown> = { ...out.inputResponses };
    delete rest[APPROVAL_INPUT_KEY];
    if (Object.keys(rest).length === 0) delete out.inputResponses;
    else out.inputResponses = rest;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
