/**
 * Identity end to end, with a real local authorization server (test/support/auth-server.ts:
 * real signed JWTs, a JWKS endpoint, key rotation, token exchange) and a recording upstream.
 *
 * Every refused credential must get the right 401/403 with an RFC 6750 / RFC 9728 challenge,
 * and the upstream must receive nothing; an accepted one reaches the upstream carrying the
 * gateway's own credential, never the client's token.
 *
 * Conformance: the auth scenarios of @modelcontextprotocol/conformance 0.2.0-alpha.12 do not
 * apply here. Its client-mode `auth/*` scenarios test an MCP *client* against the suite's own
 * fake resource server and fake authorization server (opaque `test-token-*` tokens, no JWKS, no
 * introspection), and its checks are that fake server's observations, so the gateway cannot
 * stand in as the resource server; server mode has no auth scenarios; `authorization-*` tests an
 * authorization server. The closest real-peer test is below: the official SDK 1.x client with
 * its OAuth client-credentials provider discovers the gateway's RFC 9728 metadata from the 401,
 * then the authorization server's RFC 8414 metadata, gets a token for the gateway's resource
 * (RFC 8707) and calls a tool through the gateway.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { expectGatewayError, modernEcho, parseJson, post, send, sseData, type Reply } from './support/hostile-harness.ts';
import { startRecordingUpstream, type RecordingUpstream } from './support/recording-upstream.ts';
import { tempDataDir } from '../support/data-dir.ts';

const SCOPE = 'mcp:tools';

describe('identity: OAuth resource server in front of an upstream', () => {
  let as: AuthServer;
  let demo: DemoServer;
  let up: RecordingUpstream;
  let gw: Gateway;
  let dataDir = '';
  let resource = '';

  before(async () => {
    as = await startAuthServer({ clients: { portcullis: 'portcullis-secret', agent: 'agent-secret' } });
    demo = await startDemoServer({ port: 0 });
    up = await startRecordingUpstream(demo.url);
    const input: ConfigInput = {
      server: { port: 0 },
      admin: { port: 0 },
      logging: { level: 'silent' },
      streams: { revalidateMs: 200 },
      routes: [
        {
          name: 'tools',
          path: '/mcp',
          upstream: { url: up.url, auth: { type: 'client-credentials', tokenUrl: as.tokenUrl, clientId: 'portcullis', clientSecret: 'portcullis-secret', scope: ['upstream'] } },
          auth: { required: true, requiredScopes: [SCOPE], jwt: { issuer: as.issuer, jwksUrl: as.jwksUrl, jwksCooldownMs: 0 } },
        },
        {
          // On-behalf-of: the upstream gets a token for the caller, minted by RFC 8693 exchange.
          name: 'obo',
          path: '/obo',
          upstream: { url: up.url, auth: { type: 'token-exchange', tokenUrl: as.tokenUrl, clientId: 'portcullis', clientSecret: 'portcullis-secret', audience: 'https://upstream.example' } },
          auth: { required: true, jwt: { issuer: as.issuer, jwksUrl: as.jwksUrl, audiences: [] } },
        },
      ],
    };
    dataDir = tempDataDir();
    gw = await startGateway({ dataDir, config: ConfigSchema.parse(input), admin: false, logger: silentLogger });
    resource = `${gw.url}/mcp`;
  });
  after(async () => {
    await gw.close();
    await up.close();
    await demo.close();
    await as.close();
  });

  const token = (claims: Record<string, unknown> = {}) => as.issue({ sub: 'alice', aud: resource, scope: SCOPE, ...claims });
  const call = (bearer: string | undefined, id = 1, text = 'hi') => {
    const { body, headers } = modernEcho(text, id);
    return post(gw.port, body, { ...headers, ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}) });
  };
  const challenge = (r: Reply) => String(r.headers['www-authenticate'] ?? '');

  it('serves RFC 9728 protected resource metadata at the well-known path, without authentication', async () => {
    const r = await send(gw.port, { method: 'GET', path: '/.well-known/oauth-protected-resource/mcp' });
    assert.equal(r.status, 200, r.text);
    const md = JSON.parse(r.text);
    assert.equal(md.resource, resource, "resource is the gateway's own URL of the route");
    assert.deepEqual(md.authorization_servers, [as.issuer]);
    assert.ok(md.scopes_supported.includes(SCOPE));
    assert.deepEqual(md.bearer_methods_supported, ['header']);
  });

  it('no token → 401 with resource_metadata and scope in WWW-Authenticate; the upstream receives nothing', async () => {
    const before = up.requests.length;
    const r = await call(undefined, 2);
    expectGatewayError(r, 'unauthenticated', null);
    assert.match(challenge(r), /^Bearer /);
    assert.ok(challenge(r).includes(`resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`), challenge(r));
    assert.ok(challenge(r).includes(`scope="${SCOPE}"`), challenge(r));
    assert.equal(up.requests.length, before);
  });

  it('every bad token gets 401 invalid_token (or 403 insufficient_scope) and never reaches the upstream', async () => {
    const before = up.requests.length;
    const cases: Array<[string, string, 'invalid_token' | 'insufficient_scope']> = [
      ['expired', await token({ expiresIn: -120 }), 'invalid_token'],
      ['not yet valid', await token({ notBefore: 3600 }), 'invalid_token'],
      ['wrong issuer', await token({ iss: 'https://evil.example' }), 'invalid_token'],
      ['wrong audience', await token({ aud: 'https://other.example/mcp' }), 'invalid_token'],
      ['alg none', as.bad.algNone({ sub: 'alice', aud: resource, scope: SCOPE, iss: as.issuer, exp: Math.floor(Date.now() / 1000) + 300 }), 'invalid_token'],
      ['bad signature', await as.bad.wrongSignature({ sub: 'alice', aud: resource, scope: SCOPE }), 'invalid_token'],
      ['unknown kid', await as.bad.unknownKid({ sub: 'alice', aud: resource, scope: SCOPE }), 'invalid_token'],
      ['HS256 with the public key (alg confusion)', await as.bad.hs256WithPublicKey({ sub: 'alice', aud: resource, scope: SCOPE }), 'invalid_token'],
      ['garbage', 'not.a.jwt', 'invalid_token'],
      ['missing scope', await token({ scope: 'other' }), 'insufficient_scope'],
    ];
    for (const [label, t, code] of cases) {
      const r = await call(t, 3);
      expectGatewayError(r, code, null, label);
      assert.ok(challenge(r).includes(`error="${code}"`), `${label}: ${challenge(r)}`);
      if (code === 'insufficient_scope') assert.ok(challenge(r).includes(`scope="${SCOPE}"`), label);
    }
    assert.equal(up.requests.length, before, 'not one refused request reached the upstream');
  });

  it('the audit trail has one Authentication logon per credential (not one per call) and each refused credential', async () => {
    const t = await as.issue({ sub: 'logon-check', aud: resource, scope: SCOPE });
    for (let i = 0; i < 3; i++) assert.equal((await call(t, 40 + i)).status, 200);
    assert.equal((await call('not-a-token', 43)).status, 401);
    let auth: Array<Record<string, any>> = [];
    for (let i = 0; i < 100; i++) {
      const reader = new SqliteSink({ path: join(dataDir, '.portcullis', 'audit.db'), readOnly: true });
      auth = [];
      for await (const r of reader.read({ kind: 'auth' })) auth.push(r);
      await reader.close();
      if (auth.some((r) => r['user']?.uid === 'logon-check' || JSON.stringify(r).includes('logon-check')) && auth.some((r) => r['status_id'] === 2)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const logons = auth.filter((r) => JSON.stringify(r['user'] ?? r['actor'] ?? {}).includes('logon-check'));
    assert.equal(logons.length, 1, JSON.stringify(logons));
    assert.equal(logons[0]!['class_uid'], 3002);
    assert.equal(logons[0]!['status_id'], 1);
    assert.ok(JSON.stringify(logons[0]).includes('"jwt"'), 'says how: a JWT');
    assert.ok(!JSON.stringify(auth).includes(t), 'never the token');
    const refused = auth.filter((r) => r['status_id'] === 2);
    assert.ok(refused.length >= 1 && JSON.stringify(refused.at(-1)).includes('bearer'), JSON.stringify(refused.at(-1)));
  });

  it("a valid token passes; the upstream sees the gateway's own credential, never the client's token", async () => {
    const t = await token();
    const r = await call(t, 4, 'through');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /through/);
    const seen = up.requests.at(-1)!;
    const upstreamAuth = String(seen.headers['authorization'] ?? '');
    assert.match(upstreamAuth, /^Bearer /, 'the gateway authenticated to the upstream');
    assert.notEqual(upstreamAuth, `Bearer ${t}`);
    for (const req of up.requests) {
      assert.ok(!JSON.stringify(req.headers).includes(t) && !req.body.includes(t), "the client's token never reached the upstream");
    }
    // The upstream credential came from the client-credentials grant for the gateway's client.
    assert.ok(as.tokenRequests.some((tr) => tr.clientId === 'portcullis' && tr.params['grant_type'] === 'client_credentials'));
  });

  it('token exchange: the upstream gets a token for the caller (sub) with the gateway as actor (act), not the caller\'s token', async () => {
    const t = await as.issue({ sub: 'alice', aud: `${gw.url}/obo`, scope: SCOPE });
    const { body, headers } = modernEcho('on behalf', 8);
    const r = await send(gw.port, { path: '/obo', body: JSON.stringify(body), headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers, authorization: `Bearer ${t}` } });
    assert.equal(r.status, 200, r.text);
    const sent = String(up.requests.at(-1)!.headers['authorization'] ?? '').replace(/^Bearer /, '');
    assert.ok(sent !== '' && sent !== t);
    const claims = JSON.parse(Buffer.from(sent.split('.')[1]!, 'base64url').toString('utf8'));
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.act?.sub, 'portcullis');
    assert.equal(claims.aud, 'https://upstream.example');
    const exchange = as.tokenRequests.at(-1)!;
    assert.equal(exchange.params['grant_type'], 'urn:ietf:params:oauth:grant-type:token-exchange');
  });

  it('follows a key rotation: a token signed with a new key verifies after a JWKS refetch; old keys still work', async () => {
    const old = await token();
    await as.rotate();
    const fresh = await token();
    assert.equal((await call(fresh, 5, 'new key')).status, 200);
    assert.equal((await call(old, 6, 'old key')).status, 200);
    as.dropOld();
  });

  it("a 2025 session is bound to its principal: another caller's valid token with that session id → 404", async () => {
    const alice = await token({ sub: 'alice' });
    const bob = await token({ sub: 'bob' });
    const init = await post(gw.port, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, { authorization: `Bearer ${alice}` });
    assert.equal(init.status, 200, init.text);
    const sid = String(init.headers['mcp-session-id']);
    const list = (who: string) => post(gw.port, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { authorization: `Bearer ${who}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
    expectGatewayError(await list(bob), 'session_not_found', 2);
    assert.equal((await list(alice)).status, 200);
  });

  it('a stream outliving its token ends with a credential_expired error event', async () => {
    const t = await token({ expiresIn: 1 });
    const r = await post(
      gw.port,
      { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'countdown', arguments: { from: 40, intervalMs: 100 }, _meta: modernEcho('', 9).body.params._meta } },
      { ...modernEcho('', 9).headers, 'mcp-name': 'countdown', authorization: `Bearer ${t}` },
    );
    assert.equal(r.status, 200);
    const events = sseData(r.text).map((d) => JSON.parse(d));
    const last = events.at(-1);
    assert.equal(last.id, 9);
    assert.equal(last.error?.data?.code, 'credential_expired', JSON.stringify(last));
    assert.ok(!events.some((e) => e.result), 'the call did not complete after the token expired');
  });

  it('the official SDK client discovers the metadata from the 401, gets a token for the resource and calls a tool', async () => {
    const provider = new ClientCredentialsProvider({ clientId: 'agent', clientSecret: 'agent-secret', scope: SCOPE, expectedIssuer: as.issuer });
    const client = new Client({ name: 'sdk-oauth', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'echo', arguments: { text: 'via sdk oauth' } });
      assert.match(JSON.stringify(result.content), /via sdk oauth/);
      const grant = as.tokenRequests.find((tr) => tr.clientId === 'agent');
      assert.ok(grant, 'the client asked the authorization server for a token');
      assert.equal(grant.params['resource'], resource, 'RFC 8707: the token was requested for the gateway route');
    } finally {
      await client.close();
    }
  });

  it('the metadata document answers JSON to HEAD/GET only', async () => {
    const r = await send(gw.port, { method: 'POST', path: '/.well-known/oauth-protected-resource/mcp', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 405);
    assert.equal(parseJson(r).error.data.code, 'method_not_allowed');
  });
});
