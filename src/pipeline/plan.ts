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

/**
 * An inspector whose `needs` contradicts its hooks would either force buffering it never uses or
 * have hooks that silently never run (fail open), so it is refused when the config loads.
 */
export function checkNeeds(i: Inspector): void {
  const reads = i.onMessage !== undefined || i.onChunk !== undefined;
  let problem: string | undefined;
  if (i.needs === 'head' && reads) problem = "needs 'head' but has onMessage/onChunk (declare 'message' or 'stream')";
  else if (i.needs === 'head' && i.onExchange === undefined) problem = "needs 'head' but has no onExchange";
  else if (i.needs === 'stream' && i.onChunk === undefined) problem = "needs 'stream' but has no onChunk";
  if (problem) throw new TypeError(`inspector ${i.name}: ${problem}`);
}

export class RoutePlan {
  readonly inspectors: readonly Inspector[];
  /** Every inspector with onExchange, in configured order (see `head()` for one method's). */
  readonly headInspectors: readonly Inspector[];
  /** Inspectors that read message bodies (onMessage or onChunk). */
  private readonly readers: readonly Inspector[];
  private readonly memo = new Map<string, MethodPlan>();
  private readonly headMemo = new Map<string, readonly Inspector[]>();

  constructor(inspectors: readonly Inspector[]) {
    for (const i of inspectors) checkNeeds(i);
    this.inspectors = inspectors;
    this.headInspectors = inspectors.filter((i) => i.onExchange !== undefined);
    this.readers = inspectors.filter((i) => i.onMessage !== undefined || i.onChunk !== undefined);
  }

  /**
   * No inspector reads message bodies: responses stream through unparsed. Head-only inspectors
   * don't count; they saw the request's envelope and have nothing to say about what comes back.
   */
  get isEmpty(): boolean {
    return this.readers.length === 0;
  }

  /**
   * The head phase for one client→server message: inspectors with onExchange whose phase for
   * this method matches (same rules as the message phase), in configured order.
   */
  head(hasMethod: boolean, method: string): readonly Inspector[] {
    if (this.headInspectors.length === 0) return [];
    const key = `${hasMethod ? 'm' : 'r'}${method}`;
    const cached = this.headMemo.get(key);
    if (cached) return cached;
    const result = this.headInspectors.filter((i) => wants(phaseFor(i, method), hasMethod));
    if (this.headMemo.size < MAX_MEMO) this.headMemo.set(key, result);
    return result;
  }

  /**
   * @param hasMethod true for requests/notifications, false for results/errors
   * @param method the message's method, or the correlated request's method for a response
   */
  plan(direction: Direction, hasMethod: boolean, method: string): MethodPlan {
    if (this.readers.length === 0) return EMPTY_PLAN;
    const key = `${direction}${hasMethod ? 'm' : 'r'}${method}`;
    const cached = this.memo.get(key);
    if (cached) return cached;
    // c2s runs in configured order; s2c in reverse (the innermost inspector sees it first).
    const ordered = direction === 'c2s' ? this.readers : [...this.readers].reverse();
    const matching = ordered.filter((i) => wants(phaseFor(i, method), hasMethod));
    const inspectors = matching.filter((i) => i.onMessage !== undefined);
    const chunkInspectors = matching.filter((i) => i.onChunk !== undefined);
    let buffering: Buffering = 'none';
    if (inspectors.length > 0 || chunkInspectors.length > 0) {
      // The strongest `needs` wins: one inspector that declared 'message' keeps oversized
      // messages off the chunk path even if it also has onChunk.
      buffering = matching.every((i) => i.onChunk !== undefined && i.needs !== 'message') ? 'chunks' : 'message';
    }
    const result: MethodPlan = { inspectors, chunkInspectors, buffering };
    if (this.memo.size < MAX_MEMO) this.memo.set(key, result);
    return result;
  }
}
