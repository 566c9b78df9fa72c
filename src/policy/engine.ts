/**
 * The policy engine: compiled rules → one Decision per request, and list filtering.
 *
 * Combination (docs/policy.md § Decisions):
 * 1. Access. Any matching deny rule, or any rule that fails to evaluate, denies. Otherwise a
 *    matching allow rule allows. Otherwise `default` decides.
 * 2. Conditions. Only when access is granted: a matching require-approval rule, else a matching
 *    warn rule, turns the allow into that decision.
 * So deny > require-approval > warn > allow, and warn / require-approval never grant access on
 * their own: a rule written to add a notice cannot punch a hole through a default-deny policy.
 *
 * All rules are evaluated every time, so `matched` is complete for audit regardless of rule
 * order. Most are settled in plain JS by their literal conjuncts (guard.ts); the rest run in CEL,
 * precompiled, against one activation built per decision.
 */
import { createHash } from 'node:crypto';
import { ConfigError, formatPath, fromZodError } from '../config/issues.ts';
import { compileCel, evaluationErrorText, toActivation } from './cel.ts';
import type { CompiledRule } from './cel.ts';
import { Prefilters, prejudge } from './guard.ts';
import type { Facts, Prefilter } from './guard.ts';
import { PolicySchema } from './config.ts';
import type { DecisionKind, PolicyConfig, PolicyConfigInput, PolicyRule } from './config.ts';
import { annotationsOf, completeInput, mergeInputs, requestKind } from './vocabulary.ts';
import type { PolicyInput, PolicyInputPatch } from './vocabulary.ts';
import { canonicalJson } from '../core/canonical-json.ts';

export interface RuleError {
  rule: string;
  error: string;
}

export interface Decision {
  /** What the policy decided. */
  decision: DecisionKind;
  /** Reasons of the rules that produced `decision` (or `default-deny` / `default-allow` / `evaluation-error`). */
  reasons: string[];
  /** Names of every rule whose condition was true, in config order. */
  matched: string[];
  /** Client-visible message of the first deciding rule that has one. */
  message?: string;
  /** Messages of matched `notify: true` warn rules, when the request goes ahead. */
  notices: string[];
  /** Rules that failed to evaluate (each one denies). */
  errors: RuleError[];
  dryRun: boolean;
  /** What to actually do: `decision`, except in dry-run where it is always allow. */
  enforced: DecisionKind;
}

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export interface Policy {
  /** Hash of the normalised config: identifies exactly which rules decided (audit, approvals). */
  readonly policyVersion: string;
  /** The operator's `version` label, if any. */
  readonly label: string | undefined;
  readonly config: PolicyConfig;
  /** Whether requests of this method are decided by the policy. */
  governs(method: string): boolean;
  decide(input: PolicyInput): Decision;
  /**
   * The items a caller may see: those whose call would not be denied whatever its arguments.
   * `base` carries the list request's facts (principal, client, session, …).
   */
  filterList(kind: ListKind, items: readonly unknown[], base?: PolicyInputPatch, now?: Date): unknown[];
}

interface Rule extends PolicyRule {
  readonly compiled: CompiledRule;
  /** What plain JS can settle about the rule for an input (guard.ts), before CEL runs. */
  readonly prefilter: Prefilter;
}

type Outcome = boolean | RuleError;

/** The rule's value for this input: from its literal prefilter when that knows, else from CEL. */
function run(rule: Rule, facts: Facts, activation: Record<string, unknown>): Outcome {
  const known = prejudge(rule.prefilter, facts);
  if (known !== undefined) return known;
  try {
    const v: unknown = rule.compiled(activation);
    if (typeof v === 'boolean') return v;
    return { rule: rule.name, error: `evaluated to ${v === null ? 'null' : typeof v}, not bool` };
  } catch (err) {
    return { rule: rule.name, error: evaluationErrorText(err) };
  }
}

/** First 16 hex digits of SHA-256 over the canonical JSON of the validated config (defaults filled). */
export function policyVersionOf(config: PolicyConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** The request a list item stands for: the call a client would make after seeing it. */
export const LIST_CALL: Readonly<Record<ListKind, string>> = {
  tools: 'tools/call',
  prompts: 'prompts/get',
  resources: 'resources/read',
  resourceTemplates: 'resources/read',
};

function field(item: unknown, key: string): string | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  const v = (item as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The input for "a call to this item, arguments unknown". Arguments (and, for a URI template,
 * the concrete URI) are left absent rather than empty: `!has(tool.arguments.confirm)` must not
 * read as true for a call nobody has made yet. Undefined for an item without a name / URI.
 */
function syntheticInput(kind: ListKind, item: unknown, base: PolicyInputPatch, now: Date | undefined): PolicyInput | undefined {
  const method = LIST_CALL[kind];
  const request = { method, kind: requestKind(method) };
  let target: PolicyInputPatch;
  if (kind === 'tools') {
    const name = field(item, 'name');
    if (name === undefined) return undefined;
    target = { tool: { name, annotations: annotationsOf(item) } };
  } else if (kind === 'prompts') {
    const name = field(item, 'name');
    if (name === undefined) return undefined;
    target = { prompt: { name } };
  } else if (kind === 'resources') {
    const uri = field(item, 'uri');
    if (uri === undefined) return undefined;
    target = { resource: { uri, uriTemplate: '' } };
  } else {
    const uriTemplate = field(item, 'uriTemplate');
    if (uriTemplate === undefined) return undefined;
    target = { resource: { uriTemplate } };
  }
  // The base describes the list request; the target's sections replace whatever it said about them.
  const { tool: _t, prompt: _p, resource: _r, ...facts } = base;
  const input = completeInput(mergeInputs(facts, { request }, target), now);
  delete input.tool.arguments;
  delete input.prompt.arguments;
  if (kind === 'resourceTemplates') delete input.resource.uri;
  return input;
}

class CompiledPolicy implements Policy {
  readonly policyVersion: string;
  readonly label: string | undefined;
  readonly config: PolicyConfig;
  readonly #rules: readonly Rule[];
  readonly #methods: ReadonlySet<string>;
  readonly #prefilters: Prefilters;

  constructor(config: PolicyConfig, rules: readonly Rule[], prefilters: Prefilters) {
    this.config = config;
    this.#rules = rules;
    this.#prefilters = prefilters;
    this.#methods = new Set(config.methods);
    this.policyVersion = policyVersionOf(config);
    this.label = config.version;
  }

  governs(method: string): boolean {
    return this.#methods.has(method);
  }

  decide(input: PolicyInput): Decision {
    let activation: Record<string, unknown>;
    try {
      activation = toActivation(input);
    } catch (err) {
      return this.#combine([], [{ rule: '(input)', error: evaluationErrorText(err) }]);
    }
    const facts = this.#prefilters.read(input);
    const matched: Rule[] = [];
    const errors: RuleError[] = [];
    for (const rule of this.#rules) {
      const outcome = run(rule, facts, activation);
      if (outcome === true) matched.push(rule);
      else if (outcome !== false) errors.push(outcome);
    }
    return this.#combine(matched, errors);
  }

  #combine(matched: readonly Rule[], errors: RuleError[]): Decision {
    const by = (d: DecisionKind) => matched.filter((r) => r.decision === d);
    const denies = by('deny');
    const allows = by('allow');
    let decision: DecisionKind;
    let deciding: Rule[];
    let reasons: string[];
    if (denies.length > 0 || errors.length > 0) {
      decision = 'deny';
      deciding = denies;
      reasons = [...denies.map((r) => r.reason), ...(errors.length > 0 ? ['evaluation-error'] : [])];
    } else if (allows.length === 0 && this.config.default === 'deny') {
      decision = 'deny';
      deciding = [];
      reasons = ['default-deny'];
    } else {
      const approvals = by('require-approval');
      const warns = by('warn');
      decision = approvals.length > 0 ? 'require-approval' : warns.length > 0 ? 'warn' : 'allow';
      deciding = approvals.length > 0 ? approvals : warns.length > 0 ? warns : allows;
      reasons = deciding.length > 0 ? deciding.map((r) => r.reason) : ['default-allow'];
    }
    const notices =
      decision === 'deny' ? [] : by('warn').filter((r) => r.notify === true).map((r) => r.message ?? r.reason);
    const message = deciding.find((r) => r.message !== undefined)?.message;
    const dryRun = this.config.mode === 'dry-run';
    return {
      decision,
      reasons: unique(reasons),
      matched: matched.map((r) => r.name),
      ...(message === undefined ? {} : { message }),
      notices,
      errors,
      dryRun,
      enforced: dryRun ? 'allow' : decision,
    };
  }

  filterList(kind: ListKind, items: readonly unknown[], base: PolicyInputPatch = {}, now?: Date): unknown[] {
    // Dry-run enforces nothing; an ungoverned call method means the policy never decides the call.
    if (this.config.mode === 'dry-run' || !this.governs(LIST_CALL[kind])) return [...items];
    return items.filter((item) => {
      const input = syntheticInput(kind, item, base, now);
      // An item a client could not even name is not worth the risk of passing through.
      return input !== undefined && !this.#deniedRegardless(input);
    });
  }

  /**
   * Three-valued reading of the rules: an evaluation error means "depends on what is unknown",
   * never "deny". Denied regardless = some deny rule is certainly true, or nothing could allow
   * it (every allow rule certainly false) under a default-deny policy.
   */
  #deniedRegardless(input: PolicyInput): boolean {
    let activation: Record<string, unknown>;
    try {
      activation = toActivation(input);
    } catch {
      return false;
    }
    const facts = this.#prefilters.read(input);
    let allowPossible = false;
    for (const rule of this.#rules) {
      if (rule.decision !== 'deny' && rule.decision !== 'allow') continue;
      const outcome = run(rule, facts, activation);
      if (rule.decision === 'deny' && outcome === true) return true;
      if (rule.decision === 'allow' && outcome !== false) allowPossible = true;
    }
    return this.config.default === 'deny' && !allowPossible;
  }
}

/**
 * Validates (defaults filled) and compiles a policy. `source` names it in errors (a file name).
 * @throws ConfigError listing every problem, CEL errors included (`rules[2].when: rule "x": …`).
 */
export function compilePolicy(config: PolicyConfigInput | PolicyConfig, source = '<policy>'): Policy {
  const parsed = PolicySchema.safeParse(config, { reportInput: true });
  if (!parsed.success) {
    const issues = fromZodError(parsed.error, PolicySchema, config).map((i) => ({ file: source, path: formatPath(i.path), message: i.message }));
    throw new ConfigError(source, issues);
  }
  // The schema already compiled every expression once; compiling again here keeps the compiled
  // form out of the config value (which is hashed and may be serialised).
  const prefilters = new Prefilters();
  const rules = parsed.data.rules.map((r) => {
    const compiled = compileCel(r.when);
    return { ...r, compiled, prefilter: prefilters.of(compiled) };
  });
  return new CompiledPolicy(parsed.data, rules, prefilters);
}
