/**
 * The built-in secret rule pack, grouped by vendor family (one file each). Every rule is checked
 * for the linear-time shape when the pack is compiled (`RuleSet` → `assertLinear`).
 */
import type { PatternRule } from '../types.ts';
import { AI_RULES } from './ai.ts';
import { CLOUD_RULES } from './cloud.ts';
import { COMMS_RULES } from './comms.ts';
import { INFRA_RULES } from './infra.ts';
import { KEY_RULES } from './keys.ts';
import { OBSERVABILITY_RULES } from './observability.ts';
import { PAYMENT_RULES } from './payment.ts';
import { SAAS_RULES } from './saas.ts';
import { VCS_RULES } from './vcs.ts';

export const SECRET_RULES: readonly PatternRule[] = [
  ...CLOUD_RULES,
  ...VCS_RULES,
  ...COMMS_RULES,
  ...PAYMENT_RULES,
  ...AI_RULES,
  ...OBSERVABILITY_RULES,
  ...INFRA_RULES,
  ...SAAS_RULES,
  ...KEY_RULES,
];
