/**
 * Filtering list results (tools/list, prompts/list, resources/list, resources/templates/list) so
 * a caller only sees what it could use. Hiding is a courtesy and a hint to the model, not the
 * control: every call is still decided on its own by the policy inspector.
 *
 * This is a pure function the integrator calls on the buffered result of a list request, because
 * an inspector Verdict can rewrite strings but cannot remove array elements.
 */
import { LIST_CALL } from './engine.ts';
import type { ListKind, Policy } from './engine.ts';
import type { PolicyInputPatch } from './vocabulary.ts';

const LISTS: Readonly<Record<string, { kind: ListKind; key: string }>> = {
  'tools/list': { kind: 'tools', key: 'tools' },
  'prompts/list': { kind: 'prompts', key: 'prompts' },
  'resources/list': { kind: 'resources', key: 'resources' },
  'resources/templates/list': { kind: 'resourceTemplates', key: 'resourceTemplates' },
};

/** Whether results of this method may be filtered by `policy` (its call method is governed). */
export function filtersList(policy: Policy, method: string): boolean {
  const spec = Object.hasOwn(LISTS, method) ? LISTS[method] : undefined;
  return spec !== undefined && policy.config.mode !== 'dry-run' && policy.governs(LIST_CALL[spec.kind]);
}

/**
 * `result` (the JSON-RPC `result` member) with the items the caller may not use removed. Every
 * other member (`nextCursor`, `_meta`, …) is kept. Returns `result` itself when nothing is hidden
 * or it is not a list result this policy filters.
 *
 * `base` describes the list request: build it with `policyFacts(listRequestFrame, ctx, facts)`.
 */
export function filterListResult(policy: Policy, method: string, result: unknown, base?: PolicyInputPatch, now?: Date): unknown {
  const spec = Object.hasOwn(LISTS, method) ? LISTS[method] : undefined;
  if (!spec || result === null || typeof result !== 'object' || Array.isArray(result)) return result;
  const items = (result as Record<string, unknown>)[spec.key];
  if (!Array.isArray(items)) return result;
  const kept = policy.filterList(spec.kind, items, base, now);
  return kept.length === items.length ? result : { ...result, [spec.key]: kept };
}
