/**
 * Two SSE events through the DLP inspector exactly as the SSE relay handles them (relay-sse.ts,
 * HeldEvent): the first event's verdict applies, a hold keeps it back, the second event's
 * `amendPrevious` patches it before it goes out, a block ends the stream with an error. What
 * the client would receive comes back as texts. The eval (every secret cut at every offset) and
 * the inspector's unit tests run the inspector's real cross-event logic through this; the
 * integration tests run the relay itself.
 */
import { applyPatches } from '../pipeline/patch.ts';
import type { Frame, FindingReport, Inspector, InspectorContext, JsonRpcMessage, Verdict } from '../pipeline/types.ts';

export interface TwoEventsResult {
  /** The `params.data` text of each notification the client receives, in order. */
  texts: string[];
  /** The stream was cut by a block verdict (the client gets an error for the call instead). */
  blocked: boolean;
  findings: FindingReport[];
}

function frame(id: string, text: string): Frame {
  const message = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: text } };
  return { id, direction: 's2c', kind: 'notification', method: 'notifications/message', rpcId: undefined, target: undefined, message, carrier: { transport: 'sse', bytes: text.length } };
}

/** `secondLate`: the second event comes after the first one's hold expired (it went out as it was). */
export function twoEvents(inspector: Inspector, first: string, second: string, opts: { secondLate?: boolean } = {}): TwoEventsResult {
  const findings: FindingReport[] = [];
  const request = frame('request', '');
  const ctx: InspectorContext = {
    session: { era: 'modern', protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 'eval', method: 'none' } },
    route: 'eval',
    request,
    signal: new AbortController().signal,
    note: () => {},
    finding: (f) => findings.push(f),
  };
  const texts: string[] = [];
  const dataOf = (m: JsonRpcMessage) => (m['params'] as { data: string }).data;
  // A rewrite (an object key renamed) replaces the message and, like the pipeline, holds nothing.
  const apply = (f: Frame, v: Verdict): JsonRpcMessage => (v.kind === 'redact' ? applyPatches(f.message, v.patches) : v.kind === 'rewrite' ? v.message : f.message);

  const f1 = frame('e1', first);
  const v1 = inspector.onMessage!(f1, ctx) as Verdict;
  if (v1.kind === 'block') return { texts, blocked: true, findings };
  let held: JsonRpcMessage | undefined = apply(f1, v1);
  const holds = (v1.kind === 'allow' || v1.kind === 'redact') && (v1.holdMs ?? 0) > 0;
  if (!holds || opts.secondLate) {
    texts.push(dataOf(held));
    held = undefined;
  }
  const f2 = frame('e2', second);
  const v2 = inspector.onMessage!(f2, ctx) as Verdict;
  const amend = v2.kind === 'allow' || v2.kind === 'redact' || v2.kind === 'block' ? ((v2 as { amendPrevious?: [] }).amendPrevious ?? []) : [];
  if (held) texts.push(dataOf(amend.length > 0 ? applyPatches(held, amend) : held));
  if (v2.kind === 'block') return { texts, blocked: true, findings };
  texts.push(dataOf(apply(f2, v2)));
  return { texts, blocked: false, findings };
}
