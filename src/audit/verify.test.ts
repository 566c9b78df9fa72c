/**
 * Tamper tests: every kind of edit to a stored chain is detected and located.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chain, anchorEvent, checkpointEvent, gapEvent, legacyRecordHash, linkAt, recordHash, signCheckpoint, signGap, type CheckpointProof } from './chain.ts';
import type { AuditRecord } from './record.ts';
import { verifyRecords, type VerifyResult } from './verify.ts';
import { sampleEvent, testKeys } from './testkit.ts';

const keys = testKeys();
const other = testKeys();
const T0 = 1_750_000_000_000;

/** `n` events with a checkpoint record after every `every` (the checkpoints take seqs too). */
function buildChain(n: number, every = 10): { records: AuditRecord[]; last: CheckpointProof } {
  const chain = new Chain();
  const records: AuditRecord[] = [];
  let last: CheckpointProof | undefined;
  for (let i = 0; i < n; i++) {
    records.push(chain.link(sampleEvent(i, T0 + i * 1000)));
    if ((i + 1) % every === 0) {
      last = signCheckpoint(chain.head, T0 + i * 1000 + 500, keys.signer);
      records.push(chain.link(checkpointEvent(last, `cp-${i}`)));
    }
  }
  return { records, last: last! };
}

function verify(records: readonly unknown[], extra: Partial<Parameters<typeof verifyRecords>[1]> = {}): VerifyResult {
  return verifyRecords(records, { publicKeys: keys.publicKeys, ...extra });
}

const clone = (rs: readonly AuditRecord[]) => structuredClone(rs) as AuditRecord[];
const at = (rs: AuditRecord[], seq: number) => rs.findIndex((r) => r.seq === seq);
const kinds = (v: VerifyResult) => v.breaks.map((b) => [b.kind, b.seq]);

describe('verify: an intact chain', () => {
  it('verifies from genesis, counts checkpoints and the unsigned tail', () => {
    const { records } = buildChain(45);
    const v = verify(records);
    assert.equal(v.ok, true);
    assert.deepEqual(v.breaks, []);
    assert.equal(v.anchor, 'genesis');
    assert.equal(v.records, 49);
    assert.equal(v.checkpoints, 4);
    assert.equal(v.lastCheckpointSeq, 44);
    assert.equal(v.unsignedTail, 5);
  });
});

describe('verify: records chained before the text scheme', () => {
  // Earlier versions hashed RFC 8785 canonical JSON; a store written then must still verify,
  // and an edit to such a record must still be found.
  function legacyChain(n: number): AuditRecord[] {
    const out: AuditRecord[] = [];
    let prev = '0'.repeat(64);
    for (let i = 0; i < n; i++) {
      const r = linkAt(sampleEvent(i, T0 + i * 1000), i + 1, prev);
      r.hash = legacyRecordHash(r);
      prev = r.hash;
      out.push(JSON.parse(JSON.stringify(r)) as AuditRecord);
    }
    return out;
  }

  it('verifies, and an edit is still detected', () => {
    const rs = legacyChain(12);
    assert.notEqual(rs[3]!.hash, recordHash(rs[3]!), 'the two schemes differ, so this exercises the legacy path');
    assert.equal(verify(rs).ok, true);
    rs[5]!.unmapped['verdict'] = 'tampered';
    assert.deepEqual(kinds(verify(rs)), [['edited', 6]]);
  });
});

describe('verify: tampering is detected and located', () => {
  const { records, last } = buildChain(45);

  it('an edited field: the record no longer matches its hash', () => {
    const rs = clone(records);
    const r = rs[at(rs, 15)]!;
    r.unmapped['verdict'] = 'tampered';
    (r['actor'] as { user: { uid: string } }).user.uid = 'someone-else';
    const v = verify(rs);
    assert.equal(v.ok, false);
    assert.deepEqual(kinds(v), [['edited', 15]]);
    assert.equal(v.breaks[0]!.recordId, r.metadata.uid);
  });

  it('an edited and re-hashed record: the next one no longer links to it', () => {
    const rs = clone(records);
    const i = at(rs, 15);
    rs[i]!.unmapped['verdict'] = 'tampered';
    rs[i]!.hash = recordHash(rs[i]!);
    const v = verify(rs);
    assert.deepEqual(kinds(v), [['broken-link', 16]]);
    assert.match(v.breaks[0]!.message, /seq 15 was replaced/);
  });

  it('a rewritten chain (every later record re-hashed): the next checkpoint no longer matches', () => {
    const rs = clone(records);
    rs[at(rs, 15)]!.unmapped['verdict'] = 'tampered';
    for (let i = at(rs, 15); i < rs.length; i++) {
      rs[i]!.prev_hash = rs[i - 1]!.hash;
      rs[i]!.hash = recordHash(rs[i]!);
    }
    const v = verify(rs);
    assert.equal(v.ok, false);
    assert.deepEqual(v.breaks[0]!.kind, 'checkpoint-mismatch');
    assert.equal(v.breaks[0]!.seq, 22, 'the first checkpoint after the edit (it signs seq 21)');
  });

  it('a deleted record: its seq is reported missing', () => {
    const rs = clone(records).filter((r) => r.seq !== 15);
    const v = verify(rs);
    assert.deepEqual(v.breaks.map((b) => [b.kind, b.seq, b.toSeq]), [['missing', 15, undefined]]);
  });

  it('a deleted range: reported as one range', () => {
    const rs = clone(records).filter((r) => r.seq < 15 || r.seq > 17);
    const v = verify(rs);
    assert.deepEqual(v.breaks.map((b) => [b.kind, b.seq, b.toSeq]), [['missing', 15, 17]]);
  });

  it('an inserted record: a second record claims an existing seq; the one the chain does not go on from is blamed', () => {
    const rs = clone(records);
    const i = at(rs, 15);
    const forged = linkAt(sampleEvent(999, T0), 15, rs[i - 1]!.hash);
    rs.splice(i, 0, forged);
    const v = verify(rs);
    assert.equal(v.ok, false);
    // The forged copy comes first in the store, but seq 16 links to the genuine one after it.
    assert.deepEqual(kinds(v), [['duplicate', 15]]);
    assert.equal(v.breaks[0]!.recordId, forged.metadata.uid, 'the forged record, not the genuine one');
    assert.match(v.breaks[0]!.message, /the chain goes on from the other copy.*this one was inserted/);
    // After the genuine record, it is the later copy that was inserted.
    const after = clone(records);
    after.splice(at(after, 15) + 1, 0, forged);
    const w = verify(after);
    assert.deepEqual(kinds(w), [['duplicate', 15]]);
    assert.equal(w.breaks[0]!.recordId, forged.metadata.uid);
  });

  it('a record appended past the end, chained correctly: beyond the head the gateway recorded', () => {
    const rs = clone(records);
    const tail = rs.at(-1)!;
    rs.push(linkAt(sampleEvent(999, T0), tail.seq + 1, tail.hash));
    assert.equal(verify(rs).ok, true, 'undetectable from the chain alone');
    const v = verify(rs, { head: { seq: tail.seq, hash: tail.hash } });
    assert.deepEqual(kinds(v), [['beyond-head', tail.seq + 1]]);
  });

  it('two records swapped: reported as out of order', () => {
    const rs = clone(records);
    const i = at(rs, 15);
    [rs[i], rs[i + 1]] = [rs[i + 1]!, rs[i]!];
    const v = verify(rs);
    assert.deepEqual(kinds(v), [['reordered', 15]]);
    assert.match(v.breaks[0]!.message, /appears after seq 16/);
  });

  it('the tail cut after a checkpoint: detected against a checkpoint known from elsewhere', () => {
    const rs = clone(records).filter((r) => r.seq <= 22);
    assert.equal(verify(rs).ok, true, 'a prefix is a valid chain on its own');
    const v = verify(rs, { anchors: [last] });
    assert.deepEqual(v.breaks.map((b) => [b.kind, b.seq, b.toSeq]), [['truncated', 23, last.seq]]);
  });

  it('a forged checkpoint: another key, or altered fields', () => {
    const rs = clone(records);
    const i = at(rs, 11);
    const prev = rs[i - 1]!;
    rs[i] = linkAt(checkpointEvent(signCheckpoint({ seq: prev.seq, hash: prev.hash }, T0, other.signer), 'forged'), 11, prev.hash);
    for (let j = i + 1; j < rs.length; j++) {
      rs[j]!.prev_hash = rs[j - 1]!.hash;
      rs[j]!.hash = recordHash(rs[j]!);
    }
    const v = verify(rs);
    assert.deepEqual(v.breaks[0]!.kind, 'checkpoint-signature');
    assert.equal(v.breaks[0]!.seq, 11);
    assert.match(v.breaks[0]!.message, /unknown key/);

    const altered = clone(records);
    const cp = altered[at(altered, 22)]!;
    (cp.unmapped['checkpoint'] as CheckpointProof).time += 1;
    cp.hash = recordHash(cp);
    for (let j = at(altered, 23); j < altered.length; j++) {
      altered[j]!.prev_hash = altered[j - 1]!.hash;
      altered[j]!.hash = recordHash(altered[j]!);
    }
    const v2 = verify(altered);
    assert.deepEqual(v2.breaks[0]!.kind, 'checkpoint-signature');
    assert.match(v2.breaks[0]!.message, /invalid signature/);
  });

  it('a forged gap marker (wrong key) to hide deleted records', () => {
    const rs = clone(records).filter((r) => r.seq < 15 || r.seq > 17);
    const gap = signGap(
      { from_seq: 15, to_seq: 17, count: 3, reason: 'spool full (shed posture)', sink: 'x', prev_hash: rs[at(rs, 14)]!.hash, last_hash: records[at(records, 17)]!.hash, time: T0 },
      other.signer,
    );
    rs.splice(at(rs, 18), 0, linkAt(gapEvent(gap, 'g'), 15, rs[at(rs, 14)]!.hash));
    const v = verify(rs);
    assert.equal(v.ok, false);
    assert.deepEqual(v.breaks[0]!.kind, 'gap-signature');
    const honest = signGap({ ...gap, time: T0 }, keys.signer);
    rs[at(rs, 15)] = linkAt(gapEvent(honest, 'g'), 15, rs[at(rs, 14)]!.hash);
    const ok = verify(rs);
    assert.equal(ok.ok, true, JSON.stringify(ok.breaks));
    assert.deepEqual(ok.gaps.map((g) => [g.fromSeq, g.toSeq, g.count]), [[15, 17, 3]]);
  });

  it('something that is not a record', () => {
    const v = verify([...clone(records).slice(0, 3), { seq: 'x' }, ...clone(records).slice(3)]);
    assert.deepEqual(kinds(v), [['malformed', undefined]]);
  });
});

describe('verify: retention anchors', () => {
  const { records } = buildChain(45);

  it('a chain cut at a checkpoint verifies from that checkpoint', () => {
    const rs = records.filter((r) => r.seq >= 22);
    const v = verify(rs);
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.equal(v.anchor, 'checkpoint');
    assert.equal(v.firstSeq, 22);
  });

  it('a chain cut anywhere else is unanchored', () => {
    const v = verify(records.filter((r) => r.seq >= 20));
    assert.deepEqual(kinds(v), [['unanchored', 20]]);
  });

  /** 25 records, cut before seq 20, with the retention anchor for seq 19 appended at the head. */
  function anchoredCut(signer = keys.signer): AuditRecord[] {
    const chain = new Chain();
    const rs: AuditRecord[] = [];
    for (let i = 0; i < 25; i++) rs.push(chain.link(sampleEvent(i, T0 + i * 1000)));
    const at = { seq: 19, hash: rs[18]!.hash };
    rs.push(chain.link(anchorEvent(signCheckpoint(at, T0 + 30_000, signer), 'anchor-1')));
    return structuredClone(rs.filter((r) => r.seq >= 20));
  }

  it('a chain cut anywhere verifies from a signed retention anchor for its first record, and edits still show', () => {
    const v = verify(anchoredCut());
    assert.equal(v.ok, true, JSON.stringify(v.breaks));
    assert.equal(v.anchor, 'retention-anchor');
    assert.equal(v.firstSeq, 20);

    const edited = anchoredCut();
    edited[2]!.unmapped['verdict'] = 'tampered';
    assert.deepEqual(kinds(verify(edited)), [['edited', 22]]);

    // Cutting further than the anchor signs: the new first record links elsewhere.
    assert.deepEqual(kinds(verify(anchoredCut().slice(1))), [['unanchored', 21]]);

    // The first record replaced (re-hashed to hide the edit): it no longer links to what was signed.
    const replaced = anchoredCut();
    replaced[0]!.prev_hash = 'f'.repeat(64);
    replaced[0]!.hash = recordHash(replaced[0]!);
    assert.deepEqual(kinds(verify(replaced)), [['unanchored', 20], ['broken-link', 21]]);

    // An anchor signed with a key the verifier does not trust anchors nothing.
    assert.deepEqual(kinds(verify(anchoredCut(other.signer))), [['unanchored', 20], ['checkpoint-signature', 26]]);
  });
});
