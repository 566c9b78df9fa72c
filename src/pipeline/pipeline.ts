/**
 * Runs Frames and Chunks through inspectors and folds their verdicts.
 *
 * Folding: block > require-approval > redact (and rewrite) > allow. The first block stops the
 * chain. Redactions and rewrites apply in order, so each inspector sees the message as the
 * previous one left it; the folded result of any change is a 'redact' carrying the final message
 * (its patches are only the string patches: a rewrite has none to list). An inspector
 * that throws or exceeds its time budget blocks (fail closed) unless it declared onFailure 'open'.
 */
import type {
  Chunk,
  ChunkVerdict,
  Frame,
  HeldAmend,
  Inspector,
  InspectorContext,
  JsonRpcMessage,
  Patch,
  Reason,
  Verdict,
} from './types.ts';
import { applyPatches } from './patch.ts';

export interface InspectorOutcome {
  inspector: string;
  verdict: Verdict['kind'] | 'pass';
  reasons: readonly Reason[];
  ms: number;
  failed?: boolean;
}

/** A folded verdict: rewrites fold into 'redact'. */
export type FoldedVerdict = Exclude<Verdict, { kind: 'rewrite' }>;

export interface FrameResult {
  /** The folded verdict. For 'redact', `message` holds the rewritten message. */
  verdict: FoldedVerdict;
  message: JsonRpcMessage;
  outcomes: InspectorOutcome[];
  /** Longest hold any inspector asked for (SSE streams; see StreamHints). */
  holdMs?: number;
  /** Patches to the held previous event, from all inspectors, in order. */
  amendPrevious?: Patch[];
  /** Held events any inspector keeps held (frame ids), and patches to held events (StreamHints). */
  keepHeld?: string[];
  amendHeld?: HeldAmend[];
}

export type VerdictObserver = (o: InspectorOutcome) => void;

export const FAILED_REASON: Reason = 'gateway/inspector-failed';
const TIMEOUT_REASON: Reason = 'gateway/inspector-timeout';

class InspectorTimeout extends Error {}

export function isPromise<T>(v: unknown): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as Promise<T>).then === 'function';
}

/** Await a possibly-async inspector answer with a deadline; sync answers cost no timer. */
export async function withDeadline<T>(value: T | Promise<T>, ms: number): Promise<T> {
  if (!isPromise<T>(value)) return value;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InspectorTimeout()), ms);
  });
  try {
    return await Promise.race([value, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function failureVerdict(inspector: Inspector, err: unknown): Verdict {
  if (inspector.onFailure === 'open') return { kind: 'allow', reasons: [FAILED_REASON] };
  return {
    kind: 'block',
    reasons: [err instanceof InspectorTimeout ? TIMEOUT_REASON : FAILED_REASON],
    message: `inspector ${inspector.name} failed`,
  };
}

function withMessage(frame: Frame, message: JsonRpcMessage): Frame {
  return { ...frame, message };
}

/** One inspector's answer as the audit record and metrics see it (both phases). */
export function recordOutcome(outcomes: InspectorOutcome[], observe: VerdictObserver | undefined, inspector: Inspector, verdict: Verdict, started: number, failed: boolean): void {
  const outcome: InspectorOutcome = {
    inspector: inspector.name,
    verdict: verdict.kind,
    reasons: verdict.reasons ?? [],
    ms: performance.now() - started,
    ...(failed ? { failed } : {}),
  };
  outcomes.push(outcome);
  observe?.(outcome);
}

export async function inspectFrame(
  inspectors: readonly Inspector[],
  frame: Frame,
  ctx: InspectorContext,
  timeoutMs: number,
  observe?: VerdictObserver,
): Promise<FrameResult> {
  const outcomes: InspectorOutcome[] = [];
  let current = frame;
  let approval: Extract<Verdict, { kind: 'require-approval' }> | undefined;
  const redactReasons: Reason[] = [];
  const allPatches: Patch[] = [];
  let rewritten = false;
  let holdMs = 0;
  const amend: Patch[] = [];
  const keepHeld = new Set<string>();
  const amendHeld: HeldAmend[] = [];
  for (const inspector of inspectors) {
    const started = performance.now();
    let verdict: Verdict;
    let failed = false;
    try {
      const answer = inspector.onMessage!(current, ctx);
      // Sync answers (the common case) cost no timer and no microtask.
      verdict = isPromise<Verdict>(answer) ? await withDeadline(answer, timeoutMs) : answer;
    } catch (err) {
      failed = true;
      verdict = failureVerdict(inspector, err);
    }
    recordOutcome(outcomes, observe, inspector, verdict, started, failed);
    if (verdict.kind === 'block') {
      const held = [...amendHeld, ...(verdict.amendHeld ?? [])];
      return { verdict, message: current.message, outcomes, ...(verdict.amendPrevious?.length || amend.length ? { amendPrevious: [...amend, ...(verdict.amendPrevious ?? [])] } : {}), ...(held.length ? { amendHeld: held } : {}) };
    }
    if ((verdict.kind === 'allow' || verdict.kind === 'redact') && !failed) {
      if (verdict.holdMs !== undefined && verdict.holdMs > 0) holdMs = Math.max(holdMs, verdict.holdMs);
      if (verdict.amendPrevious?.length) amend.push(...verdict.amendPrevious);
      for (const f of verdict.keepHeld ?? []) keepHeld.add(f);
      if (verdict.amendHeld?.length) amendHeld.push(...verdict.amendHeld);
    }
    if (verdict.kind === 'require-approval') approval ??= verdict;
    if (verdict.kind === 'redact' && verdict.patches.length > 0) {
      current = withMessage(current, applyPatches(current.message, verdict.patches));
      redactReasons.push(...verdict.reasons);
      allPatches.push(...verdict.patches);
    }
    if (verdict.kind === 'rewrite') {
      current = withMessage(current, verdict.message);
      redactReasons.push(...verdict.reasons);
      rewritten = true;
    }
  }
  const hints = { ...(holdMs > 0 ? { holdMs } : {}), ...(amend.length > 0 ? { amendPrevious: amend } : {}), ...(keepHeld.size > 0 ? { keepHeld: [...keepHeld] } : {}), ...(amendHeld.length > 0 ? { amendHeld } : {}) };
  if (approval) return { verdict: approval, message: current.message, outcomes, ...hints };
  if (allPatches.length > 0 || rewritten) {
    return { verdict: { kind: 'redact', patches: allPatches, reasons: redactReasons }, message: current.message, outcomes, ...hints };
  }
  return { verdict: { kind: 'allow' }, message: current.message, outcomes, ...hints };
}

/**
 * The chunk path for one oversized message: each inspector sees the text stream as the previous
 * inspector emitted it, with its own offsets, so hold-back windows compose.
 *
 * What each inspector made of the message is reported once, when the chain ends (`finish`, or at
 * a block): one outcome per inspector, not one per piece, since a message of many strings would
 * otherwise fill the exchange's outcome list with passes and push out the reasons that matter; and
 * `redact` when the inspector masked anything (a finding it reported as redacted), as the
 * whole-message path records it.
 */
export class ChunkChain {
  private readonly offsets: Map<string, number>[];
  private readonly inspectors: readonly Inspector[];
  private readonly contexts: readonly InspectorContext[];
  private readonly timeoutMs: number;
  private readonly observe: VerdictObserver | undefined;
  private readonly totals: Array<{ block: boolean; redacted: boolean; reasons: Set<Reason>; ms: number; failed: boolean; pieces: number }>;
  private finished = false;
  /** Inspectors that join held SSE events to the answer (Inspector.joinsHeld) and have not settled yet. */
  private readonly unsettled: Set<number>;

  constructor(inspectors: readonly Inspector[], ctx: InspectorContext, timeoutMs: number, observe?: VerdictObserver) {
    this.inspectors = inspectors;
    this.timeoutMs = timeoutMs;
    this.observe = observe;
    this.offsets = inspectors.map(() => new Map());
    this.unsettled = new Set(inspectors.flatMap((inspector, i) => (inspector.joinsHeld ? [i] : [])));
    this.totals = inspectors.map(() => ({ block: false, redacted: false, reasons: new Set<Reason>(), ms: 0, failed: false, pieces: 0 }));
    this.contexts = inspectors.map((_, i) => {
      const report = ctx.finding;
      if (!report) return ctx;
      return {
        ...ctx,
        finding: (f) => {
          if (f.action === 'redacted') this.totals[i]!.redacted = true;
          report(f);
        },
      };
    });
  }

  /** Does any inspector read numbers at all (then the rewriter hands them out)? */
  get readsNumbers(): boolean {
    return this.inspectors.some((inspector) => inspector.readsNumber !== undefined);
  }

  /** Does some inspector read this number token (`Inspector.readsNumber`)? */
  readsNumber(text: string): boolean {
    return this.inspectors.some((inspector) => inspector.readsNumber?.(text) === true);
  }

  /**
   * Returns the text to emit for this piece, or a block verdict; with what the inspectors said
   * of the events held before a streamed SSE answer (ChunkVerdict: all their amendments, and
   * whether the last of those that join them let them go with this piece).
   */
  async push(
    base: Omit<Chunk, 'offset'>,
  ): Promise<{ kind: 'emit'; text: string; amendHeld?: HeldAmend[]; settlesHeld?: true } | { kind: 'block'; reasons: Reason[]; message?: string; amendHeld?: HeldAmend[] }> {
    let text = base.text;
    let amendHeld: HeldAmend[] | undefined;
    let settlesHeld = false;
    for (let i = 0; i < this.inspectors.length; i++) {
      const inspector = this.inspectors[i]!;
      // A number goes to those who read it, whole: no offsets to keep.
      if (base.number && inspector.readsNumber?.(base.text) !== true) continue;
      const offsets = this.offsets[i]!;
      const offset = base.number ? 0 : (offsets.get(base.pointer) ?? 0);
      if (!base.number) offsets.set(base.pointer, offset + text.length);
      if (base.end) offsets.delete(base.pointer);
      const started = performance.now();
      let verdict: ChunkVerdict;
      let failed = false;
      try {
        const answer = inspector.onChunk!({ ...base, text, offset }, this.contexts[i]!);
        verdict = isPromise<ChunkVerdict>(answer) ? await withDeadline(answer, this.timeoutMs) : answer;
      } catch (err) {
        failed = true;
        const v = failureVerdict(inspector, err);
        verdict = v.kind === 'block' ? { kind: 'block', reasons: v.reasons } : { kind: 'pass', reasons: v.reasons ?? [] };
      }
      const total = this.totals[i]!;
      total.pieces++;
      total.ms += performance.now() - started;
      total.failed ||= failed;
      // Bounded like the exchange's own reasons: a piece may not add a new reason each time.
      for (const r of verdict.reasons ?? []) if (total.reasons.size < 32) total.reasons.add(r);
      if (verdict.amendHeld?.length) (amendHeld ??= []).push(...verdict.amendHeld);
      if (verdict.kind === 'block') {
        total.block = true;
        this.finish();
        return amendHeld ? { ...verdict, amendHeld } : verdict;
      }
      // Held events go once the last of the inspectors that join them has settled.
      if (verdict.settlesHeld && this.unsettled.delete(i) && this.unsettled.size === 0) settlesHeld = true;
      if (verdict.emit !== undefined) text = verdict.emit;
    }
    return { kind: 'emit', text, ...(amendHeld ? { amendHeld } : {}), ...(settlesHeld ? { settlesHeld: true as const } : {}) };
  }

  /** Reports each inspector's outcome over the whole message (once; a block reports at once). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.inspectors.forEach((inspector, i) => {
      const t = this.totals[i]!;
      if (t.pieces === 0) return;
      this.observe?.({
        inspector: inspector.name,
        verdict: t.block ? 'block' : t.redacted ? 'redact' : 'pass',
        reasons: [...t.reasons],
        ms: t.ms,
        ...(t.failed ? { failed: true } : {}),
      });
    });
  }
}
