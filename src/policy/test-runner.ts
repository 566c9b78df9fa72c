/**
 * Table-driven policy tests (`portcullis policy test FILE`): a YAML file pairs a policy with
 * cases — an input and the decision it must get — so a policy change is reviewed like code.
 *
 *   policy: ./policy.yaml        # a path (relative to this file) or the policy inline
 *   cases:
 *     - name: bob cannot delete
 *       input: { principal: { subject: bob }, tool: { name: delete_file } }
 *       expect: deny
 *       reason: no-delete-for-contractors   # optional: must be among the decision's reasons
 *
 * Cases test `decision` (what the policy decides), not `enforced`: a dry-run policy is tested
 * for what it would do once enforced.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config/issues.ts';
import { DECISIONS } from './config.ts';
import type { DecisionKind } from './config.ts';
import type { Policy, RuleError } from './engine.ts';
import { parseYaml, policyAt, positionedIssues, readText } from './load.ts';
import { completeInput, PolicyInputPatchSchema } from './vocabulary.ts';

const CaseSchema = z
  .object({
    name: z.string().min(1).describe('Shown in the report.'),
    input: PolicyInputPatchSchema.prefault({}).describe('Any part of the policy input; the rest takes its defaults.'),
    expect: z.enum(DECISIONS),
    reason: z.string().min(1).optional().describe('A reason the decision must carry, with or without the "policy/" prefix.'),
  })
  .strict();

const TestFileSchema = z
  .object({
    policy: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())], { error: 'expected a path to a policy file or the policy itself' })
      .describe('Path to a policy file (relative to this file), or the policy itself.'),
    cases: z
      .array(CaseSchema)
      .min(1, 'at least one case is required')
      .superRefine((cases, ctx) => {
        const seen = new Set<string>();
        cases.forEach((c, i) => {
          if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate case name "${c.name}"` });
          seen.add(c.name);
        });
      }),
  })
  .strict();

export interface CaseResult {
  name: string;
  ok: boolean;
  expected: DecisionKind;
  expectedReason?: string;
  got: DecisionKind;
  reasons: string[];
  matched: string[];
  errors: RuleError[];
}

export type CaseFailure = Omit<CaseResult, 'ok'>;

export interface PolicyTestReport {
  file: string;
  policyVersion: string;
  passed: number;
  failed: CaseFailure[];
  cases: CaseResult[];
}

function stripPrefix(reason: string): string {
  return reason.startsWith('policy/') ? reason.slice('policy/'.length) : reason;
}

/**
 * Runs every case of a policy test file.
 * @throws ConfigError when the file or its policy cannot be used (as opposed to a failing case).
 */
export async function runPolicyTestFile(path: string): Promise<PolicyTestReport> {
  const src = parseYaml(await readText(path), path);
  const parsed = TestFileSchema.safeParse(src.data, { reportInput: true });
  if (!parsed.success) throw new ConfigError(path, positionedIssues(src, [], parsed.error, TestFileSchema, src.data));
  const file = parsed.data;
  let policy: Policy;
  if (typeof file.policy === 'string') {
    const policyPath = resolve(dirname(path), file.policy);
    const policySrc = parseYaml(await readText(policyPath), policyPath);
    policy = policyAt(policySrc, [], policySrc.data);
  } else {
    policy = policyAt(src, ['policy'], file.policy);
  }

  const cases = file.cases.map((c): CaseResult => {
    const d = policy.decide(completeInput(c.input));
    const expectedReason = c.reason === undefined ? undefined : stripPrefix(c.reason);
    const ok = d.decision === c.expect && (expectedReason === undefined || d.reasons.includes(expectedReason));
    return {
      name: c.name,
      ok,
      expected: c.expect,
      ...(expectedReason === undefined ? {} : { expectedReason }),
      got: d.decision,
      reasons: d.reasons,
      matched: d.matched,
      errors: d.errors,
    };
  });
  const failed = cases.filter((c) => !c.ok).map(({ ok: _ok, ...rest }) => rest);
  return { file: path, policyVersion: policy.policyVersion, passed: cases.length - failed.length, failed, cases };
}

/** One line per case, failures explained, and a total. */
export function formatReport(report: PolicyTestReport): string {
  const lines = [`policy test ${report.file} (policy ${report.policyVersion})`];
  for (const c of report.cases) {
    if (c.ok) {
      lines.push(`  ok    ${c.name}`);
      continue;
    }
    const want = c.expectedReason ? `${c.expected} (reason ${c.expectedReason})` : c.expected;
    lines.push(`  FAIL  ${c.name}: expected ${want}, got ${c.got} (reasons: ${c.reasons.join(', ') || 'none'})`);
    lines.push(`        matched rules: ${c.matched.join(', ') || 'none'}`);
    for (const e of c.errors) lines.push(`        rule "${e.rule}" failed: ${e.error}`);
  }
  lines.push(`${report.passed} passed, ${report.failed.length} failed`);
  return lines.join('\n');
}
