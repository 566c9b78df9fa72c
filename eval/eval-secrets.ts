/**
 * Secret-family metrics: recall per rule on the labeled positives, precision over positives,
 * near-misses and benign text, and recall when every split sample is cut at every offset into
 * two chunks (the stream-window scheme) and into two SSE events (the DLP inspector itself), and
 * when its secret is cut into 3 to 6 SSE events at random offsets (a token streamed a few
 * characters per event: the relay's queue of held events, dlp-stream-run.ts).
 */
import { scanText } from '../src/detectors/index.ts';
import type { Finding } from '../src/detectors/types.ts';
import type { BenignDoc } from './benign.ts';
import type { SecretCorpus } from './corpus-secrets.ts';
import { createDlpInspector } from '../src/inspectors/dlp.ts';
import { streamEvents, twoEvents } from '../src/inspectors/dlp-two-events.ts';
import { Rng } from './rng.ts';
import { scanPieces } from './stream-ref.ts';

export interface SecretMetrics {
  positives: number;
  detected: number;
  typedCorrectly: number;
  falsePositives: number;
  fpNearMiss: number;
  fpBenign: number;
  fpInPositives: number;
  missedRules: Map<string, number>;
  fpDetails: string[];
  rulesCovered: number;
  split: { cases: number; chunkDetected: number; sseDetected: number; misses: string[] };
  /** The secret cut into N = 3..6 SSE events, `cutsPerN` random cut sets per rule and N. */
  nway: { cases: number; detected: number; cutsPerN: number; misses: string[] };
}

/** N-way SSE split cases per rule and N (random cut sets; N = 3..6). */
const NWAY_CUTS = 25;

const overlaps = (f: Finding, s: readonly [number, number]): boolean => f.start < s[1] && f.end > s[0];
const secrets = (fs: Finding[]): Finding[] => fs.filter((f) => f.detector === 'secret');

export function evalSecrets(corpus: SecretCorpus, benign: readonly BenignDoc[], opts: { splitStride?: number } = {}): SecretMetrics {
  const m: SecretMetrics = {
    positives: 0, detected: 0, typedCorrectly: 0, falsePositives: 0, fpNearMiss: 0, fpBenign: 0, fpInPositives: 0,
    missedRules: new Map(), fpDetails: [], rulesCovered: 0,
    split: { cases: 0, chunkDetected: 0, sseDetected: 0, misses: [] },
    nway: { cases: 0, detected: 0, cutsPerN: NWAY_CUTS, misses: [] },
  };
  const rules = new Set<string>();
  for (const p of corpus.positives) {
    rules.add(p.rule);
    m.positives++;
    const fs = secrets(scanText(p.text, { families: ['secret'] }));
    const hit = fs.filter((f) => overlaps(f, p.span!));
    if (hit.length > 0) m.detected++;
    else m.missedRules.set(p.rule, (m.missedRules.get(p.rule) ?? 0) + 1);
    if (hit.some((f) => f.type === p.rule)) m.typedCorrectly++;
    for (const f of fs) {
      if (!overlaps(f, p.span!)) {
        m.fpInPositives++;
        m.fpDetails.push(`positive ${p.id}: ${f.type} ${JSON.stringify(p.text.slice(f.start, Math.min(f.end, f.start + 40)))}`);
      }
    }
  }
  m.rulesCovered = rules.size;
  for (const n of corpus.nearMisses) {
    const fs = secrets(scanText(n.text, { families: ['secret'] }));
    m.fpNearMiss += fs.length;
    for (const f of fs) m.fpDetails.push(`near-miss ${n.id}: ${f.type} (${f.confidence})`);
  }
  for (const d of benign) {
    const fs = secrets(scanText(d.text, { families: ['secret'] }));
    m.fpBenign += fs.length;
    for (const f of fs) m.fpDetails.push(`benign ${d.path}: ${f.type} (${f.confidence}) ${JSON.stringify(d.text.slice(f.start, Math.min(f.end, f.start + 24)) + '…')}`);
  }
  m.falsePositives = m.fpInPositives + m.fpNearMiss + m.fpBenign;

  // Every offset, two chunks and two SSE events.
  const stride = opts.splitStride ?? 1;
  const inspector = createDlpInspector({ families: ['secret'], minConfidence: 0.5, direction: 'both', crossEventHoldMs: 50, actions: { default: 'redact', families: {}, types: {} } });
  for (const s of corpus.splitSamples) {
    for (let k = 1; k < s.text.length; k += stride) {
      m.split.cases++;
      const a = s.text.slice(0, k);
      const b = s.text.slice(k);
      if (secrets(scanPieces([a, b], { families: ['secret'] })).some((f) => overlaps(f, s.span!))) m.split.chunkDetected++;
      else if (m.split.misses.length < 20) m.split.misses.push(`chunk ${s.id} @${k}`);
      // Two SSE events through the gateway's DLP inspector with the relay's hold-and-amend
      // semantics (src/inspectors/dlp-two-events.ts): counted when the client never receives
      // the secret and the inspector reported it.
      const secret = s.text.slice(s.span![0], s.span![1]);
      const r = twoEvents(inspector, a, b);
      if (r.findings.length > 0 && !r.texts.join('').includes(secret)) m.split.sseDetected++;
      else if (m.split.misses.length < 20) m.split.misses.push(`sse ${s.id} @${k}`);
    }
  }
  evalNway(m, corpus, inspector);
  return m;
}

/**
 * The secret of each split sample cut at N - 1 random offsets inside it (N = 3..6), so that every
 * one of the N events carries a piece, and streamed through the DLP inspector with the relay's
 * queue of held events (dlp-two-events.ts `streamEvents`, every event in time). Counted when a
 * finding was reported and no 8 characters of the secret reach the client that the same text
 * sent as one event would not show too (a window that also occurs outside the secret's match):
 * the client must get no more of the secret than without the split.
 */
function evalNway(m: SecretMetrics, corpus: SecretCorpus, inspector: ReturnType<typeof createDlpInspector>): void {
  const rng = new Rng(0x5eed);
  for (const s of corpus.splitSamples) {
    const [from, to] = s.span!;
    const secret = s.text.slice(from, to);
    const whole = streamEvents(inspector, [s.text]).texts.join('');
    for (let n = 3; n <= 6; n++) {
      if (to - from < n) continue;
      for (let k = 0; k < NWAY_CUTS; k++) {
        const cuts = new Set<number>();
        while (cuts.size < n - 1) cuts.add(rng.int(from + 1, to - 1));
        const at = [0, ...[...cuts].sort((a, b) => a - b), s.text.length];
        const parts = at.slice(1).map((end, i) => s.text.slice(at[i], end));
        m.nway.cases++;
        const r = streamEvents(inspector, parts);
        const out = r.texts.join('');
        let leaked: string | undefined;
        for (let i = 0; i + 8 <= secret.length && leaked === undefined; i++) {
          const w = secret.slice(i, i + 8);
          if (out.includes(w) && !whole.includes(w)) leaked = w;
        }
        if (r.findings.length > 0 && leaked === undefined) m.nway.detected++;
        else if (m.nway.misses.length < 20) m.nway.misses.push(`${s.id} in ${n} @${at.slice(1, -1).join(',')}`);
      }
    }
  }
}
