/**
 * Tool-poisoning scan of what servers describe to the model: every tools/list (and the prompts
 * and resources lists) is checked for hidden instructions, directions steering other tools,
 * invisible characters, exfiltration URLs, oversized descriptions, and names that shadow another
 * upstream's tools. A `poisoned` definition is removed from the list (and calls to it refused);
 * `suspicious` ones are reported, or removed too with `hideSuspicious`.
 */
import { scanDefinitions, scanTools, type DefinitionVerdict, type ToolDefinition } from '../detectors/poisoning.ts';
import type { Frame, Inspector, InspectorContext, Reason, Verdict } from '../pipeline/types.ts';

export interface ToolPoisoningOptions {
  name?: string;
  /** This route (excluded from the shadowing check). */
  upstream: string;
  /** Tool names of the other routes' upstreams, as last listed. */
  otherUpstreams: () => ReadonlyMap<string, readonly string[]>;
  hideSuspicious: boolean;
  maxDescriptionLength: number;
}

const LISTS: Readonly<Record<string, { key: string; kind: 'tool' | 'prompt' | 'resource' }>> = {
  'tools/list': { key: 'tools', kind: 'tool' },
  'prompts/list': { key: 'prompts', kind: 'prompt' },
  'resources/list': { key: 'resources', kind: 'resource' },
};

export function createToolPoisoningInspector(opts: ToolPoisoningOptions): Inspector {
  const name = opts.name ?? 'tool-poisoning';
  // Tools hidden as poisoned, per name: their calls are refused until the definition is clean.
  const hidden = new Set<string>();
  return {
    name,
    methods: { 'tools/list': 'response', 'prompts/list': 'response', 'resources/list': 'response', 'tools/call': 'request' },
    needs: 'message',
    onFailure: 'closed',
    onMessage(frame: Frame, ctx: InspectorContext): Verdict {
      if (frame.direction === 'c2s') {
        if (frame.method === 'tools/call' && frame.target !== undefined && hidden.has(frame.target)) {
          return { kind: 'block', reasons: ['poisoning/poisoned-tool'], message: `tool "${frame.target}" was withheld: its definition looks poisoned` };
        }
        return { kind: 'allow' };
      }
      const spec = LISTS[frame.method];
      const result = frame.message['result'] as Record<string, unknown> | undefined;
      const items = spec ? result?.[spec.key] : undefined;
      if (!spec || !Array.isArray(items)) return { kind: 'allow' };
      const defs = items.filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null && typeof (i as { name?: unknown }).name === 'string');
      const verdicts: DefinitionVerdict[] =
        spec.kind === 'tool'
          ? scanTools(defs as unknown as ToolDefinition[], { upstream: opts.upstream, upstreams: opts.otherUpstreams(), maxDescriptionLength: opts.maxDescriptionLength })
          : scanDefinitions(spec.kind, defs, { maxDescriptionLength: opts.maxDescriptionLength });
      const drop = new Set<string>();
      const reasons = new Set<Reason>();
      verdicts.forEach((v, i) => {
        if (v.verdict === 'clean') {
          if (spec.kind === 'tool') hidden.delete(v.name);
          return;
        }
        const remove = v.verdict === 'poisoned' || opts.hideSuspicious;
        for (const r of v.reasons) reasons.add(`poisoning/${r.type}`);
        ctx.finding?.({ inspector: name, type: `tool-${v.verdict}`, pointer: `/result/${spec.key}/${i}`, action: remove ? 'blocked' : 'observed' });
        if (remove) {
          drop.add(v.name);
          if (spec.kind === 'tool') hidden.add(v.name);
        }
      });
      ctx.note('poisoning', verdicts.filter((v) => v.verdict !== 'clean').map((v) => ({ kind: v.kind, name: v.name, verdict: v.verdict, score: v.score, reasons: v.reasons.map((r) => r.type) })));
      if (drop.size === 0) return reasons.size > 0 ? { kind: 'allow', reasons: [...reasons] } : { kind: 'allow' };
      const kept = items.filter((i) => !(typeof i === 'object' && i !== null && drop.has(String((i as { name?: unknown }).name))));
      return { kind: 'rewrite', message: { ...frame.message, result: { ...result, [spec.key]: kept } }, reasons: [...reasons] };
    },
  };
}
