/**
 * Tamper evidence: a hash chain over records, Ed25519-signed checkpoints, signed gap markers and
 * the retention cut that keeps a pruned chain verifiable.
 *
 * - Each record gets `seq` (1, 2, …), `prev_hash` (the previous record's `hash`, 64 zeros for
 *   seq 1) and `hash` = SHA-256(JSON text of the record without `hash` ‖ prev_hash). The text
 *   is the one every store keeps (record-text.ts): `JSON.stringify` is deterministic and
 *   `JSON.stringify(JSON.parse(t)) === t` for any text it produced (JSON.parse keeps member order,
 *   integer-like names were already first), so a record read back from SQLite, a JSON-lines file
 *   or PostgreSQL's `json` column (which keeps the text as written) hashes the same. Hashing the
 *   stored text instead of an RFC 8785 canonical form serializes each record once instead of
 *   twice (measured: 3 µs against 24 µs for a 1.4 KB exchange record). Records chained by
 *   earlier versions (hashed over RFC 8785 canonical JSON) still verify (`legacyRecordHash`).
 *   Editing any field breaks that record's hash; deleting, inserting or reordering breaks the
 *   links.
 * - A hash chain alone can be rewritten end to end by anyone who can write the store. Periodic
 *   checkpoints (every N records or T ms) sign (seq, hash, time) of the record before them with
 *   Ed25519 (RFC 8032): a rewrite before a checkpoint then needs the private key. Checkpoints are
 *   records themselves, so every sink carries them in order.
 * - When a sink's spool overflows under the 'shed' posture, the dropped range is replaced in that
 *   sink by a signed gap marker (count, seq range, the hashes on either side): verification shows
 *   a known, attested gap instead of a silent hole, and a forged "gap" needs the key.
 * - Retention (retention.ts) cuts at a checkpoint record, whose signed (seq, hash) equals its
 *   own (seq - 1, prev_hash), or after a signed retention anchor record: the same proof for the
 *   last record removed, appended at the head before the cut. Either way the first kept record
 *   links to a signed position, so the pruned store still verifies.
 */
import { createHash, createPublicKey, hash as oneShotHash, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';
import { wellFormed } from './bounded-json.ts';
import { rememberRecordText } from './record-text.ts';
import type { AuditEvent, AuditRecord } from './record.ts';
import { OCSF_VERSION } from './record.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  seq: number;
  hash: string;
}

export interface Signer {
  readonly keyId: string;
  sign(data: Buffer): string;
}

/** A signed statement that the chain up to `seq` ends in `hash`, made at `time`. */
export interface CheckpointProof {
  seq: number;
  hash: string;
  time: number;
  key_id: string;
  alg: 'Ed25519';
  sig: string;
}

/** A signed statement that records `from_seq..to_seq` were dropped before reaching one sink. */
export interface GapProof {
  from_seq: number;
  to_seq: number;
  count: number;
  reason: string;
  sink: string;
  /** Hash of the record before the gap (from_seq - 1) and of the last dropped one (to_seq). */
  prev_hash: string;
  last_hash: string;
  time: number;
  key_id: string;
  alg: 'Ed25519';
  sig: string;
}

/** The hash of a record: SHA-256 over its JSON text without `hash`, then `prev_hash`. */
export function recordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _omit, ...body } = record as AuditRecord;
  return hashBody(JSON.stringify(body), String(body.prev_hash));
}

/** The hash records chained before the text scheme carry: over RFC 8785 canonical JSON. */
export function legacyRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _omit, ...body } = record as AuditRecord;
  return createHash('sha256').update(canonicalJson(body), 'utf8').update(String(body.prev_hash), 'utf8').digest('hex');
}

/**
 * One-shot `crypto.hash` over the concatenation: the same bytes as two `update`s (the body is
 * JSON text, ending in `}`, so no surrogate pair spans the join), without a Hash object per
 * record (measured on a 1.5 KB record: 1.9 µs against 2.9 µs).
 */
function hashBody(bodyText: string, prevHash: string): string {
  return oneShotHash('sha256', bodyText + prevHash, 'hex');
}

/**
 * `JSON.stringify` writes a lone UTF-16 surrogate as a `\udXXX` escape (ES2019) and a valid
 * pair as the character itself, so this finds every lone surrogate (and, harmlessly, an escaped
 * backslash followed by "ud8"…, which only costs the slow path). PostgreSQL's json type and many
 * syslog receivers reject lone surrogates: such a record is made well-formed before it is hashed.
 */
const LONE_SURROGATE_ESCAPE = /\\ud[89a-f]/i;

/**
 * Every match of LONE_SURROGATE_ESCAPE starts with a backslash, and most record texts have none:
 * a scan for one (~0.1 µs on 1.5 KB) spares them the case-insensitive regex (~0.4 µs).
 */
function needsWellFormed(body: string): boolean {
  return body.includes('\\') && LONE_SURROGATE_ESCAPE.test(body);
}

/** Give `event` a place in the chain at `seq` after `prevHash`. */
export function linkAt(event: AuditEvent, seq: number, prevHash: string): AuditRecord {
  let rec = { ...event, metadata: { ...event.metadata, sequence: seq }, seq, prev_hash: prevHash } as AuditRecord;
  let body: string | undefined;
  try {
    body = JSON.stringify(rec);
  } catch {
    // A cycle, a bigint or nesting past the stack: the sanitized copy below.
  }
  if (body === undefined || needsWellFormed(body)) {
    // Never lose the record or throw on the data path: store its sanitized copy.
    rec = wellFormed(rec);
    body = JSON.stringify(rec);
  }
  rec.hash = hashBody(body, prevHash);
  // `hash` is the last member: the stored text is the body text with it appended.
  rememberRecordText(rec, `${body.slice(0, -1)},"hash":"${rec.hash}"}`);
  return rec;
}

/** The running chain of one audit log. */
export class Chain {
  #seq: number;
  #hash: string;

  constructor(head: ChainHead = { seq: 0, hash: GENESIS_HASH }) {
    this.#seq = head.seq;
    this.#hash = head.hash;
  }

  get head(): ChainHead {
    return { seq: this.#seq, hash: this.#hash };
  }

  link(event: AuditEvent): AuditRecord {
    const rec = linkAt(event, this.#seq + 1, this.#hash);
    this.#seq = rec.seq;
    this.#hash = rec.hash;
    return rec;
  }
}

// ---------------------------------------------------------------------------------------------
// Signatures.

function checkpointPayload(p: { seq: number; hash: string; time: number }): Buffer {
  return Buffer.from(canonicalJson({ type: 'portcullis.audit.checkpoint', v: 1, seq: p.seq, hash: p.hash, time: p.time }), 'utf8');
}

function gapPayload(g: Omit<GapProof, 'key_id' | 'alg' | 'sig'>): Buffer {
  return Buffer.from(
    canonicalJson({
      type: 'portcullis.audit.gap',
      v: 1,
      from_seq: g.from_seq,
      to_seq: g.to_seq,
      count: g.count,
      reason: g.reason,
      sink: g.sink,
      prev_hash: g.prev_hash,
      last_hash: g.last_hash,
      time: g.time,
    }),
    'utf8',
  );
}

export function createSigner(privateKey: KeyObject): Signer {
  const keyId = publicKeyId(privateKey);
  return { keyId, sign: (data) => edSign(null, data, privateKey).toString('base64url') };
}

/** SHA-256 of the SubjectPublicKeyInfo DER, 16 hex: names the key in each proof. */
export function publicKeyId(key: KeyObject): string {
  // createPublicKey accepts a private key and derives its public half.
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export type PublicKeys = ReadonlyMap<string, KeyObject>;

export function signCheckpoint(head: ChainHead, time: number, signer: Signer): CheckpointProof {
  const body = { seq: head.seq, hash: head.hash, time };
  return { ...body, key_id: signer.keyId, alg: 'Ed25519', sig: signer.sign(checkpointPayload(body)) };
}

export type SignatureCheck = 'ok' | 'bad-signature' | 'unknown-key';

export function checkCheckpoint(p: CheckpointProof, keys: PublicKeys): SignatureCheck {
  return checkSig(keys, p.key_id, p.sig, () => checkpointPayload(p));
}

export function signGap(g: Omit<GapProof, 'key_id' | 'alg' | 'sig'>, signer: Signer): GapProof {
  return { ...g, key_id: signer.keyId, alg: 'Ed25519', sig: signer.sign(gapPayload(g)) };
}

export function checkGap(g: GapProof, keys: PublicKeys): SignatureCheck {
  return checkSig(keys, g.key_id, g.sig, () => gapPayload(g));
}

function checkSig(keys: PublicKeys, keyId: unknown, sig: unknown, payload: () => Buffer): SignatureCheck {
  const key = typeof keyId === 'string' ? keys.get(keyId) : undefined;
  if (!key) return 'unknown-key';
  if (typeof sig !== 'string') return 'bad-signature';
  try {
    return edVerify(null, payload(), key, Buffer.from(sig, 'base64url')) ? 'ok' : 'bad-signature';
  } catch {
    return 'bad-signature';
  }
}

// ---------------------------------------------------------------------------------------------
// Housekeeping records (OCSF Base Event [0], activity Other [99]).

function housekeeping(kind: 'checkpoint' | 'gap' | 'anchor', name: string, time: number, uid: string, payload: Record<string, unknown>): AuditEvent {
  return {
    class_uid: 0,
    class_name: 'Base Event',
    category_uid: 0,
    category_name: 'Uncategorized',
    activity_id: 99,
    activity_name: name,
    type_uid: 99,
    type_name: `Base Event: ${name}`,
    severity_id: kind === 'gap' ? 4 : 1,
    severity: kind === 'gap' ? 'High' : 'Informational',
    time,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Portcullis', vendor_name: 'Portcullis', version: '0.1.0' },
      uid,
      log_name: 'audit',
    },
    unmapped: { kind, ...payload },
  };
}

export function checkpointEvent(proof: CheckpointProof, uid: string): AuditEvent {
  return housekeeping('checkpoint', 'Audit Checkpoint', proof.time, uid, { checkpoint: proof });
}

export function gapEvent(proof: GapProof, uid: string): AuditEvent {
  const e = housekeeping('gap', 'Audit Gap', proof.time, uid, { gap: proof });
  e['message'] = `${proof.count} audit records (seq ${proof.from_seq}..${proof.to_seq}) were dropped before reaching sink ${proof.sink}: ${proof.reason}`;
  return e;
}

/**
 * A retention anchor: `proof` signs the seq and hash of the last record retention removes, so
 * the first record kept (which links to it) verifies. Appended at the head, before the cut.
 */
export function anchorEvent(proof: CheckpointProof, uid: string): AuditEvent {
  const e = housekeeping('anchor', 'Audit Retention Anchor', proof.time, uid, { anchor: proof });
  e['message'] = `retention removes the records up to seq ${proof.seq}; this signs where the kept chain starts`;
  return e;
}

export function anchorOf(r: AuditEvent): CheckpointProof | undefined {
  return r.unmapped?.kind === 'anchor' ? (r.unmapped['anchor'] as CheckpointProof) : undefined;
}

export function checkpointOf(r: AuditEvent): CheckpointProof | undefined {
  return r.unmapped?.kind === 'checkpoint' ? (r.unmapped['checkpoint'] as CheckpointProof) : undefined;
}

export function gapOf(r: AuditEvent): GapProof | undefined {
  return r.unmapped?.kind === 'gap' ? (r.unmapped['gap'] as GapProof) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Retention.

export interface RetentionPolicy {
  maxAgeDays?: number | undefined;
  maxRecords?: number | undefined;
}
