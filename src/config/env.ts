/**
 * `${VAR}` / `${VAR:-default}` substitution in a parsed YAML document.
 *
 * It runs on string scalar *values* after parsing, never on the source text, so a variable's
 * value is always exactly one string and cannot inject YAML structure (a value of
 * "x\nadmin: {port: 1}" stays a string). Map keys and comments are left alone.
 *
 * Syntax (a subset of POSIX shell parameter expansion):
 * - `${NAME}`: the variable's value; unset is an error naming file, line and variable.
 * - `${NAME:-fallback}`: the value, or `fallback` when the variable is unset *or empty* (as in
 *   sh). The fallback is literal text and cannot contain `}`.
 * - `$${`: a literal `${`.
 * NAME is `[A-Za-z_][A-Za-z0-9_]*`. A `$` not followed by `{` is literal.
 *
 * A plain (unquoted) scalar that contained a reference is re-typed after substitution the way
 * YAML 1.2's core schema would have typed the resulting text, limited to booleans and numbers,
 * so `port: ${PORT:-8080}` is a number while `port: "${PORT}"` stays a string.
 *
 * Errors never include a variable's value: values are typically credentials.
 */
import { isPair, isScalar, isSeq, Scalar, visit } from 'yaml';
import type { Document } from 'yaml';

export type Env = Readonly<Record<string, string | undefined>>;

export interface SubstitutionProblem {
  /** Offset of the scalar in the source text. */
  offset: number;
  /** Dotted field path of the scalar, e.g. `routes[0].upstream.headers.X-Api-Key`. */
  path: (string | number)[];
  message: string;
}

const REF = /\$\$\{|\$\{([^}]*)(\}?)/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Expands references in one string. Returns the new text, or the problems found (all of them,
 * so one run names every missing variable).
 */
export function expandString(text: string, env: Env): { value: string; problems: string[] } {
  const problems: string[] = [];
  const value = text.replace(REF, (match, body: string | undefined, close: string | undefined) => {
    if (match === '$${') return '${';
    if (!close) {
      problems.push(`unterminated "\${" (write "$\${" for a literal "\${")`);
      return match;
    }
    const m = NAME_AND_DEFAULT.exec(body ?? '');
    if (!m) {
      problems.push(`malformed reference "\${${body}}": expected \${NAME} or \${NAME:-default}`);
      return match;
    }
    const name = m[1] as string;
    const fallback = m[2];
    const v = env[name];
    if (fallback !== undefined) return v === undefined || v === '' ? fallback : v;
    if (v === undefined) {
      problems.push(`environment variable ${name} is not set (use \${${name}:-default} to give a default)`);
      return match;
    }
    return v;
  });
  return { value, problems };
}

const CORE_BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** YAML 1.2 core-schema typing of a plain scalar's text, restricted to booleans and numbers. */
function retype(text: string): string | number | boolean {
  if (CORE_BOOL.test(text)) return text.toLowerCase() === 'true';
  if (CORE_INT.test(text) || CORE_FLOAT.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  return text;
}

/** Field path of a node from the visitor's ancestor chain (Document, maps, pairs, seqs). */
function fieldPath(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isPair(parent)) {
      const key = isScalar(parent.key) ? parent.key.value : parent.key;
      out.push(String(key));
    } else if (isSeq(parent)) {
      out.push(parent.items.indexOf(child as never));
    }
  }
  return out;
}

export interface SubstitutionResult {
  problems: SubstitutionProblem[];
  /** Paths of quoted scalars that held a reference: strings by choice, worth a hint on type errors. */
  quoted: (string | number)[][];
}

/**
 * Substitutes in place in every string scalar value of `doc`. The document is only meaningful
 * when no problems are returned.
 */
export function substituteEnv(doc: Document, env: Env): SubstitutionResult {
  const problems: SubstitutionProblem[] = [];
  const quoted: (string | number)[][] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const path = fieldPath(ancestors, node);
      const { value, problems: found } = expandString(node.value, env);
      for (const message of found) problems.push({ offset: node.range?.[0] ?? 0, path, message });
      if (node.type === Scalar.PLAIN) node.value = retype(value);
      else {
        node.value = value;
        quoted.push(path);
      }
    },
  });
  return { problems, quoted };
}
