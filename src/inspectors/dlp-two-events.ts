/**
 * SSE events through the DLP inspector exactly as the SSE relay handles them (relay-sse.ts,
 * HeldEvents): each event's verdict applies, a hold keeps it back (with the earlier held events
 * its hints keep), later events' `amendHeld` patch held events before they go out, a block ends
 * the stream with an error. What
 * the client would receive comes back as texts. The eval (every secret cut at every offset) and
 * the inspector's unit tests run the inspector's real cross-event logic through this; the
 * integration tests run the relay itself.
 */
import { HeldQueue, heldMessage, type Held, latestRelease } from '../pipeline/held-events.ts';
import { applyPatches } from '../pipeline/patch.ts';
import type { Frame, FindingReport, Inspector, InspectorContext, JsonRpcMessage, StreamHints, Verdict } from '../pipeline/types.ts';

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
 * Any number of events on one stream, the same way: the relay's queue of held events
 * (pipeline/held-events.ts, the bookkeeping relay-sse.ts `HeldEvents` drives with real timers)
 * on a simulated clock. `at` gives each event's arrival time (ms; default 0, every event in time):
 * a held event whose hold (`holdMs` from its own arrival) ended before an event arrives goes out
 * first, with every event before it, unamended by what comes later. `late` lists events that come
 * after every hold expired. Inspection takes no time here. `notes` collects what the inspector
 * noted for the exchange, and the relay's own `dlp_split_sent`.
 */
export function streamEvents(inspector: Inspector, parts: readonly string[], opts: { late?: readonly number[]; at?: readonly number[] } = {}): TwoEventsResult & { notes: Record<string, unknown> } {
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
  const queue = new HeldQueue<undefined>();
  const send = (events: ReadonlyArray<Held<undefined>>) => {
    for (const h of events) texts.push(dataOf(heldMessage(h)));
  };

  for (let i = 0; i < parts.length; i++) {
    const now = opts.at?.[i] ?? 0;
    // Holds that ran out before this event arrived (relay-sse.ts: the timer).
    send(opts.late?.includes(i) ? queue.drain() : queue.expire(now));
    const f = frame(`e${i + 1}`, parts[i]!);
    const v = inspector.onMessage!(f, ctx) as Verdict;
    const hints: StreamHints = v.kind === 'allow' || v.kind === 'redact' || v.kind === 'block' ? v : {};
    if (queue.amend(hints) > 0) notes['dlp_split_sent'] = ((notes['dlp_split_sent'] as number | undefined) ?? 0) + 1;
    const hold = (v.kind === 'allow' || v.kind === 'redact') && (v.holdMs ?? 0) > 0;
    send(queue.settle(hints.keepHeld, hold));
    if (v.kind === 'block') return { texts, blocked: true, findings, notes };
    const out = apply(f, v);
    if (hold) {
      send(queue.push({ frame: f.id, message: out, text: JSON.stringify(out), amend: [], deadline: now + hints.holdMs!, latest: latestRelease(now, hints.holdMs!), extra: undefined }));
      queue.refresh(now + hints.holdMs!);
    }
    else texts.push(dataOf(out));
  }
  send(queue.drain());
  return { texts, blocked: false, findings, notes };
}
