/**
 * mTLS: the data-plane listener serves HTTPS, asks for client certificates, and a route with
 * `auth.mtls` maps a verified certificate's SAN URI to the principal (policy then sees it). A
 * certificate from an untrusted CA, or none, authenticates no one. Certificates are minted per
 * run with openssl (test/support/certs.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { makeTestPki, type TestPki } from '../support/certs.ts';
import { modernEcho } from './support/hostile-harness.ts';
import { tempDataDir } from '../support/data-dir.ts';

describe('mTLS client certificates as principals', () => {
  let pki: TestPki;
  let demo: DemoServer;
  let gw: Gateway;

  before(async () => {
    pki = makeTestPki();
    demo = await startDemoServer({ port: 0 });
    gw = await startGateway({ dataDir: tempDataDir(),
      config: ConfigSchema.parse({
        server: { port: 0, tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile, clientCertificates: 'optional' } },
        logging: { level: 'silent' },
        routes: [{ name: 'm', path: '/mcp', upstream: { url: demo.url }, auth: { required: true, mtls: { subjectFrom: 'san-uri' } } }],
        // Only the workload identity from the certificate may call tools.
        policy: { default: 'deny', rules: [{ name: 'agent', when: 'principal.method == "mtls" && principal.subject == "spiffe://example.test/agent"', decision: 'allow', reason: 'agent' }] },
      }),
      admin: false,
      logger: silentLogger,
    });
  });
  after(async () => {
    await gw.close();
    await demo.close();
    pki.cleanup();
  });

  async function callWith(cert?: { cert: Buffer; key: Buffer }): Promise<{ status: number; body: string }> {
    const agent = new Agent({ connect: { ca: pki.ca, ...(cert ?? {}) } });
    try {
      const { body, headers } = modernEcho('over mtls', 7);
      const r = await request(`${gw.url}/mcp`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', host: new URL(gw.url).host, ...headers },
        body: JSON.stringify(body),
      });
      return { status: r.statusCode, body: await r.body.text() };
    } finally {
      await agent.close();
    }
  }

  it('serves HTTPS', () => {
    assert.match(gw.url, /^https:\/\//);
  });

  it('a certificate from the trusted CA becomes the principal its SAN URI names', async () => {
    const r = await callWith(pki.client);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /over mtls/);
  });

  it('no certificate → 401; a certificate from an untrusted CA → 401', async () => {
    const none = await callWith();
    assert.equal(none.status, 401, none.body);
    const rogue = await callWith(pki.rogue);
    assert.equal(rogue.status, 401, rogue.body);
  });
});
