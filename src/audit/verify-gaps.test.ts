/**
 * What a validly signed record can still be abused for, and what verify cannot prove:
 * - a gap marker signed for another sink, copied into this store to excuse a deleted range;
 * - an external anchor (delivery cursor, checkpoint from the state directory) that a gap claims
 *   never reached the store;
 * - a store cut down to a checkpoint (passes, but with a warning, never a plain OK);
 * - stored text that is not the gateway's serialization (a member named twice).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chain, checkpointEvent, gapEvent, linkAt, signCheckpoint, signGap, type CheckpointProof } from './chain.ts';
import type { AuditRecord } from './record.ts';
import { ChainVerifier, verifyRecords, type VerifyOptions, type VerifyResult } from './verify.ts';
import { sampleEvent, testKeys } from './testkit.ts';

const keys = testKeys();
const T0 = 1_750_000_000_000;

function buildChain(n: number, every = 10): AuditRecord[] {
  const chain = new Chain();
  const records: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    records.push(chain.link(sampleEvent(i, T0 + i * 1000)));
    if ((i + 1) % every === 0) records.push(chain.link(checkpointEvent(signCheckpoint(chain.head, T0 + i * 1000 + 500, keys.signer), `cp-${i}`)));
  }
  return records;
}

const verify = (records: readonly unknown[], extra: Partial<VerifyOptions> = {}): VerifyResult => verifyRecords(records, { publicKeys: keys.publicKeys, ...extra });
const kinds = (v: VerifyResult) => v.breaks.map((b) => [b.kind, b.seq]);
const bySeq = (rs: readonly AuditRecord[], seq: number) => rs.find((r) => r.seq === seq)!;

/** Records 15..17 replaced by a genuinely signed gap marker naming `sink`. */
function withGap(records: readonly AuditRecord[], sink: string): AuditRecord[] {
  const rs = structuredClone(records.filter((r) => r.seq < 15 || r.seq > 17)) as AuditRecord[];
  const prev = bySeq(records, 14).hash;
  const gap = signGap({ from_seq: 15, to_seq: 17, count: 3, reason: 'spool full (shed posture)', sink, prev_hash: prev, last_hash: bySeq(records, 17).hash, time: T0 }, keys.signer);
  rs.splice(
    rs.findIndex((r) => r.seq === 18),
    0,
    linkAt(gapEvent(gap, 'g'), 15, prev),
  );
  return rs;
}

describe('verify: gap markers belong to one sink', () => {
  const records = buildChain(45);

  it("rejects another sink's signed gap marker replayed into this store, and reports the range as missing", () => {
    const rs = withGap(records, 'mirror');
    const v = verify(rs, { sink: 'sqlite', sinkKnown: true });
    assert.equal(v.ok, false);
    assert.deepEqual(kinds(v), [
      ['gap-foreign', 15],
      ['missing', 16],
    ]);
    assert.match(v.breaks[0]!.message, /signed for sink "mirror", not for this store's sink "sqlite".*seq 15\.\.17/);
    assert.deepEqual(v.gaps, [], 'a foreign gap is not listed as a known gap');
  });

  it('only warns when the store\'s sink name is a guess (a configured name is not in the store): an honest named sink still verifies', () => {
    const v = verify(withGap(records, 'primary'), { sink: 'sqlite' });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.deepEqual(v.gaps.map((g) => g.sink), ['primary']);
    assert.match(v.warnings.join('\n'), /gap marker at seq 15 names sink "primary", not "sqlite".*--sink NAME/);
  });

  it("accepts this sink's own gap marker", () => {
    const v = verify(withGap(records, 'sqlite'), { sink: 'sqlite' });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.deepEqual(
      v.gaps.map((g) => [g.fromSeq, g.toSeq, g.sink]),
      [[15, 17, 'sqlite']],
    );
  });

  it('reports a delivery cursor that lies inside a gap (the gateway delivered what the marker says it dropped)', () => {
    const rs = withGap(records, 'sqlite');
    const last = rs.at(-1)!;
    // A cursor at the gap's end with its last hash is what the lane writes after delivering it.
    assert.equal(verify(rs, { sink: 'sqlite', delivered: { seq: 17, hash: bySeq(records, 17).hash } }).ok, true);
    const inside = verify(rs, { sink: 'sqlite', delivered: { seq: 16, hash: bySeq(records, 16).hash } });
    assert.deepEqual(kinds(inside), [['gap-conflict', 16]]);
    assert.match(inside.breaks[0]!.message, /seq 16 lies inside the gap marked at seq 15 .*delivered to this store/);
    assert.equal(verify(rs, { sink: 'sqlite', delivered: { seq: last.seq, hash: last.hash } }).ok, true);
  });

  it('warns of an external checkpoint that lies inside a gap (an honest shedding sink can have one)', () => {
    const rs = withGap(records, 'sqlite');
    const cp: CheckpointProof = signCheckpoint({ seq: 16, hash: bySeq(records, 16).hash }, T0 + 99, keys.signer);
    const v = verify(rs, { sink: 'sqlite', anchors: [cp] });
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0]!, /seq 16 lies inside the gap marked at seq 15 .*a checkpoint signed at .* attests a record there/);
  });
});

describe('verify: a store that does not start at genesis', () => {
  const records = buildChain(45);

  it('passes a store cut down to a checkpoint only with a warning that records may have been deleted', () => {
    const v = verify(records.filter((r) => r.seq >= 22));
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.equal(v.anchor, 'checkpoint');
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0]!, /starts at seq 22 at a signed checkpoint, not at genesis \(seq 1\), and no retention anchor says the gateway cut there: records before it may have been deleted/);
    // Down to the very last checkpoint: still flagged.
    assert.match(verify(records.filter((r) => r.seq >= 44)).warnings[0]!, /starts at seq 44/);
  });

  it('has no warning for a store from genesis', () => {
    assert.deepEqual(verify(records).warnings, []);
  });
});

describe('verify: the stored text is the text that was hashed', () => {
  const records = buildChain(12);

  function run(texts: string[]): VerifyResult {
    const v = new ChainVerifier({ publicKeys: keys.publicKeys });
    texts.forEach((text, i) => v.take({ record: JSON.parse(text), where: `f line ${i + 1}`, text }));
    return v.finish();
  }

  it('reports a member named twice (JSON.parse keeps the last, SQLite json_extract the first), with where it is', () => {
    const texts = records.map((r) => JSON.stringify(r));
    const r3 = records[2]!;
    const verdict = JSON.stringify(r3.unmapped['verdict']);
    texts[2] = texts[2]!.replace(`"verdict":${verdict}`, `"verdict":"allow","verdict":${verdict}`);
    assert.notEqual(texts[2], JSON.stringify(r3));
    const v = run(texts);
    assert.deepEqual(kinds(v), [['edited', 3]]);
    assert.equal(v.breaks[0]!.where, 'f line 3');
    assert.match(v.breaks[0]!.message, /stored text is not the text the gateway wrote/);
  });

  it('reports other spellings of the same values (spacing, escapes)', () => {
    const texts = records.map((r) => JSON.stringify(r));
    texts[4] = JSON.stringify(records[4], null, 1);
    texts[5] = texts[5]!.replace('"seq":6', '"seq":6.0');
    assert.deepEqual(kinds(run(texts)), [
      ['edited', 5],
      ['edited', 6],
    ]);
  });

  it('passes the texts as written', () => {
    assert.equal(run(records.map((r) => JSON.stringify(r))).ok, true);
  });
});

describe('verify: more problems than it lists', () => {
  it('says how many there are in all, not only how many it lists', async () => {
    const { formatVerify } = await import('./cli.ts');
    // Five records edited without re-hashing: five problems, three listed.
    const rs = (structuredClone(buildChain(30)) as Array<AuditRecord & { time: number }>).map((r) => (r.seq % 6 === 0 ? { ...r, time: r.time + 1 } : r));
    const v = verify(rs, { maxBreaks: 3 });
    assert.equal(v.problems, 5);
    assert.equal(v.breaks.length, 3);
    assert.match(formatVerify(v, 'store'), /… and 2 more problem\(s\): only the first 3 are listed/);
  });
});
