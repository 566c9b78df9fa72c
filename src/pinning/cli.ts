/**
 * `portcullis pins …`: review and approve tool definitions, working on the SQLite pin store
 * directly (the gateway reads it on every request, so an approval takes effect at once).
 *
 *   portcullis pins list [UPSTREAM] [--state approved|quarantined|pending] [--json]
 *   portcullis pins diff UPSTREAM TOOL
 *   portcullis pins approve UPSTREAM TOOL [--hash sha256:…] [--by NAME]
 *   portcullis pins quarantine UPSTREAM TOOL
 *   common: [--db PATH]   (env PORTCULLIS_PINS_DB, default .portcullis/pins.db)
 *
 * `approve --hash` pins only that exact definition: pass the hash `diff` printed, so a server that
 * changes the definition again between review and approval gets nothing approved. Without it,
 * the definition listed at that moment is approved (and its hash printed).
 *
 * Everything shown comes from an MCP server, the party pinning distrusts. Invisible and
 * terminal-driving characters (controls, bidi overrides, zero-width and Unicode tag characters,
 * variation selectors — the usual ways to hide instructions in a description) are shown as
 * `\u{…}` escapes, so the operator sees them instead of having them hidden or executed.
 *
 * Exit status: 0 success, 1 failed (no such pin, hash mismatch, no database), 2 usage error.
 */
import { parseArgs } from 'node:util';
import { canonicalJson, canonicalPretty, isToolHash } from './canonical.ts';
import { unifiedDiff } from './diff.ts';
import { DEFAULT_PIN_DB, SqlitePinStore } from './sqlite-store.ts';
import { approvedBaseOf, PIN_STATES, PinStoreError, type PinRecord, type PinState, type ToolDefinitionJson } from './store.ts';

export interface PinsCliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Clock for approval times. Default Date.now. */
  readonly now?: () => number;
}

const USAGE = `usage:
  portcullis pins list [UPSTREAM] [--state approved|quarantined|pending] [--json]
  portcullis pins diff UPSTREAM TOOL
  portcullis pins approve UPSTREAM TOOL [--hash sha256:...] [--by NAME]
  portcullis pins quarantine UPSTREAM TOOL
options:
  --db PATH    pin database (env PORTCULLIS_PINS_DB, default ${DEFAULT_PIN_DB})
  --hash H     approve only this definition (the hash 'diff' shows)
  --by NAME    who approves, recorded with the pin (env PORTCULLIS_APPROVER, else USER)
`;

class UsageError extends Error {}

export async function runPinsCli(argv: readonly string[], io: PinsCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        db: { type: 'string' },
        hash: { type: 'string' },
        by: { type: 'string' },
        state: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [command, ...args] = positionals;
  const path = values.db ?? io.env.PORTCULLIS_PINS_DB ?? DEFAULT_PIN_DB;
  let store: SqlitePinStore | undefined;
  try {
    switch (command) {
      case 'list': {
        if (args.length > 1) throw new UsageError(`unexpected argument "${args[1]}"`);
        const state = values.state;
        if (state !== undefined && !(PIN_STATES as readonly string[]).includes(state)) throw new UsageError(`--state must be one of ${PIN_STATES.join(', ')}`);
        store = new SqlitePinStore({ path, readOnly: true });
        const pins = (await store.list(args[0])).filter((p) => state === undefined || p.state === (state as PinState));
        io.stdout.write(values.json ? `${JSON.stringify(pins, null, 2)}\n` : renderList(pins));
        return 0;
      }
      case 'diff': {
        const [upstream, tool] = target(args);
        store = new SqlitePinStore({ path, readOnly: true });
        io.stdout.write(renderDiff(await found(store, upstream, tool)));
        return 0;
      }
      case 'approve': {
        const [upstream, tool] = target(args);
        const by = values.by ?? io.env.PORTCULLIS_APPROVER ?? io.env.USER ?? io.env.USERNAME;
        if (!by) throw new UsageError('--by NAME is required (or set PORTCULLIS_APPROVER)');
        if (values.hash !== undefined && !isToolHash(values.hash)) throw new UsageError('--hash must look like sha256:<64 hex digits>');
        store = new SqlitePinStore({ path, mustExist: true });
        const before = await found(store, upstream, tool);
        const rec = await store.approve({ upstream, tool, hash: values.hash ?? before.hash, by, at: (io.now ?? Date.now)() });
        const was = before.state === 'approved' ? 'already approved' : `was ${before.state}`;
        io.stdout.write(`approved ${show(tool)} on ${show(upstream)}: ${rec.hash} by ${show(rec.approvedBy ?? by)} (${was})\n`);
        return 0;
      }
      case 'quarantine': {
        const [upstream, tool] = target(args);
        store = new SqlitePinStore({ path, mustExist: true });
        const rec = await store.quarantine(upstream, tool, (io.now ?? Date.now)());
        io.stdout.write(`${show(tool)} on ${show(upstream)} is ${rec.state}: hidden and blocked until approved\n`);
        return 0;
      }
      case undefined:
        throw new UsageError('missing command');
      default:
        throw new UsageError(`unknown command "${show(command)}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message);
    io.stderr.write(`error: ${show((err as Error).message)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

function usage(io: PinsCliIo, message: string): number {
  io.stderr.write(`error: ${message}\n${USAGE}`);
  return 2;
}

function target(args: readonly string[]): [string, string] {
  const [upstream, tool, extra] = args;
  if (upstream === undefined || tool === undefined) throw new UsageError('UPSTREAM and TOOL are required');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${show(extra)}"`);
  return [upstream, tool];
}

async function found(store: SqlitePinStore, upstream: string, tool: string): Promise<PinRecord> {
  const rec = await store.get(upstream, tool);
  if (!rec) throw new PinStoreError('not-found', `no pin for tool "${tool}" on upstream "${upstream}" (see: portcullis pins list)`);
  return rec;
}

/**
 * Escapes what would hide text or drive the terminal: controls (Cc), format characters (Cf: bidi
 * overrides, zero-width, Unicode tags), private-use and unassigned code points, line/paragraph
 * separators, and variation selectors (usable to smuggle invisible bytes).
 */
export function show(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\u2028\u2029\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

function time(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text + ' '.repeat(width - chars.length) : `${chars.slice(0, width - 1).join('')}…`;
}

export function renderList(pins: readonly PinRecord[]): string {
  if (pins.length === 0) return 'No pins.\n';
  const cols: Array<[string, number, (p: PinRecord) => string]> = [
    ['UPSTREAM', 16, (p) => p.upstream],
    ['TOOL', 28, (p) => p.tool],
    ['STATE', 12, (p) => p.state + (p.heldAt !== undefined ? '*' : '')],
    ['HASH', 19, (p) => `${p.hash.slice(0, 19)}`],
    ['SINCE', 20, (p) => time(p.updatedAt)],
    ['APPROVED BY', 20, (p) => p.approvedBy ?? '-'],
  ];
  const row = (cells: string[]) => `${cells.join('  ').trimEnd()}\n`;
  let out = row(cols.map(([title, w]) => fit(title, w)));
  for (const p of pins) out += row(cols.map(([, w, get]) => fit(show(get(p)), w)));
  if (pins.some((p) => p.heldAt !== undefined)) out += '* held by an operator\n';
  return out;
}

/** Top-level members whose canonical value differs: the one-line answer to "what changed?". */
function changedMembers(a: ToolDefinitionJson, b: ToolDefinitionJson): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => (k in a ? canonicalJson(a[k]) : undefined) !== (k in b ? canonicalJson(b[k]) : undefined));
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function renderDiff(rec: PinRecord): string {
  const lines = [`upstream:  ${show(rec.upstream)}`, `tool:      ${show(rec.tool)}`];
  const base = approvedBaseOf(rec);
  const approveCmd = `  portcullis pins approve ${quote(show(rec.upstream))} ${quote(show(rec.tool))} --hash ${rec.hash}`;
  if (rec.state === 'approved') {
    lines.push(`state:     approved: nothing to review`, `approved:  ${rec.hash} by ${show(rec.approvedBy ?? '-')} at ${time(rec.approvedAt)}`, '');
    lines.push(...canonicalPretty(rec.definition).split('\n').map(show));
    return `${lines.join('\n')}\n`;
  }
  const why =
    rec.state === 'pending'
      ? 'pending: a new tool, hidden until approved'
      : rec.heldAt !== undefined
        ? `quarantined: held by an operator since ${time(rec.heldAt)}`
        : 'quarantined: the definition changed since it was approved';
  lines.push(`state:     ${why}`);
  if (base) lines.push(`approved:  ${base.hash} by ${show(rec.approvedBy ?? '-')} at ${time(rec.approvedAt)}`);
  lines.push(`listed:    ${rec.hash} since ${time(rec.updatedAt)}`);
  if (base && base.hash !== rec.hash) {
    lines.push(`changed:   ${changedMembers(base.definition, rec.definition).map(show).join(', ')}`, '');
    lines.push(`--- approved ${base.hash}`, `+++ listed   ${rec.hash}`);
    const diff = unifiedDiff(canonicalPretty(base.definition).split('\n'), canonicalPretty(rec.definition).split('\n'));
    lines.push(...diff.map(show));
  } else if (!base) {
    lines.push('', `+++ listed   ${rec.hash}`, ...canonicalPretty(rec.definition).split('\n').map((l) => `+${show(l)}`));
  } else {
    lines.push('', ...canonicalPretty(rec.definition).split('\n').map(show));
  }
  lines.push('', 'To approve the listed definition:', approveCmd);
  return `${lines.join('\n')}\n`;
}
