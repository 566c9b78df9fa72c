/**
 * The behaviour every AuditSink must have, as one reusable node:test suite. Each sink's test file
 * calls `auditSinkContract` with a factory that (re)opens the same destination and a `readBack`
 * that returns what the destination actually holds, in its order: the SQLite or PostgreSQL
 * table, the JSON-lines files, or what a real syslog / HTTP listener in the test received.
 *
 * The tests run in order against one destination, each continuing the seq where the previous
 * stopped, the way the audit log drives a sink.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chain } from './chain.ts';
import { Digester } from './digest.ts';
import { RecordBuilder, type AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';

export interface ContractOptions {
  /** Release the destination after the suite (drop the table, stop the listener). */
  cleanup?: () => Promise<void>;
  /** Size of the large-record test's content. Default 1 MiB. */
  largeBytes?: number;
}

const UNICODE = [
  'plain ASCII',
  'emoji 🔐🧾 and ZWJ 👩‍💻',
  'CJK 監査ログ, Hangul 감사',
  'RTL עברית العربية',
  'combining e\u0301 vs é',
  'NUL \u0000 and controls \u0001\u001f\u007f',
  'quotes " \' backslash \\ brackets ] [ } {',
  'newlines \n\r\n tab \t and U+2028 \u2028 U+2029 \u2029',
  'BOM \ufeff inside',
].join(' | ');

/** `n` chained records from `chain`, built the way the gateway builds them. */
export function makeContractRecords(chain: Chain, n: number, extra?: (i: number) => Record<string, unknown>): AuditRecord[] {
  const builder = new RecordBuilder({ digester: new Digester(Buffer.alloc(32, 7)), includeContent: 'redacted' });
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const seq = chain.head.seq + 1;
    const e = builder.exchange({
      exchangeId: `ex-${seq}`,
      time: 1_750_000_000_000 + seq * 1000,
      endTime: 1_750_000_000_000 + seq * 1000 + 12,
      principal: { subject: `user-${seq % 3}`, method: 'jwt', issuer: 'https://idp.example' },
      route: 'mcp',
      era: 'modern',
      protocolVersion: '2026-07-28',
      method: 'tools/call',
      rpcId: seq,
      target: { type: 'tool', name: seq % 2 ? 'search' : 'delete_repo' },
      verdict: seq % 5 === 0 ? 'block' : 'allow',
      arguments: { q: `query ${seq}` },
      ...(extra && { redacted: { arguments: extra(i) } }),
    });
    out.push(chain.link(e));
  }
  return out;
}

export function auditSinkContract(
  name: string,
  makeSink: () => Promise<AuditSink>,
  readBack: () => Promise<AuditRecord[]>,
  options: ContractOptions = {},
): void {
  describe(`AuditSink contract: ${name}`, () => {
    let sink: AuditSink;
    const chain = new Chain();
    const written: AuditRecord[] = [];
    const next = (n: number, extra?: (i: number) => Record<string, unknown>) => {
      const recs = makeContractRecords(chain, n, extra);
      written.push(...recs);
      return recs;
    };
    const seqs = (rs: readonly AuditRecord[]) => rs.map((r) => r.seq);
    const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

    before(async () => {
      sink = await makeSink();
    });
    after(async () => {
      await sink.close();
      await options.cleanup?.();
    });

    it('starts empty', async () => {
      assert.equal(await sink.lastSeq(), undefined);
      assert.deepEqual(await readBack(), []);
    });

    it('keeps records in seq order across batches, content intact', async () => {
      const recs = next(20);
      await sink.write(recs.slice(0, 10));
      await sink.write(recs.slice(10, 12));
      await sink.write(recs.slice(12));
      const back = await readBack();
      assert.deepEqual(seqs(back), range(1, 20));
      assert.deepEqual(back, written);
      assert.equal(await sink.lastSeq(), 20);
    });

    it('is idempotent by seq: a re-delivered batch is stored once and the first version wins', async () => {
      const altered = written.slice(14, 20).map((r) => ({ ...r, message: 'a different body for the same seq' }));
      const fresh = next(5);
      await sink.write([...altered, ...fresh]);
      await sink.write(fresh);
      const back = await readBack();
      assert.deepEqual(seqs(back), range(1, 25));
      assert.deepEqual(back, written, 'records 15..20 keep their first version');
      assert.equal(await sink.lastSeq(), 25);
    });

    it('accepts an empty batch, a batch of one and a batch of 1000', async () => {
      await sink.write([]);
      await sink.write(next(1));
      await sink.write(next(1000));
      const back = await readBack();
      assert.deepEqual(seqs(back), range(1, 1026));
      assert.deepEqual(back.slice(-3), written.slice(-3));
      assert.equal(await sink.lastSeq(), 1026);
    });

    it('stores a large record intact', async () => {
      const big = 'x'.repeat(options.largeBytes ?? 1024 * 1024);
      const recs = next(1);
      // The builder caps redacted content, so the large value rides in an unmapped field.
      const large = { ...recs[0]!, unmapped: { ...recs[0]!.unmapped, large: big } } as AuditRecord;
      written[written.length - 1] = large;
      await sink.write([large]);
      const back = await readBack();
      assert.equal(back.length, 1027);
      assert.equal((back[1026]!.unmapped as { large?: string }).large?.length, big.length);
      assert.deepEqual(back[1026], large);
    });

    it('keeps unicode intact (emoji, RTL, combining marks, NUL, separators)', async () => {
      const recs = next(2, (i) => ({ text: UNICODE, [`clé-${i} 🔑`]: UNICODE }));
      await sink.write(recs);
      const back = await readBack();
      assert.deepEqual(back.slice(-2), recs);
      assert.equal((back.at(-1)!['api'] as { request: { data: { text: string } } }).request.data.text, UNICODE);
    });

    it('concurrent writes land in call order, each record exactly once', async () => {
      const a = next(70);
      const b = next(100);
      const c = next(30);
      await Promise.all([sink.write(a), sink.write(b), sink.write(a), sink.write(c), sink.write(b.slice(50))]);
      const back = await readBack();
      assert.deepEqual(seqs(back), range(1, 1229));
      assert.deepEqual(back.slice(-200), written.slice(-200));
      assert.equal(await sink.lastSeq(), 1229);
    });

    it('keeps lastSeq across close and reopen, and continues from it', async () => {
      await sink.close();
      sink = await makeSink();
      assert.equal(await sink.lastSeq(), 1229);
      const old = written.slice(1200, 1229);
      const recs = next(3);
      await sink.write([...old, ...recs]);
      const back = await readBack();
      assert.deepEqual(seqs(back), range(1, 1232));
      assert.deepEqual(back.slice(-40), written.slice(-40));
      assert.equal(await sink.lastSeq(), 1232);
    });

    it('rejects writes after close', async () => {
      const s = await makeSink();
      await s.close();
      await assert.rejects(s.write(next(1)));
      written.pop();
    });
  });
}
