/**
 * Helpers of the verifier (verify.ts) for what the hash chain alone cannot settle: the text a
 * store holds, gap markers against external anchors, and where a store starts.
 */
import type { StoreDefect } from './sink.ts';
import type { KnownGap, VerifyResult } from './verify.ts';

/**
 * A scan item as a store may give it: with the record's stored text when the store keeps the
 * gateway's own bytes (SQLite, JSON lines), so the verifier can check that text is exactly the
 * serialization that was hashed.
 */
export type StoredItem = { record: unknown; where?: string; text?: string } | { defect: StoreDefect };

/** The database's own consistency check failed (the CLI asks the store; sink.ts has no kind for it). */
export interface IntegrityDefect {
  kind: 'store-integrity';
  /** The row named, if any. */
  seq: number | undefined;
  where: string;
  message: string;
}

/**
 * The hash covers what JSON.parse makes of a record's text, and parsers disagree on text the
 * gateway never writes: with a member named twice JSON.parse keeps the last, SQLite's
 * json_extract the first, so a query or another tool can read a value the hash never covered.
 * Stores that keep the gateway's own bytes (SQLite, JSON lines: always JSON.stringify of the
 * record) must hold exactly that serialization. PostgreSQL's `json` column keeps the text as
 * written too, so the check would hold there, but its scan does not pass the text yet.
 */
export function storedTextDiffers(parsed: unknown, text: string): boolean {
  return JSON.stringify(parsed) !== text;
}

/**
 * An external anchor inside an accepted gap contradicts it: the cursor says the gateway
 * delivered that seq to this store, a checkpoint from the state directory attests a record the
 * marker says the store never got (and that cannot be checked against it). Only a gap's last seq
 * with its last hash is consistent: after delivering a marker the lane's cursor points there
 * (lane.ts chainPos); a cursor rebuilt from the sink alone has no hash ('').
 */
export function gapConflicts(
  gaps: ReadonlyArray<KnownGap & { lastHash: string }>,
  anchors: ReadonlyArray<{ seq: number; hash: string; what: string }>,
): Array<{ seq: number; message: string }> {
  const out: Array<{ seq: number; message: string }> = [];
  for (const g of gaps) {
    for (const a of anchors) {
      if (a.seq < g.fromSeq || a.seq > g.toSeq) continue;
      if (a.seq === g.toSeq && (a.hash === g.lastHash || a.hash === '')) continue;
      out.push({
        seq: a.seq,
        message: `seq ${a.seq} lies inside the gap marked at seq ${g.markerSeq} (seq ${g.fromSeq}..${g.toSeq} never reached sink ${JSON.stringify(g.sink)}), but ${a.what}: the marker does not belong here`,
      });
    }
  }
  return out;
}

/**
 * A store that starts at a checkpoint verifies, but the gateway's state does not record where a
 * sink's chain legitimately began (a sink added later starts at the next checkpoint, retention
 * may cut at one), so it cannot be told apart from the oldest records deleted up to a
 * checkpoint: say so rather than pass silently. A retention anchor for the first record is the
 * gateway's own signed statement of the cut, and genesis is the whole chain: no warning.
 */
export function startWarnings(anchor: VerifyResult['anchor'], first: number | undefined): string[] {
  if (anchor !== 'checkpoint') return [];
  return [
    `the store starts at seq ${first} at a signed checkpoint, not at genesis (seq 1), and no retention anchor says the gateway cut there: records before it may have been deleted. A sink added to a running gateway also starts this way (and a store pruned by a gateway older than 2026-11-24); confirm which from the gateway's configuration and logs`,
  ];
}

/** The Date range (ECMA-262 §21.4.1.22): a time outside it cannot be printed as ISO 8601. */
const MAX_TIME = 8.64e15;

/**
 * Why `value` cannot be shown as an audit record by query, export and report (undefined: it
 * can). Stores hand back whatever JSON they hold, and a hostile one (`null`, a time outside the
 * Date range, no `unmapped` object) crashed them with a TypeError or RangeError naming nothing.
 */
export function recordShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`;
  const r = value as Record<string, unknown>;
  if (!Number.isSafeInteger(r['seq']) || (r['seq'] as number) < 1) return 'no valid seq';
  const time = r['time'];
  if (typeof time !== 'number' || !(Math.abs(time) <= MAX_TIME)) return `time ${JSON.stringify(time) ?? String(time)} is not a time in the Date range`;
  const u = r['unmapped'];
  if (u === null || typeof u !== 'object' || Array.isArray(u)) return 'no unmapped object';
  const m = r['metadata'];
  if (m !== undefined && (m === null || typeof m !== 'object')) return 'metadata is not an object';
  return undefined;
}
