/**
 * Tool-poisoning metrics: benign definitions are the real tools/list results of official MCP
 * servers (test/corpora/mcp-tools/*.json, with their source recorded in each file); poisoned ones
 * are those definitions with an attack added (eval/poisoned-tools.ts). Name shadowing is checked
 * by scanning one benign server with another server's tool names as the route's other upstreams.
 *
 * Two recalls: FLAGGED (the detector says poisoned or suspicious) and HIDDEN (the gateway's
 * tool-poisoning inspector, at its configured defaults, removes the tool from tools/list). They
 * differ: by default only `poisoned` tools are hidden; `suspicious` ones are reported and still
 * reach the model. The hidden one is measured through the inspector itself, not re-derived from
 * verdicts, so it follows whatever the inspector and its config defaults actually do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolPoisoningInspectorSchema } from '../src/config/inspectors.ts';
import { scanDefinitions, scanTools, type ToolDefinition } from '../src/detectors/poisoning.ts';
import { createToolPoisoningInspector } from '../src/inspectors/tool-poisoning.ts';
import type { Frame, InspectorContext, Verdict } from '../src/pipeline/types.ts';
import { buildPoisoned } from './poisoned-tools.ts';
import type { Rng } from './rng.ts';

const FIXTURES = join(import.meta.dirname, '..', 'test', 'corpora', 'mcp-tools');

export interface ToolFixture {
  readonly server: string;
  readonly tools: ToolDefinition[];
  readonly prompts: Record<string, unknown>[];
  readonly resources: Record<string, unknown>[];
}

export function loadFixtures(): ToolFixture[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const d = JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as { tools: ToolDefinition[]; prompts?: Record<string, unknown>[]; resources?: Record<string, unknown>[] };
      return { server: f.replace(/\.json$/, ''), tools: d.tools, prompts: d.prompts ?? [], resources: d.resources ?? [] };
    });
}

export interface PoisoningMetrics {
  benignTools: number;
  benignFlagged: number;
  benignPoisoned: number;
  benignOther: number;
  benignOtherFlagged: number;
  flaggedExamples: string[];
  poisoned: number;
  detected: number;
  detectedStrict: number;
  /** Removed from tools/list by the inspector at its config defaults. */
  hiddenByGateway: number;
  /** The inspector defaults that measurement used. */
  gatewayDefaults: { hideSuspicious: boolean; maxDescriptionLength: number };
  byTechnique: Map<string, { set: string; n: number; hit: number; strict: number; hidden: number }>;
  missedExamples: string[];
  shadowing: { cases: number; detected: number };
}

/** Is `tool` still in the tools/list result after the inspector has seen it? */
function survives(verdict: Verdict, tool: ToolDefinition): boolean {
  if (verdict.kind === 'block') return false;
  if (verdict.kind !== 'rewrite') return true;
  const tools = (verdict.message['result'] as { tools?: { name?: unknown }[] } | undefined)?.tools ?? [];
  return tools.some((t) => t.name === tool.name);
}

const CTX: InspectorContext = {
  session: { era: 'modern', protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 'eval', method: 'none' } },
  route: 'evil',
  request: undefined,
  signal: new AbortController().signal,
  note: () => {},
  finding: () => {},
};

export function evalPoisoning(r: Rng): PoisoningMetrics {
  const fx = loadFixtures();
  const defaults = ToolPoisoningInspectorSchema.parse({ type: 'tool-poisoning' });
  const m: PoisoningMetrics = {
    benignTools: 0, benignFlagged: 0, benignPoisoned: 0, benignOther: 0, benignOtherFlagged: 0, flaggedExamples: [],
    poisoned: 0, detected: 0, detectedStrict: 0, hiddenByGateway: 0,
    gatewayDefaults: { hideSuspicious: defaults.hideSuspicious, maxDescriptionLength: defaults.maxDescriptionLength },
    byTechnique: new Map(), missedExamples: [], shadowing: { cases: 0, detected: 0 },
  };
  // Benign: each server with every other server's tools as neighbours on the route.
  const names = new Map(fx.map((f) => [f.server, f.tools.map((t) => t.name)]));
  for (const f of fx) {
    const upstreams = Object.fromEntries([...names].filter(([s]) => s !== f.server));
    for (const v of scanTools(f.tools, { upstream: f.server, upstreams })) {
      m.benignTools++;
      if (v.verdict !== 'clean') {
        m.benignFlagged++;
        if (v.verdict === 'poisoned') m.benignPoisoned++;
        m.flaggedExamples.push(`${f.server}/${v.name}: ${v.verdict} ${v.score} ${v.reasons.map((x) => x.type).join(',')}`);
      }
    }
    for (const [kind, items] of [['prompt', f.prompts], ['resource', f.resources]] as const) {
      for (const v of scanDefinitions(kind, items)) {
        m.benignOther++;
        if (v.verdict !== 'clean') {
          m.benignOtherFlagged++;
          m.flaggedExamples.push(`${f.server}/${kind}:${v.name}: ${v.verdict} ${v.reasons.map((x) => x.type).join(',')}`);
        }
      }
    }
  }
  // Poisoned: payloads grafted onto real definitions; the "other" tool names come from github.
  const bases = fx.flatMap((f) => f.tools);
  const others = names.get('github') ?? ['send_email'];
  const gateway = createToolPoisoningInspector({
    upstream: 'evil',
    otherUpstreams: () => new Map([['github', others]]),
    hideSuspicious: defaults.hideSuspicious,
    maxDescriptionLength: defaults.maxDescriptionLength,
  });
  for (const c of buildPoisoned(bases, others, r)) {
    m.poisoned++;
    const [v] = scanTools([c.tool], { upstream: 'evil', upstreams: { github: others } });
    const key = `${c.set}:${c.technique}`;
    const e = m.byTechnique.get(key) ?? { set: c.set, n: 0, hit: 0, strict: 0, hidden: 0 };
    e.n++;
    const frame: Frame = {
      id: `p${m.poisoned}`, direction: 's2c', kind: 'result', method: 'tools/list', rpcId: 1, target: undefined,
      message: { jsonrpc: '2.0', id: 1, result: { tools: [c.tool] } }, carrier: { transport: 'json', bytes: 0 },
    };
    if (!survives(gateway.onMessage!(frame, CTX) as Verdict, c.tool)) {
      m.hiddenByGateway++;
      e.hidden++;
    }
    if (v!.verdict !== 'clean') {
      m.detected++;
      e.hit++;
    } else if (m.missedExamples.length < 12) m.missedExamples.push(`${key} ${v!.score} ${JSON.stringify((c.tool.description ?? '').slice(0, 120))}`);
    if (v!.verdict === 'poisoned') {
      m.detectedStrict++;
      e.strict++;
    }
    m.byTechnique.set(key, e);
  }
  // Name shadowing: a new server exposing a benign server's tool names.
  for (const f of fx) {
    if (f.server === 'github') continue;
    const verdicts = scanTools(f.tools, { upstream: 'impostor', upstreams: { [f.server]: f.tools.map((t) => t.name) } });
    for (const v of verdicts) {
      m.shadowing.cases++;
      if (v.reasons.some((x) => x.type === 'name-shadowing')) m.shadowing.detected++;
    }
  }
  return m;
}
