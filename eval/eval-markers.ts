/**
 * Marker metrics: classification labels and private-key headers that must be found, ordinary
 * prose that mentions the same words in passing, and source code vs prose / JSON / lists.
 */
import { scanText } from '../src/detectors/index.ts';
import type { BenignDoc } from './benign.ts';
import type { Rng } from './rng.ts';

interface MarkerCase {
  readonly text: string;
  readonly type: string | null;
}

const LABELED: readonly MarkerCase[] = [
  { text: 'TOP SECRET//SI//NOFORN\nSubject: quarterly review', type: 'classification-banner' },
  { text: 'SECRET//REL TO USA, GBR\n(U) Summary follows.', type: 'classification-banner' },
  { text: 'CONFIDENTIAL\nBoard minutes, March', type: 'confidential-label' },
  { text: 'STRICTLY CONFIDENTIAL - DO NOT DISTRIBUTE', type: 'confidential-label' },
  { text: 'Data classification: Highly Confidential', type: 'classification-field' },
  { text: 'sensitivity: restricted\nowner: finance', type: 'classification-field' },
  { text: 'This deck is for internal use only.', type: 'internal-only' },
  { text: 'INTERNAL ONLY — roadmap draft', type: 'internal-only' },
  { text: 'Please do not distribute outside the team.', type: 'do-not-distribute' },
  { text: 'Proprietary and Confidential. Copyright Acme Corp.', type: 'proprietary-notice' },
  { text: 'PRIVILEGED AND CONFIDENTIAL: attorney-client communication', type: 'privileged-notice' },
  { text: 'TLP:RED — recipients only', type: 'tlp-restricted' },
  { text: 'Classification TLP:AMBER+STRICT', type: 'tlp-restricted' },
  { text: 'FOR OFFICIAL USE ONLY', type: 'official-use-only' },
  { text: 'EMBARGOED UNTIL 09:00 UTC Monday', type: 'embargo-notice' },
  { text: 'The terms are under NDA until launch.', type: 'nda-notice' },
  { text: 'key file:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', type: 'private-key-header' },
  { text: 'Keep your password confidential and rotate it regularly.', type: null },
  { text: 'The confidentiality of the results was discussed openly at the conference.', type: null },
  { text: 'Secrets are stored in Vault; the internal API is documented below.', type: null },
  { text: 'TLP:GREEN community sharing is allowed.', type: null },
  { text: 'She works in internal medicine and distributes flyers.', type: null },
];

const CODE_SAMPLES: readonly string[] = [
  'import { readFile } from "node:fs/promises";\nexport async function load(path) {\n  const raw = await readFile(path, "utf8");\n  return JSON.parse(raw);\n}\n',
  'def handler(event, context):\n    if not event:\n        return None\n    for record in event["Records"]:\n        process(record)\n    return {"ok": True}\n',
  'public class Main {\n    public static void main(String[] args) {\n        System.out.println("hi");\n    }\n}\n',
  '#include <stdio.h>\nint main(void) {\n  int x = 42;\n  printf("%d\\n", x);\n  return 0;\n}\n',
  'fn main() {\n    let v = vec![1, 2, 3];\n    for x in &v {\n        println!("{}", x);\n    }\n}\n',
  'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello")\n}\n',
];
const NOT_CODE: readonly string[] = [
  'Dear team,\nthe meeting moved to Thursday.\nPlease bring the figures.\nThanks, Ana\n',
  '{\n  "name": "demo",\n  "version": "1.0.0",\n  "private": true,\n  "scripts": { "test": "node --test" }\n}\n',
  '- buy milk\n- call the bank\n- send the report\n- book tickets\n',
  'The quick brown fox jumps over the lazy dog.\nIt was the best of times.\nIt was the worst of times.\n',
];

export interface MarkerMetrics {
  labels: { tp: number; fn: number; fp: number };
  code: { tp: number; fn: number; fp: number };
  benignFindings: Map<string, number>;
  benignChars: number;
}

export function evalMarkers(benign: readonly BenignDoc[], _r: Rng): MarkerMetrics {
  const m: MarkerMetrics = { labels: { tp: 0, fn: 0, fp: 0 }, code: { tp: 0, fn: 0, fp: 0 }, benignFindings: new Map(), benignChars: 0 };
  for (const c of LABELED) {
    const fs = scanText(c.text, { families: ['marker'] }).filter((f) => f.type !== 'source-code');
    if (c.type === null) m.labels.fp += fs.length;
    else {
      if (fs.some((f) => f.type === c.type)) m.labels.tp++;
      else m.labels.fn++;
    }
  }
  for (const t of CODE_SAMPLES) {
    if (scanText(t, { families: ['marker'] }).some((f) => f.type === 'source-code')) m.code.tp++;
    else m.code.fn++;
  }
  for (const t of NOT_CODE) m.code.fp += scanText(t, { families: ['marker'] }).filter((f) => f.type === 'source-code').length;
  // Labels in real documentation (READMEs quote "CONFIDENTIAL", licences say "proprietary").
  for (const d of benign) {
    if (d.kind === 'code') continue;
    m.benignChars += d.text.length;
    for (const f of scanText(d.text, { families: ['marker'] })) if (f.type !== 'source-code') m.benignFindings.set(f.type, (m.benignFindings.get(f.type) ?? 0) + 1);
  }
  return m;
}
