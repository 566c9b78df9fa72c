/**
 * The `policy` inspector: applies a compiled Policy to client requests of the governed methods.
 *
 * Facts come from three places, in increasing authority:
 * 1. the request's own `_meta` client info (modern era; self-reported),
 * 2. the integrator's `facts` callback (legacy-era client info from initialize, upstream URL,
 *    session counters, tool annotations cached from the last tools/list),
 * 3. the frame and the session: principal, method, era, tool name, arguments, URI. These are what
 *    is being decided, so no callback can override them.
 *
 * List results are filtered outside this inspector (see list-filter.ts): a Verdict can rewrite
 * strings but not remove array elements.
 */
import { argumentsForReview } from '../approval/review.ts';
import type { Frame, Inspector, InspectorContext, Reason, Verdict } from '../pipeline/types.ts';
import { ALLOW } from '../pipeline/types.ts';
import type { Decision, Policy } from './engine.ts';
import { completeInput, mergeInputs, principalFacts } from './vocabulary.ts';
import type { PolicyInputPatch } from './vocabulary.ts';

/** MCP 2026-07-28: client info travels in every request's `_meta` instead of `initialize`. */
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';

export interface PolicyInspectorOptions {
  policy: Policy;
  name?: string;
  /**
   * Facts the frame does not carry. Called once per governed request; a throw blocks the
   * request (the inspector fails closed).
   */
  facts?: (ctx: InspectorContext, frame: Frame) => PolicyInputPatch;
  /** Clock, for tests. */
  now?: () => Date;
}

type Params = Record<string, unknown>;

function isRecord(v: unknown): v is Params {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function paramsOf(frame: Frame): Params {
  const p = frame.message['params'];
  return isRecord(p) ? p : {};
}

function clientFromMeta(params: Params): PolicyInputPatch['client'] | undefined {
  const meta = params['_meta'];
  const info = isRecord(meta) ? meta[META_CLIENT_INFO] : undefined;
  if (!isRecord(info)) return undefined;
  const out: { name?: string; version?: string } = {};
  if (typeof info['name'] === 'string') out.name = info['name'];
  if (typeof info['version'] === 'string') out.version = info['version'];
  return out;
}

/** What the target-bearing methods must carry; a request without it cannot be decided. */
export function malformedTarget(frame: Frame): string | undefined {
  const params = paramsOf(frame);
  const args = params['arguments'];
  switch (frame.method) {
    case 'tools/call':
    case 'prompts/get':
      if (typeof params['name'] !== 'string') return `${frame.method} needs a string params.name`;
      if (args !== undefined && !isRecord(args)) return `${frame.method} params.arguments must be an object`;
      return undefined;
    case 'resources/read':
      return typeof params['uri'] === 'string' ? undefined : 'resources/read needs a string params.uri';
    default:
      return undefined;
  }
}

/**
 * The input patch for a request frame: `_meta` client info, then `extra` (the integrator's
 * facts), then what the frame and session say. Also the `base` to pass to filterListResult, built
 * from the list request (`ctx.request`).
 */
export function policyFacts(frame: Frame, ctx: InspectorContext, extra?: PolicyInputPatch): PolicyInputPatch {
  const params = paramsOf(frame);
  const s = ctx.session;
  const target: PolicyInputPatch = {};
  const args = isRecord(params['arguments']) ? params['arguments'] : {};
  if (frame.method === 'tools/call' && typeof params['name'] === 'string') target.tool = { name: params['name'], arguments: args };
  if (frame.method === 'prompts/get' && typeof params['name'] === 'string') target.prompt = { name: params['name'], arguments: args };
  if (frame.method === 'resources/read' && typeof params['uri'] === 'string') target.resource = { uri: params['uri'] };
  const client = clientFromMeta(params);
  return mergeInputs(client ? { client } : undefined, extra, {
    principal: principalFacts(s.principal),
    request: { method: frame.method, era: s.era, protocolVersion: s.protocolVersion },
    session: { id: s.sessionId ?? '' },
    upstream: { route: ctx.route },
    ...target,
  });
}

/**
 * What a human approver reads: who, what, and the arguments — a truncated preview plus a digest
 * of the full arguments, so the approver can tell two similar-looking calls apart.
 */
export function approvalSummary(frame: Frame, subject: string, decision: Pick<Decision, 'message'>): string {
  return describeCall(frame.message, subject, decision.message);
}

/**
 * The summary of a call as `message` would be forwarded, after `why` (the rule's message). The
 * approval step describes the call again from the message the pipeline passed (transport/
 * approval.ts): DLP runs after policy, so the frame policy saw may still hold a secret that the
 * forwarded arguments have masked, and an approver must not read it there.
 */
export function describeCall(message: Frame['message'], subject: string, why: string | undefined): string {
  const p = message['params'];
  const params: Params = isRecord(p) ? p : {};
  const method = message['method'];
  const what =
    method === 'tools/call'
      ? `call tool "${String(params['name'])}"`
      : method === 'prompts/get'
        ? `get prompt "${String(params['name'])}"`
        : method === 'resources/read'
          ? `read ${String(params['uri'])}`
          : String(method);
  let text = `${subject} wants to ${what}`;
  if (isRecord(params['arguments'])) {
    // Every argument by name, each value cut on its own: padding one cannot push another out of
    // view (approval/review.ts). A cut preview names its length and digest itself.
    const r = argumentsForReview(params['arguments']);
    text += ` with ${r.preview}${r.previewCut ? '' : ` (arguments sha256:${r.digest})`}`;
  }
  return why ? `${why} — ${text}` : text;
}

function asReasons(reasons: readonly string[]): Reason[] {
  return reasons.map((r): Reason => `policy/${r}`);
}

export function createPolicyInspector(opts: PolicyInspectorOptions): Inspector {
  const { policy } = opts;
  const now = opts.now ?? (() => new Date());
  const methods = Object.fromEntries(policy.config.methods.map((m) => [m, 'request' as const]));
  return {
    name: opts.name ?? 'policy',
    methods,
    needs: 'message',
    onFailure: 'closed',
    onMessage(frame: Frame, ctx: InspectorContext): Verdict {
      if (frame.direction !== 'c2s' || frame.kind !== 'request' || !policy.governs(frame.method)) return ALLOW;
      const base = { policyVersion: policy.policyVersion, ...(policy.label ? { label: policy.label } : {}) };
      const malformed = malformedTarget(frame);
      if (malformed) {
        const dryRun = policy.config.mode === 'dry-run';
        ctx.note('policy', { ...base, decision: 'deny', enforced: dryRun ? 'allow' : 'deny', dryRun, reasons: ['malformed-request'] });
        return dryRun ? ALLOW : { kind: 'block', reasons: ['policy/malformed-request'], message: malformed };
      }
      const input = completeInput(policyFacts(frame, ctx, opts.facts?.(ctx, frame)), now());
      const d = policy.decide(input);
      ctx.note('policy', {
        ...base,
        decision: d.decision,
        enforced: d.enforced,
        dryRun: d.dryRun,
        reasons: d.reasons,
        matched: d.matched,
        ...(d.errors.length > 0 ? { errors: d.errors } : {}),
        ...(d.notices.length > 0 ? { notices: d.notices } : {}),
      });
      const reasons = asReasons(d.reasons);
      switch (d.enforced) {
        case 'deny':
          return { kind: 'block', reasons, message: d.message ?? `${frame.method}${frame.target ? ` ${frame.target}` : ''} is not allowed by policy` };
        case 'require-approval':
          return {
            kind: 'require-approval',
            reasons,
            summary: approvalSummary(frame, input.principal.subject, d),
            describe: { subject: input.principal.subject, ...(d.message !== undefined ? { why: d.message } : {}) },
            ttlMs: policy.config.approvalTtlMs,
          };
        case 'warn':
          return { kind: 'allow', reasons };
        default:
          return ALLOW;
      }
    },
  };
}
