/**
 * Tool-poisoning metrics: benign definitions are the real tools/list results of official MCP
 * servers (test/corpora/mcp-tools/*.json, with their source recorded in each file); poisoned ones
 * are those definitions with an attack added (eval/poisoned-tools.ts). Name shadowing is checked
 * by scanning one benign server with another server's tool names as the route's other upstreams.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanDefinitions, scanTools, type ToolDefinition } from '../src/detectors/poisoning.ts';
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
  byTechnique: Map<string, { set: string; n: number; hit: number; strict: number }>;
  missedExamples: string[];
  shadowing: { cases: number; detected: number };
}

export function evalPoisoning(r: Rng): PoisoningMetrics {
  const fx = loadFixtures();
  const m: PoisoningMetrics = {
    benignTools: 0, benignFlagged: 0, benignPoisoned: 0, benignOther: 0, benignOtherFlagged: 0, flaggedExamples: [],
    poisoned: 0, detected: 0, detectedStrict: 0, byTechnique: new Map(), missedExamples: [], shadowing: { cases: 0, detected: 0 },
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
  for (const c of buildPoisoned(bases, others, r)) {
    m.poisoned++;
    const [v] = scanTools([c.tool], { upstream: 'evil', upstreams: { github: others } });
    const key = `${c.set}:${c.technique}`;
    const e = m.byTechnique.get(key) ?? { set: c.set, n: 0, hit: 0, strict: 0 };
    e.n++;
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
