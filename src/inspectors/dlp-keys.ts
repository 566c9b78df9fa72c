/**
 * DLP for object keys: a tool can return a secret as a key (`"structuredContent": {"AKIA…": 1}`)
 * and a client can send one in its arguments, so keys are scanned with the same detectors and
 * rules as string values. Where a finding in a key is reported and what `redact` does:
 *
 * - location: the object's pointer plus `/~key` (json-pointer.ts KEY_SEGMENT), with offsets in
 *   the key; any pointer that goes through a flagged key names it masked, whatever the action,
 *   so no location carries the secret;
 * - buffered messages: `redact` renames the key to its masked form (`[REDACTED:<type>]` in place
 *   of each match); a name another key of the object already has gets " #2", " #3"…, so no
 *   member is lost;
 * - SSE events: the rename is a `rewrite` verdict, which cannot hold the event for the next one
 *   nor amend the held one. An event with a renamed key goes out at once; a secret its last
 *   string began is still masked in the next event, as after an expired hold (`dlp_split_sent`).
 *   An event that must both rename a key and amend the held event is blocked (KEY_NOT_MASKABLE);
 * - oversized messages (the chunk path): keys are scanned as the rewriter hands them out, but
 *   a rename there could meet an identical key later in the object that the stream has not
 *   seen yet, so `redact` on a key cuts the stream as `block` does (reason KEY_NOT_MASKABLE).
 *
 * Cost: almost every key is a short protocol or schema name. Keys found clean are remembered per
 * inspector (exact: the scan is a pure function of the text and the inspector's options), so an
 * ordinary message costs a set lookup per key, not a scan.
 */
import { escapePointerSegment, pointerSegments } from '../codec/json-pointer.ts';
import { scanText, type Finding, type ScanOptions } from '../detectors/index.ts';
import { patchString } from '../pipeline/patch.ts';
import type { Reason } from '../pipeline/types.ts';

/** A redact rule matched a key where keys cannot be renamed: the message was blocked instead. */
export const KEY_NOT_MASKABLE: Reason = 'dlp/key-not-maskable';

/** A key with findings, in the object at pointer `object`. */
export interface KeyHit {
  object: string;
  key: string;
  findings: Finding[];
}

/** Bounds of the clean-key memory: enough for any real schema, cleared when full. */
const MAX_CLEAN_KEYS = 4096;
const MAX_CLEAN_KEY_LENGTH = 128;

export class CleanKeys {
  /**
   * Clean key → its pointer segment (escapePointerSegment). Why the segment: the `_meta` keys of
   * every 2026-07-28 message (`io.modelcontextprotocol/…`) need escaping, and escaping them
   * again per message (two `replaceAll`) was half of dlp-leaves.ts's walk: for the two messages
   * of the gateway bench's echo call (three such keys), 3.0 → 1.6 µs without it.
   */
  private readonly clean = new Map<string, string>();
  private readonly options: ScanOptions;

  constructor(options: ScanOptions) {
    this.options = options;
  }

  /** The pointer segment of a key known clean; undefined for any other key. */
  segmentOf(key: string): string | undefined {
    return this.clean.get(key);
  }

  scan(key: string): Finding[] {
    if (this.clean.has(key)) return [];
    const found = scanText(key, this.options);
    // Only clean keys are remembered: never a secret, and a long key is probably no schema name.
    if (found.length === 0 && key.length <= MAX_CLEAN_KEY_LENGTH) {
      if (this.clean.size >= MAX_CLEAN_KEYS) this.clean.clear();
      this.clean.set(key, escapePointerSegment(key));
    }
    return found;
  }
}

/**
 * `key` with each finding's span replaced by its mask. Overlapping spans mask their union
 * (patchString): keeping only the earlier one would leave the rest of a longer match, such as a
 * private key's body after its header marker, in the name.
 */
export function maskKey(key: string, findings: readonly Finding[]): string {
  return patchString(key, findings.map((f) => ({ start: f.start, end: f.end, replacement: `[REDACTED:${f.type}]` })));
}

/**
 * Object pointer → (key → masked name), over the findings `which` selects, each name unique
 * among its object's keys (` #2`, ` #3`… in key order). `root` is the message holding the objects.
 */
export function maskedNames(root: unknown, hits: readonly KeyHit[], which: (f: Finding) => boolean): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const h of hits) {
    const spans = h.findings.filter(which);
    if (spans.length === 0) continue;
    let names = out.get(h.object);
    if (!names) out.set(h.object, (names = new Map()));
    names.set(h.key, maskKey(h.key, spans));
  }
  for (const [object, names] of out) {
    const taken = new Set(Object.keys(objectAt(root, object)).filter((k) => !names.has(k)));
    for (const [key, name] of names) {
      let unique = name;
      for (let k = 2; taken.has(unique); k++) unique = `${name} #${k}`;
      taken.add(unique);
      names.set(key, unique);
    }
  }
  return out;
}

function objectAt(root: unknown, pointer: string): object {
  let node = root;
  for (const seg of pointerSegments(pointer)) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
  return node !== null && typeof node === 'object' ? node : {};
}

/** `pointer` with each segment that is a masked key (`names`, by its object) written masked. */
export function shownPointer(pointer: string, names: ReadonlyMap<string, ReadonlyMap<string, string>>): string {
  if (names.size === 0) return pointer;
  let at = '';
  let shown = '';
  for (const seg of pointerSegments(pointer)) {
    const name = names.get(at)?.get(seg);
    const escaped = escapePointerSegment(seg);
    at += `/${escaped}`;
    shown += `/${name === undefined ? escaped : escapePointerSegment(name)}`;
  }
  return shown;
}

/** Per-message bound of the chunk path's memory of flagged keys; past it, locations are dropped. */
const MAX_SHOWN_KEYS = 256;

/**
 * The chunk path's view of the same: a key that was only alerted on still names the members
 * below it in the pointers of later pieces, so its masked name is remembered for the message.
 */
export class ShownKeys {
  private readonly entries: Array<{ from: string; to: string }> = [];
  private lossy = false;

  add(from: string, to: string): void {
    if (this.entries.length >= MAX_SHOWN_KEYS) this.lossy = true;
    else this.entries.push({ from, to });
  }

  /** `pointer` as reported; '' (the message) once too many keys were flagged to track them all. */
  show(pointer: string): string {
    if (this.lossy) return '';
    let best: { from: string; to: string } | undefined;
    for (const e of this.entries) {
      if ((pointer === e.from || pointer.startsWith(`${e.from}/`)) && (!best || e.from.length > best.from.length)) best = e;
    }
    return best ? best.to + pointer.slice(best.from.length) : pointer;
  }
}
