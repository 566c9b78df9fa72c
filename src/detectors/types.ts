/**
 * Shapes shared by every detector family (secrets, PII, markers, custom rules, prompt injection,
 * tool poisoning). Detectors are pure functions over a string: no I/O, no clocks, no globals
 * that change between calls, so the same text always gives the same findings.
 */

export type DetectorFamily = 'secret' | 'pii' | 'marker' | 'custom' | 'injection' | 'poisoning';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/**
 * One thing a detector found. Offsets are UTF-16 code units in the ORIGINAL text (before
 * normalization) so a redactor can patch `[start, end)` directly. A finding never carries the
 * matched text: audit correlation goes through `fingerprint()` instead.
 */
export interface Finding {
  readonly detector: DetectorFamily;
  /** Rule id, kebab-case; the redaction mask is `[REDACTED:<type>]`. */
  readonly type: string;
  readonly start: number;
  readonly end: number;
  /** 0..1 after validation and context adjustments. */
  readonly confidence: number;
  readonly severity: Severity;
}

/** What a validator sees: the value, where it sits, and the (normalized) text around it. */
export interface MatchContext {
  /** The whole normalized text being scanned. */
  readonly text: string;
  /** `[start, end)` of the reported span in `text`. */
  readonly start: number;
  readonly end: number;
  /** The whole regex match (may be wider than the reported span when `group` is set). */
  readonly match: string;
  /** Capture groups of the match (index 0 is the whole match). */
  readonly groups: readonly (string | undefined)[];
}

/**
 * A validator returns the final confidence (0..1), or `null` to drop the candidate
 * (wrong checksum, placeholder value, impossible structure).
 */
export type Validator = (value: string, ctx: MatchContext) => number | null;

/** Which characters may not touch a match on either side (a token that runs on is another token). */
export type Boundary = 'alnum' | 'token' | 'none';

/**
 * A pattern rule. Built-in patterns use the common subset of ECMAScript and RE2 syntax (no
 * lookaround, no backreferences) and every quantifier is bounded, so the JS engine runs them in
 * linear time; `linear.ts` checks that shape when the pack loads and `redos.test.ts` measures it.
 */
export interface PatternRule {
  readonly id: string;
  readonly family: 'secret' | 'pii' | 'marker' | 'custom';
  readonly description: string;
  /**
   * Lowercase literals; the rule only runs where one of them occurs (found by a single
   * multi-keyword scan over the text). Empty means "always run" (PII scanners, custom regexes
   * without keywords).
   */
  readonly keywords: readonly string[];
  /**
   * For a rule without keywords: a case-sensitive literal every match contains (checked against
   * the pattern when it compiles). The rule then runs near its occurrences, found natively by
   * `indexOf`, with the same results as over the whole text.
   */
  readonly needle?: string;
  /** Regex source (see above). */
  readonly pattern: string;
  /** `i` for case-insensitive; nothing else (the engine adds `g`). */
  readonly flags?: '' | 'i';
  /** Capture group whose span is reported (default 0, the whole match). */
  readonly group?: number;
  /**
   * How far before the match a keyword may sit when it is context rather than part of the
   * match (e.g. `datadog` before a bare 32-hex key). 0 (default) = the keyword is inside the match.
   */
  readonly contextBefore?: number;
  /**
   * Every match starts with one of the keywords (detected automatically for a literal prefix; set
   * it for alternations such as URL schemes). Lets the engine skip looking back from a hit.
   */
  readonly anchored?: boolean;
  readonly boundary?: Boundary;
  readonly validate?: Validator;
  /** Confidence of a match that passes validation without adjusting it. */
  readonly confidence: number;
  readonly severity: Severity;
  /**
   * Characters after the match a validator may read (e.g. "is a key body following this PEM
   * header?"). Windows and the streaming hold-back include them.
   */
  readonly lookahead?: number;
  /** A catch-all rule (keyword + entropy): yields to a vendor-specific rule on the same text. */
  readonly generic?: boolean;
  /**
   * Extends a match past what the regex can bound (PEM bodies, long tokens). Must be linear in
   * what it reads and stop at `limit`. `open` means the text ended inside the block: a streaming
   * scanner keeps redacting what follows until the block ends (see `stream-window.ts`).
   */
  readonly extend?: (text: string, start: number, end: number, limit: number) => Extension;
}

export interface Extension {
  readonly end: number;
  /** Set when the text ended inside the block: how a streaming scanner finds where it closes. */
  readonly open?: BlockEnd;
}

/** How an open block ends: at a literal (PEM `-----END`), or at the first character outside a set. */
export type BlockEnd = { readonly until: string } | { readonly whileIn: 'base64' | 'token' };
