/**
 * Tool pinning as a route runs it (decisions in src/pinning/pinner.ts):
 *
 * - `tools/list` results: every listed tool is checked against its pin; tools that are
 *   quarantined (changed since approval, or held) or pending (new under explicit approval) are
 *   removed from the result with a whole-message rewrite. The client's model never reads a
 *   definition nobody approved.
 * - `tools/call` requests: blocked unless the tool's pin is approved — hiding a tool from the
 *   list is not a control (a client may remember it, or guess the name), the call check is.
 * - `notifications/tools/list_changed` from the server: forwarded, the upstream marked stale,
 *   and the gateway fetches the list itself and re-checks every definition at once
 *   (transport/upstream-tools.ts); calls to the upstream wait for that re-check, so a definition
 *   changed behind the announcement is quarantined before any call or re-list reaches it.
 *
 * Run it innermost (after the configured inspectors): results flow through inspectors in reverse,
 * so the innermost one hashes the definitions exactly as the upstream sent them.
 *
 * Errors fail closed: a store that cannot be read blocks the list or call (onFailure 'closed').
 */
import type { Frame, Inspector, InspectorContext, Reason, Verdict } from '../pipeline/types.ts';
import { ALLOW } from '../pipeline/types.ts';
import type { HiddenReason, Pinner } from '../pinning/pinner.ts';

export interface ToolPinningInspectorOptions {
  pinner: Pinner;
  /**
   * The upstream the pins belong to: the route name is the natural key (stable, chosen by the
   * operator, and what `portcullis pins` shows). Default: the route the frame came through.
   */
  upstream?: string;
  name?: string;
}

const HIDDEN_REASON: Record<HiddenReason, Reason> = {
  changed: 'pinning/quarantined',
  held: 'pinning/quarantined',
  'new-untrusted': 'pinning/unpinned',
  invalid: 'pinning/invalid',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Names come from clients and servers: no control or bidi characters, bounded, in an error message. */
function shown(text: string): string {
  const safe = text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '?');
  return safe.length > 128 ? `${safe.slice(0, 127)}…` : safe;
}

export function createToolPinningInspector(opts: ToolPinningInspectorOptions): Inspector {
  const { pinner } = opts;
  const upstreamOf = (ctx: InspectorContext): string => opts.upstream ?? ctx.route;

  const onList = async (frame: Frame, ctx: InspectorContext): Promise<Verdict> => {
    if (frame.kind !== 'result') return ALLOW;
    const result = frame.message['result'];
    if (!isRecord(result) || !Array.isArray(result['tools'])) return ALLOW;
    const upstream = upstreamOf(ctx);
    const checked = await pinner.check(upstream, result['tools']);
    if (checked.quarantined.length > 0 || checked.newlyPinned.length > 0 || checked.restored.length > 0) {
      ctx.note('pinning', {
        upstream,
        hidden: checked.quarantined,
        ...(checked.newlyPinned.length > 0 ? { newlyPinned: checked.newlyPinned } : {}),
        ...(checked.restored.length > 0 ? { restored: checked.restored } : {}),
      });
    }
    if (checked.quarantined.length === 0) return ALLOW;
    const reasons = [...new Set(checked.quarantined.map((q) => HIDDEN_REASON[q.reason]))];
    return { kind: 'rewrite', message: { ...frame.message, result: { ...result, tools: checked.visible } }, reasons };
  };

  const onCall = async (frame: Frame, ctx: InspectorContext): Promise<Verdict> => {
    const params = frame.message['params'];
    const tool = isRecord(params) ? params['name'] : undefined;
    // No name, no tool to run: the upstream answers that with invalid params.
    if (typeof tool !== 'string') return ALLOW;
    const upstream = upstreamOf(ctx);
    const d = await pinner.callAllowed(upstream, tool);
    if (d.ok) return ALLOW;
    ctx.note('pinning', { upstream, tool, blocked: d.reason, ...(d.hash ? { hash: d.hash } : {}), ...(d.approvedHash ? { approvedHash: d.approvedHash } : {}) });
    const name = `"${shown(tool)}" (upstream "${shown(upstream)}")`;
    switch (d.reason) {
      case 'quarantined':
        return {
          kind: 'block',
          code: 'blocked',
          reasons: ['pinning/quarantined'],
          message: `tool ${name} is quarantined: its definition changed since it was approved. An operator must review and approve the new definition before it can be called`,
        };
      case 'pending':
        return {
          kind: 'block',
          code: 'blocked',
          reasons: ['pinning/unpinned'],
          message: `tool ${name} is new and not yet approved. An operator must review and approve its definition before it can be called`,
        };
      case 'unseen':
        return {
          kind: 'block',
          code: 'blocked',
          reasons: ['pinning/unpinned'],
          message: `tool ${name} has not been listed through the gateway, so its definition is not verified. List tools (tools/list) first`,
        };
    }
  };

  return {
    name: opts.name ?? 'tool-pinning',
    methods: { 'tools/list': 'response', 'tools/call': 'request', 'notifications/tools/list_changed': 'request' },
    needs: 'message',
    onFailure: 'closed',
    onMessage(frame: Frame, ctx: InspectorContext): Verdict | Promise<Verdict> {
      if (frame.method === 'tools/list' && frame.direction === 's2c') return onList(frame, ctx);
      if (frame.method === 'tools/call' && frame.direction === 'c2s' && frame.kind === 'request') return onCall(frame, ctx);
      if (frame.method === 'notifications/tools/list_changed' && frame.direction === 's2c') {
        const upstream = upstreamOf(ctx);
        pinner.markStale(upstream);
        ctx.note('pinning', { upstream, staleSince: pinner.staleSince(upstream) });
      }
      return ALLOW;
    },
  };
}
