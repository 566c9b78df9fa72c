/**
 * Reading policy YAML (a standalone policy file, or the policy inside a test file) with every
 * problem reported as `file:line:column path: reason`, the same way the gateway config is.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, fromZodError } from '../config/issues.ts';
import type { ConfigIssue } from '../config/issues.ts';
import { offsetOf } from '../config/load.ts';
import { PolicySchema } from './config.ts';
import { compilePolicy } from './engine.ts';
import type { Policy } from './engine.ts';

/** Aliases expanded before giving up: guards against "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

/** @throws ConfigError on YAML syntax errors (warnings included: a policy must mean what it says). */
export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    throw new ConfigError(
      file,
      problems.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { file, line, column: col, path: '', message: `YAML: ${e.message}` };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new ConfigError(file, [{ file, line: 1, column: 1, path: '', message: `YAML: ${(err as Error).message}` }]);
  }
  return { file, doc, lines, data };
}

/** zod issues for the value at `prefix` of `src`, positioned at the YAML key they concern. */
export function positionedIssues(src: YamlSource, prefix: readonly PropertyKey[], error: z.ZodError, schema: z.ZodType, value: unknown): ConfigIssue[] {
  return fromZodError(error, schema, value).map((raw) => {
    const path = [...prefix, ...raw.path];
    const { line, col } = src.lines.linePos(offsetOf(src.doc, path));
    return { file: src.file, line, column: col, path: formatPath(path), message: raw.message };
  });
}

/** Validates and compiles the policy found at `prefix` (`[]` for a whole policy file). */
export function policyAt(src: YamlSource, prefix: readonly PropertyKey[], value: unknown): Policy {
  const parsed = PolicySchema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new ConfigError(src.file, positionedIssues(src, prefix, parsed.error, PolicySchema, value));
  return compilePolicy(parsed.data, src.file);
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(path, [{ file: path, path: '', message: `cannot read the file (${code})` }], { cause: err });
  }
}

/**
 * Reads a policy file: a YAML document holding one policy (the `policy` section's shape).
 * @throws ConfigError
 */
export async function loadPolicyFile(path: string): Promise<Policy> {
  const src = parseYaml(await readText(path), path);
  return policyAt(src, [], src.data);
}
