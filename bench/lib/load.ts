/**
 * Closed-loop HTTP load: `concurrency` requests always in flight over an undici Pool (keep-alive,
 * pipelining 1, one connection per in-flight request), for a warm-up and then a measured window.
 *
 * It uses `pool.dispatch` with a bare handler instead of `pool.request`: no body stream, no
 * promise per chunk, so the generator stays cheap next to what it measures. Every answer is
 * checked (HTTP 200 and a JSON-RPC `result`), so a row can never report error throughput.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

export interface RequestSpec {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadOptions {
  origin: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Request for worker `w`'s next call (`n` counts that worker's calls). */
  request: (w: number, n: number) => RequestSpec;
  /** Called at the start and end of the measured window (CPU sampling). */
  onWindow?: (phase: 'start' | 'end') => void;
}

export interface LoadResult {
  requests: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Sorted latencies (ms) of the window, for merging rounds. */
  sorted: Float64Array;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** One request through `pool.dispatch`; resolves with status and the (small) body text. */
export function dispatchOnce(pool: Pool, spec: RequestSpec): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_c, statusCode) {
        status = statusCode;
      },
      onResponseData(_c, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        resolve({ status, body: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_c, err) {
        reject(err);
      },
    };
    pool.dispatch({ path: spec.path, method: 'POST', headers: spec.headers, body: spec.body }, handler);
  });
}

function okBody(status: number, body: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 200)}`;
  if (!body.includes('"result"')) return `no result: ${body.slice(0, 200)}`;
  return undefined;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(opts.origin, { connections: opts.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopping = false;
  const t0 = performance.now();
  const warmEnd = t0 + opts.warmupMs;
  const end = warmEnd + opts.durationMs;
  let windowStart = 0;
  let windowEnd = 0;

  const record = (ms: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  };

  const worker = async (w: number) => {
    for (let n = 0; !stopping; n++) {
      const spec = opts.request(w, n);
      const started = performance.now();
      let problem: string | undefined;
      try {
        const r = await dispatchOnce(pool, spec);
        problem = okBody(r.status, r.body);
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      const done = performance.now();
      if (!measuring && done >= warmEnd && done < end) {
        measuring = true;
        windowStart = performance.now();
        opts.onWindow?.('start');
      }
      if (done >= end && !stopping) {
        stopping = true;
        windowEnd = performance.now();
        opts.onWindow?.('end');
      }
      // Completions inside the window count (throughput = completions / window length).
      if (measuring && !stopping) {
        if (problem) {
          errors++;
          firstError ??= problem;
        } else record(done - started);
      } else if (problem && !stopping) {
        errors++;
        firstError ??= problem;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  await pool.close();
  const seconds = (windowEnd - windowStart) / 1000;
  const sorted = latencies.subarray(0, count).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    requests: count,
    errors,
    firstError,
    seconds,
    rps: count / seconds,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    mean: count ? sum / count : NaN,
    sorted,
  };
}

/** Merges rounds measured separately into one result (throughput over the summed windows). */
export function mergeResults(parts: readonly LoadResult[]): LoadResult {
  const total = parts.reduce((n, p) => n + p.sorted.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p.sorted, at);
    at += p.sorted.length;
  }
  all.sort();
  const requests = parts.reduce((n, p) => n + p.requests, 0);
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  let sum = 0;
  for (const v of all) sum += v;
  return {
    requests,
    errors: parts.reduce((n, p) => n + p.errors, 0),
    firstError: parts.find((p) => p.firstError)?.firstError,
    seconds,
    rps: requests / seconds,
    p50: percentile(all, 50),
    p90: percentile(all, 90),
    p99: percentile(all, 99),
    max: all.length ? all[all.length - 1]! : NaN,
    mean: all.length ? sum / all.length : NaN,
    sorted: all,
  };
}
