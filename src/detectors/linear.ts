/**
 * Proof, by construction, that a built-in pattern runs in linear time in the JS (backtracking)
 * regex engine — and the longest text it can match, which sizes the streaming hold-back window.
 *
 * Built-in rules use a small subset of regex syntax that is also valid RE2 (so re2js can run the
 * same sources): literals, escapes, classes, `.`, groups `(…)`/`(?:…)`, `|`, `^`/`$`/`\b`, and
 * only BOUNDED quantifiers (`?`, `{n}`, `{m,n}`). No `*`, `+`, `{n,}`, lazy quantifiers,
 * lookaround or backreferences.
 *
 * Why that is linear: an unanchored search tries each start position once. From one start, a
 * backtracking engine explores at most `paths` continuations, each at most `maxLength` long, so the
 * work is ≤ n · paths · maxLength. With bounded quantifiers both factors are constants of the
 * pattern. `paths` is kept small by counting a quantifier or alternation as a choice only when
 * it is really ambiguous: `X{m,n}` followed by something that cannot start with a character of X
 * backtracks in O(1) per step (the follower fails on its first character), so it multiplies by 1;
 * likewise an alternation whose branches start with disjoint characters. `assertLinear` rejects
 * a pattern whose `paths` exceeds a budget, so a new rule cannot slip in a slow shape.
 */

export interface PatternShape {
  /** Longest text a match can span (UTF-16 units). */
  readonly maxLength: number;
  readonly minLength: number;
  /** Upper bound on backtracking continuations explored from one start position. */
  readonly paths: number;
  /** The parsed pattern, for adversarial-input generation in tests. */
  readonly ast: Node;
}

/** Character set over ASCII (bitmap) plus "may contain non-ASCII". */
export interface CharSet {
  readonly bits: Uint32Array; // 4 × 32 bits = ASCII 0..127
  readonly nonAscii: boolean;
}

export type Node =
  | { kind: 'set'; set: CharSet }
  | { kind: 'assert' }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; branches: Node[] }
  | { kind: 'group'; body: Node }
  | { kind: 'repeat'; body: Node; min: number; max: number };

export const MAX_PATHS = 4096;
export const MAX_PATTERN_LENGTH = 16384;

export class PatternError extends Error {
  override name = 'PatternError';
}

// ---------- character sets ----------

function emptySet(): { bits: Uint32Array; nonAscii: boolean } {
  return { bits: new Uint32Array(4), nonAscii: false };
}
function addChar(s: { bits: Uint32Array }, c: number): void {
  if (c < 128) s.bits[c >> 5]! |= 1 << (c & 31);
}
function addRange(s: { bits: Uint32Array; nonAscii: boolean }, a: number, b: number): void {
  for (let c = a; c <= Math.min(b, 127); c++) addChar(s, c);
  if (b >= 128) s.nonAscii = true;
}
function has(s: CharSet, c: number): boolean {
  return c < 128 && (s.bits[c >> 5]! & (1 << (c & 31))) !== 0;
}
export function setMembers(s: CharSet): number[] {
  const out: number[] = [];
  for (let c = 0; c < 128; c++) if (has(s, c)) out.push(c);
  return out;
}
function union(a: CharSet, b: CharSet): CharSet {
  const bits = new Uint32Array(4);
  for (let k = 0; k < 4; k++) bits[k] = a.bits[k]! | b.bits[k]!;
  return { bits, nonAscii: a.nonAscii || b.nonAscii };
}
function intersects(a: CharSet, b: CharSet): boolean {
  for (let k = 0; k < 4; k++) if ((a.bits[k]! & b.bits[k]!) !== 0) return true;
  return a.nonAscii && b.nonAscii;
}
function negate(s: CharSet): CharSet {
  const bits = new Uint32Array(4);
  for (let k = 0; k < 4; k++) bits[k] = ~s.bits[k]! >>> 0;
  return { bits, nonAscii: true };
}
function foldCase(s: CharSet): CharSet {
  const out = { bits: Uint32Array.from(s.bits), nonAscii: s.nonAscii };
  for (let c = 65; c <= 90; c++) if (has(s, c) || has(s, c + 32)) { addChar(out, c); addChar(out, c + 32); }
  return out;
}
const EMPTY: CharSet = emptySet();

function classEscape(ch: string): CharSet | undefined {
  const s = emptySet();
  switch (ch) {
    case 'd': addRange(s, 48, 57); return s;
    case 'w': addRange(s, 48, 57); addRange(s, 65, 90); addRange(s, 97, 122); addChar(s, 95); return s;
    case 's': for (const c of [9, 10, 11, 12, 13, 32]) addChar(s, c); s.nonAscii = true; return s;
    case 'D': case 'W': case 'S': return negate(classEscape(ch.toLowerCase())!);
    default: return undefined;
  }
}

// ---------- parser ----------

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11 };

class Parser {
  pos = 0;
  readonly src: string;
  readonly fold: boolean;
  constructor(src: string, fold: boolean) {
    this.src = src;
    this.fold = fold;
  }
  fail(msg: string): never {
    throw new PatternError(`${msg} at offset ${this.pos} in /${this.src}/`);
  }
  parseAlt(): Node {
    const branches = [this.parseSeq()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      branches.push(this.parseSeq());
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alt', branches };
  }
  parseSeq(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      let atom = this.parseAtom();
      atom = this.parseQuant(atom);
      items.push(atom);
    }
    return { kind: 'seq', items };
  }
  lit(c: number): Node {
    const s = emptySet();
    addChar(s, c);
    if (c >= 128) s.nonAscii = true;
    return { kind: 'set', set: this.fold ? foldCase(s) : s };
  }
  parseAtom(): Node {
    const ch = this.src[this.pos]!;
    switch (ch) {
      case '(': {
        this.pos++;
        if (this.src.startsWith('?:', this.pos)) this.pos += 2;
        else if (this.src[this.pos] === '?') this.fail('only (…) and (?:…) groups are allowed (no lookaround, named groups or inline flags)');
        const body = this.parseAlt();
        if (this.src[this.pos] !== ')') this.fail('unbalanced (');
        this.pos++;
        return { kind: 'group', body };
      }
      case '[': return { kind: 'set', set: this.parseClass() };
      case '.': {
        this.pos++;
        const s = emptySet();
        addRange(s, 0, 127);
        s.bits[0]! &= ~(1 << 10); // no newline
        s.bits[0]! &= ~(1 << 13);
        return { kind: 'set', set: { bits: s.bits, nonAscii: true } };
      }
      case '^': case '$': this.pos++; return { kind: 'assert' };
      case '\\': {
        const e = this.src[this.pos + 1];
        if (e === undefined) this.fail('trailing backslash');
        if (e === 'b' || e === 'B') { this.pos += 2; return { kind: 'assert' }; }
        if (/[1-9]/.test(e)) this.fail('backreferences are not allowed');
        const set = this.escapeSet();
        return { kind: 'set', set: this.fold ? foldCase(set) : set };
      }
      case '*': case '+': case '?': case '{': this.fail(`nothing to repeat before '${ch}'`);
      // eslint-disable-next-line no-fallthrough
      default:
        this.pos++;
        return this.lit(ch.charCodeAt(0));
    }
  }
  /** Parses `\x` at pos (inside or outside a class); returns its set. */
  escapeSet(): CharSet {
    const e = this.src[this.pos + 1]!;
    this.pos += 2;
    const cls = classEscape(e);
    if (cls) return cls;
    const s = emptySet();
    if (e === 'x') {
      const hex = this.src.slice(this.pos, this.pos + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail('\\x needs two hex digits');
      this.pos += 2;
      addChar(s, parseInt(hex, 16));
      return s;
    }
    if (e in SIMPLE_ESCAPES) { addChar(s, SIMPLE_ESCAPES[e]!); return s; }
    if (/[A-Za-z0-9]/.test(e)) this.fail(`escape \\${e} is not in the portable subset`);
    addChar(s, e.charCodeAt(0));
    return s;
  }
  parseClass(): CharSet {
    this.pos++; // [
    let neg = false;
    if (this.src[this.pos] === '^') { neg = true; this.pos++; }
    let s = emptySet() as { bits: Uint32Array; nonAscii: boolean };
    let first = true;
    while (this.pos < this.src.length && (this.src[this.pos] !== ']' || first)) {
      first = false;
      let lo: number;
      if (this.src[this.pos] === '\\') {
        const e = this.src[this.pos + 1];
        if (e !== undefined && classEscape(e)) {
          const cs = this.escapeSet();
          s = union(s, cs) as typeof s;
          continue;
        }
        const one = this.escapeSet();
        lo = setMembers(one)[0]!;
      } else if (this.src[this.pos] === '[') {
        this.fail('nested [ in a class is not portable; escape it');
      } else {
        lo = this.src.charCodeAt(this.pos++);
      }
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++;
        let hi: number;
        if (this.src[this.pos] === '\\') hi = setMembers(this.escapeSet())[0]!;
        else hi = this.src.charCodeAt(this.pos++);
        if (hi < lo) this.fail('reversed range');
        addRange(s, lo, hi);
      } else {
        addRange(s, lo, lo);
      }
    }
    if (this.src[this.pos] !== ']') this.fail('unterminated [');
    this.pos++;
    let out: CharSet = s;
    if (this.fold) out = foldCase(out);
    return neg ? negate(out) : out;
  }
  parseQuant(atom: Node): Node {
    const ch = this.src[this.pos];
    let min: number;
    let max: number;
    if (ch === '*' || ch === '+') this.fail(`unbounded quantifier '${ch}'; use {m,n}`);
    if (ch === '?') { this.pos++; min = 0; max = 1; }
    else if (ch === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.pos));
      if (!m) this.fail('malformed {m,n}');
      if (m[2] !== undefined && (m[3] === undefined || m[3] === '')) this.fail('unbounded quantifier {n,}; give an upper bound');
      min = Number(m[1]);
      max = m[3] !== undefined && m[3] !== '' ? Number(m[3]) : min;
      if (max < min) this.fail('{m,n} with n < m');
      // RE2 (and so re2js) rejects repeat counts above 1000; stay portable.
      if (max > 1000) this.fail('repeat count above 1000 (RE2 limit); match a prefix and extend instead');
      this.pos += m[0].length;
    } else return atom;
    if (this.src[this.pos] === '?') this.fail('lazy quantifiers are not allowed');
    if (this.src[this.pos] === '*' || this.src[this.pos] === '+' || this.src[this.pos] === '{') this.fail('stacked quantifiers');
    if (atom.kind === 'assert') this.fail('quantified assertion');
    return { kind: 'repeat', body: atom, min, max };
  }
}

// ---------- analysis ----------

interface Info {
  min: number;
  max: number;
  first: CharSet; // chars a non-empty match can start with
  paths: number;
}

function info(n: Node, follow: CharSet): Info {
  switch (n.kind) {
    case 'set': return { min: 1, max: 1, first: n.set, paths: 1 };
    case 'assert': return { min: 0, max: 0, first: EMPTY, paths: 1 };
    case 'group': return info(n.body, follow);
    case 'seq': {
      // Right to left, so each item knows what can follow it.
      let min = 0, max = 0, paths = 1;
      let restFirst = follow;
      let restNullable = true;
      let first: CharSet = EMPTY;
      for (let k = n.items.length - 1; k >= 0; k--) {
        const it = n.items[k]!;
        const i = info(it, restFirst);
        min += i.min;
        max += i.max;
        paths *= i.paths;
        const nullable = i.min === 0;
        first = nullable ? union(i.first, first) : i.first;
        restFirst = nullable ? union(i.first, restFirst) : i.first;
        restNullable = restNullable && nullable;
      }
      if (restNullable) first = union(first, EMPTY);
      return { min, max, first, paths };
    }
    case 'alt': {
      const infos = n.branches.map((b) => info(b, follow));
      let disjoint = true;
      for (let a = 0; a < infos.length && disjoint; a++) {
        for (let b = a + 1; b < infos.length; b++) {
          if (infos[a]!.min === 0 || infos[b]!.min === 0 || intersects(infos[a]!.first, infos[b]!.first)) { disjoint = false; break; }
        }
      }
      const sum = infos.reduce((acc, i) => acc + i.paths, 0);
      const maxP = infos.reduce((acc, i) => Math.max(acc, i.paths), 1);
      return {
        min: Math.min(...infos.map((i) => i.min)),
        max: Math.max(...infos.map((i) => i.max)),
        first: infos.reduce<CharSet>((acc, i) => union(acc, i.first), EMPTY),
        // Disjoint first characters: at most one branch gets past its first character.
        paths: disjoint ? maxP : sum,
      };
    }
    case 'repeat': {
      const inner = info(n.body, follow);
      if (n.max > 1 && inner.paths > 1) throw new PatternError('quantified group with ambiguous content (nested backtracking)');
      if (n.max > 1 && inner.min !== inner.max) throw new PatternError('quantified group of variable length (nested quantifier)');
      if (inner.max === 0) throw new PatternError('quantified empty group');
      const fixed = n.min === n.max;
      // Backtracking into X{m,n} only matters if what follows can start with a character of X.
      const ambiguous = !fixed && intersects(inner.first, follow);
      return {
        min: n.min * inner.min,
        max: n.max * inner.max,
        first: inner.first,
        paths: (ambiguous ? n.max - n.min + 1 : 1) * inner.paths,
      };
    }
  }
}

/** "End of pattern" follows the last item: nothing to backtrack into once it matched. */
const END: CharSet = EMPTY;

export function analyzePattern(source: string, flags: '' | 'i' = ''): PatternShape {
  const p = new Parser(source, flags === 'i');
  const ast = p.parseAlt();
  if (p.pos !== source.length) p.fail('unbalanced )');
  const i = info(ast, END);
  return { maxLength: i.max, minLength: i.min, paths: i.paths, ast };
}

/** Throws a PatternError unless the pattern is in the linear subset within budget. */
export function assertLinear(source: string, flags: '' | 'i' = '', id = source): PatternShape {
  let shape: PatternShape;
  try {
    shape = analyzePattern(source, flags);
  } catch (err) {
    throw new PatternError(`rule ${id}: ${(err as Error).message}`);
  }
  if (shape.paths > MAX_PATHS) throw new PatternError(`rule ${id}: ${shape.paths} backtracking paths per start exceeds ${MAX_PATHS}`);
  if (shape.maxLength > MAX_PATTERN_LENGTH) throw new PatternError(`rule ${id}: matches up to ${shape.maxLength} chars, over ${MAX_PATTERN_LENGTH}`);
  if (shape.minLength === 0) throw new PatternError(`rule ${id}: can match the empty string`);
  return shape;
}

/** A string the pattern matches (deterministic given `pick`), for tests and adversarial inputs. */
export function sampleMatch(node: Node, pick: (n: number) => number): string {
  switch (node.kind) {
    case 'set': {
      const m = setMembers(node.set).filter((c) => c >= 32 && c < 127);
      return m.length > 0 ? String.fromCharCode(m[pick(m.length)]!) : 'é';
    }
    case 'assert': return '';
    case 'group': return sampleMatch(node.body, pick);
    case 'seq': return node.items.map((it) => sampleMatch(it, pick)).join('');
    case 'alt': return sampleMatch(node.branches[pick(node.branches.length)]!, pick);
    case 'repeat': {
      const count = node.max;
      let out = '';
      for (let k = 0; k < count; k++) out += sampleMatch(node.body, pick);
      return out;
    }
  }
}

/** Every character set used by the pattern (for "long run of one class" adversarial inputs). */
export function charSets(node: Node, out: CharSet[] = []): CharSet[] {
  switch (node.kind) {
    case 'set': out.push(node.set); break;
    case 'group': charSets(node.body, out); break;
    case 'seq': for (const it of node.items) charSets(it, out); break;
    case 'alt': for (const b of node.branches) charSets(b, out); break;
    case 'repeat': charSets(node.body, out); break;
    case 'assert': break;
  }
  return out;
}
