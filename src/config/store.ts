/**
 * The live config: one immutable snapshot, replaced whole on a good reload.
 *
 * Atomicity: a snapshot (`config`, `version`, `hash`) is deep-frozen and published by a single
 * reference assignment, so a reader that takes `store.current` once per request sees either the
 * old config or the new one, never a mix, and nobody can edit it in place.
 *
 * Hot reload: `watch(path)` watches the file's *directory*, not the file. Editors save by writing
 * a temp file and renaming it over the original, and Kubernetes ConfigMaps swap a `..data`
 * symlink; a watch on the file itself would follow the old inode and go deaf after the first
 * save. Events are debounced (~100 ms) and reloads run one at a time. A bad edit keeps the last
 * good config and is reported on `error`; the next good edit is picked up normally.
 *
 * Unchanged content (a `touch`, duplicate watcher events) is not a reload: the file text is
 * compared first, then the config hash, and `version` only moves for a config that differs.
 *
 * Some settings (listener host/port) cannot change in a running process; applying a new
 * snapshot is the consumer's job — the store only says what the config now is.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { watch as fsWatch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Env } from './env.ts';
import { parseConfig, readConfigText } from './load.ts';
import type { Config } from './schema.ts';
import { canonicalJson } from '../core/canonical-json.ts';

export interface ConfigSnapshot {
  /** Deep-frozen. */
  readonly config: Config;
  /** 1 for the first accepted config, +1 for each accepted config that differs. */
  readonly version: number;
  /** sha256 (hex) of the config's canonical JSON (sorted keys, defaults applied, env substituted). */
  readonly hash: string;
  /** Where it came from: a file path, `<command line>`, … */
  readonly source: string;
}

export interface ConfigStoreEvents {
  reload: [config: Config, snapshot: ConfigSnapshot];
  error: [error: Error];
}

export interface WatchOptions {
  /** Quiet period after the last file event before reloading. Default 100 ms. */
  debounceMs?: number;
  /** Environment for `${VAR}` substitution. Default `process.env`. */
  env?: Env;
}

export function configHash(config: Config): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class ConfigStore extends EventEmitter<ConfigStoreEvents> {
  #snapshot: ConfigSnapshot | undefined;
  #lastError: Error | undefined;
  #path: string | undefined;
  #env: Env = process.env;
  #debounceMs = 100;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastText: string | undefined;
  /** Reloads run strictly one after another. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(initial?: Config, source = '<initial>') {
    super();
    if (initial) this.set(initial, source);
  }

  /** Loads `path` (throwing ConfigError when it is bad) and keeps watching it. */
  static async open(path: string, opts: WatchOptions = {}): Promise<ConfigStore> {
    const store = new ConfigStore();
    store.#configure(path, opts);
    const text = await readConfigText(path);
    store.set(parseConfig(text, path, store.#env), path);
    store.#lastText = text;
    store.watch(path, opts);
    return store;
  }

  /** The current snapshot. Take it once per unit of work. @throws if nothing was loaded yet. */
  get current(): ConfigSnapshot {
    if (!this.#snapshot) throw new Error('ConfigStore: no config loaded yet');
    return this.#snapshot;
  }

  get config(): Config {
    return this.current.config;
  }

  /** 0 until a config is accepted. */
  get version(): number {
    return this.#snapshot?.version ?? 0;
  }

  get hash(): string | undefined {
    return this.#snapshot?.hash;
  }

  /** The most recent reload failure, cleared by the next accepted config. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /**
   * Publishes `config` (already validated: from parseConfig, loadConfig or quickConfig) and emits
   * `reload`. Returns the new snapshot, or the current one (no event) when the config is unchanged.
   */
  set(config: Config, source: string): ConfigSnapshot {
    const hash = configHash(config);
    const prev = this.#snapshot;
    this.#lastError = undefined;
    if (prev && prev.hash === hash) return prev;
    const next: ConfigSnapshot = Object.freeze({ config: deepFreeze(structuredClone(config)), version: (prev?.version ?? 0) + 1, hash, source });
    this.#snapshot = next;
    this.emit('reload', next.config, next);
    return next;
  }

  /**
   * Watches `path` and reloads it on change. When nothing is loaded yet, loads it right away
   * (failures reported on `error`). Events: `reload` (config, snapshot) and `error` (ConfigError
   * or I/O error); without an `error` listener failures are only kept in `lastError` — a bad
   * edit must never crash a running gateway.
   */
  watch(path: string, opts: WatchOptions = {}): void {
    if (this.#closed) throw new Error('ConfigStore: closed');
    if (this.#watcher) throw new Error(`ConfigStore: already watching ${this.#path}`);
    this.#configure(path, opts);
    const name = basename(path);
    this.#watcher = fsWatch(dirname(path), (_event, filename) => {
      // null: the platform did not say which entry changed. `..`-prefixed: a ConfigMap swap.
      if (filename === null || filename === name || filename.startsWith('..')) this.#schedule();
    });
    this.#watcher.on('error', (err) => this.#report(err));
    if (!this.#snapshot) void this.reload();
  }

  /**
   * Re-reads the watched file now. Resolves true when a new config was published, false when the
   * content was unchanged or invalid (the error is reported on `error`).
   */
  reload(): Promise<boolean> {
    const run = this.#queue.then(() => this.#reloadOnce());
    this.#queue = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      this.#report(err);
      return false;
    });
  }

  /** Stops watching. The current snapshot stays readable. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #configure(path: string, opts: WatchOptions): void {
    this.#path = path;
    if (opts.env) this.#env = opts.env;
    if (opts.debounceMs !== undefined) this.#debounceMs = opts.debounceMs;
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), this.#debounceMs);
  }

  async #reloadOnce(): Promise<boolean> {
    const path = this.#path;
    if (this.#closed || path === undefined) return false;
    let text: string;
    try {
      text = await readConfigText(path);
    } catch (err) {
      this.#lastText = undefined;
      throw err;
    }
    if (this.#closed || text === this.#lastText) return false;
    this.#lastText = text;
    const config = parseConfig(text, path, this.#env);
    const before = this.#snapshot;
    return this.set(config, path) !== before;
  }

  #report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.#lastError = error;
    if (!this.#closed && this.listenerCount('error') > 0) this.emit('error', error);
  }
}
