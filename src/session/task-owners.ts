/**
 * Who created each task, so only they can read, steer or cancel it.
 *
 * MCP 2025-11-25 tasks (basic/utilities/tasks, Security): "When an authorization context is
 * provided, receivers MUST bind tasks to said context" and reject `tasks/get`, `tasks/result` and
 * `tasks/cancel` for tasks of another context. The gateway reaches an upstream with one credential
 * of its own for every caller (it never forwards the client's token), so the upstream sees one
 * context and cannot tell callers apart: the binding has to be kept here, by caller (callerKey:
 * the principal, or an anonymous caller's address). The 2026-07-28 tasks extension
 * (`io.modelcontextprotocol/tasks`: tasks/get, tasks/update, tasks/cancel) is bound the same way.
 *
 * Per process and in memory: a task created before a restart, or through another replica, is
 * unknown here and refused (fail closed) until a shared store exists.
 */

/** How long a binding is kept when the task says nothing about its lifetime. */
const DEFAULT_TTL_MS = 60 * 60 * 1000;
/** Never longer than this, whatever the upstream's task `ttl` says. */
const MAX_TTL_MS = 24 * 60 * 60 * 1000;

export interface TaskOwnersOptions {
  /** Most bindings kept; past it the oldest is forgotten (its task then refused). Default 100,000. */
  maxEntries?: number;
  /** Most bindings per caller: past it, that caller's oldest is forgotten, nobody else's. Default 1,000. */
  maxPerOwner?: number;
  now?: () => number;
}

export class TaskOwners {
  /** `route \0 taskId` → owner and expiry; Map order is insertion order (oldest first). */
  readonly #owners = new Map<string, { owner: string; expires: number }>();
  /** owner → its keys, oldest first: one caller creating tasks in bulk evicts only its own. */
  readonly #byOwner = new Map<string, Set<string>>();
  readonly #max: number;
  readonly #maxPerOwner: number;
  readonly #now: () => number;

  constructor(opts: TaskOwnersOptions = {}) {
    this.#max = opts.maxEntries ?? 100_000;
    this.#maxPerOwner = opts.maxPerOwner ?? 1_000;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Binds a task the upstream just created to its caller. A task id already bound to someone
   * else keeps its owner (an upstream reusing an id must not hand a task to a second caller).
   */
  bind(route: string, taskId: string, owner: string, ttlMs?: number): void {
    const key = `${route}\0${taskId}`;
    const now = this.#now();
    const current = this.#owners.get(key);
    if (current && current.expires > now && current.owner !== owner) return;
    const ttl = ttlMs !== undefined && Number.isFinite(ttlMs) && ttlMs > 0 ? Math.min(ttlMs, MAX_TTL_MS) : DEFAULT_TTL_MS;
    if (current) this.#forget(key);
    this.#owners.set(key, { owner, expires: now + ttl });
    let own = this.#byOwner.get(owner);
    if (!own) this.#byOwner.set(owner, (own = new Set()));
    own.add(key);
    while (own.size > this.#maxPerOwner) this.#forget(own.values().next().value!);
    while (this.#owners.size > this.#max) this.#forget(this.#owners.keys().next().value!);
  }

  #forget(key: string): void {
    const entry = this.#owners.get(key);
    if (!entry) return;
    this.#owners.delete(key);
    const own = this.#byOwner.get(entry.owner);
    own?.delete(key);
    if (own?.size === 0) this.#byOwner.delete(entry.owner);
  }

  /** Whether `owner` created the task (and the binding has not expired). */
  owns(route: string, taskId: string, owner: string): boolean {
    const key = `${route}\0${taskId}`;
    const entry = this.#owners.get(key);
    if (!entry) return false;
    if (entry.expires <= this.#now()) {
      this.#forget(key);
      return false;
    }
    return entry.owner === owner;
  }

  get size(): number {
    return this.#owners.size;
  }
}
