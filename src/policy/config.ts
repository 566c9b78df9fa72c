/**
 * The policy section's schema: mode, default, the methods it governs, and CEL rules.
 *
 * Same conventions as src/config/schema.ts: every object `.strict()` so a typo fails the load,
 * `.describe()` on fields for the published JSON Schema. Every `when` expression is compiled
 * here, so a policy with a bad rule never loads: the error names the rule and the position in
 * the expression, and the config loader adds the file and line.
 */
import { z } from 'zod';
import { always } from '../config/primitives.ts';
import { compileCel } from './cel.ts';

export const DECISIONS = ['allow', 'deny', 'warn', 'require-approval'] as const;
export type DecisionKind = (typeof DECISIONS)[number];

/**
 * Reasons the engine itself emits. A rule may not claim them, so an audit record saying
 * `policy/evaluation-error` always means a rule failed, never a rule that chose that name.
 */
export const ENGINE_REASONS = ['evaluation-error', 'default-deny', 'default-allow', 'malformed-request'] as const;

/** The methods a policy decides unless configured otherwise: the three that touch one named thing. */
export const DEFAULT_METHODS = ['tools/call', 'resources/read', 'prompts/get'] as const;

export const PolicyRuleSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must match [A-Za-z0-9_.-]+')
      .max(100)
      .describe('Unique rule name; reported in decisions and audit as "matched".'),
    description: z.string().optional().describe('Why the rule exists. Not used by the engine.'),
    when: z.string().min(1).describe('CEL expression over the policy vocabulary; must evaluate to bool. See docs/policy.md.'),
    decision: z.enum(DECISIONS).describe('What a match means. deny > require-approval > warn > allow; see docs/policy.md for how they combine.'),
    reason: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a short lowercase slug like "finance-needs-approval"')
      .max(64)
      .refine((r) => !(ENGINE_REASONS as readonly string[]).includes(r), { error: `is reserved for the engine (${ENGINE_REASONS.join(', ')})` })
      .describe('Stable machine reason; becomes "policy/<reason>" in verdicts, audit and metrics.'),
    message: z.string().max(500).optional().describe('Client-visible text for deny / require-approval / warn. Never put secrets here.'),
    notify: z.boolean().optional().describe('warn rules only: also surface the message to the client as a notice.'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    // Read defensively: this runs even when other fields failed (`when: always`).
    const name = typeof rule?.name === 'string' ? rule.name : '?';
    if (typeof rule?.when === 'string' && rule.when.length > 0) {
      try {
        compileCel(rule.when);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['when'], message: `rule "${name}": ${(err as Error).message}` });
      }
    }
    if (rule?.notify === true && rule.decision !== 'warn') {
      ctx.addIssue({ code: 'custom', path: ['notify'], message: `rule "${name}": notify applies to warn rules only` });
    }
  }, always);

export type PolicyRule = z.infer<typeof PolicyRuleSchema>;

export const PolicySchema = z
  .object({
    version: z.string().max(100).optional().describe('Operator label (e.g. a git tag), reported in audit next to the computed policy hash.'),
    mode: z
      .enum(['enforce', 'dry-run'])
      .default('enforce')
      .describe('dry-run: decide and record what would happen, but let everything through. For rolling out a new policy.'),
    default: z
      .enum(['allow', 'deny'])
      .default('deny')
      .describe('Decision for a governed request that no allow or deny rule matches. Deny: only what a rule allows gets through.'),
    methods: z
      .array(z.string().regex(/^[a-z][A-Za-z0-9_/-]*$/, 'must be a JSON-RPC method name like "tools/call"'))
      .min(1)
      .default([...DEFAULT_METHODS])
      .describe('Client requests the policy decides; other methods pass untouched. List results are filtered for the governed kinds.'),
    approvalTtlMs: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .default(5 * 60 * 1000)
      .describe('How long a require-approval request waits for a human before it is refused.'),
    rules: z
      .array(PolicyRuleSchema)
      .default([])
      .superRefine((rules, ctx) => {
        if (!Array.isArray(rules)) return;
        const seen = new Map<string, number>();
        rules.forEach((r: unknown, i) => {
          const name = r !== null && typeof r === 'object' ? (r as { name?: unknown }).name : undefined;
          if (typeof name !== 'string') return;
          const prev = seen.get(name);
          if (prev === undefined) seen.set(name, i);
          else ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${name}" (also at [${prev}])` });
        });
      }, always)
      .describe('Evaluated all together (order does not matter for the decision); see docs/policy.md.'),
  })
  .strict()
  .describe('Per-call access policy: CEL rules over principal, tool, arguments, resource, time and session.');

/** A validated policy with every default filled in. */
export type PolicyConfig = z.infer<typeof PolicySchema>;
/** What a policy file or config section may contain. */
export type PolicyConfigInput = z.input<typeof PolicySchema>;
