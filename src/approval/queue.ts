/**
 * The human-approval queue: calls waiting for an operator's yes or no.
 *
 * A caller (the approval inspector) files a request and awaits its `decision`; an operator lists
 * pending requests and approves or denies them through the admin API or CLI. Unanswered requests
 * resolve 'timeout' after their TTL, which the caller treats as a denial (fail closed).
 *
 * - Ids are 128 random bits (base64url): knowing one id reveals nothing about another, so an id
 *   leaked in a log cannot be used to guess and approve other requests.
 * - Pending requests are bounded (`maxPending`); beyond it `request` throws at once rather than
 *   queueing work no one will get to, since every pending request pins a waiting client call.
 * - Decided requests are remembered briefly (`maxDecided`) so a second approve/deny answers
 *   "already decided" (HTTP 409) instead of "unknown" (404).
 * - A request nobody can act on any more is withdrawn, not decided: its caller left (a call whose
 *   answer no one receives must not start) or the gateway is shutting down. It leaves the list
 *   at once; approving it afterwards is a 409 saying it was withdrawn, and nothing runs.
 * - The queue is per process. With several replicas, an operator must reach the replica holding
 *   the request; a shared queue is future work.
 */
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';
import { headOf } from './display.ts';

export type ApprovalDecision = 'approved' | 'denied' | 'timeout' | 'withdrawn';

/** Why a request was withdrawn before anyone decided it. */
export type WithdrawReason = 'client-disconnect' | 'shutdown';

export interface ApprovalRequest {
  /** `Principal.subject` of the caller. */
  readonly principal: string;
  readonly route: string;
  readonly tool: string;
  /** Arguments as the operator should see them: already redacted and truncated by the caller. */
  readonly argumentsPreview: string;
  /**
   * The whole arguments (canonical JSON, after redaction) for `get()` — the operator's detail
   * view — bounded by the caller (approval/review.ts FULL_LIMIT), with whether that cut them.
   */
  readonly arguments?: { readonly json: string; readonly cut: boolean; readonly length: number };
  /** One line saying why approval is needed. */
  readonly summary: string;
  /** Reason codes from the policy (`policy/needs-approval`, …). */
  readonly reasons: readonly string[];
  /** How long to wait for an operator. */
  readonly ttlMs: number;
}

export interface PendingApproval {
  readonly id: string;
  readonly principal: string;
  readonly route: string;
  readonly tool: string;
  readonly argumentsPreview: string;
  readonly summary: string;
  readonly reasons: readonly string[];
  /** ms since epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Emitted once per request when it is decided (for audit). */
export interface DecisionEvent {
  readonly request: PendingApproval;
  readonly decision: ApprovalDecision;
  /** Who decided, as they named themselves (absent for 'timeout' and 'withdrawn'). */
  readonly by?: string;
  readonly note?: string;
  /** Why it was withdrawn ('withdrawn' only). */
  readonly reason?: WithdrawReason;
  readonly decidedAt: number;
}

export type DecideResult =
  | { readonly ok: true; readonly event: DecisionEvent }
  | { readonly ok: false; readonly error: 'not_found' }
  | { readonly ok: false; readonly error: 'already_decided'; readonly decision: ApprovalDecision; readonly reason?: WithdrawReason };

/** Schedules `fn` after `ms`; returns a cancel function. Injectable so tests need no sleeping. */
export type Scheduler = (fn: () => void, ms: number) => () => void;

export interface ApprovalQueueOptions {
  /** Most requests pending at once. Default 100. */
  maxPending?: number;
  /** Longest TTL accepted. Default 1 h. */
  maxTtlMs?: number;
  /** Decided ids remembered for 409 answers. Default 1000. */
  maxDecided?: number;
  /** Longest preview/summary kept, in UTF-16 units (longer text is cut). Default 4096. */
  maxTextChars?: number;
  now?: () => number;
  schedule?: Scheduler;
}

/** `get()`'s view: the list view plus the whole arguments. */
export interface PendingApprovalDetail extends PendingApproval {
  readonly arguments?: { readonly json: string; readonly cut: boolean; readonly length: number };
}

interface Entry {
  readonly view: PendingApproval;
  readonly detail: PendingApprovalDetail;
  readonly resolve: (d: ApprovalDecision) => void;
  readonly cancelTimer: () => void;
}

const defaultScheduler: Scheduler = (fn, ms) => {
  const t = setTimeout(fn, ms);
  // A pending approval must not keep a shutting-down process alive.
  t.unref();
  return () => clearTimeout(t);
};

export class ApprovalQueue {
  readonly #pending = new Map<string, Entry>();
  readonly #decided = new Map<string, { decision: ApprovalDecision; reason?: WithdrawReason }>();
  readonly #listeners = new Set<(e: DecisionEvent) => void>();
  readonly #closeListeners = new Set<() => void>();
  #closed = false;
  readonly #maxPending: number;
  readonly #maxTtlMs: number;
  readonly #maxDecided: number;
  readonly #maxText: number;
  readonly #now: () => number;
  readonly #schedule: Scheduler;

  constructor(opts: ApprovalQueueOptions = {}) {
    this.#maxPending = opts.maxPending ?? 100;
    this.#maxTtlMs = opts.maxTtlMs ?? 60 * 60 * 1000;
    this.#maxDecided = opts.maxDecided ?? 1000;
    this.#maxText = opts.maxTextChars ?? 4096;
    this.#now = opts.now ?? Date.now;
    this.#schedule = opts.schedule ?? defaultScheduler;
    for (const [name, v] of [['maxPending', this.#maxPending], ['maxTtlMs', this.#maxTtlMs], ['maxDecided', this.#maxDecided], ['maxTextChars', this.#maxText]] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    }
  }

  /**
   * File a request. Throws GatewayError('approval_denied', …, { reason: 'queue_full' }) when
   * `maxPending` requests are already waiting, (…, { reason: 'shutdown' }) once the queue is
   * closed, and RangeError for a TTL outside (0, maxTtlMs].
   */
  request(input: ApprovalRequest): { id: string; decision: Promise<ApprovalDecision> } {
    if (this.#closed) {
      // Shutting down: nobody would be left to decide it.
      throw new GatewayError('approval_denied', 'the gateway is shutting down; the call was not run', { reason: 'shutdown' });
    }
    if (!Number.isFinite(input.ttlMs) || input.ttlMs <= 0 || input.ttlMs > this.#maxTtlMs) {
      throw new RangeError(`ttlMs must be in (0, ${this.#maxTtlMs}], got ${String(input.ttlMs)}`);
    }
    if (this.#pending.size >= this.#maxPending) {
      throw new GatewayError('approval_denied', `too many approvals pending (${this.#maxPending}); try again later`, { reason: 'queue_full' });
    }
    const id = `apr_${randomBytes(16).toString('base64url')}`;
    const createdAt = this.#now();
    const view: PendingApproval = Object.freeze({
      id,
      principal: this.#cut(input.principal),
      route: this.#cut(input.route),
      tool: this.#cut(input.tool),
      argumentsPreview: this.#cut(input.argumentsPreview),
      summary: this.#cut(input.summary),
      reasons: Object.freeze(input.reasons.map((r) => this.#cut(r))),
      createdAt,
      expiresAt: createdAt + input.ttlMs,
    });
    // Not cut by maxTextChars: the caller bounds it, and the operator must be able to read it all.
    const detail: PendingApprovalDetail = input.arguments ? Object.freeze({ ...view, arguments: Object.freeze({ ...input.arguments }) }) : view;
    let resolve!: (d: ApprovalDecision) => void;
    const decision = new Promise<ApprovalDecision>((r) => (resolve = r));
    const cancelTimer = this.#schedule(() => this.#decide(id, 'timeout'), input.ttlMs);
    this.#pending.set(id, { view, detail, resolve, cancelTimer });
    return { id, decision };
  }

  /** Pending requests, oldest first. */
  list(): PendingApproval[] {
    return [...this.#pending.values()].map((e) => e.view);
  }

  /** One pending request with its whole arguments (the list leaves them out: up to 64 KiB each). */
  get(id: string): PendingApprovalDetail | undefined {
    return this.#pending.get(id)?.detail;
  }

  approve(id: string, by: string, note?: string): DecideResult {
    return this.#decide(id, 'approved', by, note);
  }

  deny(id: string, by: string, note?: string): DecideResult {
    return this.#decide(id, 'denied', by, note);
  }

  /**
   * Take a request back before anyone decided it (its caller left). It resolves 'withdrawn' and
   * later decisions get already_decided with that decision; not_found / already_decided as for
   * approve when there is nothing pending to withdraw.
   */
  withdraw(id: string, reason: WithdrawReason): DecideResult {
    return this.#decide(id, 'withdrawn', undefined, undefined, reason);
  }

  /** Subscribe to decisions (audit). Returns the unsubscribe function. */
  onDecision(listener: (e: DecisionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Called once when the queue closes (shutdown): approvals asked some other way (elicitation)
   * end their wait too. Called at once if it is already closed. Returns the unsubscribe function.
   */
  onClose(listener: () => void): () => void {
    if (this.#closed) {
      listener();
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Shutdown: withdraw every pending request ('withdrawn', reason 'shutdown': callers fail closed,
   * none hang, and the record does not claim an operator timed out) and refuse new ones.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#pending.keys()]) this.withdraw(id, 'shutdown');
    for (const listener of [...this.#closeListeners]) {
      try {
        listener();
      } catch {
        // One waiter's failure must not keep the others waiting.
      }
    }
    this.#closeListeners.clear();
  }

  #decide(id: string, decision: ApprovalDecision, by?: string, note?: string, reason?: WithdrawReason): DecideResult {
    const entry = this.#pending.get(id);
    if (!entry) {
      const earlier = this.#decided.get(id);
      return earlier
        ? { ok: false, error: 'already_decided', decision: earlier.decision, ...(earlier.reason !== undefined ? { reason: earlier.reason } : {}) }
        : { ok: false, error: 'not_found' };
    }
    this.#pending.delete(id);
    entry.cancelTimer();
    this.#remember(id, decision, reason);
    const event: DecisionEvent = Object.freeze({
      request: entry.view,
      decision,
      ...(by !== undefined ? { by: this.#cut(by) } : {}),
      ...(note !== undefined ? { note: this.#cut(note) } : {}),
      ...(reason !== undefined ? { reason } : {}),
      decidedAt: this.#now(),
    });
    entry.resolve(decision);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // An audit sink's failure must not undo or block a decision already made.
      }
    }
    return { ok: true, event };
  }

  #remember(id: string, decision: ApprovalDecision, reason?: WithdrawReason): void {
    this.#decided.set(id, reason !== undefined ? { decision, reason } : { decision });
    if (this.#decided.size > this.#maxDecided) this.#decided.delete(this.#decided.keys().next().value!);
  }

  #cut(text: string): string {
    const s = String(text);
    return s.length <= this.#maxText ? s : `${headOf(s, this.#maxText - 1)}…`;
  }
}
