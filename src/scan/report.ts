/**
 * `portcullis scan`: what a security reviewer wants before connecting a server — every tool,
 * prompt and resource it offers, checked offline for poisoning (hidden instructions, steering,
 * invisible characters, exfiltration URLs, oversized descriptions, shadowed names), secrets in
 * descriptions, and each tool's pinning hash — as a readable report and an exit code for CI.
 */
import { scanText } from '../detectors/index.ts';
import { scanDefinitions, scanTools, type DefinitionVerdict, type ToolDefinition } from '../detectors/poisoning.ts';
import { toolHash } from '../pinning/canonical.ts';
import type { ServerInventory } from './collect.ts';

export interface ScanReport {
  server: ServerInventory['server'];
  counts: { tools: number; prompts: number; resources: number; resourceTemplates: number };
  verdicts: DefinitionVerdict[];
  /** Secrets or PII found in descriptions (types only). */
  leaks: Array<{ kind: string; name: string; types: string[] }>;
  hashes: Array<{ tool: string; hash: string }>;
  /** 0 clean, 1 something suspicious or poisoned (or a leak). */
  exitCode: 0 | 1;
}

export function analyse(inv: ServerInventory, opts: { failOn: 'poisoned' | 'suspicious' } = { failOn: 'suspicious' }): ScanReport {
  const verdicts = [
    ...scanTools(inv.tools as unknown as ToolDefinition[]),
    ...scanDefinitions('prompt', inv.prompts),
    ...scanDefinitions('resource', [...inv.resources, ...inv.resourceTemplates]),
  ];
  const leaks: ScanReport['leaks'] = [];
  for (const [kind, list] of [['tool', inv.tools], ['prompt', inv.prompts], ['resource', inv.resources]] as const) {
    for (const item of list) {
      const types = scanText(JSON.stringify(item), { families: ['secret'] }).map((f) => f.type);
      if (types.length > 0) leaks.push({ kind, name: String(item['name'] ?? item['uri'] ?? '?'), types: [...new Set(types)] });
    }
  }
  const bad = verdicts.some((v) => v.verdict === 'poisoned' || (opts.failOn === 'suspicious' && v.verdict === 'suspicious'));
  return {
    server: inv.server,
    counts: { tools: inv.tools.length, prompts: inv.prompts.length, resources: inv.resources.length, resourceTemplates: inv.resourceTemplates.length },
    verdicts,
    leaks,
    hashes: inv.tools.map((t) => ({ tool: String(t['name']), hash: toolHash(t) })),
    exitCode: bad || leaks.length > 0 ? 1 : 0,
  };
}

/** Terminal-safe: control, bidi and invisible characters shown escaped. */
function safe(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]|[\u{e0000}-\u{e007f}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

export function formatScanReport(r: ScanReport): string {
  const lines = [
    `server: ${safe(r.server.name)} ${safe(r.server.version)}`,
    `offers: ${r.counts.tools} tools, ${r.counts.prompts} prompts, ${r.counts.resources} resources, ${r.counts.resourceTemplates} resource templates`,
    '',
  ];
  const flagged = r.verdicts.filter((v) => v.verdict !== 'clean');
  if (flagged.length === 0) lines.push('poisoning: nothing found');
  for (const v of flagged) {
    lines.push(`${v.verdict.toUpperCase().padEnd(10)} ${v.kind} ${safe(v.name)} (score ${v.score.toFixed(2)})`);
    for (const reason of v.reasons) lines.push(`           - ${reason.type} in ${reason.field}${reason.detail ? `: ${safe(reason.detail)}` : ''}`);
  }
  if (r.leaks.length > 0) {
    lines.push('', 'secrets in definitions:');
    for (const l of r.leaks) lines.push(`  ${l.kind} ${safe(l.name)}: ${l.types.join(', ')}`);
  }
  lines.push('', 'pinning hashes (what `pinning` would trust on first use):');
  for (const h of r.hashes) lines.push(`  ${safe(h.tool).padEnd(32)} ${h.hash}`);
  lines.push('', r.exitCode === 0 ? 'result: clean' : 'result: FINDINGS (exit 1)');
  return lines.join('\n');
}
