import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';
import { argsHash } from './canonical-json.ts';
import { buildApprovalElicitation, interpretApprovalElicitResult } from './elicitation.ts';
import {
  APPROVAL_INPUT_KEY,
  buildApprovalInputRequired,
  isGatewayState,
  isInputRequiredResult,
  paramsForUpstream,
  readRetry,
  upstreamStateOf,
  wrapUpstreamInputRequired,
} from './input-required.ts';
import { MemoryNonceStore } from './nonce-store.ts';
import { ApprovalStateSealer } from './sealed-state.ts';

const elicitation = buildApprovalElicitation({ tool: 'delete_repo', summary: 'Deletes a repository' }, '2026-07-28');

describe('buildApprovalInputRequired', () => {
  it('matches the 2026-07-28 InputRequiredResult shape with an elicitation input request', () => {
    assert.deepEqual(buildApprovalInputRequired({ requestState: 'pcs1.k.iv.ct', elicitation }), {
      resultType: 'input_required',
      inputRequests: { portcullis_approval: { method: 'elicitation/create', params: elicitation } },
      requestState: 'pcs1.k.iv.ct',
    });
  });

  it('carries the state alone when the client cannot be asked (no elicitation capability)', () => {
    assert.deepEqual(buildApprovalInputRequired({ requestState: 'pcs1.k.iv.ct' }), { resultType: 'input_required', requestState: 'pcs1.k.iv.ct' });
  });
});

describe('retry handling', () => {
  it('reads requestState and the gateway approval response', () => {
    const params = { name: 't', requestState: 'pcs1.x', inputResponses: { [APPROVAL_INPUT_KEY]: { action: 'decline' }, other: {} } };
    assert.deepEqual(readRetry(params), { requestState: 'pcs1.x', approvalResponse: { action: 'decline' } });
    assert.deepEqual(readRetry({ name: 't' }), { requestState: undefined, approvalResponse: undefined });
    assert.deepEqual(readRetry({ requestState: 5, inputResponses: [] }), { requestState: undefined, approvalResponse: undefined });
    assert.deepEqual(readRetry(null), { requestState: undefined, approvalResponse: undefined });
  });

  it('forwards without the gateway state and response, restoring the upstream state', () => {
    const params = { name: 't', arguments: { a: 1 }, requestState: 'pcs1.x', inputResponses: { [APPROVAL_INPUT_KEY]: { action: 'accept' } } };
    assert.deepEqual(paramsForUpstream(params, { upstreamState: undefined, gatewayAsked: true }), { name: 't', arguments: { a: 1 } });
    assert.deepEqual(paramsForUpstream(params, { upstreamState: 'up-1', gatewayAsked: true }), { name: 't', arguments: { a: 1 }, requestState: 'up-1' });
    // The input object is untouched.
    assert.equal(params.requestState, 'pcs1.x');
  });

  it('keeps the upstream responses; in an upstream-only round keeps every response', () => {
    const params = { name: 't', requestState: 'pcs1.x', inputResponses: { [APPROVAL_INPUT_KEY]: { action: 'accept' }, login: { action: 'accept', content: { name: 'o' } } } };
    assert.deepEqual(paramsForUpstream(params, { upstreamState: 'u', gatewayAsked: true }).inputResponses, { login: { action: 'accept', content: { name: 'o' } } });
    assert.deepEqual(paramsForUpstream(params, { upstreamState: 'u', gatewayAsked: false }).inputResponses, params.inputResponses);
  });

  it('wraps an upstream input_required: same inputRequests, the gateway state in place of the upstream one', () => {
    const upstream = { resultType: 'input_required' as const, inputRequests: { login: { method: 'elicitation/create', params: {} } }, requestState: 'up-1' };
    assert.equal(isInputRequiredResult(upstream), true);
    assert.equal(isInputRequiredResult({ resultType: 'complete', content: [] }), false);
    assert.equal(upstreamStateOf(upstream), 'up-1');
    assert.deepEqual(wrapUpstreamInputRequired(upstream, 'pcs1.sealed'), { ...upstream, requestState: 'pcs1.sealed' });
  });

  it('tells gateway states from others', () => {
    assert.equal(isGatewayState('pcs1.k1.a.b'), true);
    assert.equal(isGatewayState('eyJsb2NhdGlvbiI6Ik5ldyBZb3JrIn0'), false);
    assert.equal(isGatewayState(undefined), false);
  });
});

describe('2026-07-28 approval round trip', () => {
  const NOW = 1_700_000_000_000;
  const sealer = new ApprovalStateSealer([{ id: 'k1', key: new Uint8Array(randomBytes(32)) }]);
  const args = { repo: 'acme/web' };
  const binding = { principal: 'alice', route: 'r', replica: 'a', method: 'tools/call', tool: 'delete_repo', argsHash: argsHash(args), policyVersion: 'p1' };

  it('challenge → client accepts → retry verified once → params for upstream', async () => {
    const nonces = new MemoryNonceStore({ now: () => NOW });
    const challenge = buildApprovalInputRequired({ requestState: sealer.seal({ ...binding, ttlMs: 60_000, now: NOW }), elicitation });

    // The client echoes requestState and answers the input request (new JSON-RPC id, same call).
    const retry = {
      name: 'delete_repo',
      arguments: { repo: 'acme/web' },
      requestState: challenge.requestState,
      inputResponses: { [APPROVAL_INPUT_KEY]: { action: 'accept', content: { approve: true } } },
    };
    const { requestState, approvalResponse } = readRetry(retry);
    assert.ok(isGatewayState(requestState));
    const state = await sealer.redeem(requestState, { ...binding, argsHash: argsHash(retry.arguments), now: NOW + 5000 }, nonces);
    assert.equal(interpretApprovalElicitResult(approvalResponse).decision, 'approved');
    assert.deepEqual(paramsForUpstream(retry, { upstreamState: state.upstreamState, gatewayAsked: state.approved !== true }), {
      name: 'delete_repo',
      arguments: { repo: 'acme/web' },
    });

    // Replaying the approved retry is refused.
    await assert.rejects(
      sealer.redeem(requestState, { ...binding, now: NOW + 6000 }, nonces),
      (err: unknown) => err instanceof GatewayError && err.code === 'approval_state_invalid',
    );
  });

  it('a retry with changed arguments does not ride on the approval', async () => {
    const nonces = new MemoryNonceStore({ now: () => NOW });
    const state = sealer.seal({ ...binding, ttlMs: 60_000, now: NOW });
    await assert.rejects(
      sealer.redeem(state, { ...binding, argsHash: argsHash({ repo: 'acme/prod' }), now: NOW }, nonces),
      (err: unknown) => err instanceof GatewayError && (err.data as { reason: string }).reason === 'arguments-mismatch',
    );
  });
});
