import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { startAuthServer } from '../../../test/support/auth-server.ts';
import type { AuthServer } from '../../../test/support/auth-server.ts';
import { GatewayError } from '../../core/errors.ts';
import type { Principal } from '../../pipeline/types.ts';
import { UpstreamAuthSchema } from './config.ts';
import type { UpstreamAuthInput } from './config.ts';
import { createCredentialProvider, TOKEN_EXCHANGE_GRANT } from './providers.ts';
import type { ProviderOptions } from './providers.ts';

const UPSTREAM = 'https://tools.internal/mcp';
const ANON: Principal = { subject: 'anonymous', method: 'none' };

async function failsWith(p: Promise<unknown>, detail: RegExp, mustNotContain: string[] = []): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.code, 'upstream_auth_failed');
    assert.match(err.detail ?? '', detail);
    for (const s of mustNotContain) assert.ok(!err.message.includes(s), 'the error must not reveal a secret');
    return true;
  });
}

const provider = (input: UpstreamAuthInput, opts?: ProviderOptions) => createCredentialProvider(UpstreamAuthSchema.parse(input), opts);
const tokenOf = (headers: Record<string, string>) => {
  const m = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
  assert.ok(m, `expected a Bearer authorization header, got ${JSON.stringify(headers)}`);
  return m[1]!;
};

describe('static provider', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portcullis-cred-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('sends the configured value, with an optional scheme', async () => {
    assert.deepEqual(await (await provider({ type: 'static', value: 'k1' })).headersFor({ principal: ANON }), { authorization: 'k1' });
    const p = await provider({ type: 'static', header: 'X-Api-Key', value: 'k2', scheme: 'Token' });
    assert.deepEqual(await p.headersFor({ principal: ANON }), { 'x-api-key': 'Token k2' });
  });

  it('reads valueFile once, dropping the trailing newline', async () => {
    const file = join(dir, 'secret');
    await writeFile(file, 's3cr3t\n');
    const p = await provider({ type: 'static', valueFile: file, scheme: 'Bearer' });
    await writeFile(file, 'changed\n');
    assert.deepEqual(await p.headersFor({ principal: ANON }), { authorization: 'Bearer s3cr3t' });
  });

  it('fails at creation for a missing or multi-line file, without printing its content', async () => {
    await failsWith(provider({ type: 'static', valueFile: join(dir, 'missing') }), /cannot read/);
    const file = join(dir, 'two-lines');
    await writeFile(file, 'line-one-secret\nline-two\n');
    await failsWith(provider({ type: 'static', valueFile: file }), /one non-empty line/, ['line-one-secret']);
  });
});

describe('OAuth providers', () => {
  let as: AuthServer;
  let clock = Date.now();
  const now = () => clock;
  before(async () => {
    as = await startAuthServer({ clients: { gateway: 'gw-secret-1', other: 'other-secret' } });
  });
  after(() => as.close());

  const client = () => ({ tokenUrl: as.tokenUrl, clientId: 'gateway', clientSecret: 'gw-secret-1' });

  describe('client-credentials', () => {
    it('obtains one token for the gateway, with the requested scope and resource', async () => {
      const p = await provider({ type: 'client-credentials', ...client(), scope: ['tools:read', 'tools:call'], resource: UPSTREAM });
      const claims = decodeJwt(tokenOf(await p.headersFor({ principal: ANON })));
      assert.deepEqual([claims.sub, claims.aud, claims.scope], ['gateway', UPSTREAM, 'tools:read tools:call']);
      const sent = as.tokenRequests.at(-1)!;
      assert.equal(sent.params.grant_type, 'client_credentials');
      assert.equal(sent.params.client_secret, undefined, 'client_secret_basic keeps the secret out of the body');
    });

    it('shares one token request among concurrent callers and caches the token', async () => {
      const p = await provider({ type: 'client-credentials', ...client() }, { now });
      const base = as.counts.token;
      const all = await Promise.all(Array.from({ length: 10 }, () => p.headersFor({ principal: ANON })));
      assert.equal(new Set(all.map(tokenOf)).size, 1);
      await p.headersFor({ principal: ANON });
      assert.equal(as.counts.token - base, 1);
    });

    it('refreshes shortly before expiry and after invalidate', async () => {
      clock = Date.now();
      const p = await provider({ type: 'client-credentials', ...client(), refreshSkewSec: 30 }, { now });
      const base = as.counts.token;
      const first = tokenOf(await p.headersFor({ principal: ANON }));
      clock += (as.tokenTtlSec - 31) * 1000;
      assert.equal(tokenOf(await p.headersFor({ principal: ANON })), first);
      clock += 1000;
      const second = tokenOf(await p.headersFor({ principal: ANON }));
      assert.notEqual(second, first);
      p.invalidate({ principal: ANON });
      assert.notEqual(tokenOf(await p.headersFor({ principal: ANON })), second);
      assert.equal(as.counts.token - base, 3);
    });

    it('supports client_secret_post', async () => {
      const p = await provider({ type: 'client-credentials', ...client(), authMethod: 'client_secret_post' });
      assert.equal(decodeJwt(tokenOf(await p.headersFor({ principal: ANON }))).sub, 'gateway');
      assert.equal(as.tokenRequests.at(-1)!.params.client_id, 'gateway');
    });

    it('fails with upstream_auth_failed, never echoing the secret, and retries later', async () => {
      const bad = await provider({ type: 'client-credentials', ...client(), clientSecret: 'wrong-secret-xyz' });
      await failsWith(bad.headersFor({ principal: ANON }), /invalid_client/, ['wrong-secret-xyz']);
      const p = await provider({ type: 'client-credentials', ...client() });
      as.fail.token = 503;
      try {
        await failsWith(p.headersFor({ principal: ANON }), /refused/);
      } finally {
        delete as.fail.token;
      }
      assert.equal(decodeJwt(tokenOf(await p.headersFor({ principal: ANON }))).sub, 'gateway');
    });

    it('reports an unreachable token endpoint', async () => {
      const p = await provider({ type: 'client-credentials', ...client(), tokenUrl: 'http://127.0.0.1:9/token', timeoutMs: 2000 });
      await failsWith(p.headersFor({ principal: ANON }), /unreachable/);
    });
  });

  describe('token-exchange (RFC 8693)', () => {
    const exchange = (extra: Partial<UpstreamAuthInput> = {}, opts?: ProviderOptions) =>
      provider({ type: 'token-exchange', ...client(), audience: 'tools', resource: UPSTREAM, ...extra } as UpstreamAuthInput, opts);
    const user = (sub: string, expiresAt?: number): Principal => ({ subject: sub, method: 'jwt', ...(expiresAt ? { expiresAt } : {}) });

    it('exchanges the caller token for one on behalf of the caller, with the gateway as actor', async () => {
      const p = await exchange({ scope: ['tools:call'] });
      const subjectToken = await as.issue({ sub: 'alice', scope: 'tools:call profile' });
      const claims = decodeJwt(tokenOf(await p.headersFor({ principal: user('alice'), subjectToken })));
      assert.equal(claims.sub, 'alice');
      assert.deepEqual(claims.act, { sub: 'gateway' });
      assert.deepEqual(claims.aud, [UPSTREAM, 'tools']);
      assert.equal(claims.scope, 'tools:call');
      const sent = as.tokenRequests.at(-1)!.params;
      assert.equal(sent.grant_type, TOKEN_EXCHANGE_GRANT);
      assert.equal(sent.subject_token, subjectToken);
      assert.equal(sent.subject_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    });

    it('caches one exchanged token per caller token, sharing concurrent exchanges', async () => {
      const p = await exchange();
      const alice = await as.issue({ sub: 'alice' });
      const bob = await as.issue({ sub: 'bob' });
      const base = as.counts.token;
      const [a1, a2, b1] = await Promise.all([
        p.headersFor({ principal: user('alice'), subjectToken: alice }),
        p.headersFor({ principal: user('alice'), subjectToken: alice }),
        p.headersFor({ principal: user('bob'), subjectToken: bob }),
      ]);
      assert.equal(tokenOf(a1), tokenOf(a2));
      assert.equal(decodeJwt(tokenOf(b1)).sub, 'bob');
      assert.equal(tokenOf(await p.headersFor({ principal: user('alice'), subjectToken: alice })), tokenOf(a1));
      assert.equal(as.counts.token - base, 2);
    });

    it('does not reuse an exchanged token past the caller token expiry', async () => {
      clock = Date.now();
      const p = await exchange({}, { now });
      const token = await as.issue({ sub: 'carol' });
      const principal = user('carol', clock + 60_000);
      const first = tokenOf(await p.headersFor({ principal, subjectToken: token }));
      clock += 29_000;
      assert.equal(tokenOf(await p.headersFor({ principal, subjectToken: token })), first);
      clock += 2_000; // now within the 30 s skew of the caller's expiry
      assert.notEqual(tokenOf(await p.headersFor({ principal, subjectToken: token })), first);
    });

    it('sends the actor token when configured', async () => {
      const actorToken = await as.issue({ sub: 'portcullis-gateway' });
      const p = await exchange({ actorToken });
      const claims = decodeJwt(tokenOf(await p.headersFor({ principal: user('dave'), subjectToken: await as.issue({ sub: 'dave' }) })));
      assert.deepEqual(claims.act, { sub: 'portcullis-gateway' });
    });

    it('needs the caller token and fails on a revoked one without echoing it', async () => {
      const p = await exchange();
      await failsWith(p.headersFor({ principal: user('erin') }), /caller's access token/);
      const revoked = await as.issue({ sub: 'erin' });
      as.revoke(revoked);
      await failsWith(p.headersFor({ principal: user('erin'), subjectToken: revoked }), /invalid_request/, [revoked, 'gw-secret-1']);
    });
  });
});
