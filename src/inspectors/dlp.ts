/**
 * Streaming DLP: the detectors (secrets, PII, confidential markers, operator rules) applied to
 * every string a message carries — tool arguments, prompts, results, notifications, sampling and
 * elicitation content, resources — in both directions, with a per-type action:
 *
 * - `redact`: the match becomes `[REDACTED:<type>]`;
 * - `block`: a request gets a JSON-RPC error, a response an error for its id, a stream a clean
 *   cut once bytes already went out;
 * - `alert`: forwarded unchanged, reported.
 *
 * Findings go to audit (type, JSON pointer, offsets — never the value) and to session memory
 * (`dlp_findings`, `<family>_findings` per caller, for policy).
 *
 * Three paths, one scheme (detectors/stream-window.ts):
 * - a buffered message: each string leaf scanned whole;
 * - an oversized message (chunk path): each leaf scanned piece by piece with a hold-back window,
 *   so memory stays bounded and a match split across chunks is still found;
 * - consecutive SSE events of one stream: an event whose last string could still grow into a
 *   secret (see `mayContinue`) is held (StreamHints) until the next event is inspected, at most
 *   `crossEventHoldMs`. A secret split between the two is then masked as one: its first part is
 *   cut from the held event and the mask stands where the rest begins in the next. An SSE event
 *   is a whole JSON-RPC message, so the unit held back is the event, not characters.
 *
 * The hold is bounded because the upstream controls timing: a second part that comes later
 * than the hold lets the first part out (it was already sent); the rest is still masked, and
 * the relay notes the exchange (`dlp_split_sent`) for the audit record. For a `block` rule the
 * relay drops the held event and cuts the stream, so no part of the secret is sent.
 */
import { fingerprint, scanText, type ContentFamily, type CustomRules, type Finding, CustomRuleSet } from '../detectors/index.ts';
import { INITIAL_STREAM_STATE, scanChunk, type StreamState } from '../detectors/stream-window.ts';
import { collectStringLeaves } from '../codec/json-pointer.ts';
import type { Chunk, ChunkVerdict, Frame, Inspector, InspectorContext, Patch, Reason, Verdict } from '../pipeline/types.ts';
import type { FindingMemory } from '../session/finding-memory.ts';
import { principalKey } from '../session/sessions.ts';
import { base64Kind, decodeTextBlob, maskedBlob } from './dlp-binary.ts';
import { OPAQUE } from './redact.ts';

export type DlpAction = 'redact' | 'block' | 'alert';

export interface DlpOptions {
  name?: string;
  families: readonly ContentFamily[];
  minConfidence: number;
  /** Action per finding type (rule id), then per family, then the default. */
  actions: { default: DlpAction; families: Partial<Record<ContentFamily, DlpAction>>; types: Readonly<Record<string, DlpAction>> };
  /** Which traffic: client→server, server→client, or both. */
  direction: 'both' | 'request' | 'response';
  custom?: CustomRules | undefined;
  /** How long an SSE event that may end in the start of a secret waits for the next one. */
  crossEventHoldMs: number;
  memory?: FindingMemory | undefined;
  /** Key for the findings' fingerprints (the audit digest key); without one, none are made. */
  fingerprintKey?: Uint8Array | undefined;
}

/** How far back the PEM check looks: past any key block's header. */
const TAIL_CHARS = 8192;
/** PEM and SSH2 armour lines (RFC 7468 §2; RFC 4716 §3.2 uses four dashes and a space). */
const ARMOUR_BEGIN = /-{4,5} ?BEGIN /g;
const ARMOUR_END = /-{4,5} ?END /;

/** Per-stream state is keyed by the client request frame; bounded for streams that never end. */
const MAX_CHUNK_STATES = 1024;

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13 || c === 0x85 || c === 0x2028 || c === 0x2029;
}

/**
 * Could the text still grow into a secret in the next event? Yes when its last line is not
 * finished (a cut inside a token, "AK" | "IA…"; after `"k": "`; after `aws_secret_access_key `
 * whose value comes next), or when a PEM/SSH2 key block is open (its body comes in later lines).
 * A rule's prefix can be a single character, and keyword-context rules put the keyword before a
 * space, so any unfinished line counts; a text that ends with a line break and no open block is
 * done.
 */
export function mayContinue(text: string): boolean {
  if (text.length === 0) return false;
  if (!isLineBreak(text.charCodeAt(text.length - 1))) return true;
  const tail = text.length > TAIL_CHARS ? text.slice(-TAIL_CHARS) : text;
  let begin = -1;
  ARMOUR_BEGIN.lastIndex = 0;
  for (let m = ARMOUR_BEGIN.exec(tail); m !== null; m = ARMOUR_BEGIN.exec(tail)) begin = m.index;
  return begin >= 0 && !ARMOUR_END.test(tail.slice(begin));
}

export function createDlpInspector(opts: DlpOptions): Inspector {
  const name = opts.name ?? 'dlp';
  const custom = opts.custom && (opts.custom.dictionaries?.length || opts.custom.regexes?.length) ? new CustomRuleSet(opts.custom) : undefined;
  const families = custom ? [...new Set([...opts.families, 'custom' as const])] : opts.families;
  const scan = { families, minConfidence: opts.minConfidence, ...(custom ? { custom } : {}) };
  const wants = (direction: 'c2s' | 's2c') => opts.direction === 'both' || (opts.direction === 'request' ? direction === 'c2s' : direction === 's2c');
  const actionOf = (f: Finding): DlpAction => opts.actions.types[f.type] ?? opts.actions.families[f.detector as ContentFamily] ?? opts.actions.default;
  // The last string of the previous SSE event of each stream, when it ended riskily.
  const previous = new WeakMap<object, { pointer: string; text: string; offset: number; spans: ReadonlySet<string> }>();
  const chunkStates = new Map<string, StreamState>();

  const key = opts.fingerprintKey;
  const fingerprintOf = (type: string, value: string): { fingerprint?: string } => (key ? { fingerprint: fingerprint(key, type, value) } : {});

  const remember = (ctx: InspectorContext, found: readonly Finding[]) => {
    if (!opts.memory || found.length === 0) return;
    const who = principalKey(ctx.session.principal);
    opts.memory.record(who, 'dlp_findings', found.length);
    for (const fam of new Set(found.map((f) => f.detector))) opts.memory.record(who, `${fam}_findings`, found.filter((f) => f.detector === fam).length);
  };

  return {
    name,
    // Every message with a method (requests, notifications, server requests) and every result:
    // all of MCP's content carriers. `direction` narrows by who sent it.
    methods: { '*': 'both' },
    needs: 'stream',
    onFailure: 'closed',
    onMessage(frame: Frame, ctx: InspectorContext): Verdict {
      if (!wants(frame.direction)) return { kind: 'allow' };
      const patches: Patch[] = [];
      const amend: Patch[] = [];
      const reasons = new Set<Reason>();
      const found: Finding[] = [];
      let block: Finding | undefined;
      const leaves = collectStringLeaves(frame.message).filter((l) => !OPAQUE.test(l.pointer));
      const streamKey = frame.carrier.transport === 'sse' ? ctx.request : undefined;
      const prev = streamKey ? previous.get(streamKey) : undefined;
      if (streamKey) previous.delete(streamKey);

      const apply = (f: Finding, pointer: string, start: number, end: number, target: Patch[] | undefined, value: string) => {
        const action = actionOf(f);
        reasons.add(`dlp/${f.type}`);
        found.push(f);
        ctx.finding?.({ inspector: name, type: f.type, pointer, start, end, action: action === 'redact' ? 'redacted' : action === 'block' ? 'blocked' : 'observed', ...fingerprintOf(f.type, value) });
        if (action === 'block') block ??= f;
        if (action === 'redact') target?.push({ pointer, start, end, replacement: `[REDACTED:${f.type}]` });
      };

      // The string that continues the previous event's: same pointer (the same field of the next
      // log line or progress message), else the first string of this event.
      const continued = prev ? Math.max(0, leaves.findIndex((l) => l.pointer === prev.pointer)) : -1;
      // Spans found in the last string, in its own offsets: the next event's joined scan skips
      // them. Only an SSE stream has a next event.
      let lastSpans: Set<string> | undefined;
      leaves.forEach((leaf, i) => {
        const spans = streamKey ? new Set<string>() : undefined;
        const b64 = base64Kind(frame.message, leaf.pointer);
        if (b64 !== undefined) {
          // Base64 content (dlp-binary.ts): a text blob is scanned decoded and, on redaction,
          // re-encoded whole; binary is not scanned. Never the continuation of an event.
          const text = b64 === 'text-blob' ? decodeTextBlob(leaf.text) : undefined;
          if (text === undefined) return;
          const masks: Array<{ start: number; end: number; mask: string }> = [];
          for (const f of scanText(text, scan)) {
            apply(f, leaf.pointer, f.start, f.end, undefined, text.slice(f.start, f.end));
            if (actionOf(f) === 'redact') masks.push({ start: f.start, end: f.end, mask: `[REDACTED:${f.type}]` });
          }
          if (masks.length > 0) patches.push({ pointer: leaf.pointer, start: 0, end: leaf.text.length, replacement: maskedBlob(text, masks) });
          return;
        }
        if (i !== continued || !prev) {
          for (const f of scanText(leaf.text, scan)) {
            apply(f, leaf.pointer, f.start, f.end, patches, leaf.text.slice(f.start, f.end));
            spans?.add(`${f.start}:${f.end}`);
          }
          lastSpans = spans;
          return;
        }
        // The string that continues the held one is scanned joined to it: a secret that began
        // there, one whose context (`aws_secret_access_key = `) began there, and one that ended
        // there but needed what follows (`user:pass` before `@host`) are all found.
        const cut = prev.text.length;
        const joined = prev.text + leaf.text;
        for (const f of scanText(joined, scan)) {
          const value = joined.slice(f.start, f.end);
          if (f.end <= cut) {
            // Whole in the held event: masked there (cut out if blocked), unless that event's
            // own scan found it.
            if (prev.spans.has(`${prev.offset + f.start}:${prev.offset + f.end}`)) continue;
            apply(f, prev.pointer, prev.offset + f.start, prev.offset + f.end, amend, value);
            if (actionOf(f) === 'block') amend.push({ pointer: prev.pointer, start: prev.offset + f.start, end: prev.offset + f.end, replacement: '' });
            continue;
          }
          if (f.start >= cut) {
            apply(f, leaf.pointer, f.start - cut, f.end - cut, patches, value);
            spans?.add(`${f.start - cut}:${f.end - cut}`);
            continue;
          }
          // The first part is cut from the held event; the mask stands where the rest was, so
          // it still stands if the held event had to go out unamended (hold expired).
          const start = prev.offset + f.start;
          apply(f, prev.pointer, start, prev.offset + cut, undefined, value);
          // Blocked: the held event still goes out before the stream is cut, without its part.
          if (actionOf(f) !== 'alert') amend.push({ pointer: prev.pointer, start, end: prev.offset + cut, replacement: '' });
          if (actionOf(f) === 'redact') patches.push({ pointer: leaf.pointer, start: 0, end: f.end - cut, replacement: `[REDACTED:${f.type}]` });
        }
        lastSpans = spans;
      });
      remember(ctx, found);

      // Could the last string's tail be the beginning of a secret the next event completes?
      let holdMs: number | undefined;
      const last = leaves.at(-1);
      if (streamKey && last && base64Kind(frame.message, last.pointer) === undefined && mayContinue(last.text)) {
        // Its tail only (a secret's first part is never longer); amend patches add the offset.
        const offset = Math.max(0, last.text.length - TAIL_CHARS);
        previous.set(streamKey, { pointer: last.pointer, text: offset > 0 ? last.text.slice(offset) : last.text, offset, spans: lastSpans ?? new Set() });
        holdMs = opts.crossEventHoldMs;
      }
      const hints = { ...(holdMs ? { holdMs } : {}), ...(amend.length ? { amendPrevious: amend } : {}) };
      if (block) return { kind: 'block', reasons: [...reasons], message: `${block.type} detected`, ...(amend.length ? { amendPrevious: amend } : {}) };
      if (patches.length > 0) return { kind: 'redact', patches, reasons: [...reasons], ...hints };
      return { kind: 'allow', ...(reasons.size > 0 ? { reasons: [...reasons] } : {}), ...hints };
    },
    onChunk(chunk: Chunk, ctx: InspectorContext): ChunkVerdict {
      if (!wants(chunk.direction) || OPAQUE.test(chunk.pointer)) return { kind: 'pass' };
      const key = `${chunk.frameId}\u0000${chunk.pointer}`;
      const state = chunkStates.get(key) ?? INITIAL_STREAM_STATE;
      const step = scanChunk(state, chunk.text, chunk.end, scan);
      if (chunk.end) chunkStates.delete(key);
      else {
        chunkStates.set(key, step.state);
        // A stream cut mid-leaf never sends `end`: bound what such leftovers can hold.
        if (chunkStates.size > MAX_CHUNK_STATES) chunkStates.delete(chunkStates.keys().next().value!);
      }
      // This chunk's text lives at absolute [state.released .. ) of the leaf, after the carry.
      const from = state.released;
      const text = state.carry.slice(from - state.carryStart) + chunk.text;
      const upTo = step.released - from;
      const emitted = text.slice(0, upTo);
      const reasons = new Set<Reason>();
      let out = '';
      let at = 0;
      for (const f of step.findings) {
        const action = actionOf(f);
        reasons.add(`dlp/${f.type}`);
        // The match lies in the window the scan saw: the carry (from carryStart) and this chunk.
        const value = (state.carry + chunk.text).slice(f.start - state.carryStart, f.end - state.carryStart);
        ctx.finding?.({ inspector: name, type: f.type, pointer: chunk.pointer, start: f.start, end: f.end, action: action === 'redact' ? 'redacted' : action === 'block' ? 'blocked' : 'observed', ...fingerprintOf(f.type, value) });
        if (action === 'block') return { kind: 'block', reasons: [...reasons], message: `${f.type} detected` };
        if (action !== 'redact') continue;
        const s = Math.max(0, f.start - from);
        const e = Math.min(emitted.length, f.end - from);
        if (s < at) continue;
        out += emitted.slice(at, s) + `[REDACTED:${f.type}]`;
        at = e;
      }
      remember(ctx, step.findings);
      out += emitted.slice(at);
      return { kind: 'pass', emit: out, ...(reasons.size > 0 ? { reasons: [...reasons] } : {}) };
    },
  };
}
