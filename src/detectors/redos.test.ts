/**
 * Every built-in rule, and every scanner that is not a rule (PII, source code, injection,
 * poisoning, custom RE2 regexes), runs in linear time on hostile input. For each one we build an
 * adversarial text from the rule itself — its keywords (so the rule actually runs), almost-matches
 * (a sample match with its last character broken), and long runs of each character class the
 * pattern uses — and compare the time on 256 KB and 1 MB: linear gives a ratio near 4, quadratic
 * near 16. We assert < 8, on the best of three runs of this thread's CPU time (not wall time,
 * which other jobs on the machine inflate).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CustomRuleSet } from './custom.ts';
import { RuleSet } from './engine.ts';
import { scoreInjection } from './injection.ts';
import { charSets, sampleMatch, setMembers } from './linear.ts';
import { MARKER_RULES, scanSourceCode } from './markers.ts';
import { scanPii } from './pii/index.ts';
import { scanTools } from './poisoning.ts';
import { SECRET_RULES } from './secrets/index.ts';
import type { PatternRule } from './types.ts';

const SMALL = 256 * 1024;
const LARGE = 1024 * 1024;
const MAX_RATIO = 8;
/**
 * A 1 MB scan under this is linear beyond doubt (quadratic work on 1 MB takes seconds), and at
 * these sizes one GC pause or a busy neighbour swings the ratio (seen in CI: 7 ms → 67 ms on a
 * loaded machine): don't judge the ratio there.
 */
const NOISE_MS = 150;

function fill(unit: string, size: number): string {
  if (unit.length === 0) return ' '.repeat(size);
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/**
 * CPU time of this thread (ms), not wall time: the suite runs files in parallel on a shared
 * machine, and time spent waiting for a core is not the scanner's. Linear vs quadratic shows in
 * the work done, which is what this counts.
 */
function cpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

function best(fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = cpuMs();
    fn();
    min = Math.min(min, cpuMs() - t0);
  }
  return min;
}

function assertLinear(name: string, unit: string, run: (text: string) => void): void {
  const small = fill(unit, SMALL);
  const large = fill(unit, LARGE);
  run(small); // warm up the JIT
  const ts = best(() => run(small));
  const tl = best(() => run(large));
  assert.ok(tl < NOISE_MS || tl / Math.max(ts, 0.05) < MAX_RATIO, `${name}: 256 KB ${ts.toFixed(1)} ms, 1 MB ${tl.toFixed(1)} ms (ratio ${(tl / ts).toFixed(1)})`);
}

/** One repeating unit that keeps `rule` busy: keyword + near-match, then class runs. */
function adversarialUnit(rule: PatternRule, shapeAst: Parameters<typeof sampleMatch>[0]): string {
  let seed = 7;
  const pick = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const sample = sampleMatch(shapeAst, pick);
  const almost = sample.slice(0, -1) + (/[A-Za-z0-9]/.test(sample.slice(-1)) ? '!' : 'a');
  const kw = rule.keywords[0] ?? '';
  let unit = `${kw}${almost} ${kw}${sample} ${kw}`;
  for (const set of charSets(shapeAst).slice(0, 6)) {
    const m = setMembers(set).filter((c) => c > 32 && c < 127);
    if (m.length > 0) unit += String.fromCharCode(m[0]!).repeat(120) + ` ${kw}`;
  }
  return unit + '\n';
}

test('every built-in pattern rule scans hostile input in linear time', () => {
  for (const rule of [...SECRET_RULES, ...MARKER_RULES]) {
    const set = new RuleSet([rule]);
    const unit = adversarialUnit(rule, set.compiled[0]!.shape.ast);
    assertLinear(rule.id, unit, (t) => set.scan(t));
  }
});

test('the full pack is linear on keyword floods and long token runs', () => {
  const all = new RuleSet([...SECRET_RULES, ...MARKER_RULES]);
  const everyKeyword = [...new Set([...SECRET_RULES, ...MARKER_RULES].flatMap((r) => r.keywords))].join(' = ');
  assertLinear('keyword flood', everyKeyword + '\n', (t) => all.scan(t));
  assertLinear('token run', 'A', (t) => all.scan(t));
  assertLinear('base64 run', 'aB3+/9zQ', (t) => all.scan(t));
  assertLinear('assignments', 'api_key = "', (t) => all.scan(t));
  assertLinear('pem headers', '-----BEGIN RSA PRIVATE KEY-----\n', (t) => all.scan(t));
});

test('PII scanners are linear', () => {
  for (const unit of ['1', '1 ', '1-', '+1 (', '@', 'a@', 'a.', '1.1.1.', ':', 'a:', 'GB82 ', 'AB12', 'X1234567', '4111 1111 1111 111', '1' + ' '.repeat(30), '1' + ' '.repeat(20)]) {
    assertLinear(`pii ${JSON.stringify(unit)}`, unit, (t) => scanPii(t));
  }
});

test('source-code heuristic is linear', () => {
  for (const unit of ['if (x) {\n', ' '.repeat(300) + '\n', 'import ' + 'x'.repeat(390) + '\n', '(((((((((\n']) {
    assertLinear(`code ${JSON.stringify(unit.slice(0, 12))}`, unit, (t) => scanSourceCode(t));
  }
});

test('injection scorer is linear', () => {
  for (const unit of ['ignore all the previous ', 'add to your ', '![a](http://x/?q=', 'aGVsbG8gd29y', 'you are now ', '<|im_start|>', 'what is ', '\u200b']) {
    assertLinear(`injection ${JSON.stringify(unit)}`, unit, (t) => scoreInjection(t));
  }
});

test('tool-poisoning scan is linear in the size of a definition', () => {
  for (const unit of ['do not tell the user ', '<IMPORTANT>', 'https://1.2.3.4/?a={x}', 'before using this tool ']) {
    assertLinear(`poisoning ${JSON.stringify(unit)}`, unit, (t) => scanTools([{ name: 'x', description: t }]));
  }
});

test('custom RE2 regexes stay linear even for catastrophic patterns', () => {
  const set = new CustomRuleSet({ regexes: [{ id: 'nested', pattern: '(a+)+$' }, { id: 'alt', pattern: '(a|aa)+b' }] });
  assertLinear('re2 nested quantifiers', 'a', (t) => set.scan(t));
});
