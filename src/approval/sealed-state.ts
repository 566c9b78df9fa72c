/**
 * Sealed `requestState` for the MCP 2026-07-28 multi round-trip (MRTR) approval flow.
 *
 * The gateway answers a call needing approval with an `input_required` result whose
 * `requestState` is a token sealed here; the client echoes it on its retry (MCP 2026-07-28
 * basic/patterns/mrtr, Client Requirements 2) and the gateway verifies it without session state.
 * The replica that issued it redeems it (replica.ts: single use needs that replica's replay
 * cache); the key ring makes states survive a restart and lets keys rotate. The spec (Server Requirements 4–5) says state that influences
 * authorization MUST be integrity-protected "(e.g. HMAC or AEAD)" and SHOULD bind the principal, a
 * short expiry and the originating request; this token does all three, and encrypts too, so the
 * upstream's own state carried inside stays opaque to the client.
 *
 * Format (every part base64url without padding, RFC 4648 §5):
 *
 *     pcs1.<kid>.<iv>.<ciphertext ‖ 16-byte GCM tag>
 *
 * - AES-256-GCM (NIST SP 800-38D), 96-bit random IV per token. With random IVs a key must seal
 *   fewer than 2^32 tokens (SP 800-38D §8.3); rotate keys well before that.
 * - The header `pcs1.<kid>` is the GCM additional data, so version and key id are authenticated.
 * - Key rotation: seal with the first key of the ring, unseal with whichever key the `kid` names.
 *   To rotate, prepend the new key, and drop the old one once the longest TTL has passed.
 *
 * Replay: see `nonce-store.ts`. `unseal` checks authenticity, expiry and binding only;
 * `redeem` also consumes the nonce.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import type { NonceStore } from './nonce-store.ts';

export const STATE_PREFIX = 'pcs1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** One AES-256 key of the ring. */
export interface SealKey {
  /** Short public id, carried in each token's header: [A-Za-z0-9_-]{1,32}. */
  readonly id: string;
  /** Exactly 32 bytes of secret key material. */
  readonly key: Uint8Array;
}

/** The sealed payload. Times are ms since the Unix epoch. */
export interface ApprovalState {
  /** 2: route, replica and method bound too (a v1 state from an older build is refused). */
  readonly v: 2;
  /** `Principal.subject` of the caller the approval is for. */
  readonly principal: string;
  /** The route (gateway endpoint) the call was approved on: another route is another upstream. */
  readonly route: string;
  /** The replica that issued it, whose replay cache records its use (replica.ts). */
  readonly replica: string;
  /** The JSON-RPC method approved (`tools/call`, `prompts/get`, `resources/read`, …). */
  readonly method: string;
  /** What the policy judged for that method: a tool or prompt name, a resource URI. */
  readonly tool: string;
  /** `argsHash(arguments)`: SHA-256 of the canonical JSON of the call's arguments. */
  readonly argsHash: string;
  /** Identifies the policy that demanded approval; a changed policy voids pending states. */
  readonly policyVersion: string;
  /** The upstream's own `requestState`, when the upstream is mid-MRTR; forwarded back verbatim. */
  readonly upstreamState?: string;
  /** Pending ApprovalQueue entry, when the decision is taken by an operator, not the client. */
  readonly approvalId?: string;
  /** Set when approval was already granted and this state only carries an upstream round. */
  readonly approved?: true;
  readonly iat: number;
  readonly exp: number;
  /** 16 random bytes, base64url: the single-use identity of this state. */
  readonly nonce: string;
}

export interface SealInput {
  readonly principal: string;
  readonly route: string;
  readonly replica: string;
  readonly method: string;
  readonly tool: string;
  readonly argsHash: string;
  readonly policyVersion: string;
  readonly upstreamState?: string | undefined;
  readonly approvalId?: string | undefined;
  readonly approved?: boolean | undefined;
  /** How long the client has to retry. */
  readonly ttlMs: number;
  readonly now: number;
}

/** What the retry must match. */
export interface ExpectedBinding {
  readonly principal: string;
  readonly route: string;
  readonly replica: string;
  readonly method: string;
  readonly tool: string;
  readonly argsHash: string;
  readonly policyVersion: string;
  readonly now: number;
}

export interface SealerOptions {
  /** Longest TTL accepted by `seal`. Default 24 h. */
  maxTtlMs?: number;
  /** Tolerated clock difference between replicas when checking `iat`. Default 60 s. */
  clockSkewMs?: number;
  /** Longest token accepted by `unseal` (before any crypto). Default 64 KiB. */
  maxTokenChars?: number;
}

/** Why a state was refused; `data.reason` of the approval_state_invalid error. */
export type StateRejection =
  | 'malformed'
  | 'unsupported-version'
  | 'unknown-key'
  | 'authentication-failed'
  | 'expired'
  | 'not-yet-valid'
  | 'principal-mismatch'
  | 'route-mismatch'
  | 'replica-mismatch'
  | 'method-mismatch'
  | 'tool-mismatch'
  | 'arguments-mismatch'
  | 'policy-changed'
  | 'replayed'
  /** Not the sealer's: the state asked the caller's user, but approvals now go to an operator. */
  | 'channel-changed';

const PayloadSchema = z
  .object({
    v: z.literal(2),
    principal: z.string(),
    route: z.string(),
    replica: z.string(),
    method: z.string(),
    tool: z.string(),
    argsHash: z.string(),
    policyVersion: z.string(),
    upstreamState: z.string().optional(),
    approvalId: z.string().optional(),
    approved: z.literal(true).optional(),
    iat: z.number(),
    exp: z.number(),
    nonce: z.string(),
  })
  .strict();

/** Decodes config key material (`{ id, key: base64 | base64url }`) into a validated ring. */
export function keyRingFromConfig(entries: readonly { id: string; key: string }[]): SealKey[] {
  return entries.map(({ id, key }) => {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(key)) throw new TypeError(`approval key "${id}": not base64`);
    return { id, key: new Uint8Array(Buffer.from(key, 'base64')) };
  });
}

export class ApprovalStateSealer {
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #current: { id: string; key: KeyObject };
  readonly #maxTtlMs: number;
  readonly #skewMs: number;
  readonly #maxChars: number;

  constructor(keys: readonly SealKey[], opts: SealerOptions = {}) {
    if (keys.length === 0) throw new TypeError('approval state sealing needs at least one key');
    const map = new Map<string, KeyObject>();
    for (const k of keys) {
      if (!KID.test(k.id)) throw new TypeError(`approval key id "${k.id}" must match [A-Za-z0-9_-]{1,32}`);
      if (map.has(k.id)) throw new TypeError(`approval key id "${k.id}" is used twice`);
      if (k.key.byteLength !== KEY_BYTES) throw new TypeError(`approval key "${k.id}" must be ${KEY_BYTES} bytes, got ${k.key.byteLength}`);
      map.set(k.id, createSecretKey(k.key));
    }
    this.#keys = map;
    this.#current = { id: keys[0]!.id, key: map.get(keys[0]!.id)! };
    this.#maxTtlMs = opts.maxTtlMs ?? 24 * 60 * 60 * 1000;
    this.#skewMs = opts.clockSkewMs ?? 60_000;
    this.#maxChars = opts.maxTokenChars ?? 64 * 1024;
  }

  seal(input: SealInput): string {
    if (!Number.isFinite(input.ttlMs) || input.ttlMs <= 0 || input.ttlMs > this.#maxTtlMs) {
      throw new RangeError(`ttlMs must be in (0, ${this.#maxTtlMs}], got ${String(input.ttlMs)}`);
    }
    if (!Number.isFinite(input.now)) throw new RangeError('now must be a finite number');
    const payload: ApprovalState = {
      v: 2,
      principal: input.principal,
      route: input.route,
      replica: input.replica,
      method: input.method,
      tool: input.tool,
      argsHash: input.argsHash,
      policyVersion: input.policyVersion,
      ...(input.upstreamState !== undefined ? { upstreamState: input.upstreamState } : {}),
      ...(input.approvalId !== undefined ? { approvalId: input.approvalId } : {}),
      ...(input.approved === true ? { approved: true as const } : {}),
      iat: input.now,
      exp: input.now + input.ttlMs,
      nonce: randomBytes(16).toString('base64url'),
    };
    const header = `${STATE_PREFIX}.${this.#current.id}`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(header, 'ascii'));
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${header}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /**
   * Verify and open a state, then check it binds this exact retry. Throws
   * GatewayError('approval_state_invalid', reason, { reason }) on any failure; the reason names
   * the check, never key material or payload contents.
   */
  unseal(token: string, expected: ExpectedBinding): ApprovalState {
    const payload = this.#open(token);
    if (expected.now >= payload.exp) throw rejection('expired');
    if (payload.iat > expected.now + this.#skewMs) throw rejection('not-yet-valid');
    // Checked after authenticity on purpose: a forged token learns nothing from which field differs.
    if (payload.principal !== expected.principal) throw rejection('principal-mismatch');
    // Approved on /staging is not approved on /prod: the same tool name on another upstream.
    if (payload.route !== expected.route) throw rejection('route-mismatch');
    // Single use is recorded where the state is redeemed: only its issuer can tell (replica.ts).
    if (payload.replica !== expected.replica) throw rejection('replica-mismatch');
    // A state approving `prompts/get deploy` is no approval of `tools/call deploy`.
    if (payload.method !== expected.method) throw rejection('method-mismatch');
    if (payload.tool !== expected.tool) throw rejection('tool-mismatch');
    if (payload.argsHash !== expected.argsHash) throw rejection('arguments-mismatch');
    if (payload.policyVersion !== expected.policyVersion) throw rejection('policy-changed');
    return payload;
  }

  /** `unseal`, then consume the nonce: a second redemption of one token is refused as 'replayed'. */
  async redeem(token: string, expected: ExpectedBinding, nonces: NonceStore): Promise<ApprovalState> {
    const payload = this.unseal(token, expected);
    if (!(await nonces.markUsed(payload.nonce, payload.exp))) throw rejection('replayed');
    return payload;
  }

  #open(token: string): ApprovalState {
    if (typeof token !== 'string' || token.length > this.#maxChars) throw rejection('malformed');
    const parts = token.split('.');
    if (parts.length !== 4) throw rejection('malformed');
    const [version, kid, ivText, bodyText] = parts as [string, string, string, string];
    if (version !== STATE_PREFIX) throw rejection('unsupported-version');
    const key = KID.test(kid) ? this.#keys.get(kid) : undefined;
    if (!key) throw rejection('unknown-key');
    if (!B64URL.test(ivText) || !B64URL.test(bodyText)) throw rejection('malformed');
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    // Re-encoding must reproduce the text: rejects non-canonical base64url (stray trailing bits).
    if (iv.length !== IV_BYTES || body.length <= TAG_BYTES || iv.toString('base64url') !== ivText || body.toString('base64url') !== bodyText) {
      throw rejection('malformed');
    }
    let plain: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(`${version}.${kid}`, 'ascii'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw rejection('authentication-failed');
    }
    let json: unknown;
    try {
      json = JSON.parse(plain);
    } catch {
      throw rejection('malformed');
    }
    // Authentic but not our shape: sealed by an incompatible build holding the same key.
    const parsed = PayloadSchema.safeParse(json);
    if (!parsed.success) throw rejection('unsupported-version');
    return parsed.data as ApprovalState;
  }
}

function rejection(reason: StateRejection): GatewayError {
  return new GatewayError('approval_state_invalid', reason, { reason });
}
