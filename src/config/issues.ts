/**
 * Config problems as an operator reads them: `gateway.yaml:12:7 routes[0].upstream.url: Invalid URL`.
 *
 * zod's issues are turned into one line per problem: unknown keys become one issue per key (with
 * a "did you mean" when a known key is close), missing fields say "required", and a bad
 * discriminator lists the valid `type`s. Messages never carry the offending value — config values
 * include credentials.
 */
import type { z } from 'zod';

export interface ConfigIssue {
  /** The file (or `<command line>`) the problem is in. */
  file: string;
  /** 1-based; absent when the problem has no position (unreadable file). */
  line?: number;
  column?: number;
  /** Dotted field path, e.g. `routes[0].upstream.url`; empty for the document as a whole. */
  path: string;
  message: string;
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}:${i.column ?? 1}` : i.file;
  return i.path ? `${where} ${i.path}: ${i.message}` : `${where}: ${i.message}`;
}

/** Thrown for any config that cannot be used. Lists every problem found, one per line. */
export class ConfigError extends Error {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatIssue).join('\n'), options);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && PLAIN_SEGMENT.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** A problem before it is given a position. */
export interface RawIssue {
  path: PropertyKey[];
  message: string;
}

interface Introspectable {
  _zod: {
    def: {
      type: string;
      innerType?: Introspectable;
      in?: Introspectable;
      shape?: Record<string, Introspectable>;
      element?: Introspectable;
      options?: Introspectable[];
      valueType?: Introspectable;
      values?: unknown[];
    };
  };
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** Keys the object schema at `path` accepts, following `value` through discriminated unions. */
export function knownKeysAt(schema: z.ZodType, value: unknown, path: readonly PropertyKey[]): string[] {
  let s = schema as unknown as Introspectable;
  let v = value;
  const unwrap = (): void => {
    for (;;) {
      const def = s._zod.def;
      if (WRAPPERS.has(def.type) && def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else if (def.type === 'union' && def.options) {
        const tag = v !== null && typeof v === 'object' ? (v as Record<string, unknown>).type : undefined;
        const match = def.options.find((o) => o._zod.def.shape?.type?._zod.def.values?.includes(tag));
        if (!match) return;
        s = match;
      } else return;
    }
  };
  unwrap();
  for (const seg of path) {
    const def = s._zod.def;
    const next = def.type === 'object' ? def.shape?.[String(seg)] : def.type === 'array' ? def.element : def.type === 'record' ? def.valueType : undefined;
    if (!next) return [];
    s = next;
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
    unwrap();
  }
  return s._zod.def.type === 'object' ? Object.keys(s._zod.def.shape ?? {}) : [];
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ("prot" → "port" is 1). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  const limit = key.length <= 4 ? 1 : 2;
  return bestDistance <= limit ? best : undefined;
}

/** Turns a ZodError (parsed with `reportInput: true`) into operator-facing raw issues. */
export function fromZodError(error: z.ZodError, schema: z.ZodType, value: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of error.issues) {
    const path = [...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, value, path);
        for (const key of issue.keys) {
          const hint = suggest(key, known);
          out.push({ path: [...path, key], message: hint ? `unknown key (did you mean "${hint}"?)` : 'unknown key' });
        }
        break;
      }
      case 'invalid_type':
        out.push({ path, message: issue.input === undefined ? `required (expected ${issue.expected})` : issue.message });
        break;
      case 'invalid_union': {
        const options = (issue as { options?: unknown[] }).options;
        if (options) {
          const list = options.map((o) => JSON.stringify(o)).join(', ');
          const missing = issue.input === null || typeof issue.input !== 'object' || (issue.input as Record<string, unknown>).type === undefined;
          out.push({ path, message: missing ? `required (one of ${list})` : `must be one of ${list}` });
        } else out.push({ path, message: issue.message });
        break;
      }
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}
