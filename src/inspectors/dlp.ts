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
 * Object keys are scanned like string values (a tool can return a secret as a key): a finding
 * in a key is located at its object's pointer plus `/~key` (json-pointer.ts), offsets within the
 * key, and pointers through a flagged key name it masked. `redact` renames the key to its masked
 * form (dlp-keys.ts says how, and where the other paths differ).
 *
 * Three paths, one scheme (detectors/stream-window.ts):
 * - a buffered message: each string leaf scanned whole;
 * - an oversized message (chunk path): each leaf scanned piece by piece with a hold-back window,
 *   so memory stays bounded and a match split across chunks is still found;
 * - consecutive SSE events of one stream (every kind: a POST's, the standalone GET stream, a
 *   batch's; see `streamKeyOf`): an event whose last string could still grow into a secret (see
 *   `mayContinue`) is held (StreamHints) until the next event is inspected, at most
 *   `crossEventHoldMs`. A secret split between the two is then masked as one: its part in the
 *   held event is cut (amendPrevious, in the offsets of the event as held, i.e. with its own
 *   masks in) and the mask stands where the rest begins in the next. An SSE event is a whole
 *   JSON-RPC message, so the unit held back is the event, not characters.
 * - more than two events: the stream's continuing text is kept as a bounded run (see `Run`), so
 *   a match spanning several events is still found. A key block streamed as many log events is
 *   masked whole (each event's part as it passes). Only the held event can be amended, though:
 *   of a token cut into three or more pieces, those in events sent before the held one went out
 *   (`dlp_split_sent_earlier` notes it for the audit record); the rest is masked.
 *
 * The hold is bounded because the upstream controls timing: a second part that comes later
 * than the hold lets the first part out (it was already sent); the rest is still masked, and
 * the relay notes the exchange (`dlp_split_sent`) for the audit record. For a `block` rule the
 * relay drops the held event and cuts the stream, so no part of the secret is sent.
 *
 * Overlapping findings (a private key's header marker and its key block start at the same
 * character) mask their union on every path (pipeline/patch.ts), never just one of them.
 */
import { fingerprint, holdBackWindow, LEFT_CONTEXT, scanText, type ContentFamily, type CustomRules, type Finding, CustomRuleSet } from '../detectors/index.ts';
import { INITIAL_STREAM_STATE, scanChunk, type StreamState } from '../detectors/stream-window.ts';
import { collectStringLeaves, escapePointerSegment, isKeyPointer, keyObject, keyPointer, renameKeys } from '../codec/json-pointer.ts';
import { applyPatches, mapThroughEdits, mergePatches, patchString, type MergedEdit } from '../pipeline/patch.ts';
import type { Chunk, ChunkVerdict, Frame, Inspector, InspectorContext, JsonRpcMessage, Patch, Reason, Verdict } from '../pipeline/types.ts';
import type { FindingMemory } from '../session/finding-memory.ts';
import { callerKey } from '../session/sessions.ts';
import { base64Kind, decodeTextBlob, maskedBlob } from './dlp-binary.ts';
import { CleanKeys, KEY_NOT_MASKABLE, maskedNames, maskKey, ShownKeys, shownPointer, type KeyHit } from './dlp-keys.ts';
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
  return openArmourAt(text) >= 0;
}

/** Where the last PEM/SSH2 block still open in `text` begins (looked for in its last TAIL_CHARS), or -1. */
function openArmourAt(text: string): number {
  const from = Math.max(0, text.length - TAIL_CHARS);
  const tail = from > 0 ? text.slice(from) : text;
  let begin = -1;
  ARMOUR_BEGIN.lastIndex = 0;
  for (let m = ARMOUR_BEGIN.exec(tail); m !== null; m = ARMOUR_BEGIN.exec(tail)) begin = m.index;
  return begin >= 0 && !ARMOUR_END.test(tail.slice(begin)) ? from + begin : -1;
}

/**
 * A stream's text that the next event may continue: the last string of the event held back,
 * after the text of earlier events that string continued (context only: those events went out).
 * Keeping that context lets a match spanning more than two events be found: a PEM key streamed
 * as many log lines (each event's part is masked as it passes, the header being in the context),
 * or a token cut into several pieces (its parts in the held event and this one are masked; a part
 * in an earlier event has gone out, see `sentEarlier`). Only the held event can still be amended.
 *
 * Offsets: "run" coordinates are positions in the stream's continuing text (the joined strings);
 * `base` is that of `text[0]`. Findings are remembered by them, so a match is reported once
 * however many later scans see it again.
 */
interface Run {
  /** As this inspector scanned it (before its own masks). */
  text: string;
  base: number;
  /** Where the held event's string begins in `text`, and which offset of that string that is. */
  heldAt: number;
  offset: number;
  pointer: string;
  /** `pointer` as reported (a flagged key in it masked). */
  shown: string;
  /** This inspector's own masks in the held string, merged: the relay holds it with these in. */
  edits: MergedEdit[];
  /**
   * Findings already reported, by `type:start` (run coordinates) → their end. A later scan that
   * finds the same match again is not reported again; found longer (a key block whose body came
   * in the next event), it is masked but still reported once.
   */
  reported: Map<string, number>;
  /** Ranges (run coordinates) sent or held masked or cut: what of an earlier event did not go out. */
  masked: Array<[number, number]>;
  /** Matches so far whose part in an event before the held one went out unmasked. */
  sentEarlier: number;
}

/** Is `[from, to)` covered by the union of `ranges`? */
function covered(ranges: ReadonlyArray<readonly [number, number]>, from: number, to: number): boolean {
  let at = from;
  for (const [s, e] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (s > at) break;
    if (e > at) at = e;
    if (at >= to) return true;
  }
  return at >= to;
}

/**
 * Identity of the SSE stream a frame travels on, for the state kept between its events: the
 * client request the stream answers (one per exchange; a resumed leg of the stream is inspected
 * with the same request, streams.ts), else the exchange itself through its abort signal (one per
 * exchange: the standalone GET stream and a 2025-03-26 batch's stream have no single request,
 * and each exchange pumps one upstream stream). Keying by the request alone left those streams
 * with no state at all, so a secret split across two of their events was never joined.
 */
function streamKeyOf(ctx: InspectorContext): object {
  return ctx.request ?? ctx.signal;
}

export function createDlpInspector(opts: DlpOptions): Inspector {
  const name = opts.name ?? 'dlp';
  const custom = opts.custom && (opts.custom.dictionaries?.length || opts.custom.regexes?.length) ? new CustomRuleSet(opts.custom) : undefined;
  const families = custom ? [...new Set([...opts.families, 'custom' as const])] : opts.families;
  const scan = { families, minConfidence: opts.minConfidence, ...(custom ? { custom } : {}) };
  const wants = (direction: 'c2s' | 's2c') => opts.direction === 'both' || (opts.direction === 'request' ? direction === 'c2s' : direction === 's2c');
  const actionOf = (f: Finding): DlpAction => opts.actions.types[f.type] ?? opts.actions.families[f.detector as ContentFamily] ?? opts.actions.default;
  // The last string of the previous SSE event of each stream, when it ended riskily (`shown`: its
  // pointer as reported, with any flagged key masked). Keyed by streamKeyOf (below).
  const previous = new WeakMap<object, Run>();
  // Text before the held string kept as context in a run: a match still growing at the end
  // began within the longest match (context included) of it, plus what validators read before a
  // match. An open key block keeps its header line too, however far back (within TAIL_CHARS).
  const runContext = Math.min(TAIL_CHARS, holdBackWindow(scan) + LEFT_CONTEXT);
  // Chunk path, per oversized message: keyed by its chain's context, not by frame id (frame ids
  // count per exchange, so two exchanges streaming at once would share "s2c-1" and one would
  // emit the other's held-back text).
  const chunkStates = new WeakMap<object, Map<string, StreamState>>();
  const chunkKeys = new WeakMap<object, ShownKeys>();
  const cleanKeys = new CleanKeys(scan);

  const key = opts.fingerprintKey;
  const fingerprintOf = (type: string, value: string): { fingerprint?: string } => (key ? { fingerprint: fingerprint(key, type, value) } : {});

  const remember = (ctx: InspectorContext, found: readonly Finding[]) => {
    if (!opts.memory || found.length === 0) return;
    const who = callerKey(ctx.session.principal, ctx.session.clientAddress);
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
      // Keys not known clean (almost always none) are scanned below, before the values, so that
      // every location reported can name a flagged key masked.
      const suspects: Array<{ object: string; key: string }> = [];
      const leaves = collectStringLeaves(frame.message, (object, key) => {
        if (!cleanKeys.has(key)) suspects.push({ object, key });
      }).filter((l) => !OPAQUE.test(l.pointer));
      const hits: KeyHit[] = [];
      for (const { object, key } of suspects) {
        if (OPAQUE.test(object)) continue;
        const findings = cleanKeys.scan(key);
        if (findings.length > 0) hits.push({ object, key, findings });
      }
      const shownNames = hits.length > 0 ? maskedNames(frame.message, hits, () => true) : undefined;
      const shown = (pointer: string) => (shownNames ? shownPointer(pointer, shownNames) : pointer);
      const streamKey = frame.carrier.transport === 'sse' ? streamKeyOf(ctx) : undefined;
      const prev = streamKey ? previous.get(streamKey) : undefined;
      if (streamKey) previous.delete(streamKey);

      // A patch to the held event, given in offsets of the held string as this inspector scanned
      // it: the relay applies it to the event as it was held, i.e. with this inspector's own
      // masks already in, so the range is mapped through them (covering any mask it touches).
      const amendHeld = (held: Run, start: number, end: number, replacement: string) => {
        amend.push({ pointer: held.pointer, start: mapThroughEdits(held.edits, start, 'start'), end: mapThroughEdits(held.edits, end, 'end'), replacement });
      };
      const apply = (f: Finding, pointer: string, start: number, end: number, target: Patch[] | undefined, value: string, where = shown(pointer), report = true) => {
        const action = actionOf(f);
        reasons.add(`dlp/${f.type}`);
        if (action === 'redact') target?.push({ pointer, start, end, replacement: `[REDACTED:${f.type}]` });
        if (!report) return;
        found.push(f);
        ctx.finding?.({ inspector: name, type: f.type, pointer: where, start, end, action: action === 'redact' ? 'redacted' : action === 'block' ? 'blocked' : 'observed', ...fingerprintOf(f.type, value) });
        if (action === 'block') block ??= f;
      };

      // The string that continues the previous event's: same pointer (the same field of the next
      // log line or progress message), else the first string of this event.
      const continued = prev ? Math.max(0, leaves.findIndex((l) => l.pointer === prev.pointer)) : -1;
      // Findings of the last string (`type:start` → end, run coordinates: its own offsets when
      // it starts a run), so the next event's joined scan does not report them again. Only an
      // SSE stream has a next event.
      let lastReported: Map<string, number> | undefined;
      // When the last string continued the run: the joined text it was scanned in, and where it began.
      let joinedRun: { text: string; cut: number; masked: Array<[number, number]>; sentEarlier: number } | undefined;
      leaves.forEach((leaf, i) => {
        // Only the last string's findings are kept for the next event (see `last` below).
        const reported = streamKey && i === leaves.length - 1 ? new Map<string, number>() : undefined;
        const b64 = base64Kind(frame.message, leaf.pointer);
        if (b64 !== undefined) {
          // Base64 content (dlp-binary.ts): a text blob is scanned decoded and, on redaction,
          // re-encoded whole; binary is not scanned. Never the continuation of an event.
          const text = b64 === 'text-blob' ? decodeTextBlob(leaf.text) : undefined;
          if (text === undefined) return;
          const masks: Array<{ start: number; end: number; replacement: string }> = [];
          for (const f of scanText(text, scan)) {
            apply(f, leaf.pointer, f.start, f.end, undefined, text.slice(f.start, f.end));
            if (actionOf(f) === 'redact') masks.push({ start: f.start, end: f.end, replacement: `[REDACTED:${f.type}]` });
          }
          // Merged first (their union masked, as patchString does): maskedBlob keeps only the
          // first of two overlapping spans, which would leave a private key's body in the blob.
          const merged = mergePatches(masks, text.length).map((e) => ({ start: e.start, end: e.end, mask: e.replacement }));
          if (masks.length > 0) patches.push({ pointer: leaf.pointer, start: 0, end: leaf.text.length, replacement: maskedBlob(text, merged) });
          return;
        }
        if (i !== continued || !prev) {
          for (const f of scanText(leaf.text, scan)) {
            apply(f, leaf.pointer, f.start, f.end, patches, leaf.text.slice(f.start, f.end));
            reported?.set(`${f.type}:${f.start}`, f.end);
          }
          lastReported = reported;
          joinedRun = undefined;
          return;
        }
        // The string that continues the run is scanned joined to it: a secret that began there,
        // one whose context (`aws_secret_access_key = `) began there, and one that ended there
        // but needed what follows (`user:pass` before `@host`) are all found.
        const cut = prev.text.length;
        const joined = prev.text + leaf.text;
        const run = (j: number) => prev.base + j;
        // Offsets in the held string of a position of `joined` at or after `prev.heldAt`.
        const inHeld = (j: number) => prev.offset + (j - prev.heldAt);
        const masked = prev.masked.filter(([, e]) => e > prev.base);
        let sentEarlier = prev.sentEarlier;
        for (const f of scanText(joined, scan)) {
          const key = `${f.type}:${run(f.start)}`;
          const seen = prev.reported.get(key);
          // Reported when an earlier event was inspected, and masked then if it was to be.
          if (seen === run(f.end)) continue;
          // Whole in events already sent: nothing of it can be masked any more.
          if (f.end <= prev.heldAt) continue;
          reported?.set(key, run(f.end));
          const value = joined.slice(f.start, f.end);
          const action = actionOf(f);
          const mask = `[REDACTED:${f.type}]`;
          if (f.start >= cut) {
            apply(f, leaf.pointer, f.start - cut, f.end - cut, patches, value);
            continue;
          }
          // Seen before, shorter: the same match grown into this event (masked, not reported again).
          const report = seen === undefined;
          // Its part in the held event, [from, to) of `joined`; anything before `heldAt` is in an
          // event already sent, masked there only if that event's own scan or amend masked it.
          const from = Math.max(f.start, prev.heldAt);
          const to = Math.min(f.end, cut);
          if (report && f.start < prev.heldAt && !covered(masked, run(f.start), run(prev.heldAt))) sentEarlier++;
          apply(f, prev.pointer, inHeld(from), inHeld(to), undefined, value, prev.shown, report);
          if (action !== 'alert') masked.push([run(from), run(to)]);
          if (f.end <= cut) {
            // Ends in the held event: masked there (cut out if blocked).
            if (action !== 'alert') amendHeld(prev, inHeld(from), inHeld(to), action === 'redact' ? mask : '');
            continue;
          }
          // Runs into this event: its part is cut from the held event and the mask stands where
          // the rest was, so it still stands if the held event had to go out unamended (hold
          // expired). Blocked: the held event still goes out before the stream is cut, without its part.
          if (action !== 'alert') amendHeld(prev, inHeld(from), inHeld(to), '');
          if (action === 'redact') patches.push({ pointer: leaf.pointer, start: 0, end: f.end - cut, replacement: mask });
        }
        if (sentEarlier > prev.sentEarlier) ctx.note('dlp_split_sent_earlier', sentEarlier);
        // Earlier findings are remembered with this string's (a match seen longer now, with its new end).
        for (const [k, e] of prev.reported) if (!reported?.has(k)) reported?.set(k, e);
        lastReported = reported;
        joinedRun = { text: joined, cut, masked, sentEarlier };
      });
      // Keys: a redact rule renames the key (a `rewrite`, which cannot also amend the held
      // previous SSE event: then the message is blocked, with that event amended).
      const renames = hits.length > 0 ? maskedNames(frame.message, hits, (f) => actionOf(f) === 'redact') : undefined;
      const unmaskable = renames !== undefined && renames.size > 0 && amend.length > 0 && !block;
      for (const h of hits) {
        const where = keyPointer(shown(h.object));
        for (const f of h.findings) {
          const action = actionOf(f);
          reasons.add(`dlp/${f.type}`);
          found.push(f);
          ctx.finding?.({ inspector: name, type: f.type, pointer: where, start: f.start, end: f.end, action: action === 'alert' ? 'observed' : action === 'block' || unmaskable ? 'blocked' : 'redacted', ...fingerprintOf(f.type, h.key.slice(f.start, f.end)) });
          if (action === 'block') block ??= f;
        }
      }
      remember(ctx, found);

      /**
       * The run the next event may continue, ending with the last string: after the run this
       * event continued (`joined`, when the last string was the continuation), else the last
       * string alone. Of the held string, its tail only (a secret's first part is never longer);
       * of earlier text, `runContext` or an open key block from its header.
       */
      const nextRun = (leaf: { pointer: string; text: string }, joined: typeof joinedRun): Run => {
        // This inspector's own masks in that string: the relay holds the event with them in, and
        // the next event's amend patches are mapped through them (amendHeld).
        const edits = mergePatches(patches.filter((p) => p.pointer === leaf.pointer), leaf.text.length);
        const whole = joined?.text ?? leaf.text;
        const at = joined?.cut ?? 0; // where the string begins in `whole`
        let keep = Math.min(Math.max(at, whole.length - TAIL_CHARS), Math.max(0, whole.length - runContext));
        const armour = joined ? openArmourAt(whole) : -1;
        if (armour >= 0) keep = Math.min(keep, armour);
        // Run coordinates of `whole`: continuing a run, its own; else the string's offsets.
        const base = joined ? prev!.base : 0;
        const masked = [...(joined?.masked ?? []), ...edits.map((e): [number, number] => [base + at + e.start, base + at + e.end])].filter(([, e]) => e > base + keep);
        // A match that begins before the kept text cannot be found again: forgotten.
        const reported = new Map([...(lastReported ?? [])].filter(([k]) => Number(k.slice(k.lastIndexOf(':') + 1)) >= base + keep));
        return { text: whole.slice(keep), base: base + keep, heldAt: Math.max(0, at - keep), offset: Math.max(0, keep - at), pointer: leaf.pointer, shown: shown(leaf.pointer), edits, reported, masked, sentEarlier: joined?.sentEarlier ?? 0 };
      };
      // Could the last string's tail be the beginning of a secret the next event completes?
      let holdMs: number | undefined;
      const last = leaves.at(-1);
      // (A string starting a run is its own: checked before a run is built for it.)
      const next = streamKey && last && base64Kind(frame.message, last.pointer) === undefined && (joinedRun || mayContinue(last.text)) ? nextRun(last, joinedRun) : undefined;
      if (streamKey && next && mayContinue(next.text)) {
        previous.set(streamKey, next);
        holdMs = opts.crossEventHoldMs;
      }
      const hints = { ...(holdMs ? { holdMs } : {}), ...(amend.length ? { amendPrevious: amend } : {}) };
      if (block) return { kind: 'block', reasons: [...reasons], message: `${block.type} detected`, ...(amend.length ? { amendPrevious: amend } : {}) };
      if (unmaskable) {
        return { kind: 'block', reasons: [...reasons, KEY_NOT_MASKABLE], message: 'a secret in an object key and one split across two events cannot be masked together', amendPrevious: amend };
      }
      if (renames !== undefined && renames.size > 0) {
        // A rewrite carries no hold: this event goes out now. Its last string is still kept
        // (above), so a secret the next event completes is masked there as after an expired
        // hold, and the relay notes it (`dlp_split_sent`).
        const patched = patches.length > 0 ? applyPatches(frame.message, patches) : frame.message;
        return { kind: 'rewrite', message: renameKeys(patched, renames) as JsonRpcMessage, reasons: [...reasons] };
      }
      if (patches.length > 0) return { kind: 'redact', patches, reasons: [...reasons], ...hints };
      return { kind: 'allow', ...(reasons.size > 0 ? { reasons: [...reasons] } : {}), ...hints };
    },
    onChunk(chunk: Chunk, ctx: InspectorContext): ChunkVerdict {
      if (!wants(chunk.direction)) return { kind: 'pass' };
      const isKey = isKeyPointer(chunk.pointer);
      if (OPAQUE.test(isKey ? keyObject(chunk.pointer) : chunk.pointer)) return { kind: 'pass' };
      if (isKey) return keyChunk(chunk, ctx);
      const flagged = chunkKeys.get(ctx);
      let states = chunkStates.get(ctx);
      if (!states) chunkStates.set(ctx, (states = new Map()));
      const state = states.get(chunk.pointer) ?? INITIAL_STREAM_STATE;
      const step = scanChunk(state, chunk.text, chunk.end, scan);
      // One leaf at a time is open; a message cut mid-leaf leaves its state to go with the context.
      if (chunk.end) states.delete(chunk.pointer);
      else states.set(chunk.pointer, step.state);
      // This chunk's text lives at absolute [state.released .. ) of the leaf, after the carry.
      const from = state.released;
      const text = state.carry.slice(from - state.carryStart) + chunk.text;
      const upTo = step.released - from;
      const emitted = text.slice(0, upTo);
      const reasons = new Set<Reason>();
      const masks: Array<{ start: number; end: number; replacement: string }> = [];
      for (const f of step.findings) {
        const action = actionOf(f);
        reasons.add(`dlp/${f.type}`);
        // The match lies in the window the scan saw: the carry (from carryStart) and this chunk.
        const value = (state.carry + chunk.text).slice(f.start - state.carryStart, f.end - state.carryStart);
        ctx.finding?.({ inspector: name, type: f.type, pointer: flagged ? flagged.show(chunk.pointer) : chunk.pointer, start: f.start, end: f.end, action: action === 'redact' ? 'redacted' : action === 'block' ? 'blocked' : 'observed', ...fingerprintOf(f.type, value) });
        if (action === 'block') return { kind: 'block', reasons: [...reasons], message: `${f.type} detected` };
        if (action !== 'redact') continue;
        masks.push({ start: Math.max(0, f.start - from), end: Math.min(emitted.length, f.end - from), replacement: `[REDACTED:${f.type}]` });
      }
      remember(ctx, step.findings);
      // Overlapping findings (a private key's header marker inside its key block) mask their union.
      return { kind: 'pass', emit: patchString(emitted, masks), ...(reasons.size > 0 ? { reasons: [...reasons] } : {}) };
    },
  };

  /** A key of an oversized message, handed out whole (see dlp-keys.ts for why redact blocks). */
  function keyChunk(chunk: Chunk, ctx: InspectorContext): ChunkVerdict {
    const key = chunk.text;
    const findings = cleanKeys.scan(key);
    if (findings.length === 0) return { kind: 'pass' };
    const flagged = chunkKeys.get(ctx);
    const object = keyObject(chunk.pointer);
    const shownObject = flagged ? flagged.show(object) : object;
    const reasons = new Set<Reason>();
    let stop: Finding | undefined;
    let unmaskable = false;
    for (const f of findings) {
      const action = actionOf(f);
      reasons.add(`dlp/${f.type}`);
      if (action !== 'alert') stop ??= f;
      if (action === 'redact') unmaskable = true;
      ctx.finding?.({ inspector: name, type: f.type, pointer: keyPointer(shownObject), start: f.start, end: f.end, action: action === 'alert' ? 'observed' : 'blocked', ...fingerprintOf(f.type, key.slice(f.start, f.end)) });
    }
    remember(ctx, findings);
    if (stop) {
      if (unmaskable) reasons.add(KEY_NOT_MASKABLE);
      return { kind: 'block', reasons: [...reasons], message: `${stop.type} detected in an object key${unmaskable ? ' (keys are not masked in an oversized message)' : ''}` };
    }
    // Alerted only: the key goes out as it is, and names the members below it masked from now on.
    let keys = flagged;
    if (!keys) chunkKeys.set(ctx, (keys = new ShownKeys()));
    keys.add(`${object}/${escapePointerSegment(key)}`, `${shownObject}/${escapePointerSegment(maskKey(key, findings))}`);
    return { kind: 'pass', reasons: [...reasons] };
  }
}
