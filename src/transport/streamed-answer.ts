/**
 * An upstream answer read in pieces (the chunk path: a JSON body or an SSE event too large to
 * hold, relay.ts and relay-sse-streamed.ts): may it stream at all, the route's chunk inspectors
 * over its string leaves, and the check that it is this request's answer, held to the rules the
 * whole-message path applies.
 */
import { foldName } from '../codec/ambiguous-member.ts';
import { JsonStreamRewriter, type NumberToken } from '../codec/json-stream.ts';
import { TopLevelScanner } from '../codec/json-top-level.ts';
import { GatewayError } from '../core/errors.ts';
import { ChunkChain } from '../pipeline/pipeline.ts';
import type { HeldAmend } from '../pipeline/types.ts';
import { inspectorContext, observer, type Exchange } from './context.ts';
import { gatewayReadsAnswer } from './inspect-s2c.ts';

/**
 * May an answer on this exchange stream through? The same conditions as a JSON answer's chunk
 * path (relay.ts, inspect-s2c.ts passesJsonUnread), decided before the first byte goes out.
 */
export function answerMayStream(ex: Exchange): boolean {
  const m = ex.request?.method;
  if (m === undefined || ex.request?.rpcId === undefined || ex.batchMethods || gatewayReadsAnswer(ex)) return false;
  return ex.route.plan.plan('s2c', false, m).buffering !== 'message';
}

/** The chunk path's inspection of one streamed answer: its rewriter, and what stopped it. */
export interface ChunkInspection {
  rewriter: JsonStreamRewriter;
  chain: ChunkChain;
  /** Set when an inspector blocked (the rewriter then fails with GatewayError 'blocked'). */
  blocked: { reasons: string[]; amendHeld?: HeldAmend[] } | undefined;
  /** What the inspectors said of the SSE events held before the answer (ChunkVerdict). */
  onHeld?: (amendHeld: readonly HeldAmend[], settles: boolean) => void;
}

/**
 * The route's chunk inspectors over an answer's string leaves (object keys too, as
 * `<object>/~key`: a secret can travel as a key), for the JSON body and the SSE event paths alike.
 */
export function chunkInspection(ex: Exchange, method: string): ChunkInspection {
  const plan = ex.route.plan.plan('s2c', false, method);
  const chain = new ChunkChain(plan.chunkInspectors, inspectorContext(ex, 's2c'), ex.route.cfg.inspectorTimeoutMs, observer(ex));
  const frameId = `s2c-${ex.frameSeq++}`;
  const push = async (piece: { pointer: string; text: string; end: boolean; number?: true }): Promise<string> => {
    const v = await chain.push({ frameId, direction: 's2c', method, ...piece });
    if (v.kind === 'block') {
      inspection.blocked = v;
      throw new GatewayError('blocked');
    }
    if (v.amendHeld !== undefined || v.settlesHeld) inspection.onHeld?.(v.amendHeld ?? [], v.settlesHeld === true);
    return v.text;
  };
  const inspection: ChunkInspection = {
    chain,
    blocked: undefined,
    rewriter: new JsonStreamRewriter({
      keys: true,
      onString: (piece) => push({ pointer: piece.pointer, text: piece.text, end: piece.end }),
      // Numbers carry content too (a card number in structuredContent): those an inspector reads
      // go through the chain whole; the rest are copied through.
      ...(chain.readsNumbers
        ? { onNumber: (token: NumberToken) => (chain.readsNumber(token.text) ? push({ pointer: token.pointer, text: token.text, end: true, number: true }) : undefined) }
        : {}),
    }),
  };
  return inspection;
}

const ANSWER_KEYS = new Set(['result', 'error']);
const MESSAGE_KEYS = new Set(['method', 'params']);
/** Distinct top-level names a streamed answer may have (JSON-RPC needs 3; extensions a few more). */
const MAX_TOP_LEVEL_NAMES = 64;
/** JSON-RPC 2.0 §4/§5 members, by folded name (ambiguous-member.ts says why folding matters). */
const ENVELOPE = new Map(['jsonrpc', 'id', 'method', 'params', 'result', 'error'].map((n) => [foldName(n), n]));

/**
 * Is a message read in pieces the answer to this exchange's request? Its top-level members tell
 * (TopLevelScanner): `result` or `error` and no `method` or `params`, `jsonrpc` "2.0", and the
 * request's `id` (JSON-RPC 2.0 §5: the same value; `"1"` does not answer `1`). The relay paths
 * that stream an answer feed it as they go and ask at the end, before its last bytes go out: a
 * client matching ids loosely (the TypeScript SDK) would otherwise take another request's
 * answer, inspected under this request's method, as that request's. Its top-level names are held
 * to the rules the whole-message path applies (codec/ambiguous-member.ts): no two equal under
 * case folding, protocol members spelled exactly, not both `result` and `error`.
 */
export class AnswerCheck {
  readonly #ex: Exchange;
  readonly #decoder = new TextDecoder();
  readonly scanner: TopLevelScanner;
  kind: 'answer' | 'message' | undefined;
  readonly #seen = new Set<string>();

  constructor(ex: Exchange) {
    this.#ex = ex;
    this.scanner = new TopLevelScanner({
      capture: ['id', 'jsonrpc'],
      // Room for this request's id however long the client made it (as JSON text, escapes and all).
      maxCaptured: Math.max(256, 6 * JSON.stringify(ex.request?.rpcId ?? null).length + 2),
      onKey: (name) => {
        const folded = foldName(name);
        const exact = ENVELOPE.get(folded);
        if (this.#seen.has(folded) || (exact !== undefined && exact !== name)) throw new GatewayError('upstream_protocol', 'ambiguous JSON in a streamed answer');
        this.#seen.add(folded);
        // A JSON-RPC answer has a handful of members; a streamed one may not grow this set at will.
        if (this.#seen.size > MAX_TOP_LEVEL_NAMES) throw new GatewayError('upstream_protocol', 'too many top-level members in a streamed answer');
        if (this.#seen.has('result') && this.#seen.has('error')) throw new GatewayError('upstream_protocol', 'an answer with both result and error');
        if (this.kind === undefined) {
          if (ANSWER_KEYS.has(name)) this.kind = 'answer';
          else if (MESSAGE_KEYS.has(name)) this.kind = 'message';
        } else if (this.kind === 'answer' && MESSAGE_KEYS.has(name)) {
          // An answer that turns out to carry a method: a different message than the one relayed.
          throw new GatewayError('upstream_protocol', 'a streamed answer carries a method');
        }
      },
    });
  }

  /** More of the message, as bytes (a JSON body) or text (an SSE event's data). */
  push(piece: Uint8Array | string): void {
    this.scanner.push(typeof piece === 'string' ? piece : this.#decoder.decode(piece, { stream: true }));
    if (this.scanner.shape === 'other') this.kind = 'message';
  }

  /** The message is complete: throws unless it is this exchange's answer. */
  end(): void {
    this.scanner.push(this.#decoder.decode());
    this.scanner.end();
    const raw = this.scanner.captured('id');
    const id: unknown = raw === undefined || raw === 'too-long' ? undefined : JSON.parse(raw);
    if (this.kind !== 'answer' || this.scanner.captured('jsonrpc') !== '"2.0"' || id === undefined || id !== this.#ex.request?.rpcId) {
      throw new GatewayError('upstream_protocol', 'a streamed answer that is not the answer to this request');
    }
  }
}
