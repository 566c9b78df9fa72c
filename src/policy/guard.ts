/**
 * Rule indexing: a rule written `tool.name == "x" && …` can only match a call to tool `x`
 * (CEL's `&&` is false as soon as one side is false, whatever the other side would do), so the
 * engine skips it for every other tool without evaluating it. Most real policies guard their
 * rules that way; skipping them is what keeps a decision cheap as the rule count grows.
 *
 * Recognised conservatively, from the source text: the guard must be the first conjunct, the
 * literal a plain double-quoted string without escapes, and the rest must have no `||` or `?:`
 * outside parentheses (which would make the guard only one branch of the expression). Anything
 * else is simply not indexed and is evaluated as usual.
 */
const GUARD = /^\s*tool\.name\s*==\s*"([^"\\]*)"\s*&&/;

/** The tool name a rule is guarded by, or undefined when the rule must always be evaluated. */
export function toolNameGuard(source: string): string | undefined {
  const m = GUARD.exec(source);
  if (!m) return undefined;
  return topLevelOnlyConjunctions(source.slice(m[0].length)) ? m[1] : undefined;
}

/** True when `src` has no `||` and no `?` outside brackets and string literals. */
function topLevelOnlyConjunctions(src: string): boolean {
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '"' || c === "'") {
      // Triple-quoted or raw strings: too clever to follow here; do not index.
      if (src.startsWith(c.repeat(3), i) || (i > 0 && /[rRbB]/.test(src[i - 1]!))) return false;
      for (i++; i < src.length && src[i] !== c; i++) if (src[i] === '\\') i++;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0 && (c === '?' || (c === '|' && src[i + 1] === '|'))) return false;
  }
  return depth === 0;
}
