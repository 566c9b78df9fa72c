/**
 * The DLP inspector's state across the SSE events of one stream (dlp.ts says when an event is
 * held): the stream's continuing text as a bounded run, and which of its events the relay still
 * holds, so that a match split across any number of events is masked in every one of them.
 *
 * Why: a secret streamed token by token (a tool relaying model output, a few characters per log
 * or progress event: a 40-character key spans about ten events) used to lose every piece but the
 * last two, because only one event was ever held. Now the relay holds a bounded queue
 * (pipeline/held-events.ts) and this run remembers, for each event still held, where its string
 * lies in the run; a match found when a later event completes it amends each held event it
 * touches (`amendHeld`), and the inspector keeps held (`keepHeld`) the events whose text a later
 * match could still reach: those in the run's kept text (the detector's hold-back window plus
 * left context, or an open key block from its header), at most HELD_EVENTS_MAX.
 *
 * Text of events that went out stays in the run as context only (validators, a key block's
 * header): a match reaching into it is masked where it can still be, and counted (`sentEarlier`).
 */
import { scanText, type Finding, type ScanOptions } from '../detectors/index.ts';
import { mapThroughEdits, mergePatches, type MergedEdit } from '../pipeline/patch.ts';
import { HELD_EVENTS_MAX, type HeldAmend, type Patch } from '../pipeline/types.ts';

/** How far back the PEM check looks: past any key block's header. */
export const TAIL_CHARS = 8192;
/** PEM and SSH2 armour lines (RFC 7468 §2; RFC 4716 §3.2 uses four dashes and a space). */
const ARMOUR_BEGIN = /-{4,5} ?BEGIN /g;
const ARMOUR_END = /-{4,5} ?END /;
/** A PuTTY key file (PPK) is open from its header until its `Private-MAC:` line (secrets/keys.ts). */
const PUTTY_BEGIN = /PuTTY-User-Key-File-[23]: /g;
const PUTTY_END = /Private-MAC: ?[0-9a-fA-F]/;

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13 || c === 0x85 || c === 0x2028 || c === 0x2029;
}

/**
 * Could the text still grow into a secret in the next event? Yes when its last line is not
 * finished (a cut inside a token, "AK" | "IA…"; after `"k": "`; after `aws_secret_access_key `
 * whose value comes next), or when a PEM/SSH2 or PuTTY key block is open (its body comes in later
 * lines).
 * A rule's prefix can be a single character, and keyword-context rules put the keyword before a
 * space, so any unfinished line counts; a text that ends with a line break and no open block is
 * done.
 */
export function mayContinue(text: string): boolean {
  if (text.length === 0) return false;
  if (!isLineBreak(text.charCodeAt(text.length - 1))) return true;
  return openArmourAt(text) >= 0;
}

/** Where the last PEM/SSH2 or PuTTY key block still open in `text` begins (looked for in its last TAIL_CHARS), or -1. */
export function openArmourAt(text: string): number {
  const from = Math.max(0, text.length - TAIL_CHARS);
  const tail = from > 0 ? text.slice(from) : text;
  const open = (begin: RegExp, end: RegExp): number => {
    let at = -1;
    begin.lastIndex = 0;
    for (let m = begin.exec(tail); m !== null; m = begin.exec(tail)) at = m.index;
    return at >= 0 && !end.test(tail.slice(at)) ? from + at : -1;
  };
  return Math.max(open(ARMOUR_BEGIN, ARMOUR_END), open(PUTTY_BEGIN, PUTTY_END));
}

/**
 * Member names MCP carries running text under: `text` (text content and text resource contents),
 * `data` (notifications/message), `message` (notifications/progress, a JSON-RPC error).
 */
const RUNNING_TEXT: ReadonlySet<string> = new Set(['text', 'data', 'message']);

/**
 * Which string of a message of another kind continues a run: its first running text (not
 * base64 content), else its first string. Why not simply the first: in a tool result that is the
 * content block's `type` ("text"), so the run joined "text" and a key cut between the last log
 * line and the result went out in two clear halves. (The chunk path: dlp-stream-lead.ts.)
 */
export function firstRunningText<L extends { key: string }>(leaves: readonly L[], isBase64: (leaf: L) => boolean): number {
  for (let i = 0; i < leaves.length; i++) if (RUNNING_TEXT.has(leaves[i]!.key) && !isBase64(leaves[i]!)) return i;
  return 0;
}

/** The string of one event the relay still holds, as part of the run. */
export interface HeldPart {
  /** The event's frame id: how hints name it to the relay (StreamHints). */
  frame: string;
  pointer: string;
  /** `pointer` as reported (a flagged key in it masked). */
  shown: string;
  /** Run coordinates of its kept text, `[at, end)`; `offset` is the string's offset at `at`. */
  at: number;
  end: number;
  offset: number;
  /**
   * This inspector's own masks in the string, merged: the relay holds the event with them in,
   * and amend patches are in the offsets of the event as held, so they are mapped through these.
   */
  edits: MergedEdit[];
}

/**
 * A stream's text that the next event may continue: the last string of the event just inspected
 * (held), after the text of earlier events that string continued.
 *
 * Offsets: "run" coordinates are positions in the stream's continuing text (the joined strings);
 * `base` is that of `text[0]`. Findings are remembered by them, so a match is reported once
 * however many later scans see it again.
 */
export interface Run {
  /** As this inspector scanned it (before its own masks). */
  text: string;
  base: number;
  /** The pointer of the string that ends it: the next event continues the string at the same one. */
  pointer: string;
  /** The method of the message that string was in: the same kind of message without it carries no text on. */
  method: string;
  /**
   * The events still held, oldest first, contiguous up to the end of `text` (events leave in
   * order, so the held ones are always the last). Text before the first is context only.
   */
  held: HeldPart[];
  /** The exchange whose relay holds them (ctx.signal): a resumed leg has a relay of its own. */
  exchange: object;
  /**
   * Findings already reported, by `type:start` (run coordinates) → their end. A later scan that
   * finds the same match again is not reported again; found longer (a key block whose body came
   * in the next event), it is masked but still reported once.
   */
  reported: Map<string, number>;
  /** Ranges (run coordinates) sent or held masked or cut: what of an earlier event did not go out. */
  masked: Array<[number, number]>;
  /** Matches so far whose part in an event that had gone out went out unmasked. */
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

/** The run as the string continuing it left it (input to `nextRun`). */
export interface Joined {
  text: string;
  /** Where the continuing string begins in `text`. */
  cut: number;
  base: number;
  held: HeldPart[];
  masked: Array<[number, number]>;
  sentEarlier: number;
}

/** Amend patches for held events, gathered per event while one event is inspected. */
export class Amends {
  /** Made on the first amendment: one per inspected message, and almost all have none. */
  #byFrame: Map<string, Patch[]> | undefined;

  get size(): number {
    return this.#byFrame?.size ?? 0;
  }

  /** Patch `[start, end)` of part `p`'s string (offsets before this inspector's masks). */
  add(p: HeldPart, start: number, end: number, replacement: string): void {
    const byFrame = (this.#byFrame ??= new Map());
    const list = byFrame.get(p.frame) ?? [];
    list.push({ pointer: p.pointer, start: mapThroughEdits(p.edits, start, 'start'), end: mapThroughEdits(p.edits, end, 'end'), replacement });
    byFrame.set(p.frame, list);
  }

  hints(): HeldAmend[] {
    return this.#byFrame === undefined ? [] : [...this.#byFrame].map(([frame, patches]) => ({ frame, patches }));
  }
}

/** What the continuation scan needs from the inspector. */
export interface ContinueHooks {
  scan: ScanOptions;
  action(f: Finding): 'redact' | 'block' | 'alert';
  /**
   * Report (when `report`) and act on a finding at `pointer` `[start, end)`; masks it into
   * `target` when given and the action is redact. (dlp.ts `apply`.)
   */
  apply(f: Finding, pointer: string, start: number, end: number, target: Patch[] | undefined, value: string, where: string | undefined, report: boolean): void;
  /** The current event's patches, and amendments of held events. */
  patches: Patch[];
  amends: Amends;
  note(key: string, value: unknown): void;
}

/**
 * Scans the string that continues `prev` joined to it: a secret that began there, one whose
 * context (`aws_secret_access_key = `) began there, and one that ended there but needed what
 * follows (`user:pass` before `@host`) are all found. A match's parts in held events are cut out
 * of them, the mask standing where it ends: in the current string when it runs into it (so it
 * still stands if a held event had to go out unamended), else in the held event it ends in.
 * Blocked: cut from every held event (they still go out before the stream is cut). `reported`
 * collects the findings the next event must not report again.
 */
export function scanContinuation(
  prev: Run,
  exchange: object,
  leaf: { pointer: string; text: string },
  hooks: ContinueHooks,
  reported: Map<string, number> | undefined,
  /** Leave matches wholly in `leaf` alone (the chunk path's own scan finds them: dlp-stream-lead.ts). */
  onlyAcross = false,
): Joined {
  // Another exchange's relay held those events; its stream has been flushed since.
  const held = prev.exchange === exchange ? prev.held : [];
  const cut = prev.text.length;
  const joined = prev.text + leaf.text;
  const run = (j: number) => prev.base + j;
  // Where the held events begin in `joined`: before it, events that went out.
  const heldAt = held.length > 0 ? held[0]!.at - prev.base : cut;
  const masked = prev.masked.filter(([, e]) => e > prev.base);
  let sentEarlier = prev.sentEarlier;
  for (const f of scanText(joined, hooks.scan)) {
    const key = `${f.type}:${run(f.start)}`;
    const seen = prev.reported.get(key);
    // Reported when an earlier event was inspected, and masked then if it was to be.
    if (seen === run(f.end)) continue;
    // Whole in events already sent: nothing of it can be masked any more.
    if (f.end <= heldAt) continue;
    reported?.set(key, run(f.end));
    const value = joined.slice(f.start, f.end);
    const action = hooks.action(f);
    if (f.start >= cut) {
      if (!onlyAcross) hooks.apply(f, leaf.pointer, f.start - cut, f.end - cut, hooks.patches, value, undefined, true);
      continue;
    }
    // Seen before, shorter: the same match grown into this event (masked, not reported again).
    const report = seen === undefined;
    // Its part in the held events, [from, to) of `joined`; anything before `heldAt` went out,
    // masked there only if that event's own scan or an amend masked it.
    const from = Math.max(f.start, heldAt);
    const to = Math.min(f.end, cut);
    if (report && f.start < heldAt && !covered(masked, run(f.start), run(heldAt))) sentEarlier++;
    let first = true;
    for (const p of held) {
      const pAt = p.at - prev.base;
      const pEnd = p.end - prev.base;
      const s = Math.max(from, pAt);
      const e = Math.min(to, pEnd);
      if (s >= e) continue;
      const inPart = (j: number) => p.offset + (j - pAt);
      // Reported once, where it begins among the held events.
      if (first) hooks.apply(f, p.pointer, inPart(s), inPart(e), undefined, value, p.shown, report);
      first = false;
      if (action === 'alert') continue;
      // Masked in the part it ends in (when it ends before this event), cut from the others.
      hooks.amends.add(p, inPart(s), inPart(e), action === 'redact' && f.end <= pEnd ? `[REDACTED:${f.type}]` : '');
    }
    // No held event left to carry it (all went out): reported where the rest of it is.
    if (first) hooks.apply(f, leaf.pointer, 0, f.end - cut, undefined, value, undefined, report);
    if (action !== 'alert') masked.push([run(from), run(to)]);
    if (f.end > cut && action === 'redact') hooks.patches.push({ pointer: leaf.pointer, start: 0, end: f.end - cut, replacement: `[REDACTED:${f.type}]` });
  }
  if (sentEarlier > prev.sentEarlier) hooks.note('dlp_split_sent_earlier', sentEarlier);
  // Earlier findings are remembered with this string's (a match seen longer now, with its new end).
  for (const [k, e] of prev.reported) if (!reported?.has(k)) reported?.set(k, e);
  return { text: joined, cut, base: prev.base, held, masked, sentEarlier };
}

/**
 * The run the next event may continue, ending with the event's last string (`leaf`, frame
 * `frame`): after the run this event continued (`joined`, when the last string was the
 * continuation), else the string alone. Of earlier text, `runContext` characters or an open key
 * block from its header; of the held events, those whose string reaches into that text (a later
 * match can only touch them), the newest HELD_EVENTS_MAX (the relay holds no more).
 */
export function nextRun(opts: { frame: string; method: string; leaf: { pointer: string; text: string }; shown: string; ownPatches: readonly Patch[]; joined: Joined | undefined; reported: Map<string, number> | undefined; runContext: number; exchange: object }): Run {
  const { leaf, joined } = opts;
  const edits = mergePatches(opts.ownPatches.filter((p) => p.pointer === leaf.pointer), leaf.text.length);
  const whole = joined?.text ?? leaf.text;
  const at = joined?.cut ?? 0; // where the string begins in `whole`
  let keep = Math.min(Math.max(at, whole.length - TAIL_CHARS), Math.max(0, whole.length - opts.runContext));
  const armour = joined ? openArmourAt(whole) : -1;
  if (armour >= 0) keep = Math.min(keep, armour);
  // Run coordinates of `whole`: continuing a run, its own; else the string's offsets.
  const base = joined?.base ?? 0;
  const from = base + keep;
  const masked = [...(joined?.masked ?? []), ...edits.map((e): [number, number] => [base + at + e.start, base + at + e.end])].filter(([, e]) => e > from);
  // A match that begins before the kept text cannot be found again: forgotten.
  const reported = new Map([...(opts.reported ?? [])].filter(([k]) => Number(k.slice(k.lastIndexOf(':') + 1)) >= from));
  const earlier = (joined?.held ?? []).filter((p) => p.end > from).map((p) => (p.at >= from ? p : { ...p, at: from, offset: p.offset + (from - p.at) }));
  const own: HeldPart = { frame: opts.frame, pointer: leaf.pointer, shown: opts.shown, at: base + Math.max(at, keep), end: base + whole.length, offset: Math.max(0, keep - at), edits };
  return { text: whole.slice(keep), base: from, pointer: leaf.pointer, method: opts.method, held: [...earlier, own].slice(-HELD_EVENTS_MAX), exchange: opts.exchange, reported, masked, sentEarlier: joined?.sentEarlier ?? 0 };
}
