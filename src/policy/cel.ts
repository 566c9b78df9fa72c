/**
 * The CEL environment policy rules are written in, and the bridge from `PolicyInput` to CEL values.
 *
 * Sections are declared with typed schemas, so a misspelt field (`principal.subjetc`) or a type
 * mismatch (`tool.name == 1`) is a load-time error rather than a rule that fails at 3 a.m. Open
 * maps (`claims`, `arguments`, `counters`) are `map<string, …>`: their keys are only known at
 * run time, and a missing key is an evaluation error (fail closed) unless guarded with `has()`.
 *
 * CEL integers are 64-bit (BigInt here), so integral JSON numbers become `int` and the rest
 * `double`; JSON objects become Maps, which also keeps keys like `__proto__` or `constructor`
 * plain data instead of prototype lookups.
 */
import { Environment, EvaluationError, ParseError } from '@marcbachmann/cel-js';
import type { ParseResult } from '@marcbachmann/cel-js';
import { normalizePath, normalizeUri, pathWithin } from './paths.ts';
import type { PolicyInput } from './vocabulary.ts';

const environment = new Environment({ enableOptionalTypes: true })
  .registerVariable({
    name: 'principal',
    description: 'The authenticated caller.',
    schema: { subject: 'string', method: 'string', issuer: 'string', clientId: 'string', scopes: 'list<string>', claims: 'map<string, dyn>' },
  })
  .registerVariable({ name: 'client', description: 'Self-reported client software.', schema: { name: 'string', version: 'string' } })
  .registerVariable({
    name: 'request',
    description: 'The JSON-RPC request being decided.',
    schema: { method: 'string', era: 'string', protocolVersion: 'string', kind: 'string' },
  })
  .registerVariable({
    name: 'tool',
    description: 'The tool of a tools/call.',
    schema: {
      name: 'string',
      arguments: 'map<string, dyn>',
      annotations: { readOnlyHint: 'bool', destructiveHint: 'bool', idempotentHint: 'bool', openWorldHint: 'bool', title: 'string' },
    },
  })
  .registerVariable({ name: 'resource', description: 'The resource of a resources/read.', schema: { uri: 'string', uriTemplate: 'string' } })
  .registerVariable({ name: 'prompt', description: 'The prompt of a prompts/get.', schema: { name: 'string', arguments: 'map<string, dyn>' } })
  .registerVariable({ name: 'upstream', description: 'Where the request goes.', schema: { route: 'string', url: 'string' } })
  // `now` is dyn: cel-js types a schema field declared `timestamp` as a message type that the
  // timestamp operators do not accept. At run time it is always a Date (a CEL timestamp).
  .registerVariable({ name: 'time', description: 'Evaluation time.', schema: { now: 'dyn', hour: 'int', weekday: 'int' } })
  .registerVariable({ name: 'session', description: 'The MCP session.', schema: { id: 'string', counters: 'map<string, int>' } })
  .registerFunction('normalizePath(string): string', normalizePath, {
    description: 'Resolves "." and ".." segments (POSIX); errors on NUL bytes.',
  })
  .registerFunction('pathWithin(string, string): bool', pathWithin, {
    description: 'True when the normalised path is the directory or inside it (whole segments).',
  })
  .registerFunction('normalizeUri(string): string', normalizeUri, {
    description: 'WHATWG-canonical URI with dot segments removed; errors on encoded separators.',
  });

export class CelCompileError extends Error {
  /** One line, no source excerpt: fit for a config issue. */
  readonly summary: string;
  /** 1-based position inside the expression, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(summary: string, source: string, offset: number | undefined) {
    const pos = offset === undefined ? undefined : position(source, offset);
    const where = pos ? (pos.line > 1 ? ` at line ${pos.line}, column ${pos.column}` : ` at column ${pos.column}`) : '';
    super(`${summary}${where}`);
    this.name = 'CelCompileError';
    this.summary = summary;
    this.line = pos?.line;
    this.column = pos?.column;
  }
}

function position(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

export type CompiledRule = ParseResult;

/**
 * Parses and type-checks a rule expression. It must be `bool`, or `dyn` (e.g. a bare map lookup),
 * which is then checked at each evaluation.
 * @throws CelCompileError
 */
export function compileCel(source: string): CompiledRule {
  let parsed: ParseResult;
  try {
    parsed = environment.parse(source);
  } catch (err) {
    if (err instanceof ParseError) throw new CelCompileError(err.summary, source, err.range?.start);
    throw new CelCompileError((err as Error).message, source, undefined);
  }
  const checked = parsed.check();
  if (!checked.valid) {
    const e = checked.error;
    throw new CelCompileError(e?.summary ?? 'invalid expression', source, e?.range?.start);
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new CelCompileError(`a rule must evaluate to bool, this evaluates to ${checked.type}`, source, undefined);
  }
  return parsed;
}

/** Short, single-line text of an evaluation failure, for audit. Never carries input values beyond a key name. */
export function evaluationErrorText(err: unknown): string {
  const text = err instanceof EvaluationError ? err.summary : err instanceof Error ? err.message : String(err);
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Deeper JSON than this is refused (fail closed) rather than recursed into. */
const MAX_DEPTH = 64;

/** A JSON value as CEL sees it. */
export function toCel(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error(`input nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toCel(v, depth + 1)));
  if (typeof value === 'object') return toCelMap(value as Record<string, unknown>, depth);
  // undefined, functions, symbols: not JSON; an absent value is absent.
  return null;
}

function toCelMap(obj: Readonly<Record<string, unknown>>, depth: number): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out.set(k, toCel(v, depth + 1));
  return out;
}

/** The schema-typed variables, i.e. every section of `PolicyInput`. */
const SECTIONS = ['principal', 'client', 'request', 'tool', 'resource', 'prompt', 'upstream', 'time', 'session'] as const;
type Section = (typeof SECTIONS)[number];

type SectionCtor = new (raw: object) => object;

/**
 * cel-js turns a plain-object value of a schema-typed variable into its own typed instance (a
 * Map subclass that converts fields lazily and caches them) each time an expression reads the
 * variable, i.e. once per rule and section (about a fifth of a decision's time when profiled).
 * Building that instance once per decision lets every rule share it. The
 * constructor is taken from the library's own conversion (probed here, once), so rules see
 * exactly the values they would otherwise; should a future version not convert this way, the
 * sections simply stay plain objects, which is only slower.
 */
const SECTION_CTORS: Readonly<Partial<Record<Section, SectionCtor>>> = (() => {
  const out: Partial<Record<Section, SectionCtor>> = {};
  for (const name of SECTIONS) {
    try {
      const v: unknown = environment.evaluate(name, { [name]: {} });
      const ctor = (v as { constructor?: unknown } | null)?.constructor;
      if (v instanceof Map && typeof ctor === 'function' && ctor !== Map) out[name] = ctor as SectionCtor;
    } catch {
      // Not convertible this way: leave the section a plain object.
    }
  }
  return out;
})();

function typed(name: Section, raw: object): object {
  const Ctor = SECTION_CTORS[name];
  // Only what cel-js itself would convert (it goes by the constructor); anything else it rejects, and still does.
  const c: unknown = raw.constructor;
  return Ctor !== undefined && (c === Object || c === undefined || c === Map) ? new Ctor(raw) : raw;
}

/**
 * The CEL activation for one input. Absent optional fields (`tool.arguments`, `resource.uri`
 * during list filtering) stay absent, so any rule reading them errors — which list filtering
 * reads as "unknown".
 */
export function toActivation(input: PolicyInput): Record<string, unknown> {
  const { principal, tool, resource, prompt, time, session } = input;
  return {
    principal: typed('principal', { ...principal, scopes: [...principal.scopes], claims: toCelMap(principal.claims, 0) }),
    client: typed('client', input.client),
    request: typed('request', input.request),
    tool: typed('tool', {
      name: tool.name,
      annotations: tool.annotations,
      ...(tool.arguments === undefined ? {} : { arguments: toCelMap(tool.arguments, 0) }),
    }),
    resource: typed('resource', resource.uri === undefined ? { uriTemplate: resource.uriTemplate } : resource),
    prompt: typed('prompt', { name: prompt.name, ...(prompt.arguments === undefined ? {} : { arguments: toCelMap(prompt.arguments, 0) }) }),
    upstream: typed('upstream', input.upstream),
    time: typed('time', { now: time.now, hour: BigInt(time.hour), weekday: BigInt(time.weekday) }),
    session: typed('session', { id: session.id, counters: toCelMap(session.counters, 0) }),
  };
}
