/**
 * Content detectors: one entry point, `scanText`, over the secret, PII, marker and custom
 * families; plus the keyed fingerprint for audit and the window sizes the streaming path needs.
 *
 * Pipeline per call: normalize (NFKC, invisible characters removed, offsets kept) → one keyword
 * scan for all pattern rules (which also marks where IPv6 / fiscal-code shapes may start) → each
 * rule near its keywords → PII scanners → source-code heuristic → custom rules → overlap
 * resolution (a vendor rule beats a generic one, a secret beats PII on the same text) → offsets
 * mapped back to the original text.
 */
import { createHmac } from 'node:crypto';
import { CustomRuleSet, type CustomRules } from './custom.ts';
import { RuleSet, type RawMatch } from './engine.ts';
import { MARKER_RULES, scanSourceCode, SOURCE_CODE_MIN_LENGTH } from './markers.ts';
import { normalize, type Normalized } from './normalize.ts';
import { PII_MAX_LENGTH, PII_MIN_LENGTH, PII_TRIGGERS, scanPii } from './pii/index.ts';
import type { Positions } from './prefilter.ts';
import { SECRET_RULES } from './secrets/index.ts';
import type { BlockEnd, Finding } from './types.ts';

export type { BlockEnd, DetectorFamily, Finding, MatchContext, PatternRule, Severity } from './types.ts';
export { CustomRuleError, CustomRuleSet, type CustomDictionary, type CustomRegex, type CustomRules } from './custom.ts';
export { normalize, type HiddenCounts, type Normalized } from './normalize.ts';

export type ContentFamily = 'secret' | 'pii' | 'marker' | 'custom';
export const CONTENT_FAMILIES: readonly ContentFamily[] = ['secret', 'pii', 'marker', 'custom'];

export interface ScanOptions {
  /** Families to run (default: all; `custom` only does something with `custom` rules). */
  readonly families?: readonly ContentFamily[];
  /** Drop findings below this confidence (default 0.5). */
  readonly minConfidence?: number;
  /** Operator rules; pass a compiled `CustomRuleSet` to avoid recompiling per call. */
  readonly custom?: CustomRuleSet | CustomRules;
  /** Source-code heuristic (part of the marker family; default on). */
  readonly sourceCode?: boolean;
}

/** A finding plus, for blocks still open at the end of the text, how they end (streaming). */
export interface DetailedFinding extends Finding {
  readonly open?: BlockEnd;
}

export const DEFAULT_MIN_CONFIDENCE = 0.5;

// Compiled once per process: rule sets are immutable and scans keep no state between calls.
// With PII on, the set's keyword pass also reports where the PII scanners need to look
// (`PII_TRIGGERS`); without it, that costs nothing.
const patternSets = new Map<number, RuleSet>();
function patternSet(secret: boolean, marker: boolean, pii = false): RuleSet | undefined {
  if (!secret && !marker) return undefined;
  const key = (secret ? 1 : 0) | (marker ? 2 : 0) | (pii ? 4 : 0);
  let set = patternSets.get(key);
  if (set === undefined) {
    const rules = [...(secret ? SECRET_RULES : []), ...(marker ? MARKER_RULES : [])];
    set = new RuleSet(rules, pii ? PII_TRIGGERS : []);
    patternSets.set(key, set);
  }
  return set;
}

const customCache = new WeakMap<CustomRules, CustomRuleSet>();
function customSet(c: CustomRuleSet | CustomRules | undefined): CustomRuleSet | undefined {
  if (c === undefined) return undefined;
  if (c instanceof CustomRuleSet) return c;
  let s = customCache.get(c);
  if (!s) {
    s = new CustomRuleSet(c);
    customCache.set(c, s);
  }
  return s;
}

/**
 * Longest text a match can span, per family (UTF-16 units, normalized text), context included.
 * Private keys count their HEADER line only (the body is an extension, see secrets/keys.ts), and
 * long tokens (JWT) their first part: so these stay around a kilobyte.
 */
export const MAX_MATCH_LENGTH: Readonly<Record<Exclude<ContentFamily, 'custom'>, number>> = Object.freeze({
  secret: patternSet(true, false)!.maxLength,
  pii: PII_MAX_LENGTH,
  marker: patternSet(false, true)!.maxLength,
});

/**
 * Shortest text a finding of each family can come from (normalized text): a shorter one is not
 * scanned at all. Why: many strings of a message are short protocol values (`text`, a tool name,
 * a level), and the fixed cost of a scan (keyword pass, PII and marker set-up) was paid for
 * nothing: `scanText('echo')` ~0.8 → ~0.08 µs (with normalize.ts's short-text test). Custom
 * rules: any length.
 */
const MIN_MATCH_LENGTH: Readonly<Record<ContentFamily, number>> = Object.freeze({
  secret: patternSet(true, false)!.minLength,
  pii: PII_MIN_LENGTH,
  marker: Math.min(patternSet(false, true)!.minLength, SOURCE_CODE_MIN_LENGTH),
  custom: 1,
});

/** Characters after a match that validators and context scoring read. */
export const RIGHT_CONTEXT = 64;
/** Characters before a match that validators and context scoring read (SAS query, PII words). */
export const LEFT_CONTEXT = 400;

/** Hold-back window for the streaming path with these options: longest match + right context. */
export function holdBackWindow(options: ScanOptions = {}): number {
  const fams = options.families ?? CONTENT_FAMILIES;
  let max = 0;
  for (const f of fams) {
    if (f === 'custom') max = Math.max(max, customSet(options.custom)?.maxLength ?? 0);
    else max = Math.max(max, MAX_MATCH_LENGTH[f]);
  }
  return max + RIGHT_CONTEXT;
}

/**
 * Keyed fingerprint of a match, for correlating findings in audit logs without storing the
 * secret: HMAC-SHA256(key, type ∥ 0x00 ∥ text), first 16 bytes, base64url (22 characters).
 * The key keeps fingerprints of low-entropy values (PINs, short passwords) from being reversed by
 * guessing; rotate it and old fingerprints stop matching.
 */
export function fingerprint(key: string | Uint8Array, type: string, matchedText: string): string {
  return createHmac('sha256', key).update(type).update('\u0000').update(matchedText).digest().subarray(0, 16).toString('base64url');
}

/** Scan a text; findings are in ORIGINAL offsets, sorted by start, never contain the text. */
export function scanText(text: string, options: ScanOptions = {}): Finding[] {
  // Findings without `open` already have exactly the Finding fields: no copy needed.
  return scanTextDetailed(text, options).map((f) => (f.open === undefined ? f : { detector: f.detector, type: f.type, start: f.start, end: f.end, confidence: f.confidence, severity: f.severity }));
}

export function scanTextDetailed(text: string, options: ScanOptions = {}): DetailedFinding[] {
  return scanNormalized(normalize(text), options);
}

/** The same scan on an already normalized text (the streaming path normalizes once). */
export function scanNormalized(n: Normalized, options: ScanOptions = {}): DetailedFinding[] {
  // Plain `includes` on the (≤ 4) families rather than a Set: this runs per string leaf of a
  // message, most of them short, and most scans find nothing (the early return below).
  const fams = options.families ?? CONTENT_FAMILIES;
  const min = options.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const t = n.text;
  let shortest = Infinity;
  // `custom` without custom rules finds nothing (the default families include it).
  for (const f of fams) if (f !== 'custom' || options.custom !== undefined) shortest = Math.min(shortest, MIN_MATCH_LENGTH[f]);
  if (t.length < shortest) return [];
  const raw: RawMatch[] = [];
  const pii = fams.includes('pii');
  const marker = fams.includes('marker');
  const set = patternSet(fams.includes('secret'), marker, pii);
  const triggered: Positions[] = [];
  set?.scan(t, raw, pii ? triggered : undefined);
  if (pii) scanPii(t, raw, set ? triggered : undefined);
  if (marker && options.sourceCode !== false) scanSourceCode(t, raw);
  if (fams.includes('custom')) customSet(options.custom)?.scan(t, raw);
  if (raw.length === 0) return [];
  const kept = resolve(raw.filter((m) => m.confidence >= min));
  return kept.map((m) => {
    const [start, end] = n.toOriginal(m.start, m.end);
    const f: DetailedFinding = { detector: m.detector, type: m.type, start, end, confidence: round(m.confidence), severity: m.severity };
    return m.open ? { ...f, open: m.open } : f;
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Secrets and PII compete for the same text; markers and custom rules are reported alongside. */
function rank(m: RawMatch): number {
  if (m.detector === 'secret') return m.generic ? 2 : 3;
  if (m.detector === 'pii') return 1;
  return 0;
}

function better(a: RawMatch, b: RawMatch): boolean {
  const r = rank(a) - rank(b);
  if (r !== 0) return r > 0;
  const c = a.confidence - b.confidence;
  if (c !== 0) return c > 0;
  return a.end - a.start > b.end - b.start;
}

/**
 * Overlapping secret/PII matches keep the best one (rank, then confidence, then length); others
 * only drop exact duplicates. Sweep by start: kept exclusive matches never overlap each other.
 */
function resolve(raw: RawMatch[]): RawMatch[] {
  raw.sort((a, b) => a.start - b.start || b.end - a.end);
  const exclusive: RawMatch[] = [];
  const others: RawMatch[] = [];
  let seen: Set<string> | undefined;
  for (const m of raw) {
    if (rank(m) > 0) {
      const last = exclusive[exclusive.length - 1];
      if (last !== undefined && m.start < last.end) {
        if (better(m, last)) exclusive[exclusive.length - 1] = m;
        continue;
      }
      exclusive.push(m);
    } else {
      const key = `${m.detector}\u0000${m.type}\u0000${m.start}\u0000${m.end}`;
      seen ??= new Set<string>();
      if (!seen.has(key)) {
        seen.add(key);
        others.push(m);
      }
    }
  }
  // Replacing `last` keeps the invariant: its predecessor ends before `last` starts ≤ `m` starts.
  // So `exclusive` alone is already in (start, end) order: its starts differ (matches are never
  // empty); most scans have only one of the two lists.
  if (others.length === 0) return exclusive;
  return [...exclusive, ...others].sort((a, b) => a.start - b.start || a.end - b.end);
}

export { DEFAULT_INJECTION_THRESHOLD, scoreInjection, type InjectionResult, type InjectionSignal } from './injection.ts';
export { scanDefinitions, scanTools, type DefinitionVerdict, type PoisoningOptions, type PoisoningReason, type PoisoningVerdict, type ToolDefinition } from './poisoning.ts';
