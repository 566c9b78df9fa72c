/**
 * Audit under load (issue #5): AUDIT_LOAD_CALLS tool calls (every 20th one streaming over SSE)
 * through three gateways in turn (each stopped before the next starts) on ONE data directory, with a signed webhook sink (a
 * receiver this test drives: webhook-receiver.ts) that is up, stalled, down and slow in turn,
 * beside the default SQLite sink.
 *
 *   gateway A   calls [0, 15%) sink up; [15%, 35%) sink STALLED (takes the request, never
 *               answers). Check: the webhook lane spilled to its disk spool. A is then stopped
 *               with the sink still stalled. Check: the spool on disk holds exactly the records
 *               not yet delivered (cursor+1 .. head), and the receiver got exactly up to the cursor.
 *   gateway B   same directory. [35%, 45%) still stalled; [45%, 60%) DOWN (connection refused);
 *               [60%, 75%) slow; [75%, 100%) up. Wait until the webhook caught up, stop B.
 *   gateway C   same directory, spoolMaxBytes 4096, sink down: calls until the spool is full and
 *               calls are REFUSED (503 / audit_unavailable); then the sink comes back, audit
 *               catches up, and 3,000 more calls are all admitted.
 *
 * Then, over the whole run: the webhook received seqs 1..M exactly, in that order (checked as
 * they arrived, not sorted), each batch correctly signed; the chain verifies over the arrival
 * order; the SQLite store holds the same M records (same hashes) and `audit verify` passes.
 *
 * "Its records", from the code (listener/handler.ts, transport/audit-tap.ts): every admitted
 * call (a call that got past the fail-closed check) leaves exactly one `exchange` record when its
 * response ends; a call answered over SSE also leaves exactly one stream `opened`, `segment`
 * records covering every event it sent (counts summing to the `closed` record's sent.events) and
 * exactly one `closed` (end: completed), in that order, before its exchange record; all share
 * one correlation_uid and carry the call's JSON-RPC id in api.request.uid. A refused call leaves
 * no record and never reaches the upstream. Everything else in the trail is a lifecycle record
 * (start and stop of each gateway) or a signed checkpoint.
 *
 * Default 100,000 calls: 75-95 s measured on a 2-core machine (the fail-closed phase adds ~6,000).
 *   AUDIT_LOAD_CALLS=20000 node --test test/load/audit-load.test.ts   # a shorter run (min 15000)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { loadPublicKeys, runAuditCli, type VerifyResult } from '../../src/audit/index.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { WebhookReceiver, type Arrival, type ReceiverMode } from './webhook-receiver.ts';

const CALLS = Number(process.env['AUDIT_LOAD_CALLS'] ?? 100_000);
const CONCURRENCY = 64;
const STREAM_EVERY = 20;
const SECRET = 'load-test-webhook-secret';
const SINK = 'siem';
const MODERN = '2026-07-28';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
/** The stalled stretch must overflow the lane's 2,048-record memory window (lane.ts) into the spool. */
const MIN_CALLS = 15_000;
/** Phase boundaries, as fractions of CALLS. */
const AT = { stall: 0.15, restart: 0.35, down: 0.45, slow: 0.6, up: 0.75 };
const FAIL_CLOSED_REFUSALS = 500;
/** More than the lane's memory window holds: the spool bound must really have lifted. */
const AFTER_RECOVERY_CALLS = 3_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

type Outcome = 'admitted' | 'refused';

/** Every call made, by JSON-RPC id: admitted (200 and its result) or refused (503 audit_unavailable). */
const calls = new Map<number, { outcome: Outcome; streamed: boolean }>();
const unexpected: string[] = [];
const refusalMessages = new Set<string>();
let refusedCount = 0;

async function callOnce(pool: Pool, n: number): Promise<Outcome | 'error'> {
  const streaming = n % STREAM_EVERY === 0;
  const params = streaming
    ? { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, _meta: { ...meta, progressToken: `p${n}` } }
    : { name: 'echo', arguments: { text: `call ${n}` }, _meta: meta };
  let status: number;
  let type: string;
  let text: string;
  try {
    const r = await pool.request({
      path: '/mcp',
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': params.name },
      body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params }),
    });
    status = r.statusCode;
    type = String(r.headers['content-type'] ?? '');
    text = await r.body.text();
  } catch (err) {
    unexpected.push(`call ${n}: ${(err as Error).message}`);
    return 'error';
  }
  if (status === 200) {
    const sse = type.startsWith('text/event-stream');
    const messages = sse
      ? text
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => JSON.parse(l.slice(5)) as { id?: unknown; result?: unknown })
      : [JSON.parse(text) as { id?: unknown; result?: unknown }];
    const final = messages.at(-1);
    if (final?.id !== n || final.result === undefined || sse !== streaming) {
      unexpected.push(`call ${n}: 200 but ${type}: ${text.slice(0, 200)}`);
      return 'error';
    }
    calls.set(n, { outcome: 'admitted', streamed: sse });
    return 'admitted';
  }
  if (status === 503) {
    const e = (JSON.parse(text) as { error?: { code?: number; message?: string; data?: { code?: string } } }).error;
    if (e?.code === -31050 && e.data?.code === 'audit_unavailable') {
      refusalMessages.add(String(e.message).replace(/\(\d+ of/, '(N of'));
      calls.set(n, { outcome: 'refused', streamed: false });
      refusedCount++;
      return 'refused';
    }
  }
  unexpected.push(`call ${n}: HTTP ${status}: ${text.slice(0, 200)}`);
  return 'error';
}

/**
 * Calls ids [from, to) with CONCURRENCY in flight (until `stop` says so), running `hooks[id]`
 * (a sink switch) when that id is taken. Returns the next id not taken.
 */
async function drive(gw: Gateway, from: number, to: number, opts: { hooks?: Record<number, () => unknown>; stop?: () => boolean } = {}): Promise<number> {
  const pool = new Pool(gw.url, { connections: CONCURRENCY, pipelining: 1 });
  let next = from;
  const worker = async () => {
    while (next < to && !opts.stop?.()) {
      const n = next++;
      // A hook may wait for the sink to reach a state (this worker pauses; the others go on).
      await opts.hooks?.[n]?.();
      await callOnce(pool, n);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await pool.close();
  return next;
}

/** Records in the spool segment files of the webhook lane, in file order. */
function spooled(dir: string): { files: number; seqs: number[] } {
  const at = join(dir, '.portcullis', 'audit-spool', SINK, 'spool');
  const names = readdirSync(at)
    .filter((n) => /^\d{16}\.jsonl$/.test(n))
    .sort();
  const seqs: number[] = [];
  for (const n of names) {
    for (const line of readFileSync(join(at, n), 'utf8').split('\n')) if (line !== '') seqs.push((JSON.parse(line) as { seq: number }).seq);
  }
  return { files: names.length, seqs };
}

function state(dir: string, file: string): { seq: number; hash: string } {
  return JSON.parse(readFileSync(join(dir, '.portcullis', 'audit-spool', file), 'utf8')) as { seq: number; hash: string };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe(`audit under load: ${CALLS.toLocaleString('en-US')} calls; the sink stalled, down and slow; the gateway restarted; fail-closed`, { timeout: 900_000 }, () => {
  let demo: DemoServer;
  let dir: string;
  let gw: Gateway | undefined;
  const receiver = new WebhookReceiver({ secret: SECRET, slowMs: 200 });
  /** Sink failures the gateway reported (audit hook onSinkError, logged at warn). */
  const sinkErrors: Array<{ mode: ReceiverMode; err: string }> = [];

  const start = (spoolMaxBytes?: number) =>
    startGateway({
      config: ConfigSchema.parse({
        server: { port: 0 },
        logging: { level: 'silent' },
        routes: [{ name: 'tools', path: '/mcp', upstream: { url: demo.url } }],
        audit: {
          sinks: [{ type: 'sqlite', path: '.portcullis/audit.db' }, { type: 'webhook', name: SINK, url: `http://127.0.0.1:${receiver.port}/audit`, secret: SECRET }],
          posture: 'fail-closed',
          ...(spoolMaxBytes !== undefined && { spoolMaxBytes }),
        },
      }),
      admin: false,
      logger: createLogger({
        level: 'warn',
        destination: {
          write: (line: string) => {
            const l = JSON.parse(line) as { sink?: string; err?: string };
            if (l.sink === SINK) sinkErrors.push({ mode: receiver.mode, err: String(l.err) });
          },
        },
      }),
      dataDir: dir,
    });

  const sqliteMaxSeq = (): number => {
    const db = new DatabaseSync(join(dir, '.portcullis', 'audit.db'), { readOnly: true });
    try {
      return (db.prepare('SELECT coalesce(max(seq), 0) AS n FROM audit_records').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  /** The webhook holds everything the SQLite store holds (SQLite is never held up). */
  const caughtUp = async (timeoutMs: number) => {
    let stableSince = Date.now();
    let last = -1;
    await until(
      'the webhook to catch up',
      () => {
        const max = sqliteMaxSeq();
        if (max !== last || receiver.lastSeq !== max) {
          last = max;
          stableSince = Date.now();
        }
        return Date.now() - stableSince > 300;
      },
      timeoutMs,
    );
  };

  before(async () => {
    assert.ok(CALLS >= MIN_CALLS, `AUDIT_LOAD_CALLS must be at least ${MIN_CALLS} (the stall must overflow the lane's memory window)`);
    demo = await startDemoServer({ port: 0 });
    await receiver.start();
    dir = tempDataDir('portcullis-load-');
  });
  after(async () => {
    await gw?.close();
    await receiver.stop();
    await demo.close();
  });

  it('every admitted call has exactly its records, delivered once in chain order across stall, outage, restart and fail-closed; refused calls are not made', { timeout: 900_000 }, async (t) => {
    const phase = (() => {
      let t0 = Date.now();
      return (name: string) => {
        const now = Date.now();
        t.diagnostic(`${name}: ${((now - t0) / 1000).toFixed(1)} s`);
        t0 = now;
      };
    })();
    const at = (f: number) => Math.floor(CALLS * f);
    const began = Date.now();

    // ── Gateway A: sink up, then stalled; stopped while stalled. ──────────────────────────────
    gw = await start();
    receiver.verifyWith(await loadPublicKeys(join(dir, '.portcullis', 'audit-keys')));
    await drive(gw, 0, at(AT.restart), { hooks: { [at(AT.stall)]: () => receiver.setMode('stalled') } });
    phase(`gateway A: ${at(AT.restart)} calls, the last ${at(AT.restart) - at(AT.stall)} with the sink stalled`);

    // The stalled lane spilled past its memory window to the disk spool: undelivered records on
    // disk, consecutive, in order. (A segment can still hold delivered records it shares with
    // undelivered ones: only whole segments are freed.)
    assert.ok(receiver.stalledRequests > 0, 'the gateway was left waiting on a stalled delivery');
    const undelivered = () => spooled(dir).seqs.filter((s) => s > receiver.lastSeq);
    await until('undelivered records in the webhook spool', () => undelivered().length > 0, 10_000);
    const midStall = undelivered();
    assert.ok(midStall.length > 0, 'the stalled sink made the lane spool to disk');
    assert.deepEqual(midStall, range(midStall[0]!, midStall.at(-1)!), 'the spool holds consecutive seqs in order');

    const receivedBeforeStop = receiver.lastSeq;
    await gw.close();
    gw = undefined;
    phase('gateway A stopped with the sink stalled');
    // What survives the stop: the cursor says what the sink acknowledged, and the spool holds
    // every later record up to the head, exactly once each.
    const cursorA = state(dir, join(SINK, 'cursor.json'));
    const headA = state(dir, 'head.json');
    const atStop = spooled(dir);
    assert.equal(receiver.lastSeq, receivedBeforeStop, 'nothing reached the stalled sink during shutdown');
    assert.equal(cursorA.seq, receiver.lastSeq, 'the cursor is what the sink received');
    assert.ok(headA.seq > cursorA.seq + 2048, `records were still undelivered at the stop (cursor ${cursorA.seq}, head ${headA.seq})`);
    assert.deepEqual(
      atStop.seqs.filter((s) => s > cursorA.seq),
      range(cursorA.seq + 1, headA.seq),
      'the spool on disk holds every undelivered record, once, in order',
    );

    // ── Gateway B on the same directory: still stalled, down, slow, up. ──────────────────────
    gw = await start();
    const errorsBeforeDown = sinkErrors.length;
    await drive(gw, at(AT.restart), CALLS, {
      hooks: {
        [at(AT.down)]: () => receiver.setMode('down'),
        // Likewise: down until the lane has found it down (connection refused) at least once.
        [at(AT.slow)]: async () => {
          const refused = () => sinkErrors.slice(errorsBeforeDown).some((e) => e.mode === 'down' && /ECONNREFUSED/.test(e.err));
          for (let i = 0; i < 600 && !refused(); i++) await new Promise((r) => setTimeout(r, 100));
          receiver.setMode('slow');
        },
        // The lane may still be backing off after the outage: stay slow until it has answered
        // slowly at least once (bounded), so the slow phase is exercised however the timing falls.
        [at(AT.up)]: async () => {
          for (let i = 0; i < 600 && receiver.slowResponses === 0; i++) await new Promise((r) => setTimeout(r, 100));
          receiver.setMode('up');
        },
      },
    });
    phase(`gateway B: ${CALLS - at(AT.restart)} calls (sink stalled, down, slow, up)`);
    assert.ok(
      sinkErrors.slice(errorsBeforeDown).some((e) => e.mode === 'down' && /ECONNREFUSED/.test(e.err)),
      'the gateway found the sink down (connection refused) and kept the calls flowing',
    );
    assert.ok(receiver.slowResponses > 0, 'the sink answered slowly for a while');
    // The lane may still be backing off from the outage when the last call returns: delivery of
    // A's spool is asserted as eventually true (bounded), not at that instant.
    await until('the records spooled by gateway A to be delivered by gateway B', () => receiver.lastSeq > headA.seq, 120_000);
    await caughtUp(180_000);
    phase('gateway B: webhook caught up');
    await gw.close();
    gw = undefined;

    // ── Gateway C on the same directory: a 4 KiB spool and the sink down: fail closed. ──────
    await receiver.setMode('down');
    gw = await start(4096);
    let next = await drive(gw, CALLS, CALLS + 20_000, { stop: () => refusedCount >= FAIL_CLOSED_REFUSALS });
    const admittedWhileFull = [...calls].filter(([n, c]) => n >= CALLS && c.outcome === 'admitted').length;
    phase(`gateway C: sink down, ${admittedWhileFull} calls admitted, then ${refusedCount} refused`);
    assert.ok(refusedCount >= FAIL_CLOSED_REFUSALS, 'with the spool full and fail-closed, calls are refused');
    assert.ok(admittedWhileFull > 0, 'calls were admitted until the spool filled');
    assert.ok(
      [...refusalMessages].every((m) => m.includes(`the audit spool for sink ${SINK} is full`)),
      `refusals name the full spool: ${[...refusalMessages].join(' | ')}`,
    );

    // The sink returns: audit catches up, and calls are admitted again.
    await receiver.setMode('up');
    const probe = new Pool(gw.url, { connections: 1 });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const outcome = await callOnce(probe, next++);
      if (outcome !== 'refused') break;
      assert.ok(Date.now() < deadline, 'calls were admitted again within 2 minutes of the sink returning');
      await sleep(100);
    }
    await probe.close();
    await caughtUp(120_000);
    const resumeFrom = next;
    next = await drive(gw, resumeFrom, resumeFrom + AFTER_RECOVERY_CALLS);
    for (let n = resumeFrom; n < next; n++) assert.equal(calls.get(n)?.outcome, 'admitted', `call ${n}, after audit caught up, was admitted`);
    await caughtUp(60_000);
    await gw.close();
    gw = undefined;
    phase(`gateway C: sink back, caught up, ${AFTER_RECOVERY_CALLS} more calls admitted, stopped`);

    // ── The whole run. ─────────────────────────────────────────────────────────────────────
    const db = new DatabaseSync(join(dir, '.portcullis', 'audit.db'), { readOnly: true });
    const sqlite = (db.prepare('SELECT seq, json FROM audit_records ORDER BY seq').all() as Array<{ seq: number; json: string }>).map((row) => ({
      seq: row.seq,
      hash: (JSON.parse(row.json) as { hash: string }).hash,
    }));
    db.close();
    let out = '';
    const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((out += s), true) } };
    const code = await runAuditCli(
      ['verify', '--db', join(dir, '.portcullis', 'audit.db'), '--state', join(dir, '.portcullis', 'audit-spool'), '--sink', 'sqlite', '--keys', join(dir, '.portcullis', 'audit-keys')],
      io as never,
    );
    const summary = checkRun({
      calls,
      unexpected,
      upstreamRequests: demo.stats().requests,
      gateways: 3,
      receiver,
      verified: receiver.verification(),
      head: state(dir, 'head.json'),
      cursor: state(dir, join(SINK, 'cursor.json')),
      sqlite,
      auditVerify: { code, out },
    });
    t.diagnostic(`${summary}; ${((Date.now() - began) / 1000).toFixed(1)} s`);
  });
});

/** What a run left, for the checks over the whole run. */
interface Run {
  calls: ReadonlyMap<number, { outcome: Outcome; streamed: boolean }>;
  unexpected: readonly string[];
  /** JSON-RPC requests the upstream (demo server) dispatched. */
  upstreamRequests: number;
  gateways: number;
  receiver: Pick<WebhookReceiver, 'arrivals' | 'badSignatures' | 'headerMismatches' | 'outOfOrder' | 'outOfOrderSamples'>;
  /** The chain verified over the webhook's arrival order. */
  verified: VerifyResult;
  /** head.json and the webhook's cursor.json after the last gateway stopped. */
  head: { seq: number; hash: string };
  cursor: { seq: number; hash: string };
  /** The SQLite store, in seq order. */
  sqlite: ReadonlyArray<{ seq: number; hash: string }>;
  auditVerify: { code: number; out: string };
}

function checkRun(run: Run): string {
  assert.deepEqual(run.unexpected.slice(0, 10), [], `${run.unexpected.length} calls neither answered nor refused as expected`);
  const admitted = [...run.calls].filter(([, c]) => c.outcome === 'admitted');
  const refused = run.calls.size - admitted.length;
  // Besides the calls, each gateway asks the upstream for its tool list once, on its first
  // 2026-07-28 tools/call (transport/param-headers.ts: learnFromUpstream, shared by concurrent calls).
  assert.equal(run.upstreamRequests, admitted.length + run.gateways, 'the upstream saw every admitted call and no refused one');

  // The webhook, in arrival order: seqs 1..head, each once, correctly signed; the chain verifies.
  const { head, cursor, receiver, verified } = run;
  const arrivals = receiver.arrivals;
  assert.equal(receiver.badSignatures, 0, 'every batch carried a valid HMAC signature');
  assert.equal(receiver.headerMismatches, 0, 'x-portcullis-seq named each batch');
  assert.equal(receiver.outOfOrder, 0, `records arrived out of chain order: ${receiver.outOfOrderSamples.join('; ')}`);
  assert.equal(arrivals.length, head.seq, 'the webhook received as many records as the chain holds');
  assert.ok(
    arrivals.every((a, i) => a.seq === i + 1),
    'the webhook received seqs 1..head in exactly that order',
  );
  assert.deepEqual({ seq: arrivals.at(-1)?.seq, hash: arrivals.at(-1)?.hash }, { seq: head.seq, hash: head.hash }, 'the last record received is the head');
  assert.deepEqual({ seq: cursor.seq, hash: cursor.hash }, { seq: head.seq, hash: head.hash }, 'the webhook cursor is at the head');
  assert.ok(verified.ok, `chain over the arrival order: ${JSON.stringify(verified.breaks.slice(0, 5))}`);
  assert.equal(verified.records, head.seq, 'the verifier saw every record');
  assert.equal(verified.gaps.length, 0, 'no gap: nothing was shed or lost');
  assert.ok(verified.checkpoints > 0, 'signed checkpoints were verified');

  // The SQLite store holds the same records (same hashes), and `audit verify` passes on it.
  assert.equal(run.sqlite.length, arrivals.length, 'SQLite holds as many records as the webhook received');
  run.sqlite.forEach((row, i) => {
    if (row.seq !== arrivals[i]!.seq || row.hash !== arrivals[i]!.hash) assert.fail(`SQLite row ${i} (seq ${row.seq}) differs from the webhook's record seq ${arrivals[i]!.seq}`);
  });
  assert.equal(run.auditVerify.code, 0, run.auditVerify.out);

  // Per call: exactly its records. Per record: it belongs to one admitted call, or it is a
  // lifecycle record or a checkpoint.
  const byCall = new Map<string, Arrival[]>();
  const other: Arrival[] = [];
  for (const a of arrivals) {
    if (a.rpc === undefined) other.push(a);
    else (byCall.get(a.rpc) ?? byCall.set(a.rpc, []).get(a.rpc)!).push(a);
  }
  const correlations = new Set<string>();
  let streamed = 0;
  for (const [n, c] of run.calls) {
    const recs = byCall.get(String(n));
    byCall.delete(String(n));
    if (c.outcome === 'refused') {
      if (recs) assert.fail(`refused call ${n} has ${recs.length} records`);
      continue;
    }
    const problem = recordsProblem(recs ?? [], c.streamed);
    if (problem) assert.fail(`call ${n}${c.streamed ? ' (SSE)' : ''}: ${problem}: ${JSON.stringify(recs)}`);
    correlations.add(recs![0]!.correlation!);
    if (c.streamed) streamed++;
  }
  assert.equal(byCall.size, 0, `records for calls never made: ${[...byCall.keys()].slice(0, 5).join(', ')}`);
  assert.equal(correlations.size, admitted.length, 'each call has its own correlation id');
  assert.equal(streamed, admitted.filter(([n]) => n % STREAM_EVERY === 0).length, 'every countdown call streamed');
  const lifecycle = other.filter((a) => a.kind === 'lifecycle').map((a) => a.activity);
  assert.deepEqual(lifecycle, Array.from({ length: run.gateways }, () => ['Start', 'Stop']).flat(), 'a start and a stop record for each gateway, in order');
  assert.deepEqual(
    other.filter((a) => a.kind !== 'lifecycle' && a.kind !== 'checkpoint').map((a) => a.kind),
    [],
    'no record beside the calls\' but lifecycle and checkpoints (no gap, no refusal)',
  );
  return `${admitted.length} calls admitted (${streamed} streamed), ${refused} refused; ${head.seq} records (${verified.checkpoints} checkpoints)`;
}

/** What is wrong with the records of one admitted call, or undefined (see the header comment). */
function recordsProblem(recs: readonly Arrival[], streamed: boolean): string | undefined {
  const exchange = recs.filter((r) => r.kind === 'exchange');
  const stream = recs.filter((r) => r.kind === 'stream');
  if (exchange.length !== 1) return `${exchange.length} exchange records`;
  if (exchange.length + stream.length !== recs.length) return 'records of another kind';
  const ex = exchange[0]!;
  if (ex.status !== 'Success' || ex.verdict !== 'allow') return 'the exchange record is not a success / allow';
  if (ex.correlation === undefined || recs.some((r) => r.correlation !== ex.correlation)) return 'the records do not share one correlation id';
  if (recs.at(-1) !== ex) return 'the exchange record is not the last';
  if (!streamed) return stream.length === 0 ? undefined : 'stream records for a JSON answer';
  const phases = stream.map((r) => r.stream?.phase);
  if (phases[0] !== 'opened' || phases.at(-1) !== 'closed' || phases.length < 3 || phases.slice(1, -1).some((p) => p !== 'segment')) return `stream phases ${phases.join(',')}`;
  const closed = stream.at(-1)!.stream!;
  if (closed.end !== 'completed') return `stream ended ${closed.end}`;
  const events = stream.slice(1, -1).reduce((sum, r) => sum + (r.stream?.count ?? 0), 0);
  if (events === 0 || events !== closed.sent?.events) return `segments cover ${events} events, closed says ${closed.sent?.events} sent`;
  return undefined;
}
