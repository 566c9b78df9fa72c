/**
 * Reading a config file: YAML → `${VAR}` substitution → schema validation, with every problem
 * reported as `file:line:column field.path: reason`.
 *
 * Positions come from the parsed YAML Document (node ranges) and a LineCounter, so a zod issue
 * path such as `routes[0].upstream.url` is shown at the line where that key is written. A field
 * that is missing is shown at the key of the object that should contain it.
 *
 * A config file holds exactly one YAML document: silently ignoring (or merging) a second one
 * after `---` would hide half the operator's intent. Documents holding only comments are ignored.
 */
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { substituteEnv } from './env.ts';
import type { Env } from './env.ts';
import { ConfigError, formatPath, fromZodError } from './issues.ts';
import type { ConfigIssue, RawIssue } from './issues.ts';
import { ConfigSchema } from './schema.ts';
import type { Config } from './schema.ts';

export { ConfigError } from './issues.ts';
export type { ConfigIssue } from './issues.ts';

/** Aliases expanded by toJS before giving up: guards against "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;
const MAX_YAML_ERRORS = 5;

function keyText(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

/**
 * Source offset for a field path: the key that holds it (or the sequence item), else the closest
 * enclosing node that exists.
 */
export function offsetOf(doc: Document, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let anchor: YamlNode | undefined = (doc.contents as YamlNode | null) ?? undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let at: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) break;
      next = pair.value;
      at = pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
      at = next;
    } else break;
    if (at && (at as YamlNode).range) anchor = at as YamlNode;
    node = next;
  }
  return anchor?.range?.[0] ?? 0;
}

function locate(file: string, lc: LineCounter, offset: number, path: string, message: string): ConfigIssue {
  const { line, col } = lc.linePos(offset);
  return { file, line, column: col, path, message };
}

/** File order; position-less notes last. Stable, so equal positions keep discovery order. */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const key = (i: ConfigIssue) => (i.line ?? Infinity) * 1e6 + (i.column ?? 0);
  return issues.sort((a, b) => key(a) - key(b));
}

function isUnder(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => String(seg) === String(path[i]));
}

/**
 * Parses and validates config text. `fileName` is only used in messages.
 * @throws ConfigError listing every problem found.
 */
export function parseConfig(text: string, fileName: string, env: Env = process.env): Config {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];

  // YAML syntax problems in any document, warnings included (e.g. an unknown `!tag`): a config
  // must mean exactly what it says.
  const yamlErrors = docs.flatMap((d) => [...d.errors, ...d.warnings]);
  const sourceLines = text.split('\n');
  let hinted = false;
  for (const e of yamlErrors.slice(0, MAX_YAML_ERRORS)) {
    const issue = locate(fileName, lc, e.pos[0], '', `YAML: ${e.message}`);
    // `{ port: ${PORT} }` is a YAML error, not ours: `{` and `}` are flow indicators.
    if (!hinted && sourceLines[(issue.line ?? 1) - 1]?.includes('${')) {
      issue.message += ' (inside { } or [ ], quote ${VAR} references)';
      hinted = true;
    }
    issues.push(issue);
  }
  if (yamlErrors.length > MAX_YAML_ERRORS) {
    // After the first few, YAML errors are nearly always one mistake echoing down the file.
    issues.push({ file: fileName, path: '', message: `YAML: ${yamlErrors.length - MAX_YAML_ERRORS} more errors, likely caused by the ones above` });
  }
  // A document that is only comments (or an explicit `---` with nothing after it) is not content.
  const filled = docs.filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null));
  for (const extra of filled.slice(1)) {
    issues.push(locate(fileName, lc, extra.range[0], '', 'a config file holds one YAML document; this is a second one (remove the "---" separator)'));
  }
  if (yamlErrors.length > 0) throw new ConfigError(fileName, sortIssues(issues));

  const doc = filled[0];
  if (!doc) {
    throw new ConfigError(fileName, [{ file: fileName, line: 1, column: 1, path: '', message: 'the file is empty; a config needs at least a "routes" list' }]);
  }

  const { problems: envProblems, quoted } = substituteEnv(doc, env);
  for (const p of envProblems) issues.push(locate(fileName, lc, p.offset, formatPath(p.path), p.message));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    issues.push(locate(fileName, lc, 0, '', `YAML: ${(err as Error).message}`));
    throw new ConfigError(fileName, issues);
  }

  // reportInput lets fromZodError tell "missing" from "wrong type"; inputs are never printed.
  const result = ConfigSchema.safeParse(data, { reportInput: true });
  if (result.success && issues.length === 0) return result.data;
  if (!result.success) {
    const raw: RawIssue[] = fromZodError(result.error, ConfigSchema, data);
    for (const r of raw) {
      // A value still holding an unresolved ${VAR} already has its error; don't add "Invalid URL".
      if (envProblems.some((p) => isUnder(r.path, p.path))) continue;
      const hint = /^Invalid input: expected (number|boolean), received string$/.test(r.message) && quoted.some((q) => isUnder(r.path, q) && isUnder(q, r.path));
      const message = hint ? `${r.message} (a quoted \${VAR} stays a string; write it unquoted)` : r.message;
      issues.push(locate(fileName, lc, offsetOf(doc, r.path), formatPath(r.path), message));
    }
  }
  throw new ConfigError(fileName, sortIssues(issues));
}

/**
 * Reads a config file's text.
 * @throws ConfigError when it cannot be read.
 */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(path, [{ file: path, path: '', message: `cannot read the file (${code})` }], { cause: err });
  }
}

/**
 * Reads and validates a config file.
 * @throws ConfigError (unreadable file included).
 */
export async function loadConfig(path: string, env: Env = process.env): Promise<Config> {
  return parseConfig(await readConfigText(path), path, env);
}
