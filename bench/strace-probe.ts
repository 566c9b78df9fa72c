/**
 * System calls per request through a proxy (`strace -c` on its process over a load window):
 * shows whether the gateway does more kernel work per call than a bare Node.js proxy.
 *
 *   node bench/strace-probe.ts [gateway|pipeline|floor]        (needs strace; Linux)
 *
 * Measured 2026-11-23: gateway 4.11 and floor 4.28 syscalls per call (2 writev + 2 read each):
 * the gateway's extra CPU is JavaScript, not I/O.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runLoad } from './lib/load.ts';
import { ECHO_TEXT, modernToolCall } from './lib/mcp.ts';
import { Child } from './lib/proc.ts';
const mode = process.argv[2] ?? 'gateway';
const upstream = await Child.start('upstream', 'upstream', { responseMode: 'auto' });
const gw = await Child.start(mode, mode === 'floor' ? 'floor' : 'gateway', { upstream: upstream.url, ...(mode === 'pipeline' ? { pipeline: true } : {}) });
const path = new URL(gw.url).pathname;
let st: ReturnType<typeof spawn> | undefined;
const r = await runLoad({
  origin: new URL(gw.url).origin, concurrency: 32, warmupMs: 1500, durationMs: 3000,
  request: (w, n) => modernToolCall(path, w * 1e6 + n, 'echo', { text: ECHO_TEXT }),
  onWindow: (phase) => {
    if (phase === 'start') st = spawn('strace', ['-c', '-f', '-o', `/tmp/strace-${mode}.txt`, '-p', String(gw.pid)], { stdio: 'ignore' });
    else st?.kill('SIGINT');
  },
});
await new Promise((res) => setTimeout(res, 1000));
console.log(mode, Math.round(r.rps), 'req/s', r.requests, 'requests');
const txt = readFileSync(`/tmp/strace-${mode}.txt`, 'utf8');
for (const line of txt.split('\n')) { const m = line.trim().split(/\s+/); if (m.length >= 5 && /^\d/.test(m[0]!)) { const calls = Number(m[3]); console.log(`  ${(m[m.length-1]??'').padEnd(16)} ${(calls / r.requests).toFixed(2)}/req`); } }
await gw.stop(5000); await upstream.stop(5000);
