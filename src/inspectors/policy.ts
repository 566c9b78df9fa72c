/**
 * The access-policy inspector as a route runs it: the policy module's request inspector (CEL
 * rules over who, what and with which arguments) plus list filtering of the results of
 * tools/list, prompts/list, resources/list and resources/templates/list, so callers do not see
 * what they may not use. Filtering is a courtesy to the model, not the control: every call is
 * still decided on its own.
 *
 * This is where the gateway supplies the facts a frame does not carry: the client's
 * self-description from initialize, the route's upstream, the session's counters and the tool's
 * annotations from the last tools/list the route relayed.
 */
import type { Policy } from '../policy/engine.ts';
import { createPolicyInspector, policyFacts } from '../policy/inspector.ts';
import { filterListResult, filtersList } from '../policy/list-filter.ts';
import { annotationsOf, type PolicyInputPatch } from '../policy/vocabulary.ts';
import type { Frame, Inspector, InspectorContext, Phase, Reason, Verdict } from '../pipeline/types.ts';
import { ALLOW } from '../pipeline/types.ts';
import type { ToolCatalog } from '../routing/tool-catalog.ts';
import type { FindingMemory } from '../session/finding-memory.ts';
import { callerKey } from '../session/sessions.ts';

const LIST_METHODS = ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list'] as const;
/** Where a warn rule's notice reaches the client (implementation `_meta` keys are reverse-DNS). */
export const NOTICE_KEY = 'dev.portcullis/notices';

export interface RoutePolicyOptions {
  policy: Policy;
  upstreamUrl: string;
  tools: ToolCatalog;
  /** What inspectors found per caller over time (`session.counters["pii_findings_1h"]`, …). */
  memory?: FindingMemory | undefined;
}

export function createRoutePolicyInspector(opts: RoutePolicyOptions): Inspector {
  const { policy } = opts;
  const facts = (ctx: InspectorContext, frame: Frame): PolicyInputPatch => {
    const s = ctx.session;
    const patch: PolicyInputPatch = { upstream: { route: ctx.route, url: opts.upstreamUrl } };
    if (s.clientInfo) patch.client = { ...s.clientInfo };
    // The same key the inspectors record under: an anonymous caller sees only its own findings.
    const remembered = opts.memory?.counters(callerKey(s.principal, s.clientAddress));
    if (s.counters || remembered) {
      // A 2025 session's own count (tool_calls) wins over the caller-wide one of its 2026 calls.
      patch.session = { id: s.sessionId ?? '', counters: { ...remembered, ...(s.counters ? Object.fromEntries(s.counters) : {}) } };
    }
    const params = frame.message['params'] as Record<string, unknown> | undefined;
    const name = params?.['name'];
    if (frame.method === 'tools/call' && typeof name === 'string') {
      const def = opts.tools.get(name);
      if (def) patch.tool = { annotations: annotationsOf(def) };
    }
    return patch;
  };
  const calls = createPolicyInspector({ policy, facts });
  const dryRun = policy.config.mode === 'dry-run';
  const decideCall = (frame: Frame, ctx: InspectorContext): Verdict => {
    let noted: { decision?: string; reasons?: readonly string[]; notices?: readonly string[] } | undefined;
    const watched: InspectorContext = {
      ...ctx,
      note: (key, value) => {
        if (key === 'policy') noted = value as typeof noted;
        ctx.note(key, value);
      },
    };
    const v = calls.onMessage!(frame, watched) as Verdict;
    if (v.kind === 'block') return { ...v, code: 'policy_denied' };
    if (noted?.notices?.length && !dryRun) notices.set(frame, noted.notices);
    // Dry run: enforce nothing, but make the would-be decision visible (verdict metrics by
    // reason, the verdict log line and the audit note), which is what a dry run is for.
    if (dryRun && noted?.decision !== undefined && noted.decision !== 'allow') {
      return { kind: 'allow', reasons: [`policy/dry-run-${noted.decision}`, ...(noted.reasons ?? []).map((r): Reason => `policy/${r}`)] };
    }
    return v;
  };
  // warn rules with `notify`: the client is told too, in the result's `_meta` (the call itself
  // is allowed). Only then do results of governed calls need reading at all.
  const notices = new WeakMap<Frame, readonly string[]>();
  const notifies = policy.config.rules.some((r) => r.decision === 'warn' && r.notify === true);
  const methods: Record<string, Phase> = { ...calls.methods };
  if (notifies) for (const m of policy.config.methods) methods[m] = 'both';
  for (const m of LIST_METHODS) {
    if (!filtersList(policy, m)) continue;
    methods[m] = methods[m] === 'request' || methods[m] === 'both' ? 'both' : 'response';
  }
  return {
    name: 'policy',
    methods,
    needs: 'message',
    onFailure: 'closed',
    onMessage(frame: Frame, ctx: InspectorContext): Verdict | Promise<Verdict> {
      if (frame.direction === 'c2s') return decideCall(frame, ctx);
      const told = frame.kind === 'result' && ctx.request ? notices.get(ctx.request) : undefined;
      if (told) {
        const result = (frame.message['result'] ?? {}) as Record<string, unknown>;
        const meta = (typeof result['_meta'] === 'object' && result['_meta'] !== null ? result['_meta'] : {}) as Record<string, unknown>;
        return {
          kind: 'rewrite',
          message: { ...frame.message, result: { ...result, _meta: { ...meta, [NOTICE_KEY]: told } } },
          reasons: ['policy/notice'],
        };
      }
      if (frame.kind !== 'result' || !ctx.request || !filtersList(policy, frame.method)) return ALLOW;
      const result = frame.message['result'];
      const base = policyFacts(ctx.request, ctx, facts(ctx, ctx.request));
      const filtered = filterListResult(policy, frame.method, result, base);
      if (filtered === result) return ALLOW;
      return { kind: 'rewrite', message: { ...frame.message, result: filtered }, reasons: ['policy/list-filtered'] };
    },
  };
}
