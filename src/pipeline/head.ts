/**
 * The head phase: inspectors with onExchange judge a client→server message by its envelope
 * (method, target, principal, session, headers) before any inspector reads its body and before
 * anything goes upstream. Cheap checks (who may call which tool) decide here without the body
 * being inspected, and their refusal costs no upstream traffic.
 *
 * Folding is the message phase's: block > require-approval > allow, the first block stops the
 * chain, a throw or timeout blocks unless the inspector declared onFailure 'open'. A head has no
 * message to patch, so a redact or rewrite verdict here is a broken inspector and is handled as
 * its failure (fail closed by default) rather than silently dropped.
 */
import { failureVerdict, isPromise, recordOutcome, withDeadline, type InspectorOutcome, type VerdictObserver } from './pipeline.ts';
import type { ExchangeHead, Inspector, InspectorContext, Verdict } from './types.ts';

/** The verdicts a head phase can fold to. */
export type HeadVerdict = Extract<Verdict, { kind: 'allow' | 'block' | 'require-approval' }>;

export interface HeadResult {
  verdict: HeadVerdict;
  outcomes: InspectorOutcome[];
}

const ALLOW: HeadVerdict = Object.freeze({ kind: 'allow' });

export async function inspectHead(
  inspectors: readonly Inspector[],
  head: ExchangeHead,
  ctx: InspectorContext,
  timeoutMs: number,
  observe?: VerdictObserver,
): Promise<HeadResult> {
  const outcomes: InspectorOutcome[] = [];
  let approval: Extract<HeadVerdict, { kind: 'require-approval' }> | undefined;
  for (const inspector of inspectors) {
    const started = performance.now();
    let verdict: Verdict;
    let failed = false;
    try {
      const answer = inspector.onExchange!(head, ctx);
      verdict = isPromise<Verdict>(answer) ? await withDeadline(answer, timeoutMs) : answer;
      if (verdict.kind === 'redact' || verdict.kind === 'rewrite') throw new TypeError('a head verdict cannot change the message');
    } catch (err) {
      failed = true;
      verdict = failureVerdict(inspector, err);
    }
    recordOutcome(outcomes, observe, inspector, verdict, started, failed);
    if (verdict.kind === 'block') return { verdict, outcomes };
    if (verdict.kind === 'require-approval') approval ??= verdict;
  }
  return { verdict: approval ?? ALLOW, outcomes };
}
