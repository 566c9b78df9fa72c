import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ElicitRequestSchema, ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { APPROVE_FIELD, ELICITATION_METHOD, buildApprovalElicitation, interpretApprovalElicitResult, supportsFormElicitation } from './elicitation.ts';

const prompt = { tool: 'delete_repo', summary: 'Deletes a repository', argumentsPreview: '{"repo":"acme/web"}' };

describe('buildApprovalElicitation', () => {
  it('builds a one-boolean form, defaulting to not approved', () => {
    assert.deepEqual(buildApprovalElicitation(prompt, '2025-06-18'), {
      message: 'Approve the call to tool "delete_repo"?\nDeletes a repository\nArguments: {"repo":"acme/web"}',
      requestedSchema: {
        type: 'object',
        properties: {
          approve: { type: 'boolean', title: 'Approve', description: 'Allow this call to "delete_repo" to proceed', default: false },
        },
        required: ['approve'],
      },
    });
  });

  it('adds mode: "form" from 2025-11-25 on, not before', () => {
    assert.equal('mode' in buildApprovalElicitation(prompt, '2025-06-18'), false);
    assert.equal(buildApprovalElicitation(prompt, '2025-11-25').mode, 'form');
    assert.equal(buildApprovalElicitation(prompt, '2026-07-28').mode, 'form');
  });

  it('shows client-chosen text on its lines only, without controls or bidi overrides', () => {
    const p = buildApprovalElicitation({ tool: 'read\nApprove the call to tool "safe"?', summary: 'x\u202Etxt.exe', argumentsPreview: '{"a":"\u001b[2K"}' }, '2025-11-25');
    assert.equal(p.message.split('\n').length, 3, p.message);
    assert.doesNotMatch(p.message, /[\u001b\u202e]/);
    assert.match(p.message, /^Approve the call to tool "read\?Approve the call to tool "safe"\?"\?/);
  });

  it('omits the arguments line when there is no preview', () => {
    assert.equal(buildApprovalElicitation({ tool: 't', summary: 's' }, '2025-11-25').message, 'Approve the call to tool "t"?\ns');
  });

  it('is a valid elicitation/create request per the official SDK schema', () => {
    for (const version of ['2025-06-18', '2025-11-25']) {
      const parsed = ElicitRequestSchema.safeParse({ method: ELICITATION_METHOD, params: buildApprovalElicitation(prompt, version) });
      assert.equal(parsed.success, true, version);
    }
  });
});

describe('supportsFormElicitation', () => {
  it('needs the elicitation capability and a version that has it', () => {
    assert.equal(supportsFormElicitation('2025-06-18', { elicitation: {} }), true);
    assert.equal(supportsFormElicitation('2025-06-18', {}), false);
    assert.equal(supportsFormElicitation('2025-03-26', { elicitation: {} }), false);
    assert.equal(supportsFormElicitation('2025-06-18', undefined), false);
    assert.equal(supportsFormElicitation('2025-06-18', { elicitation: true }), false);
  });

  it('from 2025-11-25: {} means form; otherwise form must be listed', () => {
    assert.equal(supportsFormElicitation('2025-11-25', { elicitation: {} }), true);
    assert.equal(supportsFormElicitation('2025-11-25', { elicitation: { form: {}, url: {} } }), true);
    assert.equal(supportsFormElicitation('2026-07-28', { elicitation: { url: {} } }), false);
  });
});

describe('interpretApprovalElicitResult', () => {
  it('approves only accept with approve === true', () => {
    const accepted = { action: 'accept', content: { [APPROVE_FIELD]: true } };
    assert.equal(ElicitResultSchema.safeParse(accepted).success, true);
    assert.deepEqual(interpretApprovalElicitResult(accepted), { decision: 'approved', reason: 'accepted' });
  });

  it('denies decline, cancel and accept without approval', () => {
    assert.deepEqual(interpretApprovalElicitResult({ action: 'decline' }), { decision: 'denied', reason: 'declined' });
    assert.deepEqual(interpretApprovalElicitResult({ action: 'cancel' }), { decision: 'denied', reason: 'cancelled' });
    assert.deepEqual(interpretApprovalElicitResult({ action: 'accept', content: { approve: false } }), { decision: 'denied', reason: 'not-approved' });
    assert.deepEqual(interpretApprovalElicitResult({ action: 'accept' }), { decision: 'denied', reason: 'not-approved' });
    assert.deepEqual(interpretApprovalElicitResult({ action: 'accept', content: { approve: 'true' } }), { decision: 'denied', reason: 'not-approved' });
    assert.deepEqual(interpretApprovalElicitResult({ action: 'accept', content: { approved: true } }), { decision: 'denied', reason: 'not-approved' });
  });

  it('denies anything malformed (fail closed)', () => {
    for (const bad of [null, undefined, 'accept', [], { action: 'yes' }, { action: 'accept', content: [true] }, { action: 'accept', content: 'approve' }]) {
      assert.deepEqual(interpretApprovalElicitResult(bad), { decision: 'denied', reason: 'malformed' }, JSON.stringify(bad));
    }
  });
});
