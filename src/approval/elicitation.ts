/**
 * Asking the client's user to approve a call, through MCP elicitation (form mode).
 *
 * Shapes (schema.ts in modelcontextprotocol/modelcontextprotocol, `schema/<version>/`):
 * - 2025-06-18: `ElicitRequest.params = { message, requestedSchema: { type: 'object',
 *   properties: { [k]: PrimitiveSchemaDefinition }, required?: string[] } }`; no `mode`.
 * - 2025-11-25 and 2026-07-28: `ElicitRequestFormParams` adds `mode?: 'form'` ("Optional for form
 *   mode", client/elicitation.mdx). We send it from 2025-11-25 on and omit it for 2025-06-18,
 *   whose schema has no such field.
 * - `BooleanSchema = { type: 'boolean', title?, description?, default? }` in all three.
 * - `ElicitResult = { action: 'accept' | 'decline' | 'cancel', content?: { [k]: string | number |
 *   boolean | string[] } }`, `content` only with 'accept'.
 * The 2025 era sends this as a server→client `elicitation/create` request on the session; the
 * 2026-07-28 era puts `{ method: 'elicitation/create', params }` in
 * `InputRequiredResult.inputRequests` (see input-required.ts).
 *
 * Capability: a client MUST declare `elicitation` (2025: in `initialize` capabilities; 2026: in
 * `_meta["io.modelcontextprotocol/clientCapabilities"]` of each request); since 2025-11-25
 * `elicitation: {}` means form mode only, and servers "MUST NOT send elicitation requests with
 * modes that are not supported by the client" (client/elicitation.mdx, Capabilities).
 *
 * Note what this approval is: the calling client's own user consenting, not a second person.
 * Where separation of duties matters, use the operator queue (queue.ts) instead.
 */
import { clean } from './display.ts';

export const ELICITATION_METHOD = 'elicitation/create';
/** The one field of the approval form. */
export const APPROVE_FIELD = 'approve';

/** Elicitation first appears in 2025-06-18; `mode` in 2025-11-25. Versions compare as dates. */
const FIRST_ELICITATION_VERSION = '2025-06-18';
const FIRST_MODE_VERSION = '2025-11-25';

export interface BooleanSchema {
  type: 'boolean';
  title?: string;
  description?: string;
  default?: boolean;
}

export interface ElicitFormParams {
  mode?: 'form';
  message: string;
  requestedSchema: {
    type: 'object';
    properties: Record<string, BooleanSchema>;
    required: string[];
  };
}

export interface ApprovalPrompt {
  readonly tool: string;
  /** Why approval is needed (the policy's summary). */
  readonly summary: string;
  /** Redacted, truncated arguments, shown to the user. */
  readonly argumentsPreview?: string;
}

export type ElicitationOutcome =
  | { readonly decision: 'approved'; readonly reason: 'accepted' }
  | { readonly decision: 'denied'; readonly reason: 'declined' | 'cancelled' | 'not-approved' | 'malformed' };

/** Whether the client can be asked with a form at this protocol version and capability set. */
export function supportsFormElicitation(protocolVersion: string, clientCapabilities: unknown): boolean {
  if (!(protocolVersion >= FIRST_ELICITATION_VERSION)) return false;
  const caps = isObject(clientCapabilities) ? clientCapabilities : undefined;
  const elicitation = caps?.elicitation;
  if (!isObject(elicitation)) return false;
  if (protocolVersion < FIRST_MODE_VERSION) return true;
  // 2025-11-25+: `{}` is form-only for backwards compatibility; otherwise `form` must be listed.
  const modes = Object.keys(elicitation);
  return modes.length === 0 || isObject(elicitation.form);
}

/** `elicitation/create` params asking the user to approve one tool call. */
export function buildApprovalElicitation(prompt: ApprovalPrompt, protocolVersion: string): ElicitFormParams {
  const tool = clean(prompt.tool);
  const lines = [`Approve the call to tool "${tool}"?`, clean(prompt.summary)];
  if (prompt.argumentsPreview) lines.push(`Arguments: ${clean(prompt.argumentsPreview)}`);
  return {
    ...(protocolVersion >= FIRST_MODE_VERSION ? { mode: 'form' as const } : {}),
    message: lines.filter((l) => l !== '').join('\n'),
    requestedSchema: {
      type: 'object',
      properties: {
        [APPROVE_FIELD]: {
          type: 'boolean',
          title: 'Approve',
          description: `Allow this call to "${tool}" to proceed`,
          // A client that pre-fills defaults must not pre-fill consent.
          default: false,
        },
      },
      required: [APPROVE_FIELD],
    },
  };
}

/**
 * Map the client's ElicitResult to a decision. Only `action: 'accept'` with `approve === true`
 * (the boolean, not the string) approves; decline, cancel, `approve: false`, a missing field or
 * anything malformed denies — fail closed.
 */
export function interpretApprovalElicitResult(result: unknown): ElicitationOutcome {
  if (!isObject(result)) return { decision: 'denied', reason: 'malformed' };
  switch (result.action) {
    case 'accept': {
      const content = result.content;
      if (isObject(content) && content[APPROVE_FIELD] === true) return { decision: 'approved', reason: 'accepted' };
      return { decision: 'denied', reason: isObject(content) || content === undefined ? 'not-approved' : 'malformed' };
    }
    case 'decline':
      return { decision: 'denied', reason: 'declined' };
    case 'cancel':
      return { decision: 'denied', reason: 'cancelled' };
    default:
      return { decision: 'denied', reason: 'malformed' };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
