/**
 * SSE events through the DLP inspector exactly as the SSE relay handles them (relay-sse.ts,
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
  return streamEvents(inspector, [first, second], { late: opts.secondLate ? [1] : [] });
}

/**
 * Any number of events on one stream, the same way: at most one event is held at a time (the
 * relay's HeldEvent); `late` lists the events that come after the previous one's hold expired.
 * `notes` collects what the inspector noted for the exchange.
 */
export function streamEvents(inspector: Inspector, parts: readonly string[], opts: { late?: readonly number[] } = {}): TwoEventsResult & { notes: Record<string, unknown> } {
  const findings: FindingReport[] = [];
  const notes: Record<string, unknown> = {};
  const request = frame('request', '');
  const ctx: InspectorContext = {
    session: { era: 'modern', protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 'eval', method: 'none' } },
    route: 'eval',
    request,
    signal: new AbortController().signal,
    note: (key, value) => {
      notes[key] = value;
    },
    finding: (f) => findings.push(f),
  };
  const texts: string[] = [];
  const dataOf = (m: JsonRpcMessage) => (m['params'] as { data: string }).data;
  // A rewrite (an object key renamed) replaces the message and, like the pipeline, holds nothing.
  const apply = (f: Frame, v: Verdict): JsonRpcMessage => (v.kind === 'redact' ? applyPatches(f.message, v.patches) : v.kind === 'rewrite' ? v.message : f.message);

  let held: JsonRpcMessage | undefined;
  for (let i = 0; i < parts.length; i++) {
    if (held && opts.late?.includes(i)) {
      texts.push(dataOf(held));
      held = undefined;
    }
    const f = frame(`e${i + 1}`, parts[i]!);
    const v = inspector.onMessage!(f, ctx) as Verdict;
    const amend = v.kind === 'allow' || v.kind === 'redact' || v.kind === 'block' ? (v.amendPrevious ?? []) : [];
    if (held) texts.push(dataOf(amend.length > 0 ? applyPatches(held, amend) : held));
    held = undefined;
    if (v.kind === 'block') return { texts, blocked: true, findings, notes };
    const out = apply(f, v);
    if ((v.kind === 'allow' || v.kind === 'redact') && (v.holdMs ?? 0) > 0) held = out;
    else texts.push(dataOf(out));
  }
  if (held) texts.push(dataOf(held));
  return { texts, blocked: false, findings, notes };
}
