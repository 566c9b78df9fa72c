/**
 * Tool-poisoning scan of a server's tools/list (and prompt / resource descriptions).
 *
 * A tool description is read by the model as instructions, so a malicious server can hide
 * instructions there ("Invariant Labs, MCP Security Notification: Tool Poisoning Attacks", 2025):
 * `<IMPORTANT>` blocks telling the model to read ~/.ssh/id_rsa and pass it in a side parameter,
 * "do not tell the user", directions that steer how OTHER tools are used ("when sending email,
 * always BCC …", shadowing), URLs to send data to, invisible Unicode, ANSI escapes that hide text
 * in terminals, or simply a description far longer than any real one. Every string of the
 * definition is checked (name, title, description, and all schema titles, descriptions, defaults,
 * enum values and property names), since attacks also hide in parameter descriptions.
 *
 * Verdict per tool: `poisoned` when the combined score reaches 0.8, `suspicious` from 0.4.
 */
import { scoreNormalized } from './injection.ts';
import { normalize } from './normalize.ts';

export type PoisoningVerdict = 'poisoned' | 'suspicious' | 'clean';

export interface ToolDefinition {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema?: unknown;
  readonly outputSchema?: unknown;
  readonly annotations?: unknown;
}

export interface PoisoningReason {
  readonly type: string;
  readonly weight: number;
  /** Where: `name`, `description`, `inputSchema/properties/x/description`, … */
  readonly field: string;
  /** UTF-16 offsets inside that field's string, when the reason points at text. */
  readonly start?: number;
  readonly end?: number;
  /** Short explanation (never secret material). */
  readonly detail?: string;
}

export interface DefinitionVerdict {
  readonly kind: 'tool' | 'prompt' | 'resource';
  readonly name: string;
  readonly verdict: PoisoningVerdict;
  readonly score: number;
  readonly reasons: PoisoningReason[];
}

export interface PoisoningOptions {
  /** Longer descriptions are suspicious (default 4096 characters). */
  readonly maxDescriptionLength?: number;
  /** This server's name, to exclude it from `upstreams`. */
  readonly upstream?: string;
  /** Tool names of the other upstreams on the route: upstream → names. */
  readonly upstreams?: ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>;
  readonly poisonedAt?: number;
  readonly suspiciousAt?: number;
}

export const DEFAULT_MAX_DESCRIPTION = 4096;

interface TextRule {
  readonly type: string;
  readonly re: RegExp;
  readonly weight: number;
}

const TEXT_RULES: readonly TextRule[] = [
  { type: 'hidden-instruction-tag', re: /<\/?(?:important|system|instructions?|secret|hidden|admin|context|note_to_(?:ai|assistant|model))>|\[(?:important|system|hidden)\]|<!--[^>]{0,400}(?:ignore|instruction|assistant|model|must|do not)[^>]{0,400}-->/gi, weight: 0.75 },
  { type: 'concealment', re: /\b(?:do not|don't|never|must not|without)\b[^.\n]{0,30}\b(?:tell|telling|inform|informing|mention|mentioning|reveal|revealing|notify|notifying|alert|alerting|show|showing|ask|asking|confirm|confirming)\b[^.\n]{0,25}\b(?:the )?user\b|\bthe user (?:must|should|does|need) not (?:know|see|be told|notice|be aware)|\b(?:silently|secretly|covertly|quietly)\b[^.\n]{0,40}\b(?:send|read|call|include|forward|copy|add|change|pass)|\bkeep (?:this|it) (?:secret|hidden|confidential)\b|\b(?:this|it) is (?:very |extremely )?important that (?:you|the user)|\b(?:will|would|could) (?:upset|scare|worry|confuse) the user\b|\bdon't worry about it\b/gi, weight: 0.9 },
  { type: 'sensitive-file', re: /~\/\.ssh|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|\.aws\/credentials|\/etc\/(?:passwd|shadow)|\bmcp\.json\b|claude_desktop_config|\.cursor\/|\.netrc\b|\.npmrc\b|\.git-credentials|\.kube\/config|\.docker\/config\.json|\.env\b(?!ironment)|\bkeychain\b|\bprivate key|\bwallet\.dat\b|\bseed phrase\b/gi, weight: 0.7 },
  { type: 'data-smuggling', re: /\b(?:read|cat|open|load|include|pass|send|provide|attach|append|put|copy|paste|embed|supply)\b[^.\n]{0,40}\b(?:contents?|content of|text of|the file|entire|full|whole|all (?:previous|prior) (?:messages|conversation))\b[^.\n]{0,60}\b(?:as|in|into|via|through) (?:the |a |an )?['"`]?\w{0,30}['"`]? ?(?:parameter|param|argument|arg|field|variable|sidenote|note)\b|\b(?:conversation|chat) history\b|\bprevious (?:messages|conversation)\b/gi, weight: 0.75 },
  { type: 'tool-steering', re: /\bbefore (?:using|calling|invoking|running|executing) (?:this|any|the|other|each)\b[^.\n]{0,40}\b(?:you )?(?:must|should|always|first|need to|have to)\b[^.\n]{0,20}\b(?:call|use|invoke|run|read|execute)\b|\binstead of (?:using |calling |invoking )?`?[\w.-]{2,64}`?,? (?:always )?(?:use|call|invoke|prefer)\b|\b(?:always|must|should) (?:first )?(?:call|use|invoke|run|execute) (?:the )?`?[\w.-]{2,64}`? (?:tool )?(?:before|first|prior to|instead)\b|\bwhen(?:ever)? (?:the user|you|anyone) (?:asks?|calls?|uses?|invokes?|requests?|wants?) [^.\n]{0,60}\b(?:instead|redirect|replace|change|also|always)\b|\b(?:this|the) tool (?:must|should) (?:always )?be (?:called|used|invoked) (?:before|first|instead)|\b(?:overrides?|replaces?|supersedes?) (?:the )?(?:behavior|behaviour|functionality) of\b|\bother tools?\b[^.\n]{0,40}\b(?:must|should|will|need to)\b/gi, weight: 0.6 },
  { type: 'behavior-modification', re: /\b(?:change|replace|set|redirect|rewrite|modify|override)\b[^.\n]{0,30}\b(?:the )?(?:recipient|to address|destination|target (?:account|address|url)|endpoint|bcc|cc field|webhook|receiving account|beneficiary)\b|\ball (?:emails?|messages?|requests?|payments?|transfers?) (?:must|should|will|need to) (?:be sent|go|be forwarded|be routed|be copied)\b|\b(?:bcc|cc|copy|forward)\b[^.\n]{0,30}\b(?:to|at) [\w.+-]{1,64}@[\w.-]{1,253}/gi, weight: 0.85 },
  { type: 'exfiltration-url', re: /https?:\/\/(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[\w.-]{0,100}(?:webhook\.site|requestbin|pipedream|ngrok|burpcollaborator|interact\.sh|oast\.\w+|pastebin|transfer\.sh|hookbin|beeceptor|requestcatcher|discord(?:app)?\.com\/api\/webhooks))[^\s"'<>)]{0,500}|https?:\/\/[^\s"'<>)]{1,200}[?&][\w-]{1,40}=(?:\{[^}\s]{1,40}\}|\$\{?[\w.]{1,40}\}?|<[\w ]{1,40}>)/gi, weight: 0.85 },
  { type: 'exfiltration-request', re: /\b(?:send|post|upload|forward|transmit|report|submit|exfiltrate)\b[^.\n]{0,60}\b(?:to|at)\b[^.\n]{0,10}(?:https?:\/\/|www\.|[\w.+-]{1,64}@[\w-]{1,63}\.)/gi, weight: 0.7 },
];

const CONTENT_ONLY = new Set(['task-request', 'code-directive', 'code-injection']);

const ANSI = /\x1b\[[0-9;?]{0,20}[A-Za-z]|\x1b\][^\x07]{0,200}\x07/g;
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

/** Every string inside a JSON-ish value, with a pointer-like path; property names included. */
function strings(value: unknown, path: string, out: { field: string; text: string }[], depth = 0): void {
  if (depth > 32 || out.length > 10000) return;
  if (typeof value === 'string') out.push({ field: path, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}/${i}`, out, depth + 1));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push({ field: `${path}/${k}#name`, text: k });
      strings(v, `${path}/${k}`, out, depth + 1);
    }
  }
}

function canonicalName(n: string): string {
  return normalize(n).text.toLowerCase().replace(/[-_.\s]/g, '');
}

function otherToolNames(options: PoisoningOptions): Map<string, { upstream: string; name: string }> {
  const out = new Map<string, { upstream: string; name: string }>();
  const src = options.upstreams;
  if (!src) return out;
  const entries = src instanceof Map ? [...src.entries()] : Object.entries(src);
  for (const [up, names] of entries) {
    if (up === options.upstream) continue;
    for (const n of names) out.set(canonicalName(n), { upstream: up, name: n });
  }
  return out;
}

function scanField(field: string, raw: string, reasons: PoisoningReason[], others: Map<string, { upstream: string; name: string }>, siblings: Set<string>, self: string): void {
  const n = normalize(raw);
  const t = n.text;
  const add = (type: string, weight: number, s?: number, e?: number, detail?: string): void => {
    const span = s !== undefined && e !== undefined ? n.toOriginal(s, e) : undefined;
    reasons.push({ type, weight, field, ...(span ? { start: span[0], end: span[1] } : {}), ...(detail ? { detail } : {}) });
  };
  for (const r of TEXT_RULES) {
    r.re.lastIndex = 0;
    for (let m = r.re.exec(t); m !== null; m = r.re.exec(t)) add(r.type, r.weight, m.index, m.index + m[0].length);
  }
  if (n.hidden.tag > 0) add('invisible-characters', 0.95, undefined, undefined, `${n.hidden.tag} Unicode tag characters`);
  if (n.hidden.bidi > 0) add('invisible-characters', 0.6, undefined, undefined, `${n.hidden.bidi} bidi controls`);
  if (n.hidden.zeroWidth >= 2) add('invisible-characters', 0.5, undefined, undefined, `${n.hidden.zeroWidth} zero-width characters`);
  ANSI.lastIndex = 0;
  if (ANSI.test(raw)) add('ansi-escape', 0.85, undefined, undefined, 'terminal escape sequences can hide text');
  CONTROL.lastIndex = 0;
  if (CONTROL.test(raw)) add('control-characters', 0.4);
  // Generic injection signals (role tokens, override phrasing, encoded payloads, data-carrying links).
  const inj = scoreNormalized(n);
  // Task-shaped sentences ("Provide a …") are normal in parameter docs; the rest carries over.
  for (const s of inj.signals) if (s.weight >= 0.5 && !CONTENT_ONLY.has(s.type)) reasons.push({ type: `injection-${s.type}`, weight: s.weight, field, start: s.start, end: s.end });
  // References to other upstreams' tools (shadowing / cross-server steering).
  if (others.size > 0 || siblings.size > 0) {
    const words = t.match(/`?[A-Za-z][\w.-]{2,63}`?/g) ?? [];
    for (const w of new Set(words)) {
      const c = canonicalName(w.replace(/`/g, ''));
      if (c === self) continue;
      const o = others.get(c);
      if (o && /[_.-]/.test(w.replace(/`/g, ''))) add('cross-server-reference', 0.6, undefined, undefined, `mentions ${o.upstream}'s tool ${o.name}`);
    }
  }
}

function verdictOf(score: number, options: PoisoningOptions): PoisoningVerdict {
  if (score >= (options.poisonedAt ?? 0.8)) return 'poisoned';
  if (score >= (options.suspiciousAt ?? 0.4)) return 'suspicious';
  return 'clean';
}

/** Noisy-OR over the strongest reason of each type. */
function combine(reasons: readonly PoisoningReason[]): number {
  const best = new Map<string, number>();
  for (const r of reasons) best.set(r.type, Math.max(best.get(r.type) ?? 0, r.weight));
  let keep = 1;
  for (const w of best.values()) keep *= 1 - Math.min(0.999, w);
  return Math.round((1 - keep) * 1000) / 1000;
}

function scanDefinition(kind: DefinitionVerdict['kind'], def: Record<string, unknown>, options: PoisoningOptions, others: Map<string, { upstream: string; name: string }>, siblings: Set<string>): DefinitionVerdict {
  const name = typeof def['name'] === 'string' ? def['name'] : typeof def['uri'] === 'string' ? def['uri'] : '';
  const reasons: PoisoningReason[] = [];
  const self = canonicalName(name);
  const fields: { field: string; text: string }[] = [];
  for (const [k, v] of Object.entries(def)) {
    if (k === '_meta' || k === 'icons') continue;
    strings(v, k, fields);
  }
  for (const f of fields) scanField(f.field, f.text, reasons, others, siblings, self);
  const max = options.maxDescriptionLength ?? DEFAULT_MAX_DESCRIPTION;
  const desc = typeof def['description'] === 'string' ? def['description'] : '';
  if (desc.length > max) reasons.push({ type: 'oversized-description', weight: 0.45, field: 'description', detail: `${desc.length} characters (limit ${max})` });
  const total = fields.reduce((a, f) => a + f.text.length, 0);
  if (total > max * 4) reasons.push({ type: 'oversized-definition', weight: 0.4, field: '', detail: `${total} characters of text in the definition` });
  const o = others.get(self);
  if (kind === 'tool' && o) reasons.push({ type: 'name-shadowing', weight: 0.5, field: 'name', detail: `same name as ${o.upstream}'s tool ${o.name}` });
  const score = combine(reasons);
  return { kind, name, verdict: verdictOf(score, options), score, reasons };
}

/** Scans one upstream's tools/list result. */
export function scanTools(tools: readonly ToolDefinition[], options: PoisoningOptions = {}): DefinitionVerdict[] {
  const others = otherToolNames(options);
  const siblings = new Set(tools.map((t) => canonicalName(t.name)));
  return tools.map((t) => scanDefinition('tool', t as unknown as Record<string, unknown>, options, others, siblings));
}

/** Scans prompts/list or resources/list entries (their names, titles, descriptions, arguments). */
export function scanDefinitions(kind: 'prompt' | 'resource', items: readonly Record<string, unknown>[], options: PoisoningOptions = {}): DefinitionVerdict[] {
  const others = otherToolNames(options);
  return items.map((d) => scanDefinition(kind, d, options, others, new Set()));
}
