/**
 * Operator-supplied rules: dictionaries (code names, customer names, project ids) and regexes.
 *
 * User regexes are compiled with re2js, an RE2 port whose matching is linear in the input
 * whatever the pattern (no backtracking): a config author cannot make the gateway hang with
 * `(a+)+$`. RE2 has no lookaround or backreferences; such patterns are rejected with the reason.
 * Dictionary terms are matched with the same multi-keyword scanner as built-in keywords.
 */
import { RE2JS } from 're2js';
import type { RawMatch } from './engine.ts';
import { KeywordScanner } from './prefilter.ts';
import type { Severity } from './types.ts';

export interface CustomDictionary {
  /** Reported type, kebab-case (mask `[REDACTED:<id>]`). */
  readonly id: string;
  readonly terms: readonly string[];
  readonly caseSensitive?: boolean;
  /** Only match whole words (default true). */
  readonly wholeWord?: boolean;
  readonly confidence?: number;
  readonly severity?: Severity;
}

export interface CustomRegex {
  readonly id: string;
  /** RE2 syntax. */
  readonly pattern: string;
  readonly caseInsensitive?: boolean;
  /** Optional lowercase literals; when given the regex only runs near them. */
  readonly keywords?: readonly string[];
  /**
   * Longest match the rule is expected to produce (default 256): sizes the windows around keywords
   * and the streaming hold-back. Longer matches are not guaranteed to be found across chunks.
   */
  readonly maxLength?: number;
  readonly confidence?: number;
  readonly severity?: Severity;
}

export interface CustomRules {
  readonly dictionaries?: readonly CustomDictionary[];
  readonly regexes?: readonly CustomRegex[];
}

export class CustomRuleError extends Error {
  override name = 'CustomRuleError';
}

const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const DEFAULT_CUSTOM_MAX_LENGTH = 256;

interface CompiledRegex {
  readonly rule: CustomRegex;
  readonly re: RE2JS;
  readonly maxLength: number;
}

interface DictTerm {
  readonly dict: CustomDictionary;
  readonly term: string;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
}

/** Compiled custom rules; construct once per config, reuse for every scan. */
export class CustomRuleSet {
  private readonly regexes: CompiledRegex[] = [];
  private readonly asciiTerms: DictTerm[] = [];
  private readonly otherTerms: DictTerm[] = [];
  private readonly termScanner: KeywordScanner;
  private readonly regexScanner: KeywordScanner;
  private readonly regexByKeyword: number[][] = [];
  readonly maxLength: number;

  constructor(rules: CustomRules) {
    const ids = new Set<string>();
    const checkId = (id: string): void => {
      if (!ID.test(id)) throw new CustomRuleError(`custom rule id ${JSON.stringify(id)} must be kebab-case (a-z, 0-9, -)`);
      if (ids.has(id)) throw new CustomRuleError(`duplicate custom rule id ${id}`);
      ids.add(id);
    };
    const kwList: string[] = [];
    const kwIndex = new Map<string, number>();
    for (const r of rules.regexes ?? []) {
      checkId(r.id);
      let re: RE2JS;
      try {
        re = RE2JS.compile(r.pattern, r.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
      } catch (err) {
        throw new CustomRuleError(`custom regex ${r.id}: not valid RE2 syntax (lookaround and backreferences are not supported): ${(err as Error).message}`);
      }
      if (re.matches('')) throw new CustomRuleError(`custom regex ${r.id}: matches the empty string`);
      const ri = this.regexes.length;
      this.regexes.push({ rule: r, re, maxLength: r.maxLength ?? DEFAULT_CUSTOM_MAX_LENGTH });
      for (const k of r.keywords ?? []) {
        const kw = k.toLowerCase();
        if (kw.length === 0 || !/^[\x01-\x7f]+$/.test(kw)) throw new CustomRuleError(`custom regex ${r.id}: keywords must be non-empty ASCII`);
        let ki = kwIndex.get(kw);
        if (ki === undefined) {
          ki = kwList.length;
          kwIndex.set(kw, ki);
          kwList.push(kw);
          this.regexByKeyword.push([]);
        }
        this.regexByKeyword[ki]!.push(ri);
      }
    }
    for (const d of rules.dictionaries ?? []) {
      checkId(d.id);
      for (const t of d.terms) {
        if (t.trim().length === 0) throw new CustomRuleError(`dictionary ${d.id}: empty term`);
        (/^[\x01-\x7f]+$/.test(t) ? this.asciiTerms : this.otherTerms).push({ dict: d, term: t });
      }
    }
    this.termScanner = new KeywordScanner([...new Set(this.asciiTerms.map((t) => t.term.toLowerCase()))]);
    this.regexScanner = new KeywordScanner(kwList);
    const termMax = Math.max(0, ...this.asciiTerms.map((t) => t.term.length), ...this.otherTerms.map((t) => t.term.length));
    this.maxLength = Math.max(termMax, ...this.regexes.map((r) => r.maxLength), 0);
  }

  get empty(): boolean {
    return this.regexes.length === 0 && this.asciiTerms.length === 0 && this.otherTerms.length === 0;
  }

  scan(text: string, out: RawMatch[] = []): RawMatch[] {
    this.scanTerms(text, out);
    this.scanRegexes(text, out);
    return out;
  }

  private emitTerm(text: string, t: DictTerm, at: number, out: RawMatch[]): void {
    const end = at + t.term.length;
    if (t.dict.caseSensitive && text.slice(at, end) !== t.term) return;
    if (t.dict.wholeWord !== false && (isWordChar(text.charCodeAt(at - 1)) || isWordChar(text.charCodeAt(end)))) return;
    out.push({ detector: 'custom', type: t.dict.id, start: at, end, confidence: t.dict.confidence ?? 0.9, severity: t.dict.severity ?? 'medium' });
  }

  private scanTerms(text: string, out: RawMatch[]): void {
    if (this.asciiTerms.length > 0) {
      const hits = this.termScanner.scan(text);
      const kws = this.termScanner.keywords;
      for (let h = 0; h < hits.count; h++) {
        const kw = kws[hits.keyword[h]!]!;
        for (const t of this.asciiTerms) if (t.term.toLowerCase() === kw) this.emitTerm(text, t, hits.start[h]!, out);
      }
    }
    if (this.otherTerms.length > 0) {
      // Non-ASCII terms: case folding may change lengths, so fold only when it does not.
      const lower = text.toLowerCase();
      const foldable = lower.length === text.length;
      for (const t of this.otherTerms) {
        const hay = foldable && !t.dict.caseSensitive ? lower : text;
        const needle = foldable && !t.dict.caseSensitive ? t.term.toLowerCase() : t.term;
        for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) this.emitTerm(text, t, at, out);
      }
    }
  }

  private scanRegexes(text: string, out: RawMatch[]): void {
    if (this.regexes.length === 0) return;
    const windows: [number, number][][] = this.regexes.map(() => []);
    const withKeywords = new Set<number>();
    const hits = this.regexScanner.scan(text);
    const kws = this.regexScanner.keywords;
    for (let h = 0; h < hits.count; h++) {
      const p = hits.start[h]!;
      for (const ri of this.regexByKeyword[hits.keyword[h]!]!) {
        const L = this.regexes[ri]!.maxLength;
        const w = windows[ri]!;
        const s = Math.max(0, p - L);
        const e = Math.min(text.length, p + kws[hits.keyword[h]!]!.length + L);
        const last = w[w.length - 1];
        if (last && s <= last[1]) last[1] = Math.max(last[1], e);
        else w.push([s, e]);
      }
    }
    this.regexes.forEach((c, ri) => {
      if ((c.rule.keywords ?? []).length > 0) withKeywords.add(ri);
      const spans = withKeywords.has(ri) ? windows[ri]! : [[0, text.length] as [number, number]];
      for (const [ws, we] of spans) {
        const m = c.re.matcher(ws === 0 && we === text.length ? text : text.slice(ws, we));
        let from = 0;
        while (m.find(from)) {
          const s = m.start();
          const e = m.end();
          if (e > s) out.push({ detector: 'custom', type: c.rule.id, start: ws + s, end: ws + e, confidence: c.rule.confidence ?? 0.9, severity: c.rule.severity ?? 'medium' });
          from = e > s ? e : s + 1;
          if (from > we - ws) break;
        }
      }
    });
  }
}
