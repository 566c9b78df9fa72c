/**
 * Literal text every match of a pattern must contain, read off its parsed form (`linear.ts`), so
 * a scan can rule a window out with `indexOf` before running the regex over it.
 *
 * `requiredLiterals` walks the top-level sequence of the pattern (groups without alternation are
 * flattened) and collects the runs of one-character sets: each match contains those runs, in
 * that order, without overlap. Anything else (classes, alternations, quantifiers, assertions)
 * only ends a run, so the answer is conservative: never a literal a match could lack. With the
 * `i` flag letters parse as two-character sets, so only the other characters remain literal.
 * `requirementOf` adds what alternations and fixed-length gaps say (see `Requirement`).
 */
import type { Node } from './linear.ts';

/** The character of a set holding exactly one ASCII character, or -1. */
function singleChar(x: Node): number {
  if (x.kind !== 'set' || x.set.nonAscii) return -1;
  let found = -1;
  for (let w = 0; w < 4; w++) {
    const bits = x.set.bits[w]!;
    if (bits === 0) continue;
    if (found >= 0 || (bits & (bits - 1)) !== 0) return -1;
    found = w * 32 + (31 - Math.clz32(bits));
  }
  return found;
}

/** The top-level items of a pattern, groups without alternation flattened. */
function topItems(ast: Node, out: Node[] = []): Node[] {
  if (ast.kind === 'group') return topItems(ast.body, out);
  if (ast.kind === 'seq') for (const item of ast.items) topItems(item, out);
  else out.push(ast);
  return out;
}

/** Literal runs (in order, non-empty) that every match of `ast` contains. */
export function requiredLiterals(ast: Node): string[] {
  return requirementOf(ast).literals as string[];
}

/** The length every match of `node` has, or -1 when it varies. */
function fixedLength(node: Node): number {
  switch (node.kind) {
    case 'set': return 1;
    case 'assert': return 0;
    case 'group': return fixedLength(node.body);
    case 'seq': {
      let sum = 0;
      for (const it of node.items) {
        const l = fixedLength(it);
        if (l < 0) return -1;
        sum += l;
      }
      return sum;
    }
    case 'alt': {
      const l = fixedLength(node.branches[0]!);
      return node.branches.every((b) => fixedLength(b) === l) ? l : -1;
    }
    case 'repeat': {
      const l = fixedLength(node.body);
      return node.min === node.max && l >= 0 ? l * node.min : -1;
    }
  }
}

/** What every match of a pattern contains. */
export interface Requirement {
  /** Literal runs, in order, without overlap. */
  readonly literals: readonly string[];
  /** Where `literals[1]` starts, counted from the start of `literals[0]`, when fixed; else -1. */
  readonly secondAt: number;
  /** Per top-level alternation whose every branch holds a literal: one of these occurs. */
  readonly anyOf: readonly (readonly string[])[];
}

export function requirementOf(ast: Node): Requirement {
  const literals: string[] = [];
  const anyOf: string[][] = [];
  let run = '';
  // Length of the items since the end of the first literal run (-1 once it varies).
  let gap = 0;
  let secondAt = -1;
  const end = (): void => {
    if (run.length > 0) literals.push(run);
    run = '';
  };
  for (const item of topItems(ast)) {
    const c = singleChar(item);
    if (c >= 0) {
      if (literals.length === 1 && run.length === 0 && gap >= 0) secondAt = literals[0]!.length + gap;
      run += String.fromCharCode(c);
      continue;
    }
    end();
    if (literals.length === 1 && secondAt < 0) {
      const l = fixedLength(item);
      gap = gap < 0 || l < 0 ? -1 : gap + l;
    }
    const alt = item.kind === 'alt' ? item : item.kind === 'group' && item.body.kind === 'alt' ? item.body : undefined;
    if (alt !== undefined) {
      const options = alt.branches.map((b) => requirementOf(b).literals[0]);
      if (options.every((o) => o !== undefined)) {
        // A match holding a longer option holds any option it contains: keep the shortest.
        const set = [...new Set(options as string[])];
        anyOf.push(set.filter((o) => !set.some((p) => p !== o && o.includes(p))));
      }
    }
  }
  end();
  return { literals, secondAt: literals.length > 1 ? secondAt : -1, anyOf };
}

/** Whether every match of `ast` contains `needle` (case-sensitive). */
export function containsLiteral(ast: Node, needle: string): boolean {
  return needle.length > 0 && requiredLiterals(ast).some((l) => l.includes(needle));
}

/**
 * Whether `text` holds `literals` in order without overlap (greedy: each from the earliest end of
 * the one before), from `at`. False means no match of a pattern requiring them can lie in `text`.
 */
export function hasInOrder(text: string, literals: readonly string[], at = 0, first = 0): boolean {
  for (let k = first; k < literals.length; k++) {
    const l = literals[k]!;
    const i = text.indexOf(l, at);
    if (i < 0) return false;
    at = i + l.length;
  }
  return true;
}

/**
 * Whether `text` can hold a match with requirement `r`. Linear: with a fixed second literal, the
 * first place where both sit at their distance ends the second earliest, so the rest is then
 * looked for greedily from there.
 */
export function meets(text: string, r: Requirement): boolean {
  for (const options of r.anyOf) {
    let found = false;
    for (const o of options) if ((found = text.includes(o))) break;
    if (!found) return false;
  }
  const lits = r.literals;
  if (lits.length === 0) return true;
  if (r.secondAt < 0) return hasInOrder(text, lits);
  const [a, b] = [lits[0]!, lits[1]!];
  for (let i = text.indexOf(a); i >= 0; i = text.indexOf(a, i + 1)) {
    if (text.startsWith(b, i + r.secondAt)) return hasInOrder(text, lits, i + r.secondAt + b.length, 2);
  }
  return false;
}
