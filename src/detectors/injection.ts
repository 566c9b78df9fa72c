/**
 * Prompt-injection scoring for content an agent reads (tool results, resource contents): text
 * that tries to become instructions. Signals, each with a weight:
 *
 * - instruction override ("ignore previous instructions", "you are now", "new instructions:"),
 *   concealment ("do not tell the user"), requests aimed at the reading model's own output
 *   ("… in your response", "integrate the following code into your solution") — the indirect
 *   injection shapes of BIPIA (Yi et al., 2023) — and exfiltration requests;
 * - chat-template role tokens (`<|im_start|>`, `[INST]`, `<<SYS>>`, `### System:`, `<system>`);
 * - hidden Unicode (tag characters carrying invisible ASCII, bidi controls, zero-width runs);
 * - markdown images / links whose URL carries data (the zero-click exfiltration channel);
 * - encoded payloads (base64 / hex) that decode to instructions.
 *
 * Score = 1 − Π(1 − w) over the strongest signal of each type (noisy-OR), so independent
 * evidence adds up and one repeated phrase does not. Weights and the default threshold were set
 * on the BIPIA training split (see eval/results.md for the held-out numbers).
 *
 * The patterns live in injection-patterns.ts. injection-reference.ts runs each over the whole
 * text and defines the results; injection-fast.ts finds the same matches ~12× faster by running
 * them only where a trigger word makes a match possible, and hands the rare texts it cannot
 * handle to the reference scanner.
 */
import { fastScanner } from './injection-fast.ts';
import type { InjectionScanner } from './injection-patterns.ts';
import { htmlImages, referenceScanner } from './injection-reference.ts';
import { markdownLinks } from './injection-links.ts';
import { normalize, type Normalized } from './normalize.ts';

export interface InjectionSignal {
  readonly type: string;
  /** UTF-16 offsets in the original text. */
  readonly start: number;
  readonly end: number;
  readonly weight: number;
}

export interface InjectionResult {
  /** 0..1. */
  readonly score: number;
  readonly signals: InjectionSignal[];
}

/** Score at or above which content is treated as an injection (per-route override expected). */
export const DEFAULT_INJECTION_THRESHOLD = 0.5;

export interface InjectionOptions {
  /** Skip the (costlier) encoded-payload decoding (default false). */
  readonly skipEncoded?: boolean;
}

export function scoreInjection(text: string, options: InjectionOptions = {}): InjectionResult {
  return scoreNormalized(normalize(text), options);
}

export function scoreNormalized(n: Normalized, options: InjectionOptions = {}): InjectionResult {
  const signals: InjectionSignal[] = [];
  const add = (type: string, s: number, e: number, weight: number): void => {
    const [os, oe] = n.toOriginal(s, e);
    signals.push({ type, start: os, end: oe, weight });
  };
  const scan: InjectionScanner = fastScanner(n.text) ?? referenceWithLinearLinks(n.text);

  scan.phrasesAndRoles(add);

  // Hidden Unicode: report the runs; tag characters smuggle whole messages.
  const h = n.hidden;
  for (const r of n.hiddenRuns) {
    const w = r.cls === 'tag' ? 0.9 : r.cls === 'bidi' ? 0.5 : r.cls === 'zeroWidth' ? (r.end - r.start >= 3 ? 0.5 : 0.2) : 0.1;
    if (w >= 0.2) signals.push({ type: `hidden-${r.cls}`, start: r.start, end: r.end, weight: w });
  }
  if (h.zeroWidth >= 8) signals.push({ type: 'hidden-zeroWidth', start: 0, end: 0, weight: 0.6 });
  if (n.tagText.length > 0) {
    // The invisible ASCII is itself scanned like visible text.
    const inner = scoreInjection(n.tagText);
    if (inner.score > 0) signals.push({ type: 'hidden-instructions', start: n.hiddenRuns.find((r) => r.cls === 'tag')?.start ?? 0, end: n.hiddenRuns.find((r) => r.cls === 'tag')?.end ?? 0, weight: Math.max(0.95, inner.score) });
  }

  // Links and images that can carry data out when rendered.
  scan.links(add);
  scan.dangerousCode(add);
  if (!options.skipEncoded) scan.encodedPayloads(add);
  return { score: combine(signals), signals };
}

/**
 * The reference scanner for the texts the fast one does not take, but with markdown links found
 * in linear time (injection-links.ts): a text with one `İ` must not reopen the ~1.3 s per MB of
 * unclosed links that the reference loop costs.
 */
function referenceWithLinearLinks(t: string): InjectionScanner {
  const reference = referenceScanner(t);
  return {
    ...reference,
    links(add) {
      markdownLinks(t, add);
      htmlImages(t, add);
    },
  };
}

/** Noisy-OR over the strongest signal of each type. */
export function combine(signals: readonly { type: string; weight: number }[]): number {
  const best = new Map<string, number>();
  for (const s of signals) best.set(s.type, Math.max(best.get(s.type) ?? 0, s.weight));
  let keep = 1;
  for (const w of best.values()) keep *= 1 - Math.min(0.999, Math.max(0, w));
  return Math.round((1 - keep) * 1000) / 1000;
}
