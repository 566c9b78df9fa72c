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
 *   `mayContinue`) is held (StreamHints) until a later event is inspected, at most
 *   `crossEventHoldMs` after it arrived. The stream's continuing text is kept as a bounded run
 *   (dlp-stream-run.ts), with where each still-held event's string lies in it, so a secret split
 *   across any number of events (a token streamed a few characters per event) is masked as one:
 *   its parts in held events are cut (amendHeld, in the offsets of each event as held, i.e. with
 *   its own masks in) and the mask stands where the rest begins in the current event. Events whose
 *   text a later match could still reach stay held with the current one (keepHeld): those in the
 *   run's window, at most HELD_EVENTS_MAX. A key block streamed as many log events is masked whole
 *   (each event's part as it passes, its header being in the run). An SSE event is a whole
 *   JSON-RPC message, so the unit held back is the event, not characters. A part in an event that
 *   went out anyway (see below) is counted (`dlp_split_sent_earlier`) for the audit record.
 *
 * The hold is bounded because the upstream controls timing: a part that comes later than the
 * hold of an earlier event lets that event out (it was already sent); the rest is still masked,
 * and the relay notes the exchange (`dlp_split_sent`) for the audit record. For a `block` rule
 * the relay sends the held events without their parts and cuts the stream, so no part of the
 * secret is sent.
 *
 * Overlapping findings (a private key's header marker and its key block start at the same
 * character) mask their union on every path (pipeline/patch.ts), never just one of them.
 */
import { fingerprint, holdBackWindow, LEFT_CONTEXT, scanText, type ContentFamily, type CustomRules, type Finding, CustomRuleSet } from '../detectors/index.ts';
import { INITIAL_STREAM_STATE, scanChunk, type StreamState } from '../detectors/stream-window.ts';
import { escapePointerSegment, isKeyPointer, keyObject, keyPointer, pointerSegments, renameKeys } from '../codec/json-pointer.ts';
import { applyPatches, mergePatches, patchString } from '../pipeline/patch.ts';
import type { Chunk, ChunkVerdict, Frame, Inspector, InspectorContext, JsonRpcMessage, Patch, Reason, Verdict } from '../pipeline/types.ts';
import type { FindingMemory } from '../session/finding-memory.ts';
import { callerKey } from '../session/sessions.ts';
import { base64KindOf, decodeTextBlob, maskedBlob } from './dlp-binary.ts';
import { BlobTextStream, ChunkBlobs } from './dlp-blob-stream.ts';
import { CleanKeys, KEY_NOT_MASKABLE, maskedNames, maskKey, ShownKeys, shownPointer, type KeyHit } from './dlp-keys.ts';
import { Amends, firstRunningText, mayContinue, nextRun, scanContinuation, TAIL_CHARS, type Joined, type Run } from './dlp-stream-run.ts';
import { AnswerLeads } from './dlp-stream-lead.ts';
import { OPAQUE } from './redact.ts';
import { isProtocolNumber, mayHoldIdentifier, scanNumber } from './dlp-numbers.ts';
import { leavesOf } from './dlp-leaves.ts';

/** `continued` when no string of the event continues the run. */
const NONE = -2;

export { mayContinue };

export type DlpAction = 'redact' | 'block' | 'alert';

/** How a finding under `action` is reported (FindingReport.action). */
function reportedAs(action: DlpAction): 'redacted' | 'blocked' | 'observed' {
  return action === 'redact' ? 'redacted' : action === 'block' ? 'blocked' : 'observed';
}

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
  // Each SSE stream's run (dlp-stream-run.ts), while its last event ended riskily: the text a
  // later event may continue and the events still held. Keyed by streamKeyOf (below).
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
  const chunkBlobs = new WeakMap<object, ChunkBlobs>();
  const cleanKeys = new CleanKeys(scan);
  // A streamed answer's first running text, joined to its stream's run (dlp-stream-lead.ts).
  const leads = new AnswerLeads({
    takeRun: (ctx) => {
      const key = streamKeyOf(ctx);
      const run = previous.get(key);
      previous.delete(key);
      return run;
    },
    scan,
    action: actionOf,
    report: (ctx, f, where, value, reasons) => void reportChunk(ctx, f, where, value, reasons),
  });

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
    joinsHeld: true,
    onMessage(frame: Frame, ctx: InspectorContext): Verdict {
      if (!wants(frame.direction)) return { kind: 'allow' };
      const patches: Patch[] = [];
      const amends = new Amends();
      const reasons = new Set<Reason>();
      const found: Finding[] = [];
      let block: Finding | undefined;
      // Keys not known clean (almost always none) are scanned below, before the values, so that
      // every location reported can name a flagged key masked. Nothing at an opaque location
      // (redact.ts OPAQUE) is listed (dlp-leaves.ts).
      const { strings: leaves, suspects, numbers } = leavesOf(frame.message, cleanKeys);
      const hits: KeyHit[] = [];
      for (const { object, key } of suspects) {
        const findings = cleanKeys.scan(key);
        if (findings.length > 0) hits.push({ object, key, findings });
      }
      const shownNames = hits.length > 0 ? maskedNames(frame.message, hits, () => true) : undefined;
      const shown = (pointer: string) => (shownNames ? shownPointer(pointer, shownNames) : pointer);
      const streamKey = frame.carrier.transport === 'sse' ? streamKeyOf(ctx) : undefined;
      const prev = streamKey ? previous.get(streamKey) : undefined;
      if (streamKey) previous.delete(streamKey);

      const apply = (f: Finding, pointer: string, start: number, end: number, target: Patch[] | undefined, value: string, shownAt?: string, report = true) => {
        const where = shownAt ?? shown(pointer);
        const action = actionOf(f);
        reasons.add(`dlp/${f.type}`);
        if (action === 'redact') target?.push({ pointer, start, end, replacement: `[REDACTED:${f.type}]` });
        if (!report) return;
        found.push(f);
        ctx.finding?.({ inspector: name, type: f.type, pointer: where, start, end, action: reportedAs(action), ...fingerprintOf(f.type, value) });
        if (action === 'block') block ??= f;
      };

      // The string that continues the previous event's: same pointer (the same field of the next
      // log line or progress message), else, in another kind of message, its first running text
      // (a progress message after log lines, the call's result after its log lines). The same
      // kind of message without that string (a log line whose data is a number) carries no text
      // on: NONE, and it is transparent (below).
      const same = prev ? leaves.findIndex((l) => l.pointer === prev.pointer) : -1;
      const continued = !prev ? -1 : same >= 0 ? same : prev.method === frame.method ? NONE : firstRunningText(leaves, (l) => base64KindOf(frame.message, l) !== undefined);
      // Findings of the last string (`type:start` → end, run coordinates: its own offsets when
      // it starts a run), so the next event's joined scan does not report them again. Only an
      // SSE stream has a next event.
      let lastReported: Map<string, number> | undefined;
      // When the last string continued the run: the joined text it was scanned in, and where it began.
      let joinedRun: Joined | undefined;
      for (let i = 0; i < leaves.length; i++) {
        const leaf = leaves[i]!;
        // Only the last string's findings are kept for the next event (see `last` below).
        const reported = streamKey && i === leaves.length - 1 ? new Map<string, number>() : undefined;
        const b64 = base64KindOf(frame.message, leaf);
        if (b64 !== undefined) {
          // Base64 content (dlp-binary.ts): a text blob is scanned decoded and, on redaction,
          // re-encoded whole; binary is not scanned. Never the continuation of an event.
          const text = b64 === 'text-blob' ? decodeTextBlob(leaf.text) : undefined;
          if (text === undefined) continue;
          const masks: Array<{ start: number; end: number; replacement: string }> = [];
          for (const f of scanText(text, scan)) {
            apply(f, leaf.pointer, f.start, f.end, undefined, text.slice(f.start, f.end));
            if (actionOf(f) === 'redact') masks.push({ start: f.start, end: f.end, replacement: `[REDACTED:${f.type}]` });
          }
          // Merged first (their union masked, as patchString does): maskedBlob keeps only the
          // first of two overlapping spans, which would leave a private key's body in the blob.
          const merged = mergePatches(masks, text.length).map((e) => ({ start: e.start, end: e.end, mask: e.replacement }));
          if (masks.length > 0) patches.push({ pointer: leaf.pointer, start: 0, end: leaf.text.length, replacement: maskedBlob(text, merged, leaf.text) });
          continue;
        }
        if (i !== continued || !prev) {
          for (const f of scanText(leaf.text, scan)) {
            apply(f, leaf.pointer, f.start, f.end, patches, leaf.text.slice(f.start, f.end));
            reported?.set(`${f.type}:${f.start}`, f.end);
          }
          lastReported = reported;
          joinedRun = undefined;
          continue;
        }
        // The string that continues the run: scanned joined to it (dlp-stream-run.ts).
        joinedRun = scanContinuation(prev, ctx.signal, leaf, { scan, action: actionOf, apply, patches, amends, note: (k, v) => ctx.note(k, v) }, reported);
        lastReported = reported;
      }
      for (const n of numbers) {
        if (isProtocolNumber(frame, n.pointer, n.value)) continue;
        for (const f of scanNumber(n, scan)) apply(f, n.pointer, f.start, f.end, patches, String(n.value).slice(f.start, f.end));
      }
      // Keys: a redact rule renames the key (a `rewrite`, which cannot also amend held SSE
      // events: then the message is blocked, with those events amended).
      const renames = hits.length > 0 ? maskedNames(frame.message, hits, (f) => actionOf(f) === 'redact') : undefined;
      const unmaskable = renames !== undefined && renames.size > 0 && amends.size > 0 && !block;
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

      // Could the last string's tail be the beginning of a secret a later event completes? Then
      // this event is held, with the earlier held events a later match could still reach.
      let holdMs: number | undefined;
      let keepHeld: string[] = [];
      const last = leaves.at(-1);
      // (A string starting a run is its own: checked before a run is built for it.)
      // No text that could continue the run (a progress with numbers only, a server ping, a blob,
      // the same kind of message without the run's field): it neither continues nor ends it.
      const transparent =
        prev !== undefined && prev.exchange === ctx.signal && (continued === NONE || !leaves.some((l) => base64KindOf(frame.message, l) === undefined));
      const next =
        !transparent && streamKey && last && base64KindOf(frame.message, last) === undefined && (joinedRun || mayContinue(last.text))
          ? nextRun({ frame: frame.id, method: frame.method, leaf: last, shown: shown(last.pointer), ownPatches: patches, joined: joinedRun, reported: lastReported, runContext, exchange: ctx.signal })
          : undefined;
      if (streamKey && next && mayContinue(next.text)) {
        previous.set(streamKey, next);
        holdMs = opts.crossEventHoldMs;
        keepHeld = next.held.slice(0, -1).map((p) => p.frame);
      } else if (streamKey && prev && transparent) {
        // Forgetting the run here let the pieces on either side out whole: the run goes on to
        // the next event, and this event waits behind the held ones (it must not overtake them).
        previous.set(streamKey, prev);
        holdMs = opts.crossEventHoldMs;
        keepHeld = prev.held.map((p) => p.frame);
      }
      // Nothing found, held or amended (almost every message): the verdict below, made directly.
      if (reasons.size === 0 && patches.length === 0 && amends.size === 0 && !holdMs && keepHeld.length === 0 && renames === undefined) return { kind: 'allow' };
      const amendHeld = amends.hints();
      const amend = amendHeld.length ? { amendHeld } : {};
      const hints = { ...(holdMs ? { holdMs } : {}), ...(keepHeld.length ? { keepHeld } : {}), ...amend };
      if (block) return { kind: 'block', reasons: [...reasons], message: `${block.type} detected`, ...amend };
      if (unmaskable) {
        return { kind: 'block', reasons: [...reasons, KEY_NOT_MASKABLE], message: 'a secret in an object key and one split across events cannot be masked together', amendHeld };
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
    // The chunk path's numbers: those the whole-message path scans (dlp-numbers.ts).
    readsNumber: (text: string) => mayHoldIdentifier(Number(text)),
    onChunk(chunk: Chunk, ctx: InspectorContext): ChunkVerdict {
      // Not this inspector's direction: it held nothing of this stream, so the relay need not wait for it.
      if (!wants(chunk.direction)) return { kind: 'pass', settlesHeld: true };
      const isKey = isKeyPointer(chunk.pointer);
      if (OPAQUE.test(isKey ? keyObject(chunk.pointer) : chunk.pointer)) return { kind: 'pass' };
      if (chunk.number) return numberChunk(chunk, ctx);
      if (isKey) return keyChunk(chunk, ctx);
      // A blob (dlp-blob-stream.ts): scanned as the text it encodes; binary bytes pass as they are.
      if (chunk.pointer.endsWith('/blob')) {
        const verdict = blobChunk(chunk, ctx);
        if (verdict !== undefined) return verdict;
      }
      const flagged = chunkKeys.get(ctx);
      let states = chunkStates.get(ctx);
      if (!states) chunkStates.set(ctx, (states = new Map()));
      const state = states.get(chunk.pointer) ?? INITIAL_STREAM_STATE;
      const step = scanChunk(state, chunk.text, chunk.end, scan);
      // One leaf at a time is open; a message cut mid-leaf leaves its state to go with the context.
      if (chunk.end) states.delete(chunk.pointer);
      else states.set(chunk.pointer, step.state);
      const lead = leads.step(chunk, ctx, state, step.released);
      if (lead?.kind === 'block') return lead;
      // This chunk's text lives at absolute [state.released .. ) of the leaf, after the carry.
      const from = state.released;
      const text = state.carry.slice(from - state.carryStart) + chunk.text;
      const upTo = step.released - from;
      const emitted = text.slice(0, upTo);
      const reasons = new Set<Reason>(lead?.reasons);
      const masks: Array<{ start: number; end: number; replacement: string }> = [];
      leads.mask(ctx, chunk.pointer, from, emitted.length, masks);
      for (const f of step.findings) {
        // The match lies in the window the scan saw: the carry (from carryStart) and this chunk.
        const value = (state.carry + chunk.text).slice(f.start - state.carryStart, f.end - state.carryStart);
        const action = reportChunk(ctx, f, flagged ? flagged.show(chunk.pointer) : chunk.pointer, value, reasons);
        // A block still cuts from the held events the parts the join found (they go out before the error).
        if (action === 'block') return { kind: 'block', reasons: [...reasons], message: `${f.type} detected`, ...(lead?.hints.amendHeld ? { amendHeld: lead.hints.amendHeld } : {}) };
        if (action !== 'redact') continue;
        masks.push({ start: Math.max(0, f.start - from), end: Math.min(emitted.length, f.end - from), replacement: `[REDACTED:${f.type}]` });
      }
      remember(ctx, step.findings);
      // Overlapping findings (a private key's header marker inside its key block) mask their union.
      return { kind: 'pass', emit: patchString(emitted, masks), ...(reasons.size > 0 ? { reasons: [...reasons] } : {}), ...lead?.hints };
    },
  };

  /**
   * A chunk-path finding at `where` (`value`: the text it matched, for its keyed fingerprint):
   * reported and its reason noted, as the whole path's `apply` does; what its rule does.
   */
  function reportChunk(ctx: InspectorContext, f: Finding, where: string, value: string, reasons: Set<Reason>): DlpAction {
    const action = actionOf(f);
    reasons.add(`dlp/${f.type}`);
    ctx.finding?.({ inspector: name, type: f.type, pointer: where, start: f.start, end: f.end, action: reportedAs(action), ...fingerprintOf(f.type, value) });
    return action;
  }

  /**
   * A piece of a blob of an oversized message: decoded, scanned as text with the hold-back window
   * and re-encoded with the masks in (dlp-blob-stream.ts), as the whole path does for a text blob
   * (no label is trusted here: the bytes decide). Undefined when the leaf does not read as base64
   * (readsAsBase64): it is then scanned as an ordinary string, never re-encoded.
   */
  function blobChunk(chunk: Chunk, ctx: InspectorContext): ChunkVerdict | undefined {
    let blobs = chunkBlobs.get(ctx);
    if (!blobs) chunkBlobs.set(ctx, (blobs = new ChunkBlobs()));
    const blob = blobs.blob(chunk.pointer, chunk.text, chunk.end, (alphabet) => new BlobTextStream(scan, (f) => (actionOf(f) === 'redact' ? `[REDACTED:${f.type}]` : undefined), alphabet));
    // Not base64: an ordinary string (the caller scans it as one).
    if (blob === 'plain') return undefined;
    const step = blob.push(chunk.text, chunk.end);
    const flagged = chunkKeys.get(ctx);
    const where = flagged ? flagged.show(chunk.pointer) : chunk.pointer;
    const reasons = new Set<Reason>();
    for (let i = 0; i < step.findings.length; i++) {
      const f = step.findings[i]!;
      if (reportChunk(ctx, f, where, step.values[i]!, reasons) === 'block') return { kind: 'block', reasons: [...reasons], message: `${f.type} detected` };
    }
    remember(ctx, step.findings);
    return { kind: 'pass', emit: step.emit, ...(reasons.size > 0 ? { reasons: [...reasons] } : {}) };
  }

  /**
   * A number of an oversized message, handed out whole: scanned as the whole-message path scans
   * it (after its member name, the protocol's own numbers left alone), masked to a string.
   */
  function numberChunk(chunk: Chunk, ctx: InspectorContext): ChunkVerdict {
    const value = Number(chunk.text);
    if (!mayHoldIdentifier(value)) return { kind: 'pass' };
    const segs = pointerSegments(chunk.pointer);
    // What kind of message it is shows in its top-level member (the chunk path has no Frame).
    const kind = segs[0] === 'result' ? 'result' : segs[0] === 'error' ? 'error' : chunk.direction === 'c2s' ? 'request' : 'notification';
    if (isProtocolNumber({ kind, method: chunk.method }, chunk.pointer, value)) return { kind: 'pass' };
    const findings = scanNumber({ pointer: chunk.pointer, value, key: segs.at(-1) ?? '' }, scan);
    if (findings.length === 0) return { kind: 'pass' };
    const flagged = chunkKeys.get(ctx);
    const where = flagged ? flagged.show(chunk.pointer) : chunk.pointer;
    const digits = String(value);
    const reasons = new Set<Reason>();
    const masks: Array<{ start: number; end: number; replacement: string }> = [];
    for (const f of findings) {
      const action = reportChunk(ctx, f, where, digits.slice(f.start, f.end), reasons);
      if (action === 'block') return { kind: 'block', reasons: [...reasons], message: `${f.type} detected` };
      if (action === 'redact') masks.push({ start: f.start, end: f.end, replacement: `[REDACTED:${f.type}]` });
    }
    remember(ctx, findings);
    return { kind: 'pass', ...(masks.length > 0 ? { emit: patchString(digits, masks) } : {}), reasons: [...reasons] };
  }

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
