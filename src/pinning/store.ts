/**
 * Where tool pins live: one record per (upstream, tool).
 *
 * A record holds the definition its state is about:
 * - `approved`: the pinned definition; the tool is listed and callable.
 * - `pending`: a tool first seen under explicit approval; `hash`/`definition` are the candidate an
 *   operator may approve. Hidden and uncallable until then.
 * - `quarantined`: hidden and uncallable. Either the upstream changed an approved definition
 *   (`previousHash`/`previousDefinition` then hold the approved one it replaced, and
 *   `hash`/`definition` the changed candidate), or an operator put the tool on hold (`heldAt`;
 *   `hash` is the approved definition until the server changes it, then previous* hold it).
 *
 * Every write goes through a revision check (optimistic concurrency), because the gateway and the
 * `pins` CLI (and several gateway replicas sharing one database) write the same rows: an approval
 * must pin exactly the definition the operator reviewed, never one a server swapped in between.
 *
 * The state transitions operators trigger (approve, hold) are defined here once, as pure
 * functions, and every store applies them atomically.
 */
import type { ToolHash } from './canonical.ts';

export const PIN_STATES = ['approved', 'quarantined', 'pending'] as const;
export type PinState = (typeof PIN_STATES)[number];

/** A tool definition as listed (a JSON object). */
export type ToolDefinitionJson = Readonly<Record<string, unknown>>;

export interface PinRecord {
  readonly upstream: string;
  readonly tool: string;
  /** The definition this record's state is about (see the module comment). */
  readonly hash: ToolHash;
  readonly definition: ToolDefinitionJson;
  readonly state: PinState;
  /** When the gateway first saw this tool on this upstream (ms since epoch). */
  readonly firstSeen: number;
  /** When `state` or `hash` last changed. */
  readonly updatedAt: number;
  /** Of the approved definition: `hash`, or for a changed-and-quarantined tool, `previousHash`. */
  readonly approvedAt?: number | undefined;
  /** Who approved: an operator's name, or `trust-on-first-use`. */
  readonly approvedBy?: string | undefined;
  /**
   * Quarantined after a change: the approved definition `hash` would replace (the diff base).
   * Approved: the definition this approval superseded, kept for the record.
   */
  readonly previousHash?: ToolHash | undefined;
  readonly previousDefinition?: ToolDefinitionJson | undefined;
  /** Set while an operator holds the tool (quarantine by hand); cleared by approval. */
  readonly heldAt?: number | undefined;
  /** Incremented by every write; the compare-and-set token. */
  readonly revision: number;
}

/** A record to write: the store assigns the revision. */
export type PinDraft = Omit<PinRecord, 'revision'>;

export const TOFU_APPROVER = 'trust-on-first-use';

export type PinStoreErrorCode = 'not-found' | 'hash-mismatch' | 'closed';

export class PinStoreError extends Error {
  readonly code: PinStoreErrorCode;
  constructor(code: PinStoreErrorCode, message: string) {
    super(message);
    this.name = 'PinStoreError';
    this.code = code;
  }
}

export interface ApproveInput {
  upstream: string;
  tool: string;
  /** The definition the operator reviewed: approval fails if the candidate is another one. */
  hash: ToolHash;
  by: string;
  at: number;
}

export interface PinStore {
  get(upstream: string, tool: string): Promise<PinRecord | undefined>;
  /** All records, or one upstream's; ordered by upstream, then tool. */
  list(upstream?: string): Promise<PinRecord[]>;
  /**
   * Writes `draft` if the stored record still has `expectedRevision` (undefined: only if there is
   * no record yet). Returns the stored record, or undefined when someone else wrote first.
   */
  put(draft: PinDraft, expectedRevision: number | undefined): Promise<PinRecord | undefined>;
  /** Approves the candidate `hash` (see `approveTransition`). Throws PinStoreError. */
  approve(input: ApproveInput): Promise<PinRecord>;
  /** Puts an approved tool on hold: hidden and blocked until approved again. Throws PinStoreError. */
  quarantine(upstream: string, tool: string, at: number): Promise<PinRecord>;
  close(): Promise<void>;
}

/**
 * Approving pins the reviewed candidate. Idempotent for an already approved identical pin, so a
 * retried CLI command is harmless. The hash must match what is stored now: a definition the
 * server changed after the operator looked is a new candidate that needs its own review.
 */
export function approveTransition(rec: PinRecord | undefined, input: ApproveInput): PinDraft | 'unchanged' {
  const { upstream, tool, hash } = input;
  if (!rec) throw new PinStoreError('not-found', `no pin for tool "${tool}" on upstream "${upstream}"`);
  if (rec.hash !== hash) {
    throw new PinStoreError('hash-mismatch', `the definition of "${tool}" on "${upstream}" is now ${rec.hash}, not ${hash}: review it again`);
  }
  if (rec.state === 'approved') return 'unchanged';
  const { revision: _r, heldAt: _h, ...rest } = rec;
  return { ...rest, state: 'approved', updatedAt: input.at, approvedAt: input.at, approvedBy: input.by };
}

/**
 * An operator's hold: the tool is hidden and blocked whatever the server lists, until approved
 * again (the gateway's own restore-on-revert never lifts a hold). Only an approved tool can be
 * held; a quarantined or pending one is already hidden, so holding it changes nothing.
 * previous* are cleared: on an approved record they are history, and on a held record they would
 * mean "the server has changed the definition since".
 */
export function holdTransition(rec: PinRecord | undefined, upstream: string, tool: string, at: number): PinDraft | 'unchanged' {
  if (!rec) throw new PinStoreError('not-found', `no pin for tool "${tool}" on upstream "${upstream}"`);
  if (rec.state !== 'approved') return 'unchanged';
  const { revision: _r, previousHash: _h, previousDefinition: _d, ...rest } = rec;
  return { ...rest, state: 'quarantined', updatedAt: at, heldAt: at };
}

/** The approved definition a non-approved record falls back on (the diff base), if any. */
export function approvedBaseOf(rec: PinRecord): { hash: ToolHash; definition: ToolDefinitionJson } | undefined {
  if (rec.state === 'approved') return { hash: rec.hash, definition: rec.definition };
  if (rec.previousHash !== undefined && rec.previousDefinition !== undefined) return { hash: rec.previousHash, definition: rec.previousDefinition };
  if (rec.heldAt !== undefined) return { hash: rec.hash, definition: rec.definition };
  return undefined;
}

/** The draft without members set to undefined, so records compare alike whatever wrote them. */
export function compactDraft(d: PinDraft): PinDraft {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as unknown as PinDraft;
}
