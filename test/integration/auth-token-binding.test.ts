/**
 * Identity end to end: what a verified token is allowed to mean.
 *
 * - Sender-constrained tokens (RFC 9449 DPoP `cnf.jkt`, or any confirmation method the gateway
 *   cannot verify) are refused, never accepted as plain bearer tokens — for JWTs and
 *   introspected tokens alike.
 * - An introspection answer without `aud` is "not issued for this resource" (RFC 8707 audience
 *   binding), unless the route opts out with `introspection.allowMissingAudience`.
 * - A token without `sub` names a client, not a user: its subject is `client:<client_id>`, so
 *   policy written for the user "alice" does not match a client registered as "alice".
 *
 * Every refusal is a 401 with an RFC 6750 `invalid_token` challenge and reaches no upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { expectGatewayError, modernEcho, parseJson, send, type Reply } from './support/hostile-harness.ts';
import { startRecordingUpstream, type RecordingUpstream } from './support/recording-upstream.ts';

describe('identity: token binding, audience and subject namespaces', () => {
  let as: AuthServer;
  let demo: DemoServer;
  let up: RecordingUpstream;
  let gw: Gateway;
  const url = (path: string) => `${gw.url}${path}`;

  before(async () => {
    as = await startAuthServer({ clients: { portcullis: 'portcullis-secret' } });
    demo = await startDemoServer({ port: 0 });
    up = await startRecordingUpstream(demo.url);
    const introspection = { url: as.introspectionUrl, clientId: 'portcullis', clientSecret: 'portcullis-secret' };
    const input: ConfigInput = {
      server: { port: 0 },
      admin: { port: 0 },
      logging: { level: 'silent' },
      routes: [
        { name: 'jwt', path: '/mcp', upstream: { url: up.url }, auth: { required: true, jwt: { issuer: as.issuer, jwksUrl: as.jwksUrl, jwksCooldownMs: 0 } } },
        { name: 'intro', path: '/intro', upstream: { url: up.url }, auth: { required: true, authorizationServers: [as.issuer], introspection } },
        {
          name: 'intro-noaud',
          path: '/intro-noaud',
          upstream: { url: up.url },
          auth: { required: true, authorizationServers: [as.issuer], introspection: { ...introspection, allowMissingAudience: true } },
        },
      ],
      policy: {
        default: 'deny',
        rules: [
          { name: 'user-alice', when: 'principal.subject == "alice"', decision: 'allow', reason: 'user-alice' },
          { name: 'reporting-bot', when: 'principal.subject == "client:reporting-bot"', decision: 'allow', reason: 'client-credentials-caller' },
        ],
      },
    };
    gw = await startGateway({ dataDir: tempDataDir(), config: ConfigSchema.parse(input), admin: false, logger: silentLogger });
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await up.close();
    await demo.close();
    await as.close();
  });

  const call = (path: string, token: string, id: number, text = 'hi') => {
    const { body, headers } = modernEcho(text, id);
    return send(gw.port, {
      path,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers, authorization: `Bearer ${token}` },
    });
  };
  const challenge = (r: Reply) => String(r.headers['www-authenticate'] ?? '');
  // A policy denial of a tools/call is a JSON-RPC error of that call (the HTTP exchange itself succeeded).
  const denied = (r: Reply, label: string) => {
    assert.equal(parseJson(r, label).error?.data?.code, 'policy_denied', `${label}: ${r.text}`);
    assert.ok(!r.text.includes('"result"'), label);
  };
  const refused = (r: Reply, description: RegExp, label: string) => {
    expectGatewayError(r, 'invalid_token', null, label);
    assert.match(challenge(r), /^Bearer error="invalid_token", error_description="[^"]+"/, label);
    assert.match(challenge(r), description, `${label}: ${challenge(r)}`);
  };

  it('refuses a DPoP-bound token (cnf.jkt) presented without DPoP, as a JWT and by introspection', async () => {
    const before = up.requests.length;
    const cnf = { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' };
    refused(await call('/mcp', await as.issue({ sub: 'alice', aud: url('/mcp'), cnf }), 1), /DPoP/, 'jwt');
    refused(await call('/intro', as.issueOpaque({ sub: 'alice', aud: url('/intro'), cnf }), 2), /DPoP/, 'introspection');
    // Any confirmation method the gateway cannot verify: refused, not downgraded to bearer.
    refused(await call('/mcp', await as.issue({ sub: 'alice', aud: url('/mcp'), cnf: { jwk: { kty: 'OKP' } } }), 3), /confirmation/, 'cnf.jwk');
    assert.equal(up.requests.length, before, 'no refused request reached the upstream');
    // Control: the same caller without a binding gets through.
    assert.equal((await call('/mcp', await as.issue({ sub: 'alice', aud: url('/mcp') }), 4, 'unbound')).status, 200);
  });

  it('refuses an introspected token whose answer has no aud, unless the route opts out', async () => {
    const before = up.requests.length;
    refused(await call('/intro', as.issueOpaque({ sub: 'alice', scope: 'payroll:read' }), 5), /not issued for this resource/, 'no aud');
    assert.equal(up.requests.length, before);
    const own = await call('/intro', as.issueOpaque({ sub: 'alice', aud: url('/intro') }), 6, 'own aud');
    assert.equal(own.status, 200, own.text);
    assert.match(own.text, /own aud/);
    const optedOut = await call('/intro-noaud', as.issueOpaque({ sub: 'alice' }), 7, 'opted out');
    assert.equal(optedOut.status, 200, optedOut.text);
    assert.match(optedOut.text, /opted out/);
    // The opt-out is about a missing aud only: a wrong one is still refused.
    refused(await call('/intro-noaud', as.issueOpaque({ sub: 'alice', aud: 'https://payroll.example/api' }), 8), /not issued/, 'wrong aud');
  });

  it('gives a token without sub the subject client:<client_id>, so it never matches rules for a user', async () => {
    // A client registered as "alice" is not the user alice.
    const asClient = await call('/mcp', await as.issue({ client_id: 'alice', aud: url('/mcp') }), 9);
    denied(asClient, 'client alice');
    const viaIntrospection = await call('/intro', as.issueOpaque({ client_id: 'alice', aud: url('/intro') }), 10);
    denied(viaIntrospection, 'client alice, introspected');
    // The documented way to write a rule for a client-credentials caller.
    const bot = await call('/mcp', await as.issue({ client_id: 'reporting-bot', aud: url('/mcp') }), 11, 'bot');
    assert.equal(bot.status, 200, bot.text);
    assert.match(bot.text, /bot/);
    // Neither sub nor a client: identifies no one.
    refused(await call('/mcp', await as.issue({ aud: url('/mcp') }), 12), /no subject/, 'no sub, no client');
  });
});
