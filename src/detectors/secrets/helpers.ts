/**
 * Building blocks for the secret rule pack: a rule constructor with the pack's defaults, the
 * "key = value" context shape, and validators for random token bodies.
 */
import { classCount, entropy, isPlaceholder } from '../checks.ts';
import type { MatchContext, PatternRule, Severity, Validator } from '../types.ts';

export type SecretRuleInput = Omit<PatternRule, 'family' | 'confidence' | 'severity'> & {
  confidence?: number;
  severity?: Severity;
};

export function secret(r: SecretRuleInput): PatternRule {
  return { family: 'secret', confidence: 0.9, severity: 'high', boundary: 'alnum', ...r };
}

/**
 * `KEYNAME … = value` in env files, YAML, JSON, TOML, code and CLI flags:
 * `DATADOG_API_KEY=…`, `"datadog_api_key": "…"`, `dd-api-key: …`, `apiKey := "…"`.
 * `key` must contain the rule's keyword; the value is capture group 1.
 */
export function assign(key: string, value: string): string {
  return `(?:${key})[A-Za-z0-9_.-]{0,32}["']?[ \\t]{0,4}(?:=|:|:=|=>|,)[ \\t]{0,4}["'\`]?(${value})`;
}

/** The variable (random) part of a token: drop a prefix matched by `prefix`, if any. */
function bodyOf(value: string, prefix: RegExp | number | undefined): string {
  if (prefix === undefined) return value;
  if (typeof prefix === 'number') return value.slice(prefix);
  const m = prefix.exec(value);
  return m ? value.slice(m[0].length) : value;
}

export interface RandomOpts {
  /** Literal prefix to strip before judging randomness (length or regex anchored at ^). */
  prefix?: RegExp | number;
  /** Alphabet size of the body (16 hex, 32 base32, 62 base62, 64 base64). */
  alphabet?: number;
  /** Confidence when the body looks random. */
  confidence?: number;
  /** Require at least this many of {lower, upper, digit, other}. */
  minClasses?: number;
  /** Judge only the first N characters of the body (the rest is structure, e.g. version fields). */
  length?: number;
}

/**
 * Accepts a value whose body looks random: not a placeholder, and entropy close to what a
 * random string of that length and alphabet shows. Placeholders (`AKIAIOSFODNN7EXAMPLE`,
 * `ghp_xxxxxxxx…`, `sk_live_your_key_here`) fail here.
 */
export function random(opts: RandomOpts = {}): Validator {
  const alphabet = opts.alphabet ?? 62;
  return (value) => {
    const full = bodyOf(value, opts.prefix);
    const body = opts.length === undefined ? full : full.slice(0, opts.length);
    if (isPlaceholder(body) || looksLikeWords(body)) return null;
    // Judge against the alphabet the body actually uses (a hex body of a base64 format).
    const maxH = Math.log2(Math.min(body.length, alphabet, apparentAlphabet(body)));
    // Short random strings often repeat characters: relax the bar below 24 characters.
    if (entropy(body) < (body.length < 24 ? 0.62 : 0.72) * maxH) return null;
    if (opts.minClasses !== undefined && classCount(body) < opts.minClasses) return null;
    return opts.confidence ?? 0.9;
  };
}

/**
 * Size of the smallest common alphabet containing every character of `s`: 16 for `[0-9a-f]+` or
 * `[0-9A-F]+`, 36 for `[a-z0-9]+` or `[A-Z0-9]+`, 62 for `[A-Za-z0-9]+`, else 64. One pass over
 * the characters instead of up to five regex tests (validators run for every candidate).
 */
export function apparentAlphabet(s: string): number {
  let lowHex = false, lowRest = false, upHex = false, upRest = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (c >= 97 && c <= 102) lowHex = true;
    else if (c >= 103 && c <= 122) lowRest = true;
    else if (c >= 65 && c <= 70) upHex = true;
    else if (c >= 71 && c <= 90) upRest = true;
    else return 64;
  }
  if (s.length === 0) return 64;
  const lower = lowHex || lowRest;
  const upper = upHex || upRest;
  if ((!upper && !lowRest) || (!lower && !upRest)) return 16;
  if (!upper || !lower) return 36;
  return 62;
}

/**
 * Made of words (`PersonalAccessToken0123`, `auth_js_2.OAuthTokensSchema`): camel-case or
 * separated runs of ≥ 4 letters with vowels cover most of it. Random tokens rarely do.
 */
export function looksLikeWords(s: string): boolean {
  // Hex has only a–f: its letter runs look like syllables by chance.
  if (/^[0-9a-fA-F]+$/.test(s)) return false;
  // Words need boundaries: camel case or separators. A lower-case blob is judged by entropy.
  if (!/[A-Z][a-z]|[a-z][_.-]/.test(s)) return false;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 32;
    if (c >= 97 && c <= 122) letters++;
  }
  if (letters < 8) return false;
  let covered = 0;
  for (const m of s.matchAll(/[A-Z]?[a-z]{4,}/g)) {
    const w = m[0];
    const vowels = (w.match(/[aeiouAEIOU]/g) ?? []).length / w.length;
    if (vowels >= 0.25 && vowels <= 0.6 && !/[bcdfghjklmnpqrstvwxyz]{4}/i.test(w)) covered += w.length;
  }
  return covered >= 0.6 * letters;
}

/** Runs validators in order; the first null wins, otherwise the last confidence. */
export function all(...vs: Validator[]): Validator {
  return (value: string, ctx: MatchContext) => {
    let c: number | null = null;
    for (const v of vs) {
      c = v(value, ctx);
      if (c === null) return null;
    }
    return c;
  };
}

/**
 * Keywords `prefix + c` for each character of `chars`: turns a 3-character prefix such as `hf_`
 * into 4-character keywords: the prefilter's fast path needs ≥ 4 characters (see prefilter.ts).
 */
export function expand(prefix: string, chars: string): string[] {
  const out: string[] = [];
  for (const c of chars) out.push(prefix + c);
  return out;
}
export const KW_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const KW_TOKEN = KW_ALNUM + '_-';

/**
 * `text.indexOf(needle, from)` restricted to `[from, limit)`, remembering what it already searched
 * in the same text: many headers without an END line must not each search the same kilobytes
 * again (that would be quadratic in the number of headers).
 */
let memo: { text: string; needle: string; from: number; to: number; found: number } | undefined;
export function findWithin(text: string, needle: string, from: number, limit: number): number {
  if (memo !== undefined && memo.text === text && memo.needle === needle && from >= memo.from && from <= memo.to) {
    if (memo.found >= from) return memo.found < limit ? memo.found : -1;
    if (memo.found < 0 && limit <= memo.to) return -1;
    const start = Math.max(from, memo.to - needle.length + 1);
    const at = text.slice(start, limit).indexOf(needle);
    const found = at < 0 ? -1 : start + at;
    memo = { text, needle, from: memo.from, to: found < 0 ? limit : found, found };
    return found;
  }
  const at = text.slice(from, limit).indexOf(needle);
  const found = at < 0 ? -1 : from + at;
  memo = { text, needle, from, to: found < 0 ? limit : found, found };
  return found;
}

/** Character classes used across rules (RE2/JS portable). */
export const B62 = 'A-Za-z0-9';
export const B64 = 'A-Za-z0-9+/';
export const B64URL = 'A-Za-z0-9_-';
export const HEX = 'a-f0-9';
export const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
