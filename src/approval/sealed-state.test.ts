import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';
import { argsHash } from './canonical-json.ts';
import { MemoryNonceStore } from './nonce-store.ts';
import { ApprovalStateSealer, keyRingFromConfig } from './sealed-state.ts';
import type { ExpectedBinding, SealInput, StateRejection } from './sealed-state.ts';

const NOW = 1_700_000_000_000;
const k1 = { id: 'k1', key: new Uint8Array(randomBytes(32)) };
const k2 = { id: 'k2', key: new Uint8Array(randomBytes(32)) };

const input: SealInput = {
  principal: 'alice@example.com',
  route: 'staging',
  replica: 'replica-a',
  method: 'tools/call',
  tool: 'delete_repo',
  argsHash: argsHash({ repo: 'acme/web' }),
  policyVersion: 'p-42',
  ttlMs: 300_000,
  now: NOW,
};
const expected: ExpectedBinding = { principal: input.principal, route: input.route, replica: input.replica, method: input.method, tool: input.tool, argsHash: input.argsHash, policyVersion: input.policyVersion, now: NOW + 1000 };

function rejects(fn: () => unknown, reason: StateRejection): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected GatewayError, got ${String(err)}`);
    assert.equal(err.code, 'approval_state_invalid');
    assert.equal(err.status, 400);
    assert.deepEqual(err.data, { reason });
    return true;
  });
}

describe('ApprovalStateSealer', () => {
  const sealer = new ApprovalStateSealer([k1]);

  it('round-trips the payload in a pcs1.<kid>.<iv>.<ct> token', () => {
    const token = sealer.seal({ ...input, upstreamState: 'upstream-opaque', approvalId: 'apr_x' });
    assert.match(token, /^pcs1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    const p = sealer.unseal(token, expected);
    assert.deepEqual({ ...p, nonce: 'n' }, {
      v: 2,
      principal: input.principal,
      route: 'staging',
      replica: 'replica-a',
      method: 'tools/call',
      tool: input.tool,
      argsHash: input.argsHash,
      policyVersion: 'p-42',
      upstreamState: 'upstream-opaque',
      approvalId: 'apr_x',
      iat: NOW,
      exp: NOW + 300_000,
      nonce: 'n',
    });
    assert.equal(Buffer.from(p.nonce, 'base64url').length, 16);
  });

  it('encrypts: neither the principal nor the upstream state is readable in the token', () => {
    const token = sealer.seal({ ...input, upstreamState: 'SECRET-UPSTREAM-STATE' });
    const decoded = token.split('.').map((part) => Buffer.from(part, 'base64url').toString('latin1')).join('|');
    assert.ok(!decoded.includes('alice') && !decoded.includes('SECRET-UPSTREAM-STATE') && !token.includes('alice'));
  });

  it('gives every token a fresh nonce and IV', () => {
    const a = sealer.seal(input);
    const b = sealer.seal(input);
    assert.notEqual(a, b);
    assert.notEqual(sealer.unseal(a, expected).nonce, sealer.unseal(b, expected).nonce);
  });

  it('rejects a token with any single character changed', () => {
    const token = sealer.seal(input);
    for (let i = 0; i < token.length; i++) {
      const c = token[i]!;
      const replacement = c === 'A' ? 'B' : c === '.' ? 'x' : 'A';
      const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
      assert.throws(() => sealer.unseal(tampered, expected), (err: unknown) => err instanceof GatewayError && err.code === 'approval_state_invalid', `position ${i}`);
    }
  });

  it('rejects any flipped bit of the IV, ciphertext or tag as failed authentication', () => {
    const [v, kid, iv, body] = sealer.seal(input).split('.') as [string, string, string, string];
    const ivBytes = Buffer.from(iv, 'base64url');
    const bodyBytes = Buffer.from(body, 'base64url');
    for (let i = 0; i < ivBytes.length; i++) {
      const t = Buffer.from(ivBytes);
      t[i]! ^= 0x01;
      rejects(() => sealer.unseal(`${v}.${kid}.${t.toString('base64url')}.${body}`, expected), 'authentication-failed');
    }
    for (let i = 0; i < bodyBytes.length; i++) {
      const t = Buffer.from(bodyBytes);
      t[i]! ^= 0x80;
      rejects(() => sealer.unseal(`${v}.${kid}.${iv}.${t.toString('base64url')}`, expected), 'authentication-failed');
    }
  });

  it('rejects a token sealed with another key, even under the same key id', () => {
    const other = new ApprovalStateSealer([{ id: 'k1', key: new Uint8Array(randomBytes(32)) }]);
    rejects(() => sealer.unseal(other.seal(input), expected), 'authentication-failed');
  });

  it('rejects an unknown key id, and a header moved to another known key', () => {
    rejects(() => sealer.unseal(new ApprovalStateSealer([k2]).seal(input), expected), 'unknown-key');
    const both = new ApprovalStateSealer([k1, k2]);
    const moved = both.seal(input).replace(/^pcs1\.k1\./, 'pcs1.k2.');
    rejects(() => both.unseal(moved, expected), 'authentication-failed');
  });

  it('authenticates the header: a kid swapped to another id of the same key material is refused', () => {
    const twin = new ApprovalStateSealer([k1, { id: 'twin', key: k1.key }]);
    const swapped = twin.seal(input).replace(/^pcs1\.k1\./, 'pcs1.twin.');
    rejects(() => twin.unseal(swapped, expected), 'authentication-failed');
  });

  it('rejects expired state at exactly exp, accepts it 1 ms before', () => {
    const token = sealer.seal(input);
    assert.equal(sealer.unseal(token, { ...expected, now: NOW + 299_999 }).exp, NOW + 300_000);
    rejects(() => sealer.unseal(token, { ...expected, now: NOW + 300_000 }), 'expired');
  });

  it('rejects state issued further in the future than the allowed clock skew', () => {
    const token = sealer.seal({ ...input, now: NOW + 120_000 });
    rejects(() => sealer.unseal(token, expected), 'not-yet-valid');
    assert.ok(sealer.unseal(sealer.seal({ ...input, now: NOW + 30_000 }), expected));
  });

  it('rejects a retry by another principal, for another tool, arguments or policy', () => {
    const token = sealer.seal(input);
    rejects(() => sealer.unseal(token, { ...expected, principal: 'mallory' }), 'principal-mismatch');
    rejects(() => sealer.unseal(token, { ...expected, route: 'prod' }), 'route-mismatch');
    rejects(() => sealer.unseal(token, { ...expected, replica: 'replica-b' }), 'replica-mismatch');
    rejects(() => sealer.unseal(token, { ...expected, method: 'prompts/get' }), 'method-mismatch');
    rejects(() => sealer.unseal(token, { ...expected, tool: 'read_repo' }), 'tool-mismatch');
    rejects(() => sealer.unseal(token, { ...expected, argsHash: argsHash({ repo: 'acme/prod' }) }), 'arguments-mismatch');
    rejects(() => sealer.unseal(token, { ...expected, policyVersion: 'p-43' }), 'policy-changed');
  });

  it('rejects malformed and foreign tokens', () => {
    rejects(() => sealer.unseal('', expected), 'malformed');
    rejects(() => sealer.unseal('eyJsb2NhdGlvbiI6Ik5ldyBZb3JrIn0', expected), 'malformed');
    rejects(() => sealer.unseal('pcs2.k1.AAAAAAAAAAAAAAAA.AAAA', expected), 'unsupported-version');
    rejects(() => sealer.unseal('pcs1.k1.short.AAAA', expected), 'malformed');
    rejects(() => sealer.unseal('pcs1.k1.AAAAAAAAAAAAAAAA.A+A/', expected), 'malformed');
    rejects(() => sealer.unseal(`pcs1.k1.AAAAAAAAAAAAAAAA.${'A'.repeat(70_000)}`, expected), 'malformed');
    rejects(() => sealer.unseal(42 as unknown as string, expected), 'malformed');
  });

  it('rotates: seals with the first key, still opens tokens of older keys', () => {
    const old = new ApprovalStateSealer([k1]).seal(input);
    const rotated = new ApprovalStateSealer([k2, k1]);
    assert.equal(rotated.unseal(old, expected).principal, input.principal);
    const fresh = rotated.seal(input);
    assert.match(fresh, /^pcs1\.k2\./);
    assert.ok(new ApprovalStateSealer([k2]).unseal(fresh, expected));
    // Once k1 is retired, its tokens stop working.
    rejects(() => new ApprovalStateSealer([k2]).unseal(old, expected), 'unknown-key');
  });

  it('redeems a state once; the replay is refused, also when raced', async () => {
    const nonces = new MemoryNonceStore({ now: () => NOW });
    const token = sealer.seal(input);
    assert.equal((await sealer.redeem(token, expected, nonces)).tool, input.tool);
    await assert.rejects(sealer.redeem(token, expected, nonces), (err: unknown) => err instanceof GatewayError && (err.data as { reason: string }).reason === 'replayed');

    const raced = sealer.seal(input);
    const outcomes = await Promise.allSettled([1, 2, 3].map(() => sealer.redeem(raced, expected, nonces)));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
  });

  it('does not burn the nonce of a state that fails verification', async () => {
    const nonces = new MemoryNonceStore({ now: () => NOW });
    const token = sealer.seal(input);
    await assert.rejects(sealer.redeem(token, { ...expected, principal: 'mallory' }, nonces));
    assert.equal(nonces.size, 0);
    assert.ok(await sealer.redeem(token, expected, nonces));
  });

  it('validates keys and TTLs', () => {
    assert.throws(() => new ApprovalStateSealer([]), /at least one key/);
    assert.throws(() => new ApprovalStateSealer([{ id: 'k1', key: new Uint8Array(16) }]), /32 bytes/);
    assert.throws(() => new ApprovalStateSealer([{ id: 'bad.id', key: new Uint8Array(32) }]), /must match/);
    assert.throws(() => new ApprovalStateSealer([k1, { ...k2, id: 'k1' }]), /used twice/);
    assert.throws(() => sealer.seal({ ...input, ttlMs: 0 }), RangeError);
    assert.throws(() => sealer.seal({ ...input, ttlMs: 25 * 3600 * 1000 }), RangeError);
  });
});

describe('keyRingFromConfig', () => {
  it('decodes base64 and base64url keys', () => {
    const raw = randomBytes(32);
    const [a, b] = keyRingFromConfig([
      { id: 'a', key: raw.toString('base64') },
      { id: 'b', key: raw.toString('base64url') },
    ]);
    assert.deepEqual(Buffer.from(a!.key), raw);
    assert.deepEqual(Buffer.from(b!.key), raw);
    const sealer = new ApprovalStateSealer(keyRingFromConfig([{ id: 'a', key: raw.toString('base64') }]));
    assert.ok(sealer.unseal(sealer.seal(input), expected));
  });

  it('rejects text that is not base64', () => {
    assert.throws(() => keyRingFromConfig([{ id: 'a', key: 'not base64!' }]), /not base64/);
  });
});
