/**
 * Prompt-injection metrics on BIPIA (Yi et al., "Benchmarking and Defending Against Indirect
 * Prompt Injection Attacks on Large Language Models", 2023; microsoft/BIPIA, MIT licence).
 *
 * Positives: an attack instruction inserted into a benign context (e-mail or code Q&A) at the
 * start, the middle (a line/sentence boundary) or the end, as the BIPIA README prescribes.
 * Negatives: the clean contexts, plus benign documentation and code from the dependencies.
 * Split: contexts 0–34 and attack variants 0–2 of each category tune the weights ("train");
 * contexts 35–49 and variants 3–4 are only reported ("held-out"); the official test split of
 * BIPIA is not available here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_INJECTION_THRESHOLD, scoreInjection } from '../src/detectors/injection.ts';
import type { BenignDoc } from './benign.ts';

const DIR = process.env['BIPIA_DIR'] ?? '/work/shared/datasets/bipia';

interface Case {
  readonly text: string;
  readonly positive: boolean;
  readonly group: string;
}

function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function insert(context: string, attack: string, where: 'start' | 'middle' | 'end'): string {
  if (where === 'start') return `${attack}\n${context}`;
  if (where === 'end') return `${context}\n${attack}`;
  const mid = Math.floor(context.length / 2);
  let at = context.indexOf('\n', mid);
  if (at < 0) at = context.indexOf('. ', mid);
  if (at < 0) at = mid;
  return `${context.slice(0, at + 1)}\n${attack}\n${context.slice(at + 1)}`;
}

export function bipiaCases(split: 'train' | 'held-out'): Case[] {
  const email = readJsonl(join(DIR, 'email', 'train.jsonl')).map((r) => String(r['context']));
  const code = readJsonl(join(DIR, 'code', 'train.jsonl')).map((r) => (r['context'] as string[]).join('\n'));
  const textAttacks = JSON.parse(readFileSync(join(DIR, 'text_attack_train.json'), 'utf8')) as Record<string, string[]>;
  const codeAttacks = JSON.parse(readFileSync(join(DIR, 'code_attack_train.json'), 'utf8')) as Record<string, string[]>;
  const inSplit = (i: number, cut: number): boolean => (split === 'train' ? i < cut : i >= cut);
  const cases: Case[] = [];
  const build = (contexts: string[], attacks: Record<string, string[]>, kind: string): void => {
    contexts.forEach((ctx, ci) => {
      if (!inSplit(ci, 35)) return;
      cases.push({ text: ctx, positive: false, group: `${kind}-clean` });
      for (const [cat, list] of Object.entries(attacks)) {
        list.forEach((a, ai) => {
          if (!inSplit(ai, 3)) return;
          // One position per (context, attack), rotating, keeps the set balanced and small.
          const where = (['start', 'middle', 'end'] as const)[(ci + ai) % 3]!;
          cases.push({ text: insert(ctx, a, where), positive: true, group: `${kind}:${cat}` });
        });
      }
    });
  };
  build(email, textAttacks, 'email');
  build(code, codeAttacks, 'code');
  return cases;
}

export interface InjectionMetrics {
  readonly split: string;
  readonly tp: number;
  readonly fn: number;
  readonly fpClean: number;
  readonly clean: number;
  readonly fpBenign: number;
  readonly benign: number;
  readonly byCategory: Map<string, { hit: number; n: number }>;
  readonly benignExamples: string[];
}

/** Benign documents cut into tool-result-sized pieces (≈ 2 KB). */
export function benignPieces(docs: readonly BenignDoc[], max = 1500): string[] {
  const out: string[] = [];
  for (const d of docs) {
    for (let i = 0; i < d.text.length && out.length < max; i += 2000) out.push(d.text.slice(i, i + 2000));
    if (out.length >= max) break;
  }
  return out;
}

export function evalInjection(split: 'train' | 'held-out', benign: readonly string[], threshold = DEFAULT_INJECTION_THRESHOLD): InjectionMetrics {
  let tp = 0, fn = 0, fpClean = 0, clean = 0, fpBenign = 0;
  const byCategory = new Map<string, { hit: number; n: number }>();
  const benignExamples: string[] = [];
  for (const c of bipiaCases(split)) {
    const s = scoreInjection(c.text).score;
    if (c.positive) {
      const e = byCategory.get(c.group) ?? { hit: 0, n: 0 };
      e.n++;
      if (s >= threshold) { tp++; e.hit++; } else fn++;
      byCategory.set(c.group, e);
    } else {
      clean++;
      if (s >= threshold) fpClean++;
    }
  }
  for (const b of benign) {
    const r = scoreInjection(b);
    if (r.score >= threshold) {
      fpBenign++;
      if (benignExamples.length < 10) benignExamples.push(r.signals.map((x) => `${x.type}:${JSON.stringify(b.slice(x.start, Math.min(x.end, x.start + 60)))}`).join(' '));
    }
  }
  return { split, tp, fn, fpClean, clean, fpBenign, benign: benign.length, byCategory, benignExamples };
}
