/**
 * In-process micro-benchmarks of the security stages' per-request costs (one core, this
 * process): warm JWT validation, a 20-rule policy decision, the DLP scan's throughput with the
 * full built-in pack, and prompt-injection scoring's. Reported as time per operation (best of 3 runs, to damp other jobs).
 */
import { Authenticator } from '../../src/identity/authenticator.ts';
import { AuthSchema } from '../../src/identity/config.ts';
import { compilePolicy } from '../../src/policy/engine.ts';
import { completeInput } from '../../src/policy/vocabulary.ts';
import { scanText, scoreInjection } from '../../src/detectors/index.ts';
import { benignCorpus } from '../../eval/benign.ts';
import { startAuthServer } from '../../test/support/auth-server.ts';

export interface MicroResults {
  jwtUs: number;
  policyUs: number;
  dlpMBps: number;
  dlpSecretsMBps: number;
  /** Full pack on real text, one scan per document: the dependencies' code, docs and JSON the eval uses (eval/benign.ts). */
  dlpRealMBps: number;
  /** Prompt-injection scoring on the same documents (no target: it runs on every result the inspector reads). */
  injectionRealMBps: number;
}

function bestOf3(fn: () => number): number {
  return Math.min(fn(), fn(), fn());
}

async function bestOf3Async(fn: () => Promise<number>): Promise<number> {
  return Math.min(await fn(), await fn(), await fn());
}

export async function microBenchmarks(): Promise<MicroResults> {
  // Warm JWT validation: a real JWKS-backed authenticator, the same token presented again.
  const as = await startAuthServer();
  const resource = 'http://127.0.0.1:8080/mcp';
  const auth = new Authenticator(AuthSchema.parse({ required: true, jwt: { issuer: as.issuer, jwksUrl: as.jwksUrl } }), { resource });
  const token = await as.issue({ sub: 'bench', aud: resource, scope: 'mcp:tools', expiresIn: 3600 });
  const req = { headers: { authorization: `Bearer ${token}` } };
  await auth.authenticate(req);
  const N = 20_000;
  const jwtUs = await bestOf3Async(async () => {
    const t = performance.now();
    for (let i = 0; i < N; i++) await auth.authenticate(req);
    return ((performance.now() - t) * 1000) / N;
  });
  await as.close();

  // A 20-rule policy decision for a tools/call.
  const rules = Array.from({ length: 20 }, (_, i) => ({
    name: `rule-${i}`,
    when: i % 4 === 0 ? `tool.name == "tool_${i}" && principal.subject != "bench"` : i % 4 === 1 ? `"admin" in principal.scopes && tool.name.startsWith("adm_${i}")` : i % 4 === 2 ? `has(tool.arguments.path) && !pathWithin(tool.arguments.path, "/w${i}")` : `request.kind == "tool" && time.hour >= 0`,
    decision: (i % 4 === 3 ? 'allow' : 'deny') as 'allow' | 'deny',
    reason: `r${i}`,
  }));
  const policy = compilePolicy({ default: 'deny', rules });
  const input = completeInput({
    principal: { subject: 'bench', method: 'jwt', scopes: ['mcp:tools'], claims: {} },
    request: { method: 'tools/call', era: 'modern', protocolVersion: '2026-07-28' },
    tool: { name: 'echo', arguments: { text: 'hello', path: '/w1/x' } },
  });
  const P = 50_000;
  const policyUs = bestOf3(() => {
    const t = performance.now();
    for (let i = 0; i < P; i++) policy.decide(input);
    return ((performance.now() - t) * 1000) / P;
  });

  // DLP throughput: mixed prose, code and JSON with a secret every ~8 KB.
  const block = [
    'The deployment finished at 12:04 UTC; 3 warnings about unused imports in src/transport were ignored. ',
    'function relay(ex) { const body = JSON.parse(text); return body.result?.content ?? []; }\n',
    '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"build ok, 41 s on node 24"}]}}\n',
  ].join('');
  let text = '';
  while (text.length < 4 * 1024 * 1024) text += block.repeat(20) + ` key AKIA${'QYLPMN5HHHFPZAM2'} `;
  const mb = Buffer.byteLength(text) / (1024 * 1024);
  scanText(text.slice(0, 100_000));
  const dlpMBps = mb / (bestOf3(() => {
    const t = performance.now();
    scanText(text);
    return performance.now() - t;
  }) / 1000);
  const dlpSecretsMBps = mb / (bestOf3(() => {
    const t = performance.now();
    scanText(text, { families: ['secret'] });
    return performance.now() - t;
  }) / 1000);
  // The same on real text: repetitive synthetic lines flatter any scanner (branch prediction,
  // one normalization fast path); dependency code, docs and JSON are what tool results look like.
  // One scan per document, as the gateway scans one message (or string leaf) at a time: 655
  // documents, median ~2 KB, largest ~128 KB, all under the 1 MB buffered-message limit.
  const docs = benignCorpus().map((d) => d.text);
  const realMb = docs.reduce((n, d) => n + Buffer.byteLength(d), 0) / (1024 * 1024);
  /** MB/s of `scan` over every document, one call each, after a warm-up pass. */
  const overDocs = (scan: (text: string) => unknown): number => {
    for (const d of docs) scan(d);
    const ms = bestOf3(() => {
      const t = performance.now();
      for (const d of docs) scan(d);
      return performance.now() - t;
    });
    return realMb / (ms / 1000);
  };
  const dlpRealMBps = overDocs((d) => scanText(d));
  const injectionRealMBps = overDocs((d) => scoreInjection(d));
  return { jwtUs, policyUs, dlpMBps, dlpSecretsMBps, dlpRealMBps, injectionRealMBps };
}
