/**
 * The default pin store: one SQLite database (node:sqlite), default `.portcullis/pins.db`.
 *
 * - WAL (https://sqlite.org/wal.html) lets the `pins` CLI read and approve while a gateway
 *   reads on every tools/call; `busy_timeout` makes the rare overlapping writes wait instead of
 *   failing. An approval written by the CLI is seen by the running gateway on its next read:
 *   nothing is cached in the gateway, so there is no staleness to reason about.
 * - `synchronous=FULL`: writes happen only when a definition changes or is approved, so their
 *   cost does not matter, and a lost approval or quarantine after a power cut is worth avoiding.
 * - Every write is a compare-and-set on `revision` (see store.ts); approve and quarantine read,
 *   check and write inside one `BEGIN IMMEDIATE` transaction, so they are atomic across processes.
 * - Schema changes are numbered migrations recorded in `pin_schema_migrations`; a database written
 *   by a newer version is refused rather than misread.
 *
 * node:sqlite is synchronous: each call blocks the event loop for one indexed primary-key lookup
 * (microseconds), which is why the gateway can afford to read the store on every call.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { canonicalJson, type ToolHash } from './canonical.ts';
import {
  approveTransition,
  holdTransition,
  PinStoreError,
  type ApproveInput,
  type PinDraft,
  type PinRecord,
  type PinState,
  type PinStore,
  type ToolDefinitionJson,
} from './store.ts';

export const DEFAULT_PIN_DB = '.portcullis/pins.db';

export interface SqlitePinStoreOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** Open for reading only (list, diff): never creates or migrates. */
  readOnly?: boolean;
  /** Refuse to create a new database (the CLI: a mistyped --db must not look like "no pins"). */
  mustExist?: boolean;
}

/** Index = version - 1. Append only: a released migration is never edited. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tool_pins (
    upstream TEXT NOT NULL,
    tool TEXT NOT NULL,
    hash TEXT NOT NULL,
    definition TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('approved', 'quarantined', 'pending')),
    first_seen INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    approved_at INTEGER,
    approved_by TEXT,
    previous_hash TEXT,
    previous_definition TEXT,
    held_at INTEGER,
    revision INTEGER NOT NULL,
    PRIMARY KEY (upstream, tool)
  ) STRICT;`,
];

const COLUMNS =
  'upstream, tool, hash, definition, state, first_seen, updated_at, approved_at, approved_by, previous_hash, previous_definition, held_at, revision';

interface Row {
  upstream: string;
  tool: string;
  hash: string;
  definition: string;
  state: string;
  first_seen: number;
  updated_at: number;
  approved_at: number | null;
  approved_by: string | null;
  previous_hash: string | null;
  previous_definition: string | null;
  held_at: number | null;
  revision: number;
}

export class SqlitePinStore implements PinStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #listAll: StatementSync;
  readonly #listOne: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;
  #closed = false;

  constructor(opts: SqlitePinStoreOptions) {
    this.path = opts.path;
    const memory = opts.path === ':memory:';
    if ((opts.readOnly || opts.mustExist) && !memory && !existsSync(opts.path)) {
      throw new PinStoreError('not-found', `no pin database at ${opts.path}`);
    }
    if (!opts.readOnly && !memory) mkdirSync(dirname(opts.path), { recursive: true });
    this.#db = new DatabaseSync(opts.path, opts.readOnly ? { readOnly: true } : {});
    try {
      this.#db.exec('PRAGMA busy_timeout = 2000;');
      if (opts.readOnly) this.#checkVersion();
      else {
        this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
        this.#migrate();
      }
      this.#get = this.#db.prepare(`SELECT ${COLUMNS} FROM tool_pins WHERE upstream = ? AND tool = ?`);
      this.#listAll = this.#db.prepare(`SELECT ${COLUMNS} FROM tool_pins ORDER BY upstream, tool`);
      this.#listOne = this.#db.prepare(`SELECT ${COLUMNS} FROM tool_pins WHERE upstream = ? ORDER BY tool`);
      this.#insert = this.#db.prepare(`INSERT INTO tool_pins (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT DO NOTHING`);
      this.#update = this.#db.prepare(
        `UPDATE tool_pins SET hash = ?, definition = ?, state = ?, first_seen = ?, updated_at = ?, approved_at = ?, approved_by = ?,
           previous_hash = ?, previous_definition = ?, held_at = ?, revision = revision + 1
         WHERE upstream = ? AND tool = ? AND revision = ?`,
      );
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  async get(upstream: string, tool: string): Promise<PinRecord | undefined> {
    this.#open();
    return this.#read(upstream, tool);
  }

  async list(upstream?: string): Promise<PinRecord[]> {
    this.#open();
    const rows = (upstream === undefined ? this.#listAll.all() : this.#listOne.all(upstream)) as unknown as Row[];
    return rows.map(fromRow);
  }

  async put(draft: PinDraft, expectedRevision: number | undefined): Promise<PinRecord | undefined> {
    this.#open();
    return this.#write(draft, expectedRevision) ? this.#read(draft.upstream, draft.tool) : undefined;
  }

  async approve(input: ApproveInput): Promise<PinRecord> {
    this.#open();
    return this.#transaction(() => {
      const rec = this.#read(input.upstream, input.tool);
      const next = approveTransition(rec, input);
      if (next !== 'unchanged') this.#write(next, rec!.revision);
      return this.#read(input.upstream, input.tool)!;
    });
  }

  async quarantine(upstream: string, tool: string, at: number): Promise<PinRecord> {
    this.#open();
    return this.#transaction(() => {
      const rec = this.#read(upstream, tool);
      const next = holdTransition(rec, upstream, tool, at);
      if (next !== 'unchanged') this.#write(next, rec!.revision);
      return this.#read(upstream, tool)!;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #read(upstream: string, tool: string): PinRecord | undefined {
    const row = this.#get.get(upstream, tool) as unknown as Row | undefined;
    return row && fromRow(row);
  }

  /** Compare-and-set; true when the row was written. */
  #write(d: PinDraft, expectedRevision: number | undefined): boolean {
    const values = [
      d.hash,
      canonicalJson(d.definition),
      d.state,
      d.firstSeen,
      d.updatedAt,
      d.approvedAt ?? null,
      d.approvedBy ?? null,
      d.previousHash ?? null,
      d.previousDefinition === undefined ? null : canonicalJson(d.previousDefinition),
      d.heldAt ?? null,
    ] as const;
    const r = expectedRevision === undefined ? this.#insert.run(d.upstream, d.tool, ...values) : this.#update.run(...values, d.upstream, d.tool, expectedRevision);
    return r.changes === 1;
  }

  #transaction<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Applies the migrations this database lacks, in one transaction (two processes may race here). */
  #migrate(): void {
    this.#db.exec('CREATE TABLE IF NOT EXISTS pin_schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;');
    this.#transaction(() => {
      const have = this.#version();
      for (let v = have + 1; v <= MIGRATIONS.length; v++) {
        this.#db.exec(MIGRATIONS[v - 1]!);
        this.#db.prepare('INSERT INTO pin_schema_migrations (version, applied_at) VALUES (?, ?)').run(v, Date.now());
      }
    });
  }

  #checkVersion(): void {
    const exists = this.#db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'pin_schema_migrations'").get();
    if (!exists) throw new PinStoreError('not-found', `${this.path} is not a pin database`);
    if (this.#version() < MIGRATIONS.length) throw new PinStoreError('not-found', `${this.path} predates this version: open it once read-write to migrate`);
  }

  #version(): number {
    const row = this.#db.prepare('SELECT max(version) AS v FROM pin_schema_migrations').get() as { v: number | null } | undefined;
    const v = row?.v ?? 0;
    if (v > MIGRATIONS.length) {
      throw new Error(`pin database ${this.path} has schema version ${v}; this Portcullis knows up to ${MIGRATIONS.length}: upgrade it`);
    }
    return v;
  }

  #open(): void {
    if (this.#closed) throw new PinStoreError('closed', 'pin store is closed');
  }
}

function fromRow(r: Row): PinRecord {
  return {
    upstream: r.upstream,
    tool: r.tool,
    hash: r.hash as ToolHash,
    definition: JSON.parse(r.definition) as ToolDefinitionJson,
    state: r.state as PinState,
    firstSeen: r.first_seen,
    updatedAt: r.updated_at,
    ...(r.approved_at !== null ? { approvedAt: r.approved_at } : {}),
    ...(r.approved_by !== null ? { approvedBy: r.approved_by } : {}),
    ...(r.previous_hash !== null ? { previousHash: r.previous_hash as ToolHash } : {}),
    ...(r.previous_definition !== null ? { previousDefinition: JSON.parse(r.previous_definition) as ToolDefinitionJson } : {}),
    ...(r.held_at !== null ? { heldAt: r.held_at } : {}),
    revision: r.revision,
  };
}
