/**
 * Runs a pack of pattern rules over (normalized) text: one keyword scan, then each rule's regex
 * only inside windows around its keywords, then boundary checks, validation and extension.
 *
 * Windows: if a keyword occurs at p (length k) and the rule matches at most L characters with its
 * keyword inside the match, or within `contextBefore` D characters before it, every match the
 * keyword can belong to lies inside [p − L, p + k + D + L]. Overlapping windows are merged, so a
 * rule reads each character at most once per window and the total work stays linear.
 */
import { codeAt } from './code-at.ts';
import { assertLinear, type PatternShape } from './linear.ts';
import { containsLiteral, meets, requirementOf, type Requirement } from './literals.ts';
import { KeywordScanner, type Positions, type TrigramTrigger } from './prefilter.ts';
import { unrollForSearch } from './unroll.ts';
import type { BlockEnd, Boundary, DetectorFamily, MatchContext, PatternRule, Severity } from './types.ts';

export interface CompiledRule {
  readonly rule: PatternRule;
  readonly re: RegExp;
  readonly shape: PatternShape;
  /** Longest span a match can cover, keyword context included: sizes the stream hold-back. */
  readonly maxLength: number;
  /** How far before a keyword hit a match may start (0 when every match begins with a keyword). */
  readonly before: number;
  /** Literal text every match holds (`literals.ts`): a window without it is skipped. */
  readonly required: Requirement;
}

/** The literal text every match of `pattern` starts with (escapes resolved), possibly empty. */
export function literalPrefix(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined || /[A-Za-z0-9]/.test(e)) break;
      // A quantifier after the escaped char makes it optional/repeated: stop before it.
      if (/[?*+{]/.test(pattern[i + 2] ?? '')) break;
      out += e;
      i++;
      continue;
    }
    if (/[[\]().|?*+{}^$]/.test(c)) break;
    if (/[?*+{]/.test(pattern[i + 1] ?? '')) break;
    out += c;
  }
  return out;
}

/** A match in normalized offsets, before mapping back to the original text. */
export interface RawMatch {
  readonly detector: DetectorFamily;
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly confidence: number;
  readonly severity: Severity;
  /** From a catch-all rule: yields to a specific rule on overlapping text. */
  readonly generic?: boolean;
  /** Set when `extend` reached the end of the text inside an unterminated block. */
  readonly open?: BlockEnd;
}

/** Cap on how far `extend` may grow a match (PEM bodies): a 16384-bit RSA key is ~12 KB. */
export const EXTEND_LIMIT = 16384;

export function compileRule(rule: PatternRule): CompiledRule {
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(rule.id)) throw new Error(`rule id ${JSON.stringify(rule.id)} must be kebab-case`);
  const flags = rule.flags ?? '';
  const shape = assertLinear(rule.pattern, flags, rule.id);
  if (rule.needle !== undefined && (rule.keywords.length > 0 || !containsLiteral(shape.ast, rule.needle))) {
    throw new Error(`rule ${rule.id}: needle ${JSON.stringify(rule.needle)} must be a literal of the pattern (case-sensitive) of a rule without keywords`);
  }
  const re = new RegExp(unrollForSearch(rule.pattern), `g${flags}${rule.group ? 'd' : ''}`);
  // When every match begins with a keyword, a hit at p can only start a match at p: the window
  // need not reach back (halves the regex work around frequent keywords).
  const lit = shape.ast.kind === 'alt' ? '' : literalPrefix(rule.pattern).toLowerCase();
  const anchored = (rule.contextBefore ?? 0) === 0 && (rule.anchored === true || rule.keywords.some((k) => lit.startsWith(k)));
  return {
    rule,
    re,
    shape,
    maxLength: shape.maxLength + (rule.contextBefore ?? 0) + (rule.lookahead ?? 0),
    before: anchored ? 0 : shape.maxLength,
    required: requirementOf(shape.ast),
  };
}

/**
 * Compiled rules shared by every set that holds them (index.ts builds a set per family mix): a
 * compiled rule is immutable but for its regex's `lastIndex`, which each scan resets before use.
 */
const compiledCache = new WeakMap<PatternRule, CompiledRule>();
function compiledOf(rule: PatternRule): CompiledRule {
  let c = compiledCache.get(rule);
  if (c === undefined) {
    c = compileRule(rule);
    compiledCache.set(rule, c);
  }
  return c;
}

const ALNUM = new Uint8Array(128);
const TOKEN = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  ALNUM[c] = alnum ? 1 : 0;
  TOKEN[c] = alnum || c === 95 || c === 45 ? 1 : 0;
}
/** `c` from `codeAt`: `OUTSIDE` (before or after the text) is no boundary character. */
function isBoundaryChar(kind: Boundary, c: number): boolean {
  if (kind === 'none' || c < 0 || c >= 128) return false;
  return (kind === 'alnum' ? ALNUM[c] : TOKEN[c]) === 1;
}

/**
 * Sorts distinct rule indexes ascending, in place. Why not `Array.prototype.sort` with a
 * comparator: `open` mostly holds a few rules (those a keyword or two trigger), and the builtin's
 * set-up cost more than the rest of such a scan's window work: the 230-character tool argument of
 * the gateway bench (`pass` in `passed`: 2 rules), `scan` 1.6 → 1.2 µs. Insertion sort up to 32.
 */
function sortSmall(a: number[]): void {
  if (a.length > 32) {
    a.sort((x, y) => x - y);
    return;
  }
  for (let i = 1; i < a.length; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

export class RuleSet {
  readonly compiled: readonly CompiledRule[];
  private readonly scanner: KeywordScanner;
  /** keyword index → rules that keyword triggers. */
  private readonly byKeyword: number[][];
  /** Rules without keywords run over the whole text. */
  private readonly always: number[];

  /** `triggers`: other text shapes the keyword pass reports (see `KeywordScanner`, `scan`). */
  constructor(rules: readonly PatternRule[], triggers: readonly TrigramTrigger[] = []) {
    const seen = new Set<string>();
    for (const r of rules) {
      if (seen.has(r.id)) throw new Error(`duplicate rule id ${r.id}`);
      seen.add(r.id);
    }
    this.compiled = rules.map((r) => compiledOf(r));
    const kwIndex = new Map<string, number>();
    const kwList: string[] = [];
    this.byKeyword = [];
    this.always = [];
    this.compiled.forEach((c, ri) => {
      if (c.rule.keywords.length === 0) {
        this.always.push(ri);
        return;
      }
      for (const k of c.rule.keywords) {
        let ki = kwIndex.get(k);
        if (ki === undefined) {
          ki = kwList.length;
          kwIndex.set(k, ki);
          kwList.push(k);
          this.byKeyword.push([]);
        }
        this.byKeyword[ki]!.push(ri);
      }
    });
    this.scanner = new KeywordScanner(kwList, triggers);
    this.ws = new Int32Array(this.compiled.length).fill(-1);
    this.we = new Int32Array(this.compiled.length);
  }

  /** Longest match any rule of the set can produce (0 for an empty set). */
  get maxLength(): number {
    return this.compiled.reduce((m, c) => Math.max(m, c.maxLength), 0);
  }

  /**
   * Shortest text any rule can match in (its pattern's shortest match; a group or an extension
   * only narrows or widens a match of it); Infinity for an empty set.
   */
  get minLength(): number {
    return this.compiled.reduce((m, c) => Math.min(m, c.shape.minLength), Infinity);
  }

  /**
   * Per-rule current window (start, end), -1 = none, and the rules that have one: reused by
   * every scan (scans are synchronous and do not nest). Why: two fresh Int32Arrays of one entry
   * per rule (~250) are off-heap allocations; with the final sweep over every rule they cost
   * ~6 µs per scan whatever the text, and the DLP inspector scans every string leaf of a
   * message. Measured per scan: a 10-character leaf 6.7 → 0.6 µs, a 200-character tool
   * argument 6.6 → 2.9 µs.
   */
  private readonly ws: Int32Array;
  private readonly we: Int32Array;
  private readonly open: number[] = [];

  /** `triggered`, when given, receives the positions of the set's triggers in `text`. */
  scan(text: string, out: RawMatch[] = [], triggered?: Positions[]): RawMatch[] {
    const n = text.length;
    // Current (not yet run) window per rule: merged on the fly since hits come in order.
    const { ws, we, open } = this;
    const hits = this.scanner.scan(text);
    if (triggered !== undefined) for (const t of hits.triggered) triggered.push(t);
    const kws = this.scanner.keywords;
    try {
      for (let h = 0; h < hits.count; h++) {
        const ki = hits.keyword[h]!;
        const p = hits.start[h]!;
        const klen = kws[ki]!.length;
        for (const ri of this.byKeyword[ki]!) {
          const c = this.compiled[ri]!;
          const s = Math.max(0, p - c.before);
          // `maxLength` is L + D (+ lookahead): read from the compiled rule, whose objects all
          // share one shape, rather than from the rules (each literal has its own set of optional
          // fields, so `c.rule.contextBefore` is a megamorphic load, paid per hit and rule).
          const e = Math.min(n, p + klen + c.maxLength);
          if (ws[ri] === -1) {
            ws[ri] = s;
            we[ri] = e;
            open.push(ri);
          } else if (s <= we[ri]!) {
            if (e > we[ri]!) we[ri] = e;
          } else {
            this.runWindow(c, text, ws[ri]!, we[ri]!, out);
            ws[ri] = s;
            we[ri] = e;
          }
        }
      }
      // In rule order, as a sweep over every rule would run them.
      sortSmall(open);
      for (const ri of open) {
        const s = ws[ri]!;
        ws[ri] = -1;
        this.runWindow(this.compiled[ri]!, text, s, we[ri]!, out);
      }
    } finally {
      // A throwing rule (a validator bug) must not leave windows open for the next scan.
      for (const ri of open) ws[ri] = -1;
      open.length = 0;
    }
    for (const ri of this.always) {
      const c = this.compiled[ri]!;
      if (c.rule.needle !== undefined) this.runNeedle(c, c.rule.needle, text, out);
      else this.runWindow(c, text, 0, n, out);
    }
    return out;
  }

  /**
   * A needle rule over windows `[q − L, q + |needle| + L]` around each occurrence `q` of its
   * needle (L = longest match), with the same results as one pass over the whole text: every
   * match holds the needle, so it lies in the window of its own occurrence (merged with any
   * window holding its start); and the scan resumes where the whole-text pass would, across
   * windows (`from`, with skips and extensions not stopped at a window's end).
   * Why: irregexp cannot skip ahead to a needle that follows character classes; for
   * `azure-ad-client-secret` (`…{3}[0-9]Q~…`) the whole-text pass took 0.7 ms per 3.2 MB of the
   * real text of eval/benign.ts, the windows next to nothing.
   */
  private runNeedle(c: CompiledRule, needle: string, text: string, out: RawMatch[]): void {
    const n = text.length;
    const L = c.shape.maxLength;
    let resume = 0;
    let ws = -1;
    let we = -1;
    for (let q = text.indexOf(needle); q >= 0; q = text.indexOf(needle, q + 1)) {
      const s = Math.max(0, q - L);
      const e = Math.min(n, q + needle.length + L);
      if (ws >= 0 && s <= we) {
        we = e;
        continue;
      }
      if (ws >= 0 && resume < we) resume = this.runWindow(c, text, ws, we, out, Math.max(ws, resume), n);
      ws = s;
      we = e;
    }
    if (ws >= 0 && resume < we) this.runWindow(c, text, ws, we, out, Math.max(ws, resume), n);
  }

  /**
   * Runs a rule over `[ws, we)` from `from`; boundary skips run up to `limit`. Returns where a
   * pass over the whole text would resume (may lie past `we`).
   */
  private runWindow(c: CompiledRule, text: string, ws: number, we: number, out: RawMatch[], from = ws, limit = we): number {
    const { rule, re } = c;
    const slice = ws === 0 && we === text.length ? text : text.slice(ws, we);
    // No match can lie in a window without the pattern's literals: skip the regex (a few
    // `indexOf`). Most windows come from a case-insensitive keyword in another spelling than the
    // pattern's (`aiza` for `AIza`, `pass` for `PASSWORD`), or lack what follows it (`@` after
    // `://` in a URL, the `.` 17 characters after `pat` of an Airtable token).
    let resume = from;
    if (!meets(slice, c.required)) return resume;
    const boundary = rule.boundary ?? 'alnum';
    re.lastIndex = from - ws;
    for (let m = re.exec(slice); m !== null; resume = ws + re.lastIndex, m = re.exec(slice)) {
      const g = rule.group ?? 0;
      const rel = g === 0 ? [m.index, m.index + m[0].length] as const : m.indices?.[g];
      if (rel === undefined || rel === null) continue;
      const start = ws + rel[0];
      let end = ws + rel[1];
      if (end === start) {
        re.lastIndex = m.index + 1;
        continue;
      }
      // Boundaries are checked on the full text, not the window, so a window edge cutting a
      // longer token cannot fake a boundary.
      if (isBoundaryChar(boundary, codeAt(text, start - 1)) || isBoundaryChar(boundary, codeAt(text, end))) {
        // Any match starting inside the same run of boundary characters fails the same way:
        // resume after the run (keeps the scan linear).
        let k = start;
        while (k < limit && isBoundaryChar(boundary, text.charCodeAt(k))) k++;
        re.lastIndex = Math.max(k - ws, m.index + 1);
        continue;
      }
      let confidence: number | null = rule.confidence;
      if (rule.validate) {
        const ctx: MatchContext = { text, start, end, match: m[0], groups: m };
        confidence = rule.validate(text.slice(start, end), ctx);
      }
      if (confidence === null || confidence <= 0) {
        // The match may have swallowed a better candidate (`token: OTHER_API_KEY=…` is a rejected
        // value followed by a real key name): retry from the reported span, or the next character.
        const rs = start - ws;
        re.lastIndex = rs > m.index ? rs : m.index + 1;
        continue;
      }
      let open: BlockEnd | undefined;
      if (rule.extend) {
        const extLimit = Math.min(text.length, end + EXTEND_LIMIT);
        const ext = rule.extend(text, start, end, extLimit);
        end = Math.max(end, ext.end);
        open = ext.open;
        // The extension is part of this finding; don't look for another match inside it (a
        // needle rule's scan carries past the window's end, like the whole-text pass).
        if (end - ws > re.lastIndex) re.lastIndex = Math.min(limit, end) - ws;
      }
      const hit: { -readonly [K in keyof RawMatch]: RawMatch[K] } = {
        detector: rule.family,
        type: rule.id,
        start,
        end,
        confidence: Math.min(1, confidence),
        severity: rule.severity,
      };
      // Plain assignments rather than object spreads: this runs per match, also in the first
      // scans before V8 optimizes it.
      if (rule.generic) hit.generic = true;
      if (open) hit.open = open;
      out.push(hit);
    }
    return resume;
  }
}
