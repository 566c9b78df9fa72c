/**
 * Verify a stored audit chain: every record's hash, every link, every checkpoint and gap marker
 * signature, and (given the gateway's state) that nothing was cut off the end.
 *
 * Records are fed in storage order (file order, or a store's seq column), one at a time, so a
 * store of any size verifies in constant memory. Each problem is reported where it is, by seq
 * and record id, with its kind:
 *
 *   edited              the record's content no longer matches its own hash
 *   broken-link         prev_hash is not the previous record's hash (a record was replaced and
 *                       re-hashed, or one was inserted before it)
 *   missing             a seq range is absent (deleted records)
 *   reordered           a record appears after one with a higher seq
 *   duplicate           a seq appears twice (an inserted or replayed record)
 *   unanchored          the chain starts after seq 1 without a signed checkpoint or retention
 *                       anchor (chain.ts) for the position it links to
 *   checkpoint-signature / gap-signature   a signature does not verify, or its key is unknown
 *   gap-foreign         a validly signed gap marker made for another sink: replayed into this
 *                       store it would excuse a deleted range (the verifier is told which sink's
 *                       store it checks)
 *   gap-conflict        the delivery cursor (from the state directory) lies inside a range a gap
 *                       marker says never reached the store (a signed checkpoint there is only a
 *                       warning: an honest shedding sink can have one)
 *   checkpoint-mismatch a checkpoint attests a different hash than the chain has: the records
 *                       before it were rewritten
 *   truncated           the store no longer holds records that a signed checkpoint known from
 *                       elsewhere covers, or that the gateway recorded as delivered to it (the
 *                       sink's cursor in the state directory)
 *   beyond-head         records past the last one the gateway says it wrote (forged at the end)
 *   malformed           not a chain record at all (or, from a store's scan, not JSON)
 *   unterminated        a file's last line has no newline: a torn write, a write in progress
 *                       or bytes appended (a store's scan, jsonl.ts)
 *   index-mismatch      a row's query columns disagree with its record, so queries on them
 *                       mislead (a store's scan, sink.ts)
 *   store-integrity     the database's own consistency check failed (an index that disagrees
 *                       with its table hides rows from queries while every record verifies)
 *
 * Some things verify cannot prove are returned as warnings, not breaks: a store that starts at a
 * checkpoint rather than at genesis may have lost its oldest records (nothing the gateway writes
 * says where a sink's chain legitimately starts), so it passes with a warning saying so.
 *
 * Stores that can say where a record sits (file, line, byte offset) pass it with the record;
 * breaks found at that record carry it, and a missing range carries where the hole is.
 *
 * Limits, stated plainly: records after the last checkpoint are protected by the chain only; an
 * attacker able to rewrite the store can cut or replace that tail consistently unless an external
 * anchor is supplied (the state directory's head and cursor, or another sink's checkpoints).
 */
import { GENESIS_HASH, anchorOf, checkCheckpoint, checkGap, checkpointOf, gapOf, legacyRecordHash, recordHash, type ChainHead, type CheckpointProof, type PublicKeys } from './chain.ts';
import type { AuditRecord } from './record.ts';
import type { ScanItem, StoreDefect } from './sink.ts';
import { gapConflicts, startWarnings, storedTextDiffers, type IntegrityDefect, type StoredItem } from './verify-store.ts';

export type { IntegrityDefect, StoredItem } from './verify-store.ts';


export type BreakKind =
  | 'malformed'
  | 'edited'
  | 'broken-link'
  | 'missing'
  | 'reordered'
  | 'duplicate'
  | 'unanchored'
  | 'checkpoint-signature'
  | 'checkpoint-mismatch'
  | 'gap-signature'
  | 'gap-foreign'
  | 'gap-conflict'
  | 'store-integrity'
  | 'truncated'
  | 'beyond-head'
  | 'unterminated'
  | 'index-mismatch';

export interface ChainBreak {
  kind: BreakKind;
  /** Where: the seq of the record (or the first of a range). */
  seq: number | undefined;
  /** Last seq of a range (missing, truncated). */
  toSeq?: number;
  recordId: string | undefined;
  message: string;
  /** Where in the store, when it can say (file, line and byte offset; a row). */
  where?: string;
}

export interface KnownGap {
  markerSeq: number;
  fromSeq: number;
  toSeq: number;
  count: number;
  reason: string;
  sink: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  anchor: 'genesis' | 'checkpoint' | 'retention-anchor' | 'none';
  checkpoints: number;
  /** Seq of the last checkpoint record whose signature and attestation verified. */
  lastCheckpointSeq: number | undefined;
  /** Records after the last valid checkpoint (protected by the chain alone). */
  unsignedTail: number;
  gaps: KnownGap[];
  breaks: ChainBreak[];
  /** Problems found in all: `breaks` lists at most `maxBreaks` of them. */
  problems: number;
  /** What verification could not rule out though nothing failed (the result stays ok). */
  warnings: string[];
}

export interface VerifyOptions {
  publicKeys: PublicKeys;
  /** Signed checkpoints known from outside the store (state directory, another sink). */
  anchors?: readonly CheckpointProof[];
  /** The head the gateway recorded (state `head.json`): records past it were not written by it. */
  head?: ChainHead;
  /**
   * The last record this store acknowledged (the sink's `cursor.json`): the store must hold it,
   * unchanged. Catches a tail cut after the last checkpoint.
   */
  delivered?: ChainHead;
  /**
   * The name of the sink whose store this is. A gap marker is signed per sink and only excuses a
   * range in that sink's store; one naming another sink is rejected ('gap-foreign') when
   * `sinkKnown`, else accepted with a warning (the name is only a guess: a sink's configured
   * name, or `<type>-<n>` beside another of its type, is not in the store). Unset: any sink's
   * marker is accepted.
   */
  sink?: string;
  sinkKnown?: boolean;
  /** Stop collecting after this many breaks (the count still says how many). Default 1000. */
  maxBreaks?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

export class ChainVerifier {
  readonly #opts: VerifyOptions;
  readonly #breaks: ChainBreak[] = [];
  #breakCount = 0;
  readonly #gaps: KnownGap[] = [];
  /** The accepted gaps' last hashes, by marker seq (an external anchor at a gap's end must match). */
  readonly #gapLastHash = new Map<number, string>();
  readonly #warnings: string[] = [];
  #records = 0;
  #first: number | undefined;
  #prev: { seq: number; hash: string; id?: string | undefined; where?: string | undefined } | undefined;
  /**
   * The last record seen again after its seq (a 'duplicate'), and where its break is: if the
   * next record links to it rather than to the copy accepted first, the first copy was the one
   * inserted, and the break is moved there.
   */
  #lastDuplicate: { seq: number; hash: string; id: string | undefined; where: string | undefined; breakAt: number } | undefined;
  #maxSeq = 0;
  /** Seq ranges skipped so far (and where the hole is); a later record inside one was reordered, the rest were deleted. */
  #missing: Array<[number, number, string | undefined]> = [];
  /** Where the record being pushed is, for its breaks. */
  #where: string | undefined;
  /** What the first record links to, when a checkpoint anchors it (a retention anchor for it says the gateway cut there). */
  #firstLink: ChainHead | undefined;
  /** A first record after seq 1 with no anchor yet: a retention anchor later on may sign it. */
  #pendingStart: { seq: number; prevHash: string; id: string | undefined; where: string | undefined } | undefined;
  #anchor: VerifyResult['anchor'] = 'none';
  #checkpoints = 0;
  #lastCheckpoint: number | undefined;
  /** External anchors by the seq they attest, checked when that record passes. */
  readonly #external = new Map<number, CheckpointProof>();

  constructor(opts: VerifyOptions) {
    this.#opts = opts;
    for (const a of opts.anchors ?? []) {
      const check = checkCheckpoint(a, opts.publicKeys);
      if (check === 'ok') this.#external.set(a.seq, a);
      else this.#break('checkpoint-signature', a.seq, undefined, `external checkpoint for seq ${a.seq} does not verify (${check})`);
    }
  }

  /** One item of a store's scan: a record (with where it is), or a defect in how it is stored. */
  take(item: ScanItem | StoredItem | { defect: IntegrityDefect }): void {
    if ('defect' in item) this.defect(item.defect);
    else this.push(item.record, item.where, 'text' in item ? item.text : undefined);
  }

  defect(d: StoreDefect | IntegrityDefect): void {
    this.#where = d.where;
    this.#break(d.kind, d.seq, undefined, d.message);
  }

  /**
   * One record in storage order. `text`: the record as stored, when the store keeps the
   * gateway's own bytes (always exactly JSON.stringify of the record).
   */
  push(value: unknown, where?: string, text?: string): void {
    this.#where = where;
    this.#records++;
    if (!isRecord(value)) {
      // A store that cannot say where (a row, a line) still gets a place: after the last good seq.
      const after = this.#prev ? ` (after seq ${this.#prev.seq})` : this.#records === 1 ? ' (the first)' : '';
      this.#break('malformed', undefined, undefined, `item ${this.#records}${after} is not an audit record (seq, prev_hash, hash)`);
      return;
    }
    const r = value;
    const id = typeof r.metadata?.uid === 'string' ? r.metadata.uid : undefined;
    let actual: string;
    try {
      actual = recordHash(r);
      // Records chained before the text scheme were hashed over RFC 8785 canonical JSON.
      if (actual !== r.hash && legacyRecordHash(r) === r.hash) actual = r.hash;
    } catch {
      this.#break('malformed', r.seq, id, `record seq ${r.seq} is not JSON`);
      return;
    }
    if (actual !== r.hash) this.#break('edited', r.seq, id, `record seq ${r.seq} was edited: its content does not match its hash`);
    else if (text !== undefined && storedTextDiffers(value, text)) {
      this.#break('edited', r.seq, id, `record seq ${r.seq} was edited: its stored text is not the text the gateway wrote (a member named twice, or other spelling), so other JSON readers may see different values than the hash covers`);
    }

    const delivered = this.#opts.delivered;
    if (delivered && delivered.seq === r.seq && delivered.hash !== r.hash && !gapOf(r)) {
      this.#break('edited', r.seq, id, `record seq ${r.seq} differs from the one the gateway delivered to this store`);
    }
    const ext = this.#external.get(r.seq);
    if (ext && ext.hash !== r.hash) {
      this.#break('checkpoint-mismatch', r.seq, id, `record seq ${r.seq} differs from the one an external checkpoint signed at ${iso(ext.time)}`);
    }

    const cp = checkpointOf(r);
    const gap = gapOf(r);
    const prev = this.#prev;
    let mainLine = true;
    if (prev === undefined) {
      this.#first = r.seq;
      if (r.seq === 1 && r.prev_hash === GENESIS_HASH) {
        this.#anchor = 'genesis';
      } else if (r.seq === 1) {
        this.#break('broken-link', r.seq, id, 'record seq 1 does not start from the genesis hash');
      } else if (cp && cp.seq === r.seq - 1 && cp.hash === r.prev_hash && checkCheckpoint(cp, this.#opts.publicKeys) === 'ok') {
        this.#anchor = 'checkpoint';
        this.#firstLink = { seq: cp.seq, hash: cp.hash };
      } else if (this.#external.get(r.seq - 1)?.hash === r.prev_hash) {
        this.#anchor = 'checkpoint';
        this.#firstLink = { seq: r.seq - 1, hash: r.prev_hash };
      } else {
        // Decided at the anchor record (appended after the cut) or, failing that, at finish.
        this.#pendingStart = { seq: r.seq, prevHash: r.prev_hash, id, where };
      }
    } else {
      const expected = prev.seq + 1;
      if (r.seq === expected) {
        const dup = this.#lastDuplicate;
        if (r.prev_hash !== prev.hash && dup && dup.seq === prev.seq && dup.hash === r.prev_hash) {
          // The chain goes on from the later copy: the one accepted first was inserted ahead of it.
          const moved: ChainBreak = {
            kind: 'duplicate',
            seq: prev.seq,
            recordId: prev.id,
            message: `seq ${prev.seq} appears twice and the chain goes on from the other copy${dup.where ? ` (at ${dup.where})` : ''}: this one was inserted`,
            ...(prev.where !== undefined && { where: prev.where }),
          };
          if (dup.breakAt >= 0) this.#breaks[dup.breakAt] = moved;
        } else if (r.prev_hash !== prev.hash) {
          this.#break('broken-link', r.seq, id, `record seq ${r.seq} does not link to seq ${prev.seq}: seq ${prev.seq} was replaced, or a record was inserted between them`);
        }
      } else if (r.seq > expected) {
        this.#missing.push([expected, r.seq - 1, where]);
      } else {
        mainLine = false;
        if (this.#takeMissing(r.seq)) {
          this.#break('reordered', r.seq, id, `record seq ${r.seq} is out of order: it appears after seq ${this.#maxSeq}`);
        } else {
          const breakAt = this.#breaks.length < (this.#opts.maxBreaks ?? 1000) ? this.#breaks.length : -1;
          this.#break('duplicate', r.seq, id, `seq ${r.seq} appears again after seq ${this.#maxSeq}: an inserted or replayed record`);
          this.#lastDuplicate = { seq: r.seq, hash: r.hash, id, where, breakAt };
        }
      }
    }

    if (cp) this.#checkpoint(r, cp, id, mainLine);
    const anchor = anchorOf(r);
    if (anchor) this.#retentionAnchor(r, anchor, id);
    if (mainLine) {
      this.#prev = { seq: r.seq, hash: r.hash, id, where };
      this.#maxSeq = Math.max(this.#maxSeq, r.seq);
      if (this.#lastDuplicate !== undefined && this.#lastDuplicate.seq < r.seq - 1) this.#lastDuplicate = undefined;
    }
    if (gap && mainLine) {
      const check = checkGap(gap, this.#opts.publicKeys);
      const sink = this.#opts.sink;
      if (check !== 'ok' || gap.from_seq !== r.seq || gap.prev_hash !== r.prev_hash || !(gap.to_seq >= gap.from_seq)) {
        this.#break('gap-signature', r.seq, id, `gap marker at seq ${r.seq} is not a valid signed gap (${check === 'ok' ? 'does not match its position' : check})`);
      } else if (sink !== undefined && gap.sink !== sink && !this.#opts.sinkKnown) {
        this.#warnings.push(
          `gap marker at seq ${r.seq} names sink ${JSON.stringify(String(gap.sink))}, not ${JSON.stringify(sink)}: if this is not that sink's store, the marker was copied in to excuse seq ${gap.from_seq}..${gap.to_seq}; give --sink NAME to check`,
        );
        this.#acceptGap(r, gap);
      } else if (sink !== undefined && gap.sink !== sink) {
        // Not accepted: the chain goes on from the marker itself, so the range it would excuse
        // is reported missing as well.
        this.#break(
          'gap-foreign',
          r.seq,
          id,
          `gap marker at seq ${r.seq} was signed for sink ${JSON.stringify(String(gap.sink))}, not for this store's sink ${JSON.stringify(sink)}: copied from another store, it would excuse seq ${gap.from_seq}..${gap.to_seq} (if this store's sink has another name, give it with --sink NAME)`,
        );
      } else {
        this.#acceptGap(r, gap);
      }
    }
  }

  /** A valid marker of this store's sink: the chain resumes after the dropped range, from the last dropped record's hash. */
  #acceptGap(r: AuditRecord, gap: NonNullable<ReturnType<typeof gapOf>>): void {
    this.#gaps.push({ markerSeq: r.seq, fromSeq: gap.from_seq, toSeq: gap.to_seq, count: gap.count, reason: gap.reason, sink: gap.sink });
    this.#gapLastHash.set(r.seq, gap.last_hash);
    this.#prev = { seq: gap.to_seq, hash: gap.last_hash };
    this.#maxSeq = Math.max(this.#maxSeq, gap.to_seq);
  }

  finish(): VerifyResult {
    const start = this.#pendingStart;
    if (start) {
      this.#where = start.where;
      this.#break('unanchored', start.seq, start.id, `the chain starts at seq ${start.seq} without a signed checkpoint or retention anchor for it: records before it were removed`);
    }
    for (const [from, to, where] of this.#missing) {
      this.#where = where;
      this.#break('missing', from, undefined, from === to ? `record seq ${from} is missing (deleted)` : `records seq ${from}..${to} are missing (deleted)`, to);
    }
    this.#where = undefined;
    const last = this.#prev ? this.#maxSeq : undefined;
    for (const a of this.#external.values()) {
      if (last === undefined || a.seq > last) {
        this.#break('truncated', (last ?? 0) + 1, undefined, `the store ends at seq ${last ?? 0} but a checkpoint signed at ${iso(a.time)} covers seq ${a.seq}: records were cut from the end`, a.seq);
      }
    }
    const head = this.#opts.head;
    if (head && last !== undefined && last > head.seq) {
      this.#break('beyond-head', head.seq + 1, undefined, `records seq ${head.seq + 1}..${last} are past the last record the gateway wrote (seq ${head.seq}): they were added`, last);
    }
    this.#anchorsInGaps();
    const delivered = this.#opts.delivered;
    if (delivered && (last ?? 0) < delivered.seq && ![...this.#external.values()].some((a) => a.seq >= delivered.seq)) {
      this.#break('truncated', (last ?? 0) + 1, undefined, `the store ends at seq ${last ?? 0} but the gateway delivered up to seq ${delivered.seq} to it: records were cut from the end`, delivered.seq);
    }
    this.#breaks.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    return {
      ok: this.#breakCount === 0,
      records: this.#records,
      firstSeq: this.#first,
      lastSeq: last,
      anchor: this.#anchor,
      checkpoints: this.#checkpoints,
      lastCheckpointSeq: this.#lastCheckpoint,
      unsignedTail: last === undefined ? 0 : last - (this.#lastCheckpoint ?? (this.#first ?? 1) - 1),
      gaps: this.#gaps,
      breaks: this.#breaks,
      problems: this.#breakCount,
      warnings: [...startWarnings(this.#anchor, this.#first), ...this.#warnings],
    };
  }

  /**
   * External anchors inside accepted gaps (verify-store.ts). The delivery cursor there is a break:
   * the gateway never delivers what it marked dropped. A checkpoint there is a warning only: it
   * is signed over the whole chain, and an honest sink may have been dropping records (shed
   * posture) when it was signed, so the store cannot show the record it attests.
   */
  #anchorsInGaps(): void {
    const gaps = this.#gaps.map((g) => ({ ...g, lastHash: this.#gapLastHash.get(g.markerSeq) ?? '' }));
    const d = this.#opts.delivered;
    if (d) for (const c of gapConflicts(gaps, [{ ...d, what: 'the gateway recorded it as delivered to this store (its cursor)' }])) this.#break('gap-conflict', c.seq, undefined, c.message);
    const checkpoints = [...this.#external.values()].map((a) => ({ seq: a.seq, hash: a.hash, what: `a checkpoint signed at ${iso(a.time)} attests a record there, which the store cannot show` }));
    for (const c of gapConflicts(gaps, checkpoints)) this.#warnings.push(c.message);
  }

  #checkpoint(r: AuditRecord, cp: CheckpointProof, id: string | undefined, mainLine: boolean): void {
    this.#checkpoints++;
    const check = checkCheckpoint(cp, this.#opts.publicKeys);
    if (check !== 'ok') {
      this.#break('checkpoint-signature', r.seq, id, `checkpoint at seq ${r.seq} ${check === 'unknown-key' ? `is signed by an unknown key (${String(cp.key_id)})` : 'has an invalid signature (forged or altered)'}`);
      return;
    }
    // The checkpoint signs the record before it; the chain must agree with what was signed.
    const prev = this.#prev;
    if (cp.seq !== r.seq - 1 || cp.hash !== r.prev_hash || (prev !== undefined && prev.seq === cp.seq && prev.hash !== cp.hash)) {
      this.#break('checkpoint-mismatch', r.seq, id, `checkpoint at seq ${r.seq} signed seq ${cp.seq} with a different hash than the chain has: records up to seq ${cp.seq} were rewritten`);
      return;
    }
    if (mainLine) this.#lastCheckpoint = r.seq;
  }

  /**
   * A retention anchor signs the position the first kept record links to (retention.ts). It
   * anchors the chain only when it matches the first record exactly; one for a position still
   * in the store (another sink's cut) proves nothing here and is passed over.
   */
  #retentionAnchor(r: AuditRecord, a: CheckpointProof, id: string | undefined): void {
    const check = checkCheckpoint(a, this.#opts.publicKeys);
    if (check !== 'ok') {
      this.#break('checkpoint-signature', r.seq, id, `retention anchor at seq ${r.seq} ${check === 'unknown-key' ? `is signed by an unknown key (${String(a.key_id)})` : 'has an invalid signature (forged or altered)'}`);
      return;
    }
    const start = this.#pendingStart;
    if (start && a.seq === start.seq - 1 && a.hash === start.prevHash) {
      this.#pendingStart = undefined;
      this.#anchor = 'retention-anchor';
    } else if (this.#anchor === 'checkpoint' && this.#firstLink !== undefined && a.seq === this.#firstLink.seq && a.hash === this.#firstLink.hash) {
      // The store starts at a checkpoint and the gateway signed that it cut there (retention.ts).
      this.#anchor = 'retention-anchor';
    }
  }

  #takeMissing(seq: number): boolean {
    const i = this.#missing.findIndex(([a, b]) => seq >= a && seq <= b);
    if (i < 0) return false;
    const [a, b, where] = this.#missing[i]!;
    const parts: Array<[number, number, string | undefined]> = [];
    if (a < seq) parts.push([a, seq - 1, where]);
    if (seq < b) parts.push([seq + 1, b, where]);
    this.#missing.splice(i, 1, ...parts);
    return true;
  }

  #break(kind: BreakKind, seq: number | undefined, recordId: string | undefined, message: string, toSeq?: number): void {
    this.#breakCount++;
    if (this.#breaks.length >= (this.#opts.maxBreaks ?? 1000)) return;
    this.#breaks.push({ kind, seq, ...(toSeq !== undefined && toSeq !== seq && { toSeq }), recordId, message, ...(this.#where !== undefined && { where: this.#where }) });
  }
}

export function verifyRecords(records: Iterable<unknown>, opts: VerifyOptions): VerifyResult {
  const v = new ChainVerifier(opts);
  for (const r of records) v.push(r);
  return v.finish();
}

export async function verifyStream(records: AsyncIterable<unknown>, opts: VerifyOptions): Promise<VerifyResult> {
  const v = new ChainVerifier(opts);
  for await (const r of records) v.push(r);
  return v.finish();
}

function isRecord(v: unknown): v is AuditRecord {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Partial<AuditRecord>;
  return Number.isSafeInteger(r.seq) && (r.seq as number) >= 1 && typeof r.hash === 'string' && HEX64.test(r.hash) && typeof r.prev_hash === 'string' && HEX64.test(r.prev_hash);
}

/** A signed time as ISO 8601; outside the Date range (a hostile proof), the number itself. */
function iso(ms: number): string {
  return typeof ms === 'number' && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
