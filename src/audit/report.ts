/**
 * The evidence report an auditor reads: what controls were in force, what the gateway decided,
 * and whether the record of it is intact. One self-contained HTML file: inline CSS, no scripts,
 * no external assets (a CSP meta tag forbids loading any), every value HTML-escaped, since
 * principals, tool names and reasons originate from clients and upstream servers.
 *
 * `EvidenceCollector` aggregates records in one streaming pass (the CLI feeds the verifier in the
 * same pass); the report holds counts and names only, never argument values or secrets.
 */
import type { Control, AuditRecord } from './record.ts';
import type { VerifyResult } from './verify.ts';
import { indexRecord } from './sink.ts';

type Counts = Record<string, number>;

export interface Evidence {
  generatedAt: number;
  source: string;
  scope: { from?: number | undefined; to?: number | undefined };
  observed: { first: number | undefined; last: number | undefined };
  records: number;
  byKind: Counts;
  callsByVerdict: Counts;
  blocksByReason: Counts;
  findings: Array<{ type: string; records: number; locations: number; redacted: number; blocked: number; observed: number }>;
  approvals: { byOutcome: Counts; recent: Array<{ time: number; principal: string; tool: string; outcome: string; by: string }> };
  servers: Array<{ name: string; calls: number }>;
  tools: Array<{ name: string; calls: number; blocked: number }>;
  principals: number;
  auth: { success: number; failure: number; failuresByReason: Counts };
  /** Requests refused at the edge (Origin / Host), by reason. */
  refusals: Counts;
  streams: { byEnd: Counts; partial: number };
  lifecycle: Array<{ time: number; activity: string; policyVersion: string | undefined }>;
  controls: Control[];
  policyVersions: string[];
  verification: VerifyResult;
  /** What the verification could not use (no keys, no gateway state): shown with its result. */
  notes: string[];
}

const inc = (c: Counts, k: string, n = 1) => void (c[k] = (c[k] ?? 0) + n);

export class EvidenceCollector {
  readonly #scope: { from?: number | undefined; to?: number | undefined };
  #records = 0;
  #first: number | undefined;
  #last: number | undefined;
  readonly #byKind: Counts = {};
  readonly #verdicts: Counts = {};
  readonly #blocks: Counts = {};
  readonly #findings = new Map<string, { records: number; locations: number; redacted: number; blocked: number; observed: number }>();
  readonly #approvals: Counts = {};
  readonly #recentApprovals: Evidence['approvals']['recent'] = [];
  readonly #servers = new Map<string, number>();
  readonly #tools = new Map<string, { calls: number; blocked: number }>();
  readonly #principals = new Set<string>();
  readonly #auth = { success: 0, failure: 0, failuresByReason: {} as Counts };
  readonly #refusals: Counts = {};
  readonly #streams = { byEnd: {} as Counts, partial: 0 };
  readonly #lifecycle: Evidence['lifecycle'] = [];
  #controls: Control[] = [];
  readonly #policies = new Set<string>();

  constructor(scope: { from?: number | undefined; to?: number | undefined } = {}) {
    this.#scope = scope;
  }

  add(r: AuditRecord): void {
    if (this.#scope.from !== undefined && r.time < this.#scope.from) return;
    if (this.#scope.to !== undefined && r.time > this.#scope.to) return;
    const ix = indexRecord(r);
    const u = r.unmapped as Record<string, unknown>;
    this.#records++;
    inc(this.#byKind, ix.kind || 'other');
    if (ix.kind === 'checkpoint' || ix.kind === 'gap' || ix.kind === 'anchor') return;
    // Observed range: gateway events only (housekeeping records carry their own signing time).
    this.#first = Math.min(this.#first ?? r.time, r.time);
    this.#last = Math.max(this.#last ?? r.time, r.time);
    if (ix.principal !== undefined && ix.kind !== 'lifecycle') this.#principals.add(ix.principal);
    const policy = (r['policy'] as { version?: unknown } | undefined)?.version;
    if (typeof policy === 'string') this.#policies.add(policy);
    switch (ix.kind) {
      case 'exchange': {
        const verdict = ix.verdict ?? 'unknown';
        inc(this.#verdicts, verdict);
        if (verdict === 'block') for (const reason of strings(u['reasons'], ['(no reason given)'])) inc(this.#blocks, reason);
        const server = (r['dst_endpoint'] as { svc_name?: unknown; hostname?: unknown } | undefined) ?? {};
        const serverName = typeof server.svc_name === 'string' ? server.svc_name : typeof server.hostname === 'string' ? server.hostname : undefined;
        if (serverName !== undefined) this.#servers.set(serverName, (this.#servers.get(serverName) ?? 0) + 1);
        if (ix.tool !== undefined) {
          const t = this.#tools.get(ix.tool) ?? { calls: 0, blocked: 0 };
          t.calls++;
          if (verdict === 'block') t.blocked++;
          this.#tools.set(ix.tool, t);
        }
        const approval = u['approval'] as { outcome?: unknown; by?: unknown } | undefined;
        if (approval && typeof approval.outcome === 'string') {
          inc(this.#approvals, approval.outcome);
          this.#recentApprovals.push({ time: r.time, principal: ix.principal ?? '', tool: ix.tool ?? '', outcome: approval.outcome, by: typeof approval.by === 'string' ? approval.by : '' });
          if (this.#recentApprovals.length > 50) this.#recentApprovals.shift();
        }
        break;
      }
      case 'finding': {
        const type = ix.findingTypes[0] ?? 'unknown';
        const f = this.#findings.get(type) ?? { records: 0, locations: 0, redacted: 0, blocked: 0, observed: 0 };
        f.records++;
        f.locations += typeof r['count'] === 'number' ? r['count'] : 0;
        const action = r['action_id'];
        if (action === 2) f.blocked++;
        else if (action === 4) f.redacted++;
        else f.observed++;
        this.#findings.set(type, f);
        break;
      }
      case 'auth': {
        if (r['status_id'] === 1) this.#auth.success++;
        else {
          this.#auth.failure++;
          inc(this.#auth.failuresByReason, typeof r['status_detail'] === 'string' ? r['status_detail'] : 'unknown');
        }
        break;
      }
      case 'refusal':
        inc(this.#refusals, typeof u['reason'] === 'string' ? u['reason'] : 'unknown');
        break;
      case 'stream': {
        const s = u['stream'] as { phase?: unknown; end?: unknown; partial?: unknown } | undefined;
        if (s?.phase === 'closed') {
          inc(this.#streams.byEnd, typeof s.end === 'string' ? s.end : 'unknown');
          if (s.partial === true) this.#streams.partial++;
        }
        break;
      }
      case 'lifecycle': {
        const pv = typeof u['policy_version'] === 'string' ? u['policy_version'] : undefined;
        if (pv !== undefined) this.#policies.add(pv);
        this.#lifecycle.push({ time: r.time, activity: String(r.activity_name), policyVersion: pv });
        if (this.#lifecycle.length > 200) this.#lifecycle.shift();
        // Values from the store, not trusted to have the shape the gateway writes.
        if (Array.isArray(u['controls'])) this.#controls = (u['controls'] as unknown[]).filter((c): c is Control => typeof c === 'object' && c !== null).map((c) => ({ name: String(c.name), detail: String(c.detail) }));
        break;
      }
      default:
        break;
    }
  }

  finish(verification: VerifyResult, meta: { source: string; now: number; notes?: readonly string[] }): Evidence {
    const sorted = <T>(m: Map<string, T>, by: (v: T) => number) => [...m].sort((a, b) => by(b[1]) - by(a[1]) || a[0].localeCompare(b[0]));
    return {
      generatedAt: meta.now,
      source: meta.source,
      scope: this.#scope,
      observed: { first: this.#first, last: this.#last },
      records: this.#records,
      byKind: this.#byKind,
      callsByVerdict: this.#verdicts,
      blocksByReason: this.#blocks,
      findings: sorted(this.#findings, (f) => f.records).map(([type, f]) => ({ type, ...f })),
      approvals: { byOutcome: this.#approvals, recent: this.#recentApprovals },
      servers: sorted(this.#servers, (n) => n).map(([name, calls]) => ({ name, calls })),
      tools: sorted(this.#tools, (t) => t.calls).map(([name, t]) => ({ name, ...t })),
      principals: this.#principals.size,
      auth: this.#auth,
      refusals: this.#refusals,
      streams: this.#streams,
      lifecycle: this.#lifecycle,
      controls: this.#controls,
      policyVersions: [...this.#policies],
      verification,
      notes: [...(meta.notes ?? [])],
    };
  }
}

function strings(v: unknown, fallback: string[]): string[] {
  return Array.isArray(v) && v.length > 0 ? v.map(String) : fallback;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// Outside the Date range toISOString throws: a hostile record must not stop the report.
const iso = (t: number | undefined) => (typeof t !== 'number' || !(Math.abs(t) <= 8.64e15) ? '—' : new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));

function table(head: string[], rows: Array<Array<string | number>>, empty = 'None recorded.'): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  // Numeric columns are right-aligned, their headings too.
  const th = head.map((h, i) => `<th${rows.every((r) => typeof r[i] === 'number') ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => (typeof c === 'number' ? `<td class="num">${c}</td>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

/** Label/value pairs, without a heading row. */
function facts(rows: Array<[string, string | number]>): string {
  return `<table class="facts"><tbody>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`).join('')}</tbody></table>`;
}

function bars(counts: Counts, empty: string): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  const max = Math.max(...entries.map(([, n]) => n));
  return `<table class="bars"><tbody>${entries
    .map(([k, n]) => `<tr><th>${escapeHtml(k)}</th><td class="num">${n}</td><td class="bar"><span style="width:${Math.round((n / max) * 100)}%"></span></td></tr>`)
    .join('')}</tbody></table>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;background:#f6f7f9}
main{max-width:1040px;margin:0 auto;padding:28px 32px 48px;background:#fff;min-height:100vh}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dde3;padding-bottom:4px}
.meta{color:#57606a;margin:0 0 16px}.meta code{font-size:12px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top;word-break:break-word}
thead th{background:#f0f2f5;font-weight:600}h3{font-size:14px;margin:14px 0 4px}.facts th{width:40%;font-weight:500}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bars th{width:30%;font-weight:500}.bars td.num{width:10%}.bar span{display:block;height:12px;background:#4f7cc3;border-radius:2px;min-width:2px}
.badge{display:inline-block;padding:3px 10px;border-radius:12px;font-weight:700;color:#fff}.pass{background:#1f883d}.fail{background:#cf222e}.warn{background:#9a6700}
.warnings{border-left:4px solid #9a6700;background:#fff8c5;padding:8px 12px 8px 28px;margin:8px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:8px 0}
.card{border:1px solid #d8dde3;border-radius:6px;padding:10px 12px}.card b{display:block;font-size:20px}.card span{color:#57606a;font-size:12px}
.empty{color:#57606a;font-style:italic}footer{margin-top:32px;color:#57606a;font-size:12px}
@media print{body{background:#fff}main{padding:0}}
`;

export function renderReport(e: Evidence): string {
  const v = e.verification;
  const calls = Object.values(e.callsByVerdict).reduce((a, b) => a + b, 0);
  const card = (n: number | string, label: string) => `<div class="card"><b>${escapeHtml(String(n))}</b><span>${escapeHtml(label)}</span></div>`;
  // A pass with warnings is not shown as a plain pass: a store cut down to a checkpoint verifies,
  // and the warning is the only sign an auditor gets of it.
  const warnings = v.warnings ?? [];
  const verdict = !v.ok
    ? `<span class="badge fail">FAILED</span> ${v.problems} problem(s) found in ${v.records} records${v.problems > v.breaks.length ? ` (the first ${v.breaks.length} listed)` : ''}.`
    : warnings.length > 0
      ? `<span class="badge warn">PASSED WITH WARNINGS</span> Every check on the ${v.records} records passed, but verification cannot rule out the following:`
      : `<span class="badge pass">PASSED</span> The chain of ${v.records} records is intact.`;
  const list = (items: readonly string[], cls: string) => (items.length ? `<ul class="${cls}">${items.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>` : '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portcullis audit evidence report</title>
<style>${CSS}</style>
</head>
<body><main>
<h1>Portcullis audit evidence report</h1>
<p class="meta">Generated ${escapeHtml(iso(e.generatedAt))} from <code>${escapeHtml(e.source)}</code>.
Scope: ${escapeHtml(e.scope.from === undefined && e.scope.to === undefined ? 'all records' : `${iso(e.scope.from)} to ${iso(e.scope.to)}`)};
records observed ${escapeHtml(iso(e.observed.first))} to ${escapeHtml(iso(e.observed.last))}.</p>
<div class="grid">${card(calls, 'calls decided')}${card(e.callsByVerdict['block'] ?? 0, 'calls blocked')}${card(e.findings.reduce((n, f) => n + f.records, 0), 'DLP findings')}${card(Object.values(e.approvals.byOutcome).reduce((a, b) => a + b, 0), 'approval decisions')}${card(e.principals, 'distinct principals')}${card(e.records, 'records in scope')}</div>

<h2>Chain verification</h2>
<p>${verdict}</p>
${list(warnings, 'warnings')}
${e.notes.length ? `<h3>Notes on this verification</h3>${list(e.notes, 'notes')}` : ''}
${facts([
  ['Records checked', v.records],
  ['First / last seq', `${v.firstSeq ?? '—'} / ${v.lastSeq ?? '—'}`],
  ['Anchored at', v.anchor === 'genesis' ? 'the first record (genesis)' : v.anchor === 'checkpoint' ? `signed checkpoint at seq ${v.firstSeq}` : v.anchor === 'retention-anchor' ? `signed retention anchor for seq ${v.firstSeq}` : 'no anchor'],
  ['Signed checkpoints', v.checkpoints],
  ['Last verified checkpoint', v.lastCheckpointSeq === undefined ? 'none' : `seq ${v.lastCheckpointSeq}`],
  ['Records after the last checkpoint', v.unsignedTail],
])}
${v.breaks.length ? `<h3>Problems</h3>${table(['Kind', 'Seq', 'Record id', 'What'], v.breaks.map((b) => [b.kind, b.toSeq !== undefined ? `${b.seq}..${b.toSeq}` : String(b.seq ?? '—'), b.recordId ?? '—', b.where ? `${b.message} (at ${b.where})` : b.message]))}` : ''}
${v.gaps.length ? `<h3>Known gaps (signed)</h3>${table(['Seq range', 'Records', 'Sink', 'Reason'], v.gaps.map((g) => [`${g.fromSeq}..${g.toSeq}`, g.count, g.sink, g.reason]))}` : ''}

<h2>Controls in force</h2>
<p>Policy version${e.policyVersions.length === 1 ? '' : 's'}: ${e.policyVersions.length ? e.policyVersions.map((p) => `<code>${escapeHtml(p)}</code>`).join(', ') : '<span class="empty">not recorded</span>'}</p>
${table(['Control', 'Setting'], e.controls.map((c) => [c.name, c.detail]), 'No gateway start or reload in scope recorded the controls.')}

<h2>Calls by verdict</h2>
${bars(e.callsByVerdict, 'No calls in scope.')}

<h2>Blocks by reason</h2>
${bars(e.blocksByReason, 'No calls were blocked.')}

<h2>DLP findings by type</h2>
${table(['Finding type', 'Messages', 'Locations', 'Redacted', 'Blocked', 'Observed'], e.findings.map((f) => [f.type, f.records, f.locations, f.redacted, f.blocked, f.observed]), 'No sensitive data was detected.')}

<h2>Approvals</h2>
${bars(e.approvals.byOutcome, 'No call required approval.')}
${e.approvals.recent.length ? `<h3>Most recent decisions (up to 50)</h3>` + table(['Time', 'Principal', 'Tool', 'Outcome', 'Decided by'], e.approvals.recent.map((a) => [iso(a.time), a.principal, a.tool, a.outcome, a.by || '—'])) : ''}

<h2>Servers and tools seen</h2>
${table(['Upstream server', 'Calls'], e.servers.map((s) => [s.name, s.calls]), 'No upstream recorded.')}
${table(['Tool / prompt / resource', 'Calls', 'Blocked'], e.tools.map((t) => [t.name, t.calls, t.blocked]), 'No tools recorded.')}

<h2>Authentication</h2>
${facts([['Successful', e.auth.success], ['Failed', e.auth.failure]])}
${bars(e.auth.failuresByReason, 'No authentication failures.')}
<h3>Requests refused at the edge (Origin / Host)</h3>
${bars(e.refusals, 'No request refused for its Origin or Host.')}

<h2>Streams</h2>
${bars(e.streams.byEnd, 'No streamed responses.')}
<p>Partial streams (cancelled, cut or failed, recorded with what was sent): ${e.streams.partial}</p>

<h2>Gateway lifecycle</h2>
${table(['Time', 'Event', 'Policy version'], e.lifecycle.map((l) => [iso(l.time), l.activity, l.policyVersion ?? '—']), 'No start, stop or reload in scope.')}

<footer>Records are OCSF ${escapeHtml('1.x')} events chained with SHA-256 and signed with Ed25519 checkpoints. This report holds counts, names and
finding types only: arguments and results appear in the audit trail as keyed digests, and matched secrets are never recorded.</footer>
</main></body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// The spreadsheet form of `audit export --format csv`: one row per record, its query fields and
// hash. Built to be opened in a spreadsheet safely (values come from clients and upstreams).

export const CSV_COLUMNS = ['seq', 'time', 'uid', 'class_uid', 'kind', 'principal', 'tool', 'verdict', 'finding_types', 'method', 'route', 'status', 'reasons', 'hash'] as const;

export function csvRow(r: AuditRecord): string {
  const ix = indexRecord(r);
  const u = r.unmapped as Record<string, unknown>;
  const api = r['api'] as { operation?: unknown } | undefined;
  const cells = [
    String(ix.seq),
    new Date(ix.time).toISOString(),
    ix.uid,
    String(ix.classUid),
    ix.kind,
    ix.principal ?? '',
    ix.tool ?? '',
    ix.verdict ?? '',
    ix.findingTypes.join(';'),
    typeof api?.operation === 'string' ? api.operation : '',
    typeof u['route'] === 'string' ? u['route'] : '',
    typeof r['status'] === 'string' ? r['status'] : '',
    Array.isArray(u['reasons']) ? u['reasons'].join(' ') : '',
    r.hash,
  ];
  // seq and class_uid are numbers the gateway wrote; every other cell is text.
  return cells.map((c, i) => (i === 0 || i === 3 ? c : csvCell(c))).join(',');
}

/**
 * A text cell: always quoted (RFC 4180 §2, inner quotes doubled), and with a leading apostrophe
 * before anything a spreadsheet would run as a formula (= + - @, tab, CR: OWASP "CSV injection";
 * tool names and principals come from clients). Not only at the start: a spreadsheet that splits
 * on ';' (the list separator in many locales) ignores the quotes around a cell holding one and
 * starts a new cell after each ';', so `search;=cmd|…` would still be a formula there. The same
 * goes after a ',' for readers that do not honour quotes. The apostrophe changes the text, as
 * OWASP's advice does; the JSON-lines export is the faithful copy.
 */
function csvCell(s: string): string {
  const v = s.replace(/(^|[;,])(?=[=+\-@\t\r])/g, "$1'");
  return `"${v.replace(/"/g, '""')}"`;
}
