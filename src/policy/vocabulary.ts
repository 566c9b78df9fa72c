/**
 * What a policy rule can see: the `PolicyInput` shape (one section per CEL variable) and the
 * code that fills it from gateway facts.
 *
 * Every section is always present with every field filled (empty string, empty list/map, false),
 * so a rule like `tool.name == "x"` never throws on a resource read. Open-ended maps
 * (`principal.claims`, `tool.arguments`, `session.counters`) hold only what is known: test a key
 * with `has(principal.claims.dept)` or `session.counters[?"tool_calls"].orValue(0)` before use.
 * The one deliberate hole is `tool.arguments` / `prompt.arguments` while filtering a list (see
 * engine.ts): there they are unknown, not empty.
 */
import { z } from 'zod';
import type { Era, Principal } from '../pipeline/types.ts';

export type RequestKind = 'tool' | 'resource' | 'prompt' | 'list' | 'other';

/**
 * MCP `ToolAnnotations`. They are hints the upstream server volunteers about its own tools, not
 * facts the gateway verified: a malicious server can call `rm -rf` read-only.
 */
export interface ToolAnnotationFacts {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
  title: string;
}

export interface PolicyInput {
  principal: {
    subject: string;
    method: string;
    issuer: string;
    clientId: string;
    scopes: readonly string[];
    claims: Readonly<Record<string, unknown>>;
  };
  /** Self-reported by the client (initialize `clientInfo` / modern `_meta`): a label, not identity. */
  client: { name: string; version: string };
  request: { method: string; era: Era; protocolVersion: string; kind: RequestKind };
  /** `arguments` is absent only while filtering a list: the arguments are then unknown. */
  tool: { name: string; arguments?: Readonly<Record<string, unknown>>; annotations: ToolAnnotationFacts };
  /** `uriTemplate` is set only while filtering `resources/templates/list`; `uri` is then absent. */
  resource: { uri?: string; uriTemplate: string };
  prompt: { name: string; arguments?: Readonly<Record<string, unknown>> };
  upstream: { route: string; url: string };
  time: { now: Date; hour: number; weekday: number };
  session: { id: string; counters: Readonly<Record<string, number>> };
}

/** A partial input: any section, any field. `completeInput` fills the rest. */
export type PolicyInputPatch = {
  [K in Exclude<keyof PolicyInput, 'tool'>]?: Partial<PolicyInput[K]>;
} & {
  tool?: Partial<Omit<PolicyInput['tool'], 'annotations'>> & { annotations?: Partial<ToolAnnotationFacts> };
};

/** Methods whose request is an action on, or a read of, one named thing. */
const KIND_BY_METHOD: Readonly<Record<string, RequestKind>> = {
  'tools/call': 'tool',
  'resources/read': 'resource',
  'prompts/get': 'prompt',
  'tools/list': 'list',
  'prompts/list': 'list',
  'resources/list': 'list',
  'resources/templates/list': 'list',
};

/**
 * `tool` for tools/call (an action), `resource` for resources/read (a read), `prompt` for
 * prompts/get, `list` for the four list methods, `other` for everything else. Actions and reads
 * are kept apart so "may read" never implies "may act".
 */
export function requestKind(method: string): RequestKind {
  return Object.hasOwn(KIND_BY_METHOD, method) ? (KIND_BY_METHOD[method] as RequestKind) : 'other';
}

/**
 * MCP defaults for an un-annotated tool (schema `ToolAnnotations`): not read-only, destructive,
 * not idempotent, open-world — the pessimistic reading, so a server that says nothing gets the
 * strictest treatment. `destructiveHint` is only meaningful when `readOnlyHint` is false, so a
 * tool that declares itself read-only and says nothing else is not counted as destructive.
 */
export function toolAnnotations(given: Partial<ToolAnnotationFacts> | undefined): ToolAnnotationFacts {
  const readOnlyHint = given?.readOnlyHint ?? false;
  return {
    readOnlyHint,
    destructiveHint: given?.destructiveHint ?? !readOnlyHint,
    idempotentHint: given?.idempotentHint ?? false,
    openWorldHint: given?.openWorldHint ?? true,
    title: given?.title ?? '',
  };
}

/** Outside a tool call there is no tool, so no hint is true (`tool.annotations.destructiveHint` stays false). */
const NO_TOOL_ANNOTATIONS: ToolAnnotationFacts = Object.freeze({
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
  title: '',
});

/** The method a test case or a hand-written input most likely means, when it names only a target. */
function impliedMethod(patch: PolicyInputPatch): string {
  if (patch.tool?.name !== undefined) return 'tools/call';
  if (patch.resource?.uri !== undefined) return 'resources/read';
  if (patch.prompt?.name !== undefined) return 'prompts/get';
  return '';
}

/** Fills every absent section and field. `now` is used when the patch carries no `time.now`. */
export function completeInput(patch: PolicyInputPatch, now: Date = new Date()): PolicyInput {
  const method = patch.request?.method ?? impliedMethod(patch);
  const kind = patch.request?.kind ?? requestKind(method);
  const at = patch.time?.now ?? now;
  const annotations = kind === 'tool' ? toolAnnotations(patch.tool?.annotations) : { ...NO_TOOL_ANNOTATIONS, ...patch.tool?.annotations };
  return {
    principal: {
      subject: patch.principal?.subject ?? 'anonymous',
      method: patch.principal?.method ?? 'none',
      issuer: patch.principal?.issuer ?? '',
      clientId: patch.principal?.clientId ?? '',
      scopes: patch.principal?.scopes ?? [],
      claims: patch.principal?.claims ?? {},
    },
    client: { name: patch.client?.name ?? '', version: patch.client?.version ?? '' },
    request: {
      method,
      era: patch.request?.era ?? 'modern',
      protocolVersion: patch.request?.protocolVersion ?? '',
      kind,
    },
    tool: { name: patch.tool?.name ?? '', arguments: patch.tool?.arguments ?? {}, annotations },
    resource: { uri: patch.resource?.uri ?? '', uriTemplate: patch.resource?.uriTemplate ?? '' },
    prompt: { name: patch.prompt?.name ?? '', arguments: patch.prompt?.arguments ?? {} },
    upstream: { route: patch.upstream?.route ?? '', url: patch.upstream?.url ?? '' },
    time: {
      now: at,
      // UTC, so a rule means the same on every gateway host; use time.now.getHours("Europe/Berlin") for local time.
      hour: patch.time?.hour ?? at.getUTCHours(),
      weekday: patch.time?.weekday ?? at.getUTCDay(),
    },
    session: { id: patch.session?.id ?? '', counters: patch.session?.counters ?? {} },
  };
}

/**
 * Section-wise merge: later patches override earlier ones field by field (`tool.annotations`
 * one level deeper). Whole maps (`claims`, `arguments`, `counters`) are replaced, not merged.
 */
export function mergeInputs(...patches: readonly (PolicyInputPatch | undefined)[]): PolicyInputPatch {
  const out: Record<string, Record<string, unknown>> = {};
  for (const patch of patches) {
    if (!patch) continue;
    for (const [section, fields] of Object.entries(patch)) {
      if (fields === undefined) continue;
      const prev = out[section] ?? {};
      const next: Record<string, unknown> = { ...prev, ...fields };
      if (section === 'tool' && (prev['annotations'] || (fields as { annotations?: unknown }).annotations)) {
        next['annotations'] = { ...(prev['annotations'] as object), ...(fields as { annotations?: object }).annotations };
      }
      out[section] = next;
    }
  }
  return out as PolicyInputPatch;
}

/** The principal section from a verified identity. */
export function principalFacts(p: Principal): PolicyInput['principal'] {
  return {
    subject: p.subject,
    method: p.method,
    issuer: p.issuer ?? '',
    clientId: p.clientId ?? '',
    scopes: p.scopes ?? [],
    claims: p.claims ?? {},
  };
}

const str = z.string();
const jsonObject = z.record(z.string(), z.unknown());

/**
 * The patch shape as a schema, for hand-written inputs (policy test files). `.strict()`
 * everywhere: a misspelt `principle:` in a test case must fail, not silently test nothing.
 */
export const PolicyInputPatchSchema = z
  .object({
    principal: z
      .object({ subject: str, method: str, issuer: str, clientId: str, scopes: z.array(str), claims: jsonObject })
      .partial()
      .strict(),
    client: z.object({ name: str, version: str }).partial().strict(),
    request: z
      .object({
        method: str,
        era: z.enum(['legacy', 'modern']),
        protocolVersion: str,
        kind: z.enum(['tool', 'resource', 'prompt', 'list', 'other']),
      })
      .partial()
      .strict(),
    tool: z
      .object({
        name: str,
        arguments: jsonObject,
        annotations: z
          .object({ readOnlyHint: z.boolean(), destructiveHint: z.boolean(), idempotentHint: z.boolean(), openWorldHint: z.boolean(), title: str })
          .partial()
          .strict(),
      })
      .partial()
      .strict(),
    resource: z.object({ uri: str, uriTemplate: str }).partial().strict(),
    prompt: z.object({ name: str, arguments: jsonObject }).partial().strict(),
    upstream: z.object({ route: str, url: str }).partial().strict(),
    time: z
      .object({
        now: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).describe('ISO 8601 instant, e.g. 2025-01-06T10:00:00Z.'),
        hour: z.number().int().min(0).max(23),
        weekday: z.number().int().min(0).max(6).describe('0 = Sunday (UTC).'),
      })
      .partial()
      .strict(),
    session: z.object({ id: str, counters: z.record(z.string(), z.number().int()) }).partial().strict(),
  })
  .partial()
  .strict();

/**
 * The annotations of a `tools/list` item (MCP `Tool`), keeping only well-typed fields. The
 * integrator caches these per tool name and passes them back as facts for `tools/call`, since a
 * call does not carry its tool's annotations. `title` falls back to the tool's top-level title.
 */
export function annotationsOf(tool: unknown): Partial<ToolAnnotationFacts> {
  if (tool === null || typeof tool !== 'object') return {};
  const t = tool as Record<string, unknown>;
  const a = t['annotations'] !== null && typeof t['annotations'] === 'object' ? (t['annotations'] as Record<string, unknown>) : {};
  const out: Partial<ToolAnnotationFacts> = {};
  for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
    if (typeof a[key] === 'boolean') out[key] = a[key];
  }
  const title = typeof a['title'] === 'string' ? a['title'] : t['title'];
  if (typeof title === 'string') out.title = title;
  return out;
}
