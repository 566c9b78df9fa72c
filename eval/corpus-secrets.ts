/**
 * Labeled secret corpus: every rule's documented format in varied carriers (env files, JSON,
 * YAML, code, prose, logs), and near-misses that must NOT be reported: too short, placeholder
 * bodies (`xxxx…`, `…EXAMPLE`), broken checksums, key headers without a key, template holes.
 */
import { expand, SECRET_TEMPLATES, checksummed, type Sample } from './secret-formats.ts';
import { ALPHA, Rng } from './rng.ts';

export interface Labeled {
  readonly id: string;
  readonly rule: string;
  readonly text: string;
  /** Expected span; absent for negatives. */
  readonly span?: readonly [number, number];
  readonly kind: 'positive' | 'near-miss';
  readonly variant: string;
}

/** Carriers put a sample inside realistic surroundings; `%` is replaced by the sample text. */
const CARRIERS: readonly string[] = [
  '%',
  'export %',
  '{"config": {"value": "%", "region": "eu-west-1"}}',
  '  credentials:\n    primary: %\n    rotated: false\n',
  'const client = new Client("%");\n',
  'Here is the key you asked for: % — keep it safe.',
  '2026-03-01T10:22:03Z INFO boot config=% pid=4411',
  '```\n%\n```',
  '| service | value |\n|---|---|\n| api | % |',
];

function place(sample: Sample, carrier: string): { text: string; span: [number, number] } {
  const at = carrier.indexOf('%');
  const text = carrier.slice(0, at) + sample.text + carrier.slice(at + 1);
  return { text, span: [at + sample.start, at + sample.end] };
}

/** Rules whose expected value has a free length or structure: truncation is not a near-miss. */
const NO_TRUNCATE = /^(?:private-key|putty|jwt|db-url|url-basic|jdbc|connection-string|generic|env-password|bearer|basic-auth|docker-config|gcp-service-account|kubeconfig|dropbox|stripe|aws-session|sentry-org|onepassword-service|grafana)/;

function nearMisses(rule: string, s: Sample, r: Rng): { variant: string; text: string }[] {
  const value = s.text.slice(s.start, s.end);
  const out: { variant: string; text: string }[] = [];
  const replace = (v: string): string => s.text.slice(0, s.start) + v + s.text.slice(s.end);
  // The random part is what follows the longest prefix of letters/separators typical of formats.
  const prefixLen = Math.min(value.length - 8, (/^[A-Za-z]{0,12}[_\-.:]{1,2}(?:[A-Za-z0-9]{0,8}[_\-.]){0,2}/.exec(value)?.[0].length ?? 0));
  const prefix = value.slice(0, Math.max(0, prefixLen));
  const body = value.slice(prefix.length);
  // Truncated to at most 12 characters: too short for any format.
  if (!NO_TRUNCATE.test(rule) && value.length >= 20) out.push({ variant: 'too-short', text: replace(value.slice(0, Math.min(12, Math.floor(value.length / 2)))) });
  if (body.length >= 12) {
    out.push({ variant: 'placeholder-x', text: replace(prefix + 'x'.repeat(body.length)) });
    out.push({ variant: 'placeholder-example', text: replace(prefix + body.slice(0, Math.max(0, body.length - 7)).replace(/./g, (c) => (/[A-Z]/.test(c) ? 'A' : /[a-z]/.test(c) ? 'a' : /[0-9]/.test(c) ? '0' : c)) + 'EXAMPLE') });
    out.push({ variant: 'template-hole', text: replace(prefix + '<YOUR_' + rule.toUpperCase().replace(/-/g, '_') + '>') });
  }
  if (rule === 'github-pat' || rule === 'npm-token') {
    // Valid shape, wrong CRC-32: hand-made, not issued.
    const good = checksummed(rule === 'npm-token' ? 'npm_' : 'ghp_', r);
    const bad = good.slice(0, -6) + (good.slice(-6) === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ');
    out.push({ variant: 'bad-checksum', text: replace(bad) });
  }
  if (rule.startsWith('private-key-')) {
    const header = value.split('\n')[0]!;
    out.push({ variant: 'header-in-prose', text: `The file starts with a line like ${header} followed by the base64 body; never paste it here.` });
  }
  if (rule.startsWith('db-url-') || rule === 'url-basic-auth' || rule === 'jdbc-password' || rule === 'connection-string-password') {
    out.push({ variant: 'template-password', text: replace('${DB_PASSWORD}') });
    out.push({ variant: 'stock-password', text: replace(r.pick(['password', 'postgres', 'changeme', 'secret'])) });
  }
  if (rule === 'generic-api-key') out.push({ variant: 'identifier', text: replace('getAccessTokenFromEnvironment') });
  if (rule === 'generic-password' || rule === 'env-password') out.push({ variant: 'reference', text: replace('${SMTP_PASS}') });
  return out;
}

export interface SecretCorpus {
  readonly positives: Labeled[];
  readonly nearMisses: Labeled[];
  /** One sample per rule, for the chunk / SSE split tests. */
  readonly splitSamples: Labeled[];
}

export function buildSecretCorpus(seed: number, perTemplate = 3): SecretCorpus {
  const r = new Rng(seed);
  const positives: Labeled[] = [];
  const nearMissList: Labeled[] = [];
  const splitSamples: Labeled[] = [];
  for (const [rule, templates] of Object.entries(SECRET_TEMPLATES)) {
    templates.forEach((tpl, ti) => {
      for (let k = 0; k < perTemplate; k++) {
        const s = expand(tpl, r, rule);
        const carrier = CARRIERS[(ti * perTemplate + k) % CARRIERS.length]!;
        const p = place(s, carrier);
        positives.push({ id: `${rule}#${ti}.${k}`, rule, text: p.text, span: p.span, kind: 'positive', variant: `carrier-${CARRIERS.indexOf(carrier)}` });
        if (k === 0) {
          for (const nm of nearMisses(rule, s, r)) nearMissList.push({ id: `${rule}#${ti}~${nm.variant}`, rule, text: nm.text, kind: 'near-miss', variant: nm.variant });
        }
        if (ti === 0 && k === 0) {
          // Split tests use a compact carrier so "every offset" stays affordable.
          const q = place(s, 'token: % end');
          splitSamples.push({ id: `${rule}#split`, rule, text: q.text, span: q.span, kind: 'positive', variant: 'split' });
        }
      }
    });
  }
  // A few random high-entropy strings with no key context: not secrets for any rule.
  for (let i = 0; i < 40; i++) {
    const v = r.chars(ALPHA.b62, r.int(16, 64));
    nearMissList.push({ id: `random#${i}`, rule: 'none', text: `build id ${v} finished`, kind: 'near-miss', variant: 'random-no-context' });
  }
  return { positives, nearMisses: nearMissList, splitSamples };
}
