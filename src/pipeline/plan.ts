/**
 * The buffering plan: which inspectors see which messages, and how much must be buffered.
 *
 * Computed once per route when the config loads (and memoised per method as traffic arrives),
 * so the per-message cost is a Map lookup.
 *
 * Phase semantics: `request` matches messages that carry a method (requests and notifications,
 * in either direction: a server's `sampling/createMessage` is a request too); `response` matches
 * results and errors, named by the method of the request they answer.
 */
import type { Direction, Inspector, Phase } from './types.ts';

export type Buffering =
  /** No inspector reads the message: bytes stream through, nothing is parsed for inspection. */
  | 'none'
  /** Every matching inspector can read chunks: oversized messages take the chunk path. */
  | 'chunks'
  /** Some matching inspector needs the whole message: oversized messages are refused. */
  | 'message';

export interface MethodPlan {
  /** Inspectors with onMessage, in the order they run for this direction. */
  readonly inspectors: readonly Inspector[];
  /** Inspectors with onChunk, same order (all of `inspectors` when buffering is 'chunks'). */
  readonly chunkInspectors: readonly Inspector[];
  readonly buffering: Buffering;
}

const EMPTY_PLAN: MethodPlan = Object.freeze({ inspectors: [], chunkInspectors: [], buffering: 'none' });
/** Bound the memo: method names come from clients and must not grow memory without limit. */
const MAX_MEMO = 512;

export function methodMatches(pattern: string, method: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*')) return method.startsWith(pattern.slice(0, -1));
  return pattern === method;
}

/** The phase an inspector declared for a method: the most specific matching pattern wins. */
export function phaseFor(inspector: Inspector, method: string): Phase {
  const exact = inspector.methods[method];
  if (exact !== undefined) return exact;
  let best: Phase = 'off';
  let bestLen = -1;
  for (const [pattern, phase] of Object.entries(inspector.methods)) {
    if (pattern !== method && methodMatches(pattern, method) && pattern.length > bestLen) {
      best = phase;
      bestLen = pattern.length;
    }
  }
  return best;
}

function wants(phase: Phase, hasMethod: boolean): boolean {
  if (phase === 'both') return true;
  return hasMethod ? phase === 'request' : phase === 'response';
}

export class RoutePlan {
  readonly inspectors: readonly Inspector[];
  readonly headInspectors: readonly Inspector[];
  private readonly memo = new Map<string, MethodPlan>();

  constructor(inspectors: readonly Inspector[]) {
    this.inspectors = inspectors;
    this.headInspectors = inspectors.filter((i) => i.onExchange !== undefined);
  }

  get isEmpty(): boolean {
    return this.inspectors.length === 0;
  }

  /**
   * @param hasMethod true for requests/notifications, false for results/errors
   * @param method the message's method, or the correlated request's method for a response
   */
  plan(direction: Direction, hasMethod: boolean, method: string): MethodPlan {
    if (this.inspectors.length === 0) return EMPTY_PLAN;
    const key = `${direction}${hasMethod ? 'm' : 'r'}${method}`;
    const cached = this.memo.get(key);
    if (cached) return cached;
    // c2s runs in configured order; s2c in reverse (the innermost inspector sees it first).
    const ordered = direction === 'c2s' ? this.inspectors : [...this.inspectors].reverse();
    const matching = ordered.filter((i) => wants(phaseFor(i, method), hasMethod));
    const inspectors = matching.filter((i) => i.onMessage !== undefined);
    const chunkInspectors = matching.filter((i) => i.onChunk !== undefined);
    let buffering: Buffering = 'none';
    if (inspectors.length > 0 || chunkInspectors.length > 0) {
      buffering = inspectors.every((i) => i.onChunk !== undefined) ? 'chunks' : 'message';
    }
    const result: MethodPlan = { inspectors, chunkInspectors, buffering };
    if (this.memo.size < MAX_MEMO) this.memo.set(key, result);
    return result;
  }
}
