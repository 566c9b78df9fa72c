/**
 * A trivial text redactor: replaces regex matches in every string leaf of every message, in both
 * directions, with a typed mask. Whole messages are patched in place; oversized messages are
 * redacted chunk by chunk with a hold-back window so a match split across two chunks (or two
 * reads of the upstream socket) is still caught — the mechanism real DLP builds on.
 *
 * Patterns come from the operator's config. They run in the JS regex engine here; the DLP issue
 * moves user patterns to a linear-time engine (RE2) — until then, only trusted configs.
 */
import { collectStringLeaves } from '../codec/json-stream.ts';
import { isKeyPointer } from '../codec/json-pointer.ts';
import type { Chunk, ChunkVerdict, Frame, Inspector, InspectorContext, Patch, Reason, Verdict } from '../pipeline/types.ts';

export interface RedactPattern {
  name: string;
  regex: string;
}

export interface RedactOptions {
  name?: string;
  patterns: readonly RedactPattern[];
  /** `{name}` is replaced by the pattern's name. */
  replacement?: string;
  /** Longest match the chunk path guarantees to catch across a chunk boundary. */
  windowChars?: number;
}

const MAX_OPEN_LEAVES = 4096;

/**
 * Protocol fields that are not content: ids, methods, cursors, progress tokens, reserved `_meta`
 * keys and the opaque `requestState` ("Clients MUST NOT inspect, parse, modify" it). Rewriting
 * them breaks the protocol, not a leak.
 */
export const OPAQUE = /^\/(?:jsonrpc|id|method)$|^\/(?:params|result)\/(?:requestState|cursor|nextCursor|resultType|progressToken|requestId)$|^\/(?:params|result)\/_meta\/(?:progressToken|io\.modelcontextprotocol~1[^/]*)(?:\/.*)?$/;

interface Compiled {
  name: string;
  re: RegExp;
  reason: Reason;
  mask: string;
}

interface Match {
  start: number;
  end: number;
  rule: Compiled;
}

function findMatches(text: string, rules: readonly Compiled[]): Match[] {
  const found: Match[] = [];
  for (const rule of rules) {
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m !== null; m = rule.re.exec(text)) {
      if (m[0].length === 0) {
        rule.re.lastIndex++;
        continue;
      }
      found.push({ start: m.index, end: m.index + m[0].length, rule });
    }
  }
  // Earliest first; on overlap keep the earlier (then longer) match.
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Match[] = [];
  let lastEnd = -1;
  for (const m of found) {
    if (m.start >= lastEnd) {
      kept.push(m);
      lastEnd = m.end;
    }
  }
  return kept;
}

function mask(text: string, matches: readonly Match[]): string {
  let out = '';
  let pos = 0;
  for (const m of matches) {
    out += text.slice(pos, m.start) + m.rule.mask;
    pos = m.end;
  }
  return out + text.slice(pos);
}

export function createRedactInspector(opts: RedactOptions): Inspector {
  const template = opts.replacement ?? '[REDACTED:{name}]';
  const window = opts.windowChars ?? 256;
  const rules: Compiled[] = opts.patterns.map((p) => ({
    name: p.name,
    re: new RegExp(p.regex, 'gu'),
    reason: `redact/${p.name}` as Reason,
    mask: template.replaceAll('{name}', p.name),
  }));
  /**
   * Held-back tail per leaf on the chunk path, per oversized message: keyed by its chain's
   * context, not by frame id (frame ids count per exchange, so two exchanges streaming at once
   * would both be "s2c-1" and one would emit the other's held-back text).
   */
  const carries = new WeakMap<InspectorContext, Map<string, string>>();

  const name = opts.name ?? 'redact';
  return {
    name,
    methods: { '*': 'both' },
    needs: 'stream',
    onFailure: 'closed',
    onMessage(frame: Frame, ctx: InspectorContext): Verdict {
      const patches: Patch[] = [];
      const reasons = new Set<Reason>();
      for (const leaf of collectStringLeaves(frame.message)) {
        if (OPAQUE.test(leaf.pointer)) continue;
        for (const m of findMatches(leaf.text, rules)) {
          patches.push({ pointer: leaf.pointer, start: m.start, end: m.end, replacement: m.rule.mask });
          reasons.add(m.rule.reason);
          ctx.finding?.({ inspector: name, type: m.rule.name, pointer: leaf.pointer, start: m.start, end: m.end, action: 'redacted' });
        }
      }
      return patches.length === 0 ? { kind: 'allow' } : { kind: 'redact', patches, reasons: [...reasons] };
    },
    onChunk(chunk: Chunk, ctx: InspectorContext): ChunkVerdict {
      // Values only, as onMessage: object keys (handed out on the chunk path for DLP) pass.
      if (OPAQUE.test(chunk.pointer) || isKeyPointer(chunk.pointer)) return { kind: 'pass' };
      let carry = carries.get(ctx);
      if (!carry) carries.set(ctx, (carry = new Map()));
      const key = chunk.pointer;
      const buf = (carry.get(key) ?? '') + chunk.text;
      const matches = findMatches(buf, rules);
      let safe = chunk.end ? buf.length : Math.max(0, buf.length - window);
      // Never cut through a match: hold it back whole.
      for (const m of matches) if (m.start < safe && m.end > safe) safe = m.start;
      const emitted = matches.filter((m) => m.end <= safe);
      if (chunk.end) carry.delete(key);
      else {
        carry.set(key, buf.slice(safe));
        // One leaf is open at a time; bound it anyway (the map goes with the context).
        if (carry.size > MAX_OPEN_LEAVES) carry.delete(carry.keys().next().value!);
      }
      const reasons = [...new Set(emitted.map((m) => m.rule.reason))];
      for (const m of emitted) ctx.finding?.({ inspector: name, type: m.rule.name, pointer: chunk.pointer, action: 'redacted' });
      return { kind: 'pass', emit: mask(buf.slice(0, safe), emitted), reasons };
    },
  };
}
