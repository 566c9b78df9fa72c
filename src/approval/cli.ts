/**
 * `portcullis approvals …`: the operator's client for the admin approvals API (admin-api.ts).
 *
 *   portcullis approvals list  [--json]
 *   portcullis approvals show ID
 *   portcullis approvals approve ID [--by NAME] [--note TEXT]
 *   portcullis approvals deny    ID [--by NAME] [--note TEXT]
 *   common: [--admin URL] [--token T]
 *
 * Defaults come from the environment: PORTCULLIS_ADMIN_URL (else http://127.0.0.1:9090),
 * PORTCULLIS_ADMIN_TOKEN (else the per-run token a gateway started from this directory wrote to
 * `.portcullis/admin-token`, admin/local-token.ts), and for --by PORTCULLIS_APPROVER, USER or
 * USERNAME. Prefer the token variable to --token: command lines are visible to other local users
 * (`ps`).
 *
 * Everything printed from the server is sanitized: principals, tool names and argument previews
 * originate from MCP clients, and raw terminal escape sequences in them could rewrite what the
 * operator sees (e.g. hide a dangerous argument) before they approve.
 *
 * Exit status: 0 success, 1 request failed (including 404/409), 2 usage error.
 */
import { parseArgs } from 'node:util';
import { readLocalAdminToken } from '../admin/local-token.ts';
import { clean } from './display.ts';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Clock for ages in the table. Default Date.now. */
  readonly now?: () => number;
  /** Where a gateway's `.portcullis/admin-token` is looked for. Default the working directory. */
  readonly cwd?: string;
}

const USAGE = `usage:
  portcullis approvals list [--json]
  portcullis approvals show ID
  portcullis approvals approve ID [--by NAME] [--note TEXT]
  portcullis approvals deny ID [--by NAME] [--note TEXT]
options:
  --admin URL   admin API base (env PORTCULLIS_ADMIN_URL, default http://127.0.0.1:9090)
  --token T     admin bearer token (env PORTCULLIS_ADMIN_TOKEN; prefer the env variable)
  --by NAME     who decides, recorded for audit (env PORTCULLIS_APPROVER, else USER)
  --note TEXT   optional note recorded with the decision
`;

const REQUEST_TIMEOUT_MS = 10_000;

interface Pending {
  id: string;
  principal: string;
  route: string;
  tool: string;
  argumentsPreview: string;
  /** `approvals show` only (GET /approvals/:id): the whole arguments, canonical JSON. */
  arguments?: { json: string; cut: boolean; length: number };
  summary: string;
  reasons: string[];
  createdAt: number;
  expiresAt: number;
}

class UsageError extends Error {}

export async function runApprovalsCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        admin: { type: 'string' },
        token: { type: 'string' },
        by: { type: 'string' },
        note: { type: 'string' },
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
  const [command, id, ...extra] = positionals;
  try {
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const base = adminBase(values.admin ?? io.env.PORTCULLIS_ADMIN_URL ?? 'http://127.0.0.1:9090');
    // An empty variable is unset; without either, the token a gateway started here wrote — for a
    // loopback admin URL only: a local token is never sent to another host.
    const token = values.token || io.env.PORTCULLIS_ADMIN_TOKEN || (isLoopbackUrl(base) ? readLocalAdminToken(io.cwd ?? process.cwd()) : undefined);
    const client = new AdminClient(base, token, io.fetch ?? fetch);
    switch (command) {
      case 'list': {
        if (id !== undefined) throw new UsageError('list takes no ID');
        const body = (await client.call('GET', 'approvals')) as { approvals: Pending[] };
        if (values.json) io.stdout.write(`${JSON.stringify(body.approvals, null, 2)}\n`);
        else io.stdout.write(renderTable(body.approvals, (io.now ?? Date.now)()));
        return 0;
      }
      case 'show': {
        const p = (await client.call('GET', `approvals/${encodeURIComponent(requireId(id))}`)) as Pending;
        io.stdout.write(renderDetails(p, (io.now ?? Date.now)()));
        return 0;
      }
      case 'approve':
      case 'deny': {
        const target = requireId(id);
        const by = values.by ?? io.env.PORTCULLIS_APPROVER ?? io.env.USER ?? io.env.USERNAME;
        if (!by) throw new UsageError('--by NAME is required (or set PORTCULLIS_APPROVER)');
        const result = (await client.call('POST', `approvals/${encodeURIComponent(target)}/${command}`, {
          by,
          ...(values.note !== undefined ? { note: values.note } : {}),
        })) as { decision: string };
        io.stdout.write(`${clean(target)} ${clean(String(result.decision))} by ${clean(by)}\n`);
        return 0;
      }
      case undefined:
        throw new UsageError('missing command');
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message);
    io.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

function usage(io: CliIo, message: string): number {
  io.stderr.write(`error: ${message}\n${USAGE}`);
  return 2;
}

function requireId(id: string | undefined): string {
  if (!id) throw new UsageError('missing approval ID');
  return id;
}

function adminBase(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--admin: "${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--admin must be an http:// or https:// URL');
  // A trailing slash makes relative resolution keep any path prefix (a proxy mount point).
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

class AdminClient {
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(base: URL, token: string | undefined, fetchImpl: typeof fetch) {
    this.#base = base;
    this.#token = token;
    this.#fetch = fetchImpl;
  }

  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.#base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new Error(`cannot reach the admin API at ${this.#base.origin}: ${cause}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok && json !== undefined) return json;
    const message = (json as { message?: unknown } | undefined)?.message;
    const detail = typeof message === 'string' ? clean(message) : `unexpected response`;
    const hint = res.status === 401 ? ' (pass --token or set PORTCULLIS_ADMIN_TOKEN)' : '';
    const decision = (json as { decision?: unknown } | undefined)?.decision;
    // A withdrawn approval's message already says so ("…withdrawn before a decision…").
    const already = res.status === 409 && typeof decision === 'string' && decision !== 'withdrawn' ? ` as ${clean(decision)}` : '';
    throw new Error(`${detail}${already} (HTTP ${res.status})${hint}`);
  }
}


function fit(text: string, width: number): string {
  const s = clean(text);
  const chars = [...s];
  return chars.length <= width ? s + ' '.repeat(width - chars.length) : `${chars.slice(0, width - 1).join('')}…`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const COLUMNS = [
  ['ID', 26, (p: Pending) => p.id],
  ['AGE', 7, (p: Pending, now: number) => duration(now - p.createdAt)],
  ['EXPIRES', 7, (p: Pending, now: number) => duration(p.expiresAt - now)],
  ['PRINCIPAL', 20, (p: Pending) => p.principal],
  ['ROUTE', 12, (p: Pending) => p.route],
  ['TOOL', 20, (p: Pending) => p.tool],
  ['SUMMARY', 48, (p: Pending) => p.summary],
] as const;

export function renderTable(items: readonly Pending[], now: number): string {
  if (!Array.isArray(items) || items.length === 0) return 'No pending approvals.\n';
  const row = (cells: string[]) => `${cells.join('  ').trimEnd()}\n`;
  let out = row(COLUMNS.map(([title, width]) => fit(title, width)));
  for (const p of items) out += row(COLUMNS.map(([, width, get]) => fit(String(get(p, now)), width)));
  return out;
}

function renderDetails(p: Pending, now: number): string {
  const lines = [
    `id:         ${clean(p.id)}`,
    `principal:  ${clean(p.principal)}`,
    `route:      ${clean(p.route)}`,
    `tool:       ${clean(p.tool)}`,
    `summary:    ${clean(p.summary)}`,
    `reasons:    ${(p.reasons ?? []).map(clean).join(', ')}`,
    `age:        ${duration(now - p.createdAt)}, expires in ${duration(p.expiresAt - now)}`,
    ...(p.arguments ? wholeArguments(p.arguments) : ['arguments:', ...String(p.argumentsPreview).split('\n').map((l) => `  ${clean(l)}`)]),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The whole arguments, one member per line (the preview cuts values; an approver deciding on a
 * call must be able to read every character of it). Cut only past the gateway's bound, and then
 * said so.
 */
function wholeArguments(a: { json: string; cut: boolean; length: number }): string[] {
  let text = String(a.json);
  if (!a.cut) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Shown as sent.
    }
  }
  const head = a.cut ? `arguments (the first ${text.length} of ${a.length} characters; the rest is not shown anywhere):` : `arguments (${a.length} characters):`;
  return [head, ...text.split('\n').map((l) => `  ${clean(l)}`)];
}

function isLoopbackUrl(u: URL): boolean {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
