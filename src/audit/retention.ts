/**
 * Retention by age or size that leaves the store verifiable, whatever the checkpoint interval.
 *
 * A verifier accepts a chain that starts after seq 1 only from a signed statement of what its
 * first record links to: the seq and hash of the record before it (verify.ts). The audit log
 * first appends a retention anchor, a record signing (seq, hash) of the last record removed
 * (chain.ts), and the store cuts only once it holds it. (A checkpoint at the cut would do for the
 * chain, but verify warns of a store that starts at one: see anchorsItself.)
 * The cut is then where the policy says, and a limit below the checkpoint interval still prunes.
 *
 * - By age: everything before the first record newer than the cutoff goes (each of those is at
 *   least that old; a later record stamped earlier is kept, never a newer one dropped).
 * - By size: the newest maxRecords - 1 records stay, plus the anchor: maxRecords in all. Due
 *   only once the store holds more than maxRecords, so an idle store is not re-anchored on
 *   every run.
 * - Both set: the later cut.
 */
import { anchorOf, type RetentionPolicy } from './chain.ts';
import { chainPos } from './lane.ts';
import type { AuditRecord } from './record.ts';
import type { AnchorFn, PruneResult } from './sink.ts';

export interface Survey {
  /** Lowest seq held, and how many records. */
  first: number;
  count: number;
  /** The newest record held. */
  last: AuditRecord;
  /** Lowest seq of a record with time after the cutoff asked for. */
  firstAfter: number | undefined;
}

/** What each store answers so `pruneStore` can cut it (over its own storage). */
export interface RetentionStore {
  survey(cutoff: number | undefined): Promise<Survey | undefined>;
  /** Seq of the n-th newest record (1: the newest) at or before `s.last`. */
  nthNewest(n: number, s: Survey): Promise<number | undefined>;
  /** The record just before `seq`, and the record at `seq`. */
  around(seq: number): Promise<{ before: AuditRecord | undefined; at: AuditRecord | undefined }>;
  /** Remove every record below `seq`; how many went. */
  deleteBefore(seq: number): Promise<number>;
}

const DAY_MS = 86_400_000;
const NOTHING: PruneResult = { removed: 0, anchorSeq: undefined };

export async function pruneStore(store: RetentionStore, policy: RetentionPolicy, now: number, anchor: AnchorFn): Promise<PruneResult> {
  const cutoff = policy.maxAgeDays !== undefined ? now - policy.maxAgeDays * DAY_MS : undefined;
  const s = await store.survey(cutoff);
  if (!s) return NOTHING;
  let cut: number | undefined;
  // Everything old: cut after the newest record; the anchor (appended now) stays.
  if (cutoff !== undefined) cut = s.firstAfter ?? chainPos(s.last).seq + 1;
  if (policy.maxRecords !== undefined && s.count > policy.maxRecords) {
    const bySize = await store.nthNewest(Math.max(1, policy.maxRecords - 1), s);
    if (bySize !== undefined && (cut === undefined || bySize > cut)) cut = bySize;
  }
  if (cut === undefined || cut <= s.first) return NOTHING;
  const { before, at } = await store.around(cut);
  if (!before) return NOTHING;
  // A gap marker stands for its range: the next record links to the last dropped one.
  if (!(at && anchorsItself(at)) && !(await anchor(chainPos(before)))) return NOTHING;
  return { removed: await store.deleteBefore(cut), anchorSeq: cut };
}

/**
 * A retention anchor that signs the position right before it anchors itself. A checkpoint there
 * would verify too, but a store that starts at a checkpoint cannot be told from one whose oldest
 * records were deleted up to it (verify warns of that), so a cut there signs an anchor as well:
 * the gateway's own statement that it cut.
 */
function anchorsItself(r: AuditRecord): boolean {
  const p = anchorOf(r);
  return p !== undefined && p.seq === r.seq - 1 && p.hash === r.prev_hash;
}
