/**
 * PII metrics: generated valid / invalid identifiers (eval/pii-samples.ts), and the first 1,000
 * samples of the Presidio synthetic set (microsoft/presidio-research, MIT) for the types both
 * label sets share.
 */
import { readFileSync } from 'node:fs';
import { scanText } from '../src/detectors/index.ts';
import type { Finding } from '../src/detectors/types.ts';
import { buildPiiSamples } from './pii-samples.ts';
import type { Rng } from './rng.ts';

const PRESIDIO = process.env['PRESIDIO_FILE'] ?? '/work/shared/datasets/presidio-synth/synth_dataset_v2.dev.json';

/** Presidio entity → our type(s). */
const MAP: Record<string, readonly string[]> = {
  CREDIT_CARD: ['credit-card'],
  PHONE_NUMBER: ['phone-number'],
  EMAIL_ADDRESS: ['email'],
  IBAN_CODE: ['iban'],
  US_SSN: ['us-ssn'],
  IP_ADDRESS: ['ipv4', 'ipv6'],
};

export interface Counts { tp: number; fp: number; fn: number }
export interface PiiMetrics {
  generated: Map<string, Counts>;
  presidio: Map<string, Counts>;
  presidioUnlabeledFindings: string[];
}

const overlaps = (f: Finding, s: readonly [number, number]): boolean => f.start < s[1] && f.end > s[0];
const bump = (m: Map<string, Counts>, k: string, field: keyof Counts): void => {
  const c = m.get(k) ?? { tp: 0, fp: 0, fn: 0 };
  c[field]++;
  m.set(k, c);
};

export function evalPii(r: Rng): PiiMetrics {
  const generated = new Map<string, Counts>();
  for (const s of buildPiiSamples(r)) {
    const fs = scanText(s.text, { families: ['pii'] });
    if (s.valid) {
      const key = `${s.type}${s.context ? '' : ' (no context)'}`;
      if (fs.some((f) => f.type === s.type && overlaps(f, s.span!))) bump(generated, key, 'tp');
      else bump(generated, key, 'fn');
      for (const f of fs) if (!overlaps(f, s.span!)) bump(generated, f.type, 'fp');
    } else {
      for (const f of fs) bump(generated, f.type, 'fp');
    }
  }

  const presidio = new Map<string, Counts>();
  const unlabeled: string[] = [];
  const data = JSON.parse(readFileSync(PRESIDIO, 'utf8')) as { full_text: string; spans: { entity_type: string; start_position: number; end_position: number }[] }[];
  for (const d of data) {
    const fs = scanText(d.full_text, { families: ['pii'] });
    const used = new Set<Finding>();
    for (const sp of d.spans) {
      const ours = MAP[sp.entity_type];
      if (!ours) continue;
      const span: [number, number] = [sp.start_position, sp.end_position];
      const hit = fs.find((f) => ours.includes(f.type) && overlaps(f, span));
      if (hit) {
        used.add(hit);
        bump(presidio, sp.entity_type, 'tp');
      } else bump(presidio, sp.entity_type, 'fn');
    }
    for (const f of fs) {
      if (used.has(f)) continue;
      const entity = Object.entries(MAP).find(([, v]) => v.includes(f.type))?.[0];
      // A finding on text Presidio labels as something else we do not model (dates, zip codes,
      // driver licences, addresses) is a false positive for the mapped entity.
      if (entity) {
        bump(presidio, entity, 'fp');
        if (unlabeled.length < 15) unlabeled.push(`${f.type} ${JSON.stringify(d.full_text.slice(f.start, f.end))}`);
      }
    }
  }
  return { generated, presidio, presidioUnlabeledFindings: unlabeled };
}
