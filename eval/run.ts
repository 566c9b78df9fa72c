/**
 * `npm run eval`: builds the labeled corpora (deterministic from SEED) into
 * test/corpora/generated/, measures every detector family, prints a markdown report and writes it
 * to eval/results.md.
 *
 * Generated corpora hold secret-SHAPED values, so test/corpora/.gitignore keeps them out of git
 * (push protection would rightly flag them); the committed fixtures are the benign MCP tool
 * lists in test/corpora/mcp-tools/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { holdBackWindow, MAX_MATCH_LENGTH, scanText, type ScanOptions } from '../src/detectors/index.ts';
import { DEFAULT_INJECTION_THRESHOLD } from '../src/detectors/injection.ts';
import { SECRET_RULES } from '../src/detectors/secrets/index.ts';
import { benignCorpus, type BenignDoc } from './benign.ts';
import { buildSecretCorpus } from './corpus-secrets.ts';
import { evalInjection, benignPieces } from './eval-injection.ts';
import { evalMarkers } from './eval-markers.ts';
import { evalPii, type Counts } from './eval-pii.ts';
import { evalPoisoning } from './eval-poisoning.ts';
import { evalSecrets } from './eval-secrets.ts';
import { buildPiiSamples } from './pii-samples.ts';
import { Rng } from './rng.ts';

const SEED = Number(process.env['SEED'] ?? 20261123);
const started = performance.now();
const out: string[] = [];
const say = (s = ''): void => {
  out.push(s);
};
const pct = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const pass = (ok: boolean): string => (ok ? 'PASS' : '**FAIL**');

// ---------- corpora ----------
const genDir = join(import.meta.dirname, '..', 'test', 'corpora', 'generated');
mkdirSync(genDir, { recursive: true });
const benign = benignCorpus();
const secretCorpus = buildSecretCorpus(SEED);
const jsonl = (xs: readonly unknown[]): string => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';
writeFileSync(join(genDir, 'secrets.jsonl'), jsonl([...secretCorpus.positives, ...secretCorpus.nearMisses]));
writeFileSync(join(genDir, 'pii.jsonl'), jsonl(buildPiiSamples(new Rng(SEED))));
writeFileSync(join(genDir, 'benign-manifest.jsonl'), jsonl(benign.map((d) => ({ kind: d.kind, path: `node_modules/${d.path}`, chars: d.text.length }))));

// ---------- measurements ----------
const sec = evalSecrets(secretCorpus, benign);
// Recall again on other seeds (positives only, no split runs): how much the draw matters.
const otherSeeds = [1, 2, 3, 4, 5].map((k) => {
  const c = buildSecretCorpus(SEED + k);
  const m = evalSecrets({ positives: c.positives, nearMisses: c.nearMisses, splitSamples: [] }, []);
  return { seed: SEED + k, recall: m.detected / m.positives, fp: m.falsePositives, missed: [...m.missedRules.keys()] };
});
const pii = evalPii(new Rng(SEED));
const markers = evalMarkers(benign, new Rng(SEED));
const pieces = benignPieces(benign);
const injTrain = evalInjection('train', pieces);
const injHeld = evalInjection('held-out', pieces);
const poison = evalPoisoning(new Rng(SEED));

function throughput(docs: readonly BenignDoc[], opts: ScanOptions): number {
  const text = docs.map((d) => d.text).join('\n');
  scanText(text.slice(0, 200_000), opts);
  const t0 = performance.now();
  let reps = 0;
  while (performance.now() - t0 < 1500 || reps < 2) {
    scanText(text, opts);
    reps++;
  }
  return (text.length * reps) / 1e6 / ((performance.now() - t0) / 1000);
}
const kinds = ['code', 'prose', 'json'] as const;
const speed = kinds.map((k) => {
  const docs = benign.filter((d) => d.kind === k);
  return { kind: k, chars: docs.reduce((a, d) => a + d.text.length, 0), all: throughput(docs, {}), secret: throughput(docs, { families: ['secret'] }) };
});

// ---------- report ----------
const secPrecision = sec.detected / (sec.detected + sec.falsePositives);
const secRecall = sec.detected / sec.positives;
const chunkRecall = sec.split.chunkDetected / sec.split.cases;
const sseRecall = sec.split.sseDetected / sec.split.cases;
const nwayRecall = sec.nway.detected / sec.nway.cases;
const benignToolFpRate = poison.benignFlagged / poison.benignTools;
const poisonRecall = poison.detected / poison.poisoned;
const poisonHiddenRecall = poison.hiddenByGateway / poison.poisoned;
const gatewayDefaults = `hideSuspicious=${poison.gatewayDefaults.hideSuspicious}`;

say('# Detector evaluation');
say();
say(`Seed ${SEED} (\`SEED=… node eval/run.ts\` to vary). Generated corpora in \`test/corpora/generated/\` (git-ignored: they hold secret-shaped values); benign MCP tool lists in \`test/corpora/mcp-tools/\`. The secret and PII positives are generated from the vendors' and standards' documented formats by code written separately from the rules; they measure that the rules, validators, windows and streaming agree with those formats, not how often real leaks take unusual shapes. False positives are measured on real text (dependency code, docs, JSON) and real tool lists.`);
say();
say('## Targets');
say();
say('| target | goal | measured | |');
say('|---|---|---|---|');
say(`| secrets recall | ≥ 0.95 | ${pct(secRecall)} (${sec.detected}/${sec.positives}) | ${pass(secRecall >= 0.95)} |`);
say(`| secrets precision | ≥ 0.95 | ${pct(secPrecision)} (${sec.falsePositives} false positives) | ${pass(secPrecision >= 0.95)} |`);
say(`| secrets split across two chunks, every offset | ≥ 0.95 | ${pct(chunkRecall)} (${sec.split.chunkDetected}/${sec.split.cases}) | ${pass(chunkRecall >= 0.95)} |`);
say(`| secrets split across two SSE events, every offset | ≥ 0.95 | ${pct(sseRecall)} (${sec.split.sseDetected}/${sec.split.cases}) | ${pass(sseRecall >= 0.95)} |`);
say(`| secrets split across N SSE events (N = 3..6, random offsets), every rule | ≥ 0.95 | ${pct(nwayRecall)} (${sec.nway.detected}/${sec.nway.cases}) | ${pass(nwayRecall >= 0.95)} |`);
say(`| poisoned tools FLAGGED (detector verdict poisoned or suspicious; suspicious ones are reported, not hidden, by default) | ≥ 0.9 | ${pct(poisonRecall)} (${poison.detected}/${poison.poisoned}) | ${pass(poisonRecall >= 0.9)} |`);
// What actually stops a poisoned tool reaching the model at default settings; no goal was set for it.
say(`| poisoned tools HIDDEN by the gateway at default settings (${gatewayDefaults}) | no goal set | ${pct(poisonHiddenRecall)} (${poison.hiddenByGateway}/${poison.poisoned}) | — |`);
say(`| false positives on benign official tool definitions | ≤ 0.02 | ${pct(benignToolFpRate)} (${poison.benignFlagged}/${poison.benignTools}) | ${pass(benignToolFpRate <= 0.02)} |`);
const slowest = Math.min(...speed.map((x) => x.all));
say(`| DLP scan throughput, full built-in pack, one core (issue target; the bench owns it) | ≥ 200 MB/s | ${slowest.toFixed(0)}–${Math.max(...speed.map((x) => x.all)).toFixed(0)} MB/s (secrets alone ${Math.min(...speed.map((x) => x.secret)).toFixed(0)}–${Math.max(...speed.map((x) => x.secret)).toFixed(0)}) | ${pass(slowest >= 200)} |`);
say();
say('## Secrets');
say();
say(`${SECRET_RULES.length} rules; ${sec.rulesCovered} covered by the corpus. Positives: each rule's documented format in ${'nine'} carriers (env, JSON, YAML, code, prose, log, markdown). Negatives: ${secretCorpus.nearMisses.length} near-misses (truncated, \`xxxx…\`/\`…EXAMPLE\` placeholders, template holes, broken GitHub/npm checksums, key headers in prose, stock or templated passwords, random strings without a key name) and ${(benign.reduce((a, d) => a + d.text.length, 0) / 1e6).toFixed(1)} M characters of code, documentation and JSON from the installed dependencies (${benign.length} files).`);
say();
say('| measure | value |');
say('|---|---|');
say(`| recall (any secret rule on the span) | ${pct(secRecall)} |`);
say(`| recall with the exact rule id | ${pct(sec.typedCorrectly / sec.positives)} |`);
say(`| precision | ${pct(secPrecision)} |`);
say(`| false positives: near-misses / benign text / elsewhere in positives | ${sec.fpNearMiss} / ${sec.fpBenign} / ${sec.fpInPositives} |`);
say(`| rules missed at least once | ${[...sec.missedRules].map(([r, n]) => `${r} (${n})`).join(', ') || 'none'} |`);
for (const o of otherSeeds) say(`| seed ${o.seed}: recall / false positives / missed | ${pct(o.recall)} / ${o.fp} / ${o.missed.join(', ') || 'none'} |`);
say();
if (sec.fpDetails.length) {
  say('False positives:');
  say();
  for (const d of sec.fpDetails.slice(0, 20)) say(`- ${d}`);
  say();
}
say(`Streaming: each rule's sample cut at every offset (${sec.split.cases} cuts) and fed through the stream-window scheme (hold-back ${holdBackWindow({ families: ['secret'] })} characters for the secret family), as two chunks, and as two SSE events through the gateway's DLP inspector with the relay's hold-and-amend semantics (counted when the client never receives the secret and a finding was reported). ${sec.split.misses.length ? 'Misses: ' + sec.split.misses.join(', ') : 'No misses.'}`);
say();
say(`Streaming across many events: each rule's secret cut at N − 1 random offsets inside it (N = 3..6, ${sec.nway.cutsPerN} cut sets per rule and N: ${sec.nway.cases} cases), every piece in its own SSE event, through the DLP inspector with the relay's queue of held events (every event in time); counted when a finding was reported and no 8 characters of the secret reach the client that the same text sent as one event would not show. ${sec.nway.misses.length ? 'Misses: ' + sec.nway.misses.join(', ') : 'No misses.'}`);
say();
say('## PII');
say();
const piiRow = (name: string, c: Counts): string => `| ${name} | ${c.tp} | ${c.fp} | ${c.fn} | ${pct(c.tp / (c.tp + c.fp))} | ${pct(c.tp / (c.tp + c.fn))} |`;
say('Generated: valid identifiers (with and without a context word) and the same identifiers with one digit changed (must not be reported), plus look-alikes (versions, order numbers, ISBN, UUID, hashes).');
say();
say('| type | tp | fp | fn | precision | recall |');
say('|---|---:|---:|---:|---:|---:|');
for (const [k, c] of [...pii.generated].sort()) say(piiRow(k, c));
say();
say('Types reported only with a context word (a bare 9-, 11- or 12-digit number is too often something else): `ca-sin`, `de-tax-id`, `nl-bsn`, and bare (ungrouped) `us-ssn` / `in-aadhaar`.');
say();
say('Presidio synthetic set (first 1,000 samples of presidio-research `synth_dataset_v2`), types both label sets share:');
say();
say('| Presidio entity | tp | fp | fn | precision | recall |');
say('|---|---:|---:|---:|---:|---:|');
const pAll: Counts = { tp: 0, fp: 0, fn: 0 };
for (const [k, c] of [...pii.presidio].sort()) {
  say(piiRow(k, c));
  pAll.tp += c.tp;
  pAll.fp += c.fp;
  pAll.fn += c.fn;
}
say(piiRow('**all six**', pAll));
say();
say('## Markers');
say();
say('| measure | tp | fp | fn |');
say('|---|---:|---:|---:|');
say(`| labels (banners, CONFIDENTIAL, TLP, privilege, NDA, key headers) vs prose using the same words | ${markers.labels.tp} | ${markers.labels.fp} | ${markers.labels.fn} |`);
say(`| source code (6 languages) vs prose, JSON, lists | ${markers.code.tp} | ${markers.code.fp} | ${markers.code.fn} |`);
say(`| label findings in ${(markers.benignChars / 1e6).toFixed(1)} M chars of dependency docs/JSON | ${[...markers.benignFindings].map(([k, v]) => `${k}: ${v}`).join(', ') || '0'} | | |`);
say();
say('## Prompt injection (BIPIA)');
say();
say(`Threshold ${DEFAULT_INJECTION_THRESHOLD}. Positives: each attack inserted into a context (start / middle / end, rotating). Negatives: the clean contexts and ${pieces.length} benign 2 KB pieces of dependency docs and code. Train = contexts 0–34 × attack variants 0–2 (weights were tuned on it); held-out = contexts 35–49 × variants 3–4 (not used for tuning).`);
say();
say('| split | recall | false positives on clean contexts | false positives on benign docs |');
say('|---|---:|---:|---:|');
for (const m of [injTrain, injHeld]) say(`| ${m.split} | ${pct(m.tp / (m.tp + m.fn))} (${m.tp}/${m.tp + m.fn}) | ${m.fpClean}/${m.clean} | ${m.fpBenign}/${m.benign} (${pct(m.fpBenign / m.benign)}) |`);
say();
say('Held-out recall by attack category:');
say();
say('| category | detected |');
say('|---|---:|');
for (const [k, v] of [...injHeld.byCategory].sort()) say(`| ${k} | ${v.hit}/${v.n} |`);
say();
say('## Tool poisoning');
say();
say(`Benign: ${poison.benignTools} tools and ${poison.benignOther} prompts/resources from the official servers (${['everything', 'fetch', 'filesystem', 'git', 'memory', 'sequential-thinking', 'time', 'github'].join(', ')}), each scanned with all other servers as neighbouring upstreams. Poisoned: ${poison.poisoned} definitions (attack payloads grafted onto those real tools). Set A phrasings existed while the scanner was written; set B was written afterwards.`);
say();
say('| measure | value |');
say('|---|---|');
say(`| benign flagged (suspicious or poisoned) | ${poison.benignFlagged}/${poison.benignTools} tools, ${poison.benignOtherFlagged}/${poison.benignOther} prompts/resources |`);
say(`| benign marked poisoned | ${poison.benignPoisoned} |`);
say(`| poisoned flagged (suspicious or poisoned) | ${poison.detected}/${poison.poisoned} (${pct(poisonRecall)}) |`);
say(`| poisoned marked poisoned | ${poison.detectedStrict}/${poison.poisoned} (${pct(poison.detectedStrict / poison.poisoned)}) |`);
say(`| poisoned hidden by the tool-poisoning inspector at default settings (${gatewayDefaults}) | ${poison.hiddenByGateway}/${poison.poisoned} (${pct(poisonHiddenRecall)}) |`);
say(`| name shadowing (a server re-exposing another's tool names) | ${poison.shadowing.detected}/${poison.shadowing.cases} |`);
say();
say('| technique (set) | flagged | poisoned | hidden at defaults |');
say('|---|---:|---:|---:|');
for (const [k, v] of [...poison.byTechnique].sort()) say(`| ${k} | ${v.hit}/${v.n} | ${v.strict}/${v.n} | ${v.hidden}/${v.n} |`);
if (poison.flaggedExamples.length) {
  say();
  for (const e of poison.flaggedExamples) say(`- benign flagged: ${e}`);
}
if (poison.missedExamples.length) {
  say();
  for (const e of poison.missedExamples) say(`- missed: ${e}`);
}
say();
say('## Throughput and windows');
say();
say('`scanText` over the benign corpus, one core, this machine (MB = million UTF-16 characters; ASCII text, so ≈ bytes):');
say();
say('| text | size | all families | secrets only |');
say('|---|---:|---:|---:|');
for (const s of speed) say(`| ${s.kind} | ${(s.chars / 1e6).toFixed(1)} M | ${s.all.toFixed(0)} MB/s | ${s.secret.toFixed(0)} MB/s |`);
say();
say(`Longest match per family (streaming hold-back is this plus ${holdBackWindow({ families: ['secret'] }) - MAX_MATCH_LENGTH.secret} characters of right context): secret ${MAX_MATCH_LENGTH.secret}, pii ${MAX_MATCH_LENGTH.pii}, marker ${MAX_MATCH_LENGTH.marker}; all families ${holdBackWindow()}.`);
say();
say(`Total run time ${((performance.now() - started) / 1000).toFixed(1)} s.`);

const report = out.join('\n') + '\n';
process.stdout.write(report);
writeFileSync(join(import.meta.dirname, 'results.md'), report);
