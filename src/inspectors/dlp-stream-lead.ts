/**
 * A streamed answer that continues its stream's run: the SSE chunk path, where an answer too
 * large to hold is relayed as it arrives (transport/relay-sse-streamed.ts).
 *
 * On the whole-message path the answer's first running text is scanned joined to the run
 * (dlp.ts, dlp-stream-run.ts), so a key cut between a call's last log event and its result is
 * masked in both. Here the answer comes in pieces, so the join waits for enough of that text to
 * hold any match that began in the run: the moment the chunk scan would release some of it (past
 * its own hold-back window), or its end. Until then nothing of the text has gone out (the chunk
 * scan holds it), and the relay keeps the answer's first bytes and the held events back.
 *
 * What the join finds reaching into held events amends them (`amendHeld`, cut from each, masked
 * where the match ends); the mask stands at the start of the text, over the match's part there
 * (applied to whichever emits reach it); and the verdict tells the relay the held events may go
 * (`settlesHeld`). A block rule cuts its parts from the held events and blocks the answer. Matches
 * wholly inside the text are left to the chunk scan, which finds them itself.
 */
import type { Finding, ScanOptions } from '../detectors/index.ts';
import type { StreamState } from '../detectors/stream-window.ts';
import { pointerSegments } from '../codec/json-pointer.ts';
import type { Chunk, HeldAmend, InspectorContext, Patch, Reason } from '../pipeline/types.ts';
import { Amends, scanContinuation, type Run } from './dlp-stream-run.ts';

/**
 * An answer's running text (dlp-stream-run.ts RUNNING_TEXT, for answers): `text` (text content,
 * text resource contents) or `message` (an error). Not `data`: in an answer that is image or
 * audio content, base64, and the whole path (which can see the content's `type`) skips it too;
 * joined here, the run settled on an image and the text after it went out unjoined.
 */
const ANSWER_TEXT: ReadonlySet<string> = new Set(['text', 'message']);

export interface LeadDeps {
  /** The stream's run for this context, taken (the answer ends it), if there is one. */
  takeRun(ctx: InspectorContext): Run | undefined;
  scan: ScanOptions;
  action(f: Finding): 'redact' | 'block' | 'alert';
  /** Reports a finding at `where` and notes its reason (dlp.ts reportChunk). */
  report(ctx: InspectorContext, f: Finding, where: string, value: string, reasons: Set<Reason>): void;
}

/** What the lead adds to a chunk verdict. */
export type LeadHints = { amendHeld?: HeldAmend[]; settlesHeld?: true };

export type LeadOutcome =
  | { kind: 'block'; reasons: Reason[]; message: string; amendHeld: HeldAmend[] }
  | { kind: 'pass'; hints: LeadHints; reasons: Reason[] };

interface Lead {
  phase: 'looking' | 'joining' | 'done';
  /** The running text that continues the run. */
  pointer: string;
  /** `[0, end)` of that text is the match's part there; its replacement goes with the first emit reaching it. */
  mask: { end: number; replacement: string; sent: boolean } | undefined;
}

const SETTLED: LeadOutcome = Object.freeze({ kind: 'pass', hints: Object.freeze({ settlesHeld: true }), reasons: [] }) as LeadOutcome;

export class AnswerLeads {
  readonly #deps: LeadDeps;
  readonly #leads = new WeakMap<object, Lead>();

  constructor(deps: LeadDeps) {
    this.#deps = deps;
  }

  /**
   * One string piece of an oversized answer, after the chunk scan's step over it (`before`: the
   * leaf's scan state before this piece; `released`: how far the step releases). Undefined when
   * the lead has nothing to say about it.
   */
  step(chunk: Chunk, ctx: InspectorContext, before: StreamState, released: number): LeadOutcome | undefined {
    let lead = this.#leads.get(ctx);
    if (lead === undefined) {
      lead = { phase: 'looking', pointer: '', mask: undefined };
      this.#leads.set(ctx, lead);
    }
    if (lead.phase === 'done') return undefined;
    if (lead.phase === 'looking') {
      // The first running text of the answer (as dlp-stream-run.ts firstRunningText), from its first piece.
      if (chunk.offset !== 0 || !ANSWER_TEXT.has(pointerSegments(chunk.pointer).at(-1) ?? '')) return undefined;
      lead.phase = 'joining';
      lead.pointer = chunk.pointer;
    }
    if (chunk.pointer !== lead.pointer) return undefined;
    // Enough of the text to hold what began in the run, or all of it; before, nothing was released.
    if (released <= 0 && !chunk.end) return undefined;
    lead.phase = 'done';
    const run = this.#deps.takeRun(ctx);
    if (run === undefined || before.released !== 0 || before.carryStart !== 0) return SETTLED;
    return this.#join(lead, run, chunk, ctx, before.carry + chunk.text);
  }

  /** The lead mask's part in an emit of `[from, from + length)` of the text at `pointer`, if any. */
  mask(ctx: InspectorContext, pointer: string, from: number, length: number, masks: Array<{ start: number; end: number; replacement: string }>): void {
    const m = this.#leads.get(ctx)?.mask;
    if (m === undefined || this.#leads.get(ctx)!.pointer !== pointer || m.end <= from || length === 0) return;
    masks.push({ start: 0, end: Math.min(length, m.end - from), replacement: m.sent ? '' : m.replacement });
    m.sent = true;
  }

  #join(lead: Lead, run: Run, chunk: Chunk, ctx: InspectorContext, text: string): LeadOutcome {
    const deps = this.#deps;
    const reasons = new Set<Reason>();
    const patches: Patch[] = [];
    const amends = new Amends();
    let blocked: Finding | undefined;
    scanContinuation(
      run,
      ctx.signal,
      { pointer: chunk.pointer, text },
      {
        scan: deps.scan,
        action: deps.action,
        apply: (f, pointer, start, end, _target, value, where, report) => {
          if (deps.action(f) === 'block') blocked ??= f;
          if (report) deps.report(ctx, { ...f, start, end }, where ?? pointer, value, reasons);
        },
        patches,
        amends,
        note: (k, v) => ctx.note(k, v),
      },
      undefined,
      true,
    );
    const amendHeld = amends.hints();
    if (blocked) return { kind: 'block', reasons: [...reasons], message: `${blocked.type} detected`, amendHeld };
    // The parts in the text all start at 0 (a match running into it from the run).
    let end = 0;
    for (const p of patches) end = Math.max(end, p.end);
    if (end > 0) lead.mask = { end, replacement: patches[0]!.replacement, sent: false };
    return { kind: 'pass', hints: { settlesHeld: true, ...(amendHeld.length > 0 ? { amendHeld } : {}) }, reasons: [...reasons] };
  }
}
