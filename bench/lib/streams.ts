/**
 * SSE measurements: per-event arrival times of a `countdown` stream (direct vs through a proxy,
 * run side by side so both see the same upstream timers), and many idle streams held open on raw
 * sockets for the memory test.
 */
import { Socket } from 'node:net';
import { Pool } from 'undici';
import { percentile } from './load.ts';
import { LEGACY, modernToolCall, openLegacySession, rawHttp } from './mcp.ts';
import { sseKey, type Child } from './proc.ts';
import type { RequestSpec } from './load.ts';

const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Arrivals {
  /** When the request was dispatched (monotonic µs). */
  sentUs: number;
  /** Each SSE message: its key (sseKey) and arrival time (monotonic µs). */
  events: Array<{ key: string; us: number }>;
}

/** Runs one SSE request and stamps every event with data on arrival. */
export function streamArrivals(pool: Pool, spec: RequestSpec): Promise<Arrivals> {
  return new Promise((resolve, reject) => {
    const sentUs = monoUs();
    const events: Arrivals['events'] = [];
    let buf = '';
    let status = 0;
    pool.dispatch(
      { path: spec.path, method: 'POST', headers: spec.headers, body: spec.body },
      {
        onRequestStart() {},
        onResponseStart(_c, statusCode) {
          status = statusCode;
        },
        onResponseData(_c, chunk) {
          const us = monoUs();
          buf += chunk.toString('utf8');
          for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const m = /^data: ?(.+)$/m.exec(block);
            const key = m ? sseKey(m[1]!) : undefined;
            if (key) events.push({ key, us });
          }
        },
        onResponseEnd() {
          if (status !== 200) reject(new Error(`stream got HTTP ${status}`));
          else resolve({ sentUs, events });
        },
        onResponseError(_c, err) {
          reject(err);
        },
      },
    );
  });
}

export interface StreamComparison {
  events: number;
  reps: number;
  /** Time to first event at the client, ms (median over reps). */
  ttfeDirect: number;
  ttfeProxy: number;
  /** One-way delay of each event, upstream write → client arrival, ms (p50 / p99 over all events). */
  oneWayDirectP50: number;
  oneWayDirectP99: number;
  oneWayProxyP50: number;
  oneWayProxyP99: number;
  /** Per event: proxy one-way delay − direct one-way delay of the same event index in the same run, ms. */
  addedP50: number;
  addedP99: number;
  addedMax: number;
  addedMean: number;
  /** Events missing on either side, or not matched to an upstream write (should be 0). */
  lost: number;
}

/**
 * Runs `reps` countdown streams through `direct` and `proxy` at the same time (alternating which
 * is dispatched first). The upstream stamps every event it writes (its SSE trace) and the client
 * stamps every arrival on the same monotonic clock, so each event's one-way delay is exact and
 * the upstream's timer jitter cancels out.
 */
export async function compareStreams(
  upstream: Child,
  directUrl: string,
  proxyUrl: string,
  opts: { events: number; intervalMs: number; reps: number },
): Promise<StreamComparison> {
  const d = new URL(directUrl);
  const p = new URL(proxyUrl);
  const dPool = new Pool(d.origin, { connections: 2, pipelining: 1 });
  const pPool = new Pool(p.origin, { connections: 2, pipelining: 1 });
  const spec = (u: URL, id: number, token: string) =>
    modernToolCall(u.pathname, id, 'countdown', { from: opts.events, intervalMs: opts.intervalMs }, { progressToken: token });
  const runs: Array<{ d: Arrivals; p: Arrivals }> = [];
  try {
    // One warm-up pair (connections, JIT) that is not counted.
    await Promise.all([streamArrivals(dPool, spec(d, 9999, 'warm-d')), streamArrivals(pPool, spec(p, 9998, 'warm-p'))]);
    await upstream.trace(true);
    for (let rep = 0; rep < opts.reps; rep++) {
      const dr = () => streamArrivals(dPool, spec(d, 1000 + rep, `d-${rep}`));
      const pr = () => streamArrivals(pPool, spec(p, 2000 + rep, `p-${rep}`));
      const pair = rep % 2 === 0 ? Promise.all([dr(), pr()]) : Promise.all([pr(), dr()]).then(([b, a]) => [a, b] as const);
      const [da, pa] = await pair;
      runs.push({ d: da, p: pa });
    }
  } finally {
    await Promise.all([dPool.close(), pPool.close()]);
  }
  const sent = new Map((await upstream.trace(false)).map(([k, us]) => [k, us] as const));
  const oneWay = (a: Arrivals) => a.events.map((e) => (sent.has(e.key) ? (e.us - sent.get(e.key)!) / 1000 : NaN));
  const added: number[] = [];
  const dAll: number[] = [];
  const pAll: number[] = [];
  const ttfeD: number[] = [];
  const ttfeP: number[] = [];
  let lost = 0;
  for (const r of runs) {
    const dw = oneWay(r.d);
    const pw = oneWay(r.p);
    lost += Math.abs(r.d.events.length - r.p.events.length) + dw.filter(Number.isNaN).length + pw.filter(Number.isNaN).length;
    if (r.d.events[0]) ttfeD.push((r.d.events[0].us - r.d.sentUs) / 1000);
    if (r.p.events[0]) ttfeP.push((r.p.events[0].us - r.p.sentUs) / 1000);
    for (let i = 0; i < Math.min(dw.length, pw.length); i++) {
      if (Number.isNaN(dw[i]!) || Number.isNaN(pw[i]!)) continue;
      dAll.push(dw[i]!);
      pAll.push(pw[i]!);
      added.push(pw[i]! - dw[i]!);
    }
  }
  const sorted = (xs: number[]) => Float64Array.from(xs).sort();
  const a = sorted(added);
  const ds = sorted(dAll);
  const ps = sorted(pAll);
  return {
    events: opts.events + 1,
    reps: opts.reps,
    ttfeDirect: percentile(sorted(ttfeD), 50),
    ttfeProxy: percentile(sorted(ttfeP), 50),
    oneWayDirectP50: percentile(ds, 50),
    oneWayDirectP99: percentile(ds, 99),
    oneWayProxyP50: percentile(ps, 50),
    oneWayProxyP99: percentile(ps, 99),
    addedP50: percentile(a, 50),
    addedP99: percentile(a, 99),
    addedMax: a[a.length - 1] ?? NaN,
    addedMean: added.reduce((x, y) => x + y, 0) / added.length,
    lost,
  };
}

/** How many loopback source addresses connections are spread over (ephemeral ports per address). */
const SOURCE_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/**
 * Opens one raw HTTP/1.1 request on its own socket and resolves once the first SSE event with a
 * `data:` line has arrived (the stream is then known to be open end to end). The socket stays open.
 */
function openStream(url: URL, payload: Buffer, i: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    let buf = '';
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.removeAllListeners('data');
      if (err) {
        s.destroy();
        reject(err);
      } else {
        // Keep reading (and discarding) so keep-alive comments never back up.
        s.on('data', () => {});
        resolve(s);
      }
    };
    const timer = setTimeout(() => finish(new Error(`stream ${i}: no first event within ${timeoutMs} ms`)), timeoutMs);
    s.on('error', (err) => finish(err));
    s.on('close', () => finish(new Error(`stream ${i}: closed before its first event: ${buf.slice(0, 200)}`)));
    s.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      if (!buf.startsWith('HTTP/1.1 200')) {
        finish(new Error(`stream ${i}: ${buf.slice(0, buf.indexOf('\r\n'))}`));
        return;
      }
      if (/(^|\n)data:/.test(buf.slice(head + 4))) finish();
    });
    s.connect({ host: url.hostname, port: Number(url.port), localAddress: SOURCE_ADDRESSES[i % SOURCE_ADDRESSES.length]! }, () => {
      s.write(payload);
    });
  });
}

export type IdleKind = 'modern-countdown' | 'legacy-get';

/**
 * Opens `n` idle streams through `url`, `batch` at a time.
 * - modern-countdown: a 2026-07-28 `countdown` tool call, first progress event at once, the next
 *   one a minute later: a long-running tool call's stream, idle in between.
 * - legacy-get: a 2025-11-25 session (initialize + initialized) and its standalone GET stream.
 */
export async function openIdleStreams(urlText: string, kind: IdleKind, n: number, batch = 250): Promise<Socket[]> {
  const url = new URL(urlText);
  const host = `${url.hostname}:${url.port}`;
  const sockets: Socket[] = [];
  const pool = kind === 'legacy-get' ? new Pool(url.origin, { connections: 16, pipelining: 1 }) : undefined;
  try {
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const opened = await Promise.all(
        Array.from({ length: count }, async (_, k) => {
          const i = start + k;
          let payload: Buffer;
          if (kind === 'modern-countdown') {
            payload = rawHttp(modernToolCall(url.pathname, i + 1, 'countdown', { from: 1000, intervalMs: 60_000 }, { progressToken: `idle-${i}` }), host);
          } else {
            const sid = await openLegacySession(pool!, url.pathname);
            payload = Buffer.from(
              `GET ${url.pathname} HTTP/1.1\r\nhost: ${host}\r\naccept: text/event-stream\r\nmcp-session-id: ${sid}\r\n` +
                `mcp-protocol-version: ${LEGACY}\r\nconnection: keep-alive\r\n\r\n`,
            );
          }
          return openStream(url, payload, i, 30_000);
        }),
      );
      sockets.push(...opened);
    }
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  } finally {
    await pool?.close();
  }
  return sockets;
}

export async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed) return resolve();
          s.once('close', () => resolve());
          s.destroy();
        }),
    ),
  );
}
