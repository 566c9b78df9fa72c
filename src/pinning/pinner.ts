/**
 * Tool pinning decisions: which listed tools a client may see and call, given what was approved.
 *
 * A "rug pull" is a server that gets a tool approved (by a person, or implicitly by being used)
 * and later changes its definition — typically the description, which the model reads as
 * instructions. Pinning makes every definition the model sees one that was approved:
 *
 * - `trust-on-first-use`: the first definition seen for a tool is pinned as approved; any later
 *   different definition is quarantined.
 * - `explicit`: every new tool starts `pending` (hidden) until an operator approves it; changes
 *   are quarantined as in TOFU.
 *
 * A quarantined or pending tool is removed from tools/list results and its calls are blocked until
 * an operator approves the definition now listed (`pins approve`, which pins the new hash). If the
 * server goes back to the approved definition by itself, the tool is restored: what it shows is
 * then exactly what was approved. An operator's hold is never lifted that way.
 *
 * Calls: a tool is callable only while its record is approved. A call naming a tool the gateway
 * has never seen listed is blocked in both modes. Under TOFU that is the secure reading of "first
 * use": trust is given to a definition, and a tool that was never listed through the gateway has
 * no verified definition (a server may keep a tool out of its listing on purpose). Clients list
 * before they call, so this costs nothing in practice.
 *
 * The pinner keeps no copy of the pins: every decision reads the store, so an approval written by
 * the CLI into the same database takes effect on the next request.
 */
import { toolHash, type ToolHash } from './canonical.ts';
import { approvedBaseOf, TOFU_APPROVER, type PinDraft, type PinRecord, type PinStore, type ToolDefinitionJson } from './store.ts';

export const PIN_MODES = ['trust-on-first-use', 'explicit'] as const;
export type PinMode = (typeof PIN_MODES)[number];

/**
 * Why a listed tool is hidden: `changed` (differs from the approved definition), `held` (an
 * operator put it on hold), `new-untrusted` (awaits a first approval, or the upstream exceeded the
 * tool limit), `invalid` (no name, a name listed twice, or not plain JSON: cannot be pinned).
 */
export type HiddenReason = 'changed' | 'held' | 'new-untrusted' | 'invalid';

export interface HiddenTool {
  tool: string;
  reason: HiddenReason;
  /** The approved definition's hash, when there is one. */
  oldHash?: ToolHash | undefined;
  /** The listed definition's hash (absent for `invalid`). */
  newHash?: ToolHash | undefined;
}

export interface CheckResult {
  /** The listed tools to show, in the listed order, untouched. */
  visible: unknown[];
  quarantined: HiddenTool[];
  newlyPinned: Array<{ tool: string; hash: ToolHash }>;
  /** Quarantined tools whose server went back to the approved definition. */
  restored: Array<{ tool: string; hash: ToolHash }>;
}

export type CallDecision =
  | { ok: true; hash: ToolHash }
  | { ok: false; reason: 'quarantined' | 'pending' | 'unseen'; hash?: ToolHash; approvedHash?: ToolHash };

export interface PinnerOptions {
  store: PinStore;
  mode: PinMode;
  now?: () => number;
  /** New tools beyond this many records per upstream are hidden, not stored (a hostile server could grow the store). */
  maxToolsPerUpstream?: number;
}

/** Compare-and-set retries before giving up (and failing closed) on a contended record. */
const MAX_ATTEMPTS = 3;

interface Listed {
  tool: string;
  hash: ToolHash;
  definition: ToolDefinitionJson;
}

/** What to do with one listed tool given its record. `write` is applied with a revision check. */
interface Decision {
  visible: boolean;
  write?: PinDraft;
  hidden?: HiddenTool;
  event?: 'pinned' | 'restored';
}

export class Pinner {
  readonly mode: PinMode;
  readonly #store: PinStore;
  readonly #now: () => number;
  readonly #maxTools: number;
  readonly #stale = new Map<string, number>();
  /** Re-checks in flight per upstream (after list_changed): calls wait for them. */
  readonly #rechecks = new Map<string, Promise<unknown>>();

  constructor(opts: PinnerOptions) {
    this.mode = opts.mode;
    this.#store = opts.store;
    this.#now = opts.now ?? Date.now;
    this.#maxTools = opts.maxToolsPerUpstream ?? 10_000;
  }

  get store(): PinStore {
    return this.#store;
  }

  /** Checks one tools/list result page's `tools` against the pins of `upstream`, pinning as the mode says. */
  async check(upstream: string, tools: readonly unknown[]): Promise<CheckResult> {
    const out: CheckResult = { visible: [], quarantined: [], newlyPinned: [], restored: [] };
    const listed = identify(tools);
    const records = new Map((await this.#store.list(upstream)).map((r) => [r.tool, r]));
    let count = records.size;
    for (let i = 0; i < tools.length; i++) {
      const entry = listed[i]!;
      if ('invalid' in entry) {
        out.quarantined.push({ tool: entry.invalid, reason: 'invalid' });
        continue;
      }
      let rec = records.get(entry.tool);
      if (!rec && count >= this.#maxTools) {
        out.quarantined.push({ tool: entry.tool, reason: 'new-untrusted', newHash: entry.hash });
        continue;
      }
      let d = this.#decide(upstream, rec, entry);
      for (let attempt = 1; d.write; attempt++) {
        const written = await this.#store.put(d.write, rec?.revision);
        if (written) break;
        // Someone else (another replica, the CLI) wrote this record since we read it: decide again.
        if (attempt >= MAX_ATTEMPTS) throw new Error(`pin store: record for "${entry.tool}" keeps changing, giving up`);
        rec = await this.#store.get(upstream, entry.tool);
        d = this.#decide(upstream, rec, entry);
      }
      if (!rec) count++;
      if (d.visible) out.visible.push(tools[i]);
      if (d.hidden) out.quarantined.push(d.hidden);
      if (d.event === 'pinned') out.newlyPinned.push({ tool: entry.tool, hash: entry.hash });
      if (d.event === 'restored') out.restored.push({ tool: entry.tool, hash: entry.hash });
    }
    // Whatever the server said before, this listing has now been verified tool by tool.
    this.#stale.delete(upstream);
    return out;
  }

  /**
   * A re-check of `upstream`'s whole list is under way (the gateway fetched it after
   * `list_changed`): calls to that upstream wait for it, so none slips through on a pin the
   * re-check is about to quarantine. Its failure is the caller's to report; calls then go on
   * against the last verified definitions.
   */
  recheck(upstream: string, work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#rechecks.set(upstream, settled);
    void settled.then(() => {
      if (this.#rechecks.get(upstream) === settled) this.#rechecks.delete(upstream);
    });
  }

  /** May `tool` on `upstream` be called now? Only an approved record allows it. */
  async callAllowed(upstream: string, tool: string): Promise<CallDecision> {
    const pending = this.#rechecks.get(upstream);
    if (pending) await pending;
    const rec = await this.#store.get(upstream, tool);
    if (!rec) return { ok: false, reason: 'unseen' };
    if (rec.state === 'approved') return { ok: true, hash: rec.hash };
    if (rec.state === 'pending') return { ok: false, reason: 'pending', hash: rec.hash };
    return { ok: false, reason: 'quarantined', hash: rec.hash, approvedHash: approvedBaseOf(rec)?.hash };
  }

  /** Approves the definition with `hash` (what the operator reviewed). Throws PinStoreError. */
  approve(upstream: string, tool: string, hash: ToolHash, by: string): Promise<PinRecord> {
    return this.#store.approve({ upstream, tool, hash, by, at: this.#now() });
  }

  /** Holds an approved tool: hidden and blocked until approved again. Throws PinStoreError. */
  quarantine(upstream: string, tool: string): Promise<PinRecord> {
    return this.#store.quarantine(upstream, tool, this.#now());
  }

  /**
   * The server announced `notifications/tools/list_changed`: stale until a listing is checked —
   * the gateway's own re-check (`recheck`, upstream-tools.ts) or the client's next tools/list.
   */
  markStale(upstream: string): void {
    if (!this.#stale.has(upstream)) this.#stale.set(upstream, this.#now());
  }

  /** Since when the upstream's tools changed without a re-check, if they did. */
  staleSince(upstream: string): number | undefined {
    return this.#stale.get(upstream);
  }

  #decide(upstream: string, rec: PinRecord | undefined, seen: Listed): Decision {
    const now = this.#now();
    const { tool, hash, definition } = seen;
    if (!rec) {
      const base = { upstream, tool, hash, definition, firstSeen: now, updatedAt: now };
      if (this.mode === 'trust-on-first-use') {
        return { visible: true, write: { ...base, state: 'approved', approvedAt: now, approvedBy: TOFU_APPROVER }, event: 'pinned' };
      }
      return { visible: false, write: { ...base, state: 'pending' }, hidden: { tool, reason: 'new-untrusted', newHash: hash } };
    }
    const { revision: _r, ...kept } = rec;
    if (rec.state === 'approved') {
      if (rec.hash === hash) return { visible: true };
      const write: PinDraft = { ...kept, state: 'quarantined', hash, definition, previousHash: rec.hash, previousDefinition: rec.definition, updatedAt: now };
      return { visible: false, write, hidden: { tool, reason: 'changed', oldHash: rec.hash, newHash: hash } };
    }
    if (rec.state === 'pending') {
      const hidden: HiddenTool = { tool, reason: 'new-untrusted', newHash: hash };
      // The candidate follows the listing, so what an operator reviews is what clients would get.
      return rec.hash === hash ? { visible: false, hidden } : { visible: false, write: { ...kept, hash, definition, updatedAt: now }, hidden };
    }
    // Quarantined. The approved definition is previous* (after a change) or, held and unchanged, hash.
    const held = rec.heldAt !== undefined;
    const approved = approvedBaseOf(rec);
    const hidden: HiddenTool = { tool, reason: held ? 'held' : 'changed', oldHash: approved?.hash, newHash: hash };
    if (!held && approved && approved.hash === hash) {
      const { previousHash: _h, previousDefinition: _d, ...rest } = kept;
      return { visible: true, write: { ...rest, state: 'approved', hash, definition: approved.definition, updatedAt: now }, event: 'restored' };
    }
    if (rec.hash === hash) return { visible: false, hidden };
    const write: PinDraft = {
      ...kept,
      hash,
      definition,
      ...(approved ? { previousHash: approved.hash, previousDefinition: approved.definition } : {}),
      updatedAt: now,
    };
    // A held tool the server changed and then changed back to what was held: no diff base left to keep.
    if (held && approved && approved.hash === hash) return { visible: false, write: { ...write, previousHash: undefined, previousDefinition: undefined }, hidden };
    return { visible: false, write, hidden };
  }
}

/**
 * Names and hashes every listed entry. Entries that cannot be pinned are marked invalid: not an
 * object with a string name, not plain JSON, or a name listed more than once in the page (a client
 * would pick one of the two definitions, and the pin could only vouch for one).
 */
function identify(tools: readonly unknown[]): Array<Listed | { invalid: string }> {
  const counts = new Map<string, number>();
  for (const t of tools) {
    const name = nameOf(t);
    if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return tools.map((t) => {
    const name = nameOf(t);
    if (name === undefined) return { invalid: '' };
    if (counts.get(name)! > 1) return { invalid: name };
    try {
      return { tool: name, hash: toolHash(t), definition: t as ToolDefinitionJson };
    } catch {
      return { invalid: name };
    }
  });
}

function nameOf(t: unknown): string | undefined {
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return undefined;
  const name = (t as Record<string, unknown>)['name'];
  return typeof name === 'string' ? name : undefined;
}
