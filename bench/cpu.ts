/**
 * Quick CPU-per-request probe for optimisation work (`npm run bench:cpu`): gateway process CPU
 * (user + system µs) per 2026-07-28 `tools/call echo` at 32 in flight, pass-through and pipeline
 * on. CPU per request is far less sensitive to other jobs on the machine than req/s, so it is the
 * number to watch while changing the hot path; `npm run bench` remains the reference.
 *
 *   node bench/cpu.ts [seconds per path, default 4]
 */
import { runLoad } from './lib/load.ts';
import { ECHO_TEXT, modernToolCall } from './lib/mcp.ts';
import { Child, procCpuUs } from './lib/proc.ts';

const seconds = Number(process.argv[2] ?? 4);
const upstream = await Child.start('upstream', 'upstream', { responseMode: 'auto' });
try {
  for (const pipeline of [false, true]) {
    const gw = await Child.start('gateway', 'gateway', { upstream: upstream.url, pipeline });
    const path = new URL(gw.url).pathname;
    let cpu0 = 0;
    let cpu = 0;
    let up0 = 0;
    let up = 0;
    const r = await runLoad({
      origin: new URL(gw.url).origin,
      concurrency: 32,
      warmupMs: 1500,
      durationMs: seconds * 1000,
      request: (w, n) => modernToolCall(path, w * 1e6 + n, 'echo', { text: ECHO_TEXT }),
      onWindow: (phase) => {
        if (phase === 'start') {
          cpu0 = procCpuUs(gw.pid);
          up0 = procCpuUs(upstream.pid);
        } else {
          cpu = procCpuUs(gw.pid) - cpu0;
          up = procCpuUs(upstream.pid) - up0;
        }
      },
    });
    console.log(`${pipeline ? 'pipeline on ' : 'pass-through'}  ${Math.round(r.rps)} req/s  ${(cpu / r.requests).toFixed(1)} µs CPU/req (upstream ${(up / r.requests).toFixed(1)})  p50 ${r.p50.toFixed(2)} ms  errors ${r.errors}`);
    await gw.stop();
  }
} finally {
  await upstream.stop();
}
