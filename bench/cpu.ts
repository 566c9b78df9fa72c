/**
 * Quick CPU-per-request probe for optimisation work (`npm run bench:cpu`): gateway process CPU
 * (user + system µs) per 2026-07-28 `tools/call echo` at 32 in flight. CPU per request is far less
 * sensitive to other jobs on the machine than req/s, so it is the number to watch while changing
 * the hot path; `npm run bench` remains the reference.
 *
 *   node bench/cpu.ts [seconds per path, default 4] [modes…] [--profile]
 *
 * modes: pass-through (no inspectors), pipeline (method-deny + redact), audit (pass-through with the
 * SQLite audit trail on), dlp, auth-policy (JWT via a local JWKS + the bench's 20-rule policy, a
 * bearer token on every call), floor (bench/lib/floor.ts: a bare Node.js proxy, the runtime's
 * ceiling); default: pass-through pipeline. `--profile` runs each gateway under
 * `--cpu-prof` and prints its hottest functions over the measured window.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './lib/load.ts';
import { ECHO_TEXT, modernToolCall } from './lib/mcp.ts';
import { Child, procCpuUs } from './lib/proc.ts';
import { summariseProfile } from './lib/profile.ts';
import { startAuthServer } from '../test/support/auth-server.ts';

const MODES = {
  'pass-through': {},
  pipeline: { pipeline: true },
  audit: { audit: true },
  dlp: { dlp: true },
  'auth-policy': {},
  floor: {},
} as const;
type Mode = keyof typeof MODES;

const args = process.argv.slice(2);
const profile = args.includes('--profile');
const seconds = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 4);
const modes = args.filter((a): a is Mode => a in MODES);
if (modes.length === 0) modes.push('pass-through', 'pipeline');

const profileDir = join(tmpdir(), `portcullis-cpu-prof-${process.pid}`);
const upstream = await Child.start('upstream', 'upstream', { responseMode: 'auto' });
// Only for auth-policy: the same issuer, audience and scope as the bench's "auth + 20-rule policy" row.
const authServer = modes.includes('auth-policy') ? await startAuthServer() : undefined;
const token = await authServer?.issue({ sub: 'bench-client', aud: 'portcullis-bench', scope: 'mcp:tools', expiresIn: 3600 });
try {
  for (const mode of modes) {
    const file = `${mode}.cpuprofile`;
    if (profile) mkdirSync(profileDir, { recursive: true });
    const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${file}`, '--cpu-prof-interval=500'] : [];
    const auth = mode === 'auth-policy' && authServer ? { authPolicy: { issuer: authServer.issuer, jwksUrl: authServer.jwksUrl } } : {};
    const gw = await Child.start(mode, mode === 'floor' ? 'floor' : 'gateway', { upstream: upstream.url, ...MODES[mode], ...auth }, flags);
    const path = new URL(gw.url).pathname;
    let cpu0 = 0;
    let cpu = 0;
    let main0 = 0;
    let main = 0;
    let up0 = 0;
    let up = 0;
    let fromUs = 0;
    let toUs = 0;
    const r = await runLoad({
      origin: new URL(gw.url).origin,
      concurrency: 32,
      warmupMs: 1500,
      durationMs: seconds * 1000,
      request: (w, n) => {
        const spec = modernToolCall(path, w * 1e6 + n, 'echo', { text: ECHO_TEXT });
        return mode === 'auth-policy' ? { ...spec, headers: { ...spec.headers, authorization: `Bearer ${token}` } } : spec;
      },
      onWindow: (phase) => {
        const nowUs = Number(process.hrtime.bigint() / 1000n);
        if (phase === 'start') {
          cpu0 = procCpuUs(gw.pid);
          main0 = procCpuUs(gw.pid, gw.pid);
          up0 = procCpuUs(upstream.pid);
          fromUs = nowUs;
        } else {
          cpu = procCpuUs(gw.pid) - cpu0;
          main = procCpuUs(gw.pid, gw.pid) - main0;
          up = procCpuUs(upstream.pid) - up0;
          toUs = nowUs;
        }
      },
    });
    console.log(`${mode.padEnd(12)}  ${Math.round(r.rps)} req/s  ${(cpu / r.requests).toFixed(1)} µs CPU/req (main thread ${(main / r.requests).toFixed(1)}; upstream ${(up / r.requests).toFixed(1)})  p50 ${r.p50.toFixed(2)} ms  errors ${r.errors}`);
    await gw.stop(10_000);
    if (profile) {
      const s = summariseProfile(join(profileDir, file), 25, { fromUs, toUs });
      for (const h of s.topSelf) console.log(`    ${h.pct.toFixed(1).padStart(5)}%  ${h.name}  ${h.where}`);
      console.log('    by package/file:');
      for (const h of s.byGroup.slice(0, 12)) console.log(`    ${h.pct.toFixed(1).padStart(5)}%  ${h.name}`);
      console.log('    gateway functions, inclusive:');
      for (const h of s.topSrcInclusive.slice(0, 25)) console.log(`    ${h.pct.toFixed(1).padStart(5)}%  ${h.name}  ${h.where}`);
    }
  }
} finally {
  await upstream.stop();
  await authServer?.close();
  rmSync(profileDir, { recursive: true, force: true });
}
