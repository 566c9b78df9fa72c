/**
 * Admission against hostile callers: DNS rebinding (Origin / Host), sessions presented by someone
 * else or made up, GET/DELETE misuse, and slowloris clients that must not starve other requests.
 *
 * Spec anchors: MCP 2025-11-25 transports "Security Warning" (servers MUST validate Origin; 403
 * when present and invalid); "Session Management" (unknown session → 404; DELETE to end one);
 * "Resumability and Redelivery" (Last-Event-ID, MUST NOT replay another stream's messages).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { textOf } from '../../src/demo/testkit.ts';
import {
  ACCEPT,
  assertServes,
  expectGatewayError,
  identifyByHeader,
  modernEcho,
  openStalled,
  parseJson,
  post,
  raw,
  send,
  startStack,
  type Stack,
} from './support/hostile-harness.ts';
import { startHostileUpstream, type HostileUpstream } from './support/hostile-upstream.ts';

const okBody = () => modernEcho('origin-ok');

describe('hostile admission: DNS rebinding (loopback defaults)', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('a foreign Origin → 403 / -31001 origin_forbidden, on every method and path', async () => {
    const { body, headers } = okBody();
    for (const origin of ['http://evil.example', 'null', 'http://localhost.evil.com', 'http://127.0.0.1.nip.io', 'file://', 'chrome-extension://abc', 'http://localhost@evil.com', 'not a url']) {
      expectGatewayError(await post(s.port, body, { ...headers, origin }), 'origin_forbidden', null, `POST origin ${origin}`);
    }
    expectGatewayError(await send(s.port, { method: 'GET', headers: { accept: 'text/event-stream', origin: 'http://evil.example' } }), 'origin_forbidden', null, 'GET');
    expectGatewayError(await send(s.port, { method: 'DELETE', headers: { origin: 'http://evil.example', 'mcp-session-id': 'x' } }), 'origin_forbidden', null, 'DELETE');
    // Refused before routing and method checks: nothing about the endpoint leaks to a foreign page.
    expectGatewayError(await send(s.port, { method: 'PUT', path: '/nope', headers: { origin: 'http://evil.example' } }), 'origin_forbidden', null, 'PUT unknown path');
    await assertServes(s.port);
  });

  it('loopback Origins are accepted by default', async () => {
    for (const origin of ['http://localhost:3000', 'https://127.0.0.1', 'http://[::1]:8080', 'HTTP://LOCALHOST']) {
      const { body, headers } = okBody();
      const r = await post(s.port, body, { ...headers, origin });
      assert.equal(r.status, 200, `origin ${origin}: ${r.text}`);
    }
  });

  it('a foreign Host (DNS rebinding) → 403 / -31002 host_forbidden', async () => {
    const { body, headers } = okBody();
    for (const host of ['evil.example', `evil.example:${s.port}`, `localhost.evil.com:${s.port}`, `127.0.0.1.nip.io:${s.port}`, '10.0.0.1', `[::2]:${s.port}`]) {
      expectGatewayError(await post(s.port, body, { ...headers, host }), 'host_forbidden', null, `host ${host}`);
    }
    // Host is checked before Origin: a rebinding page usually sends both.
    expectGatewayError(await post(s.port, body, { ...headers, host: 'evil.example', origin: 'http://evil.example' }), 'host_forbidden', null, 'both');
    await assertServes(s.port);
  });

  it('an empty Host, or none on HTTP/1.0 → 403 / -31002', async () => {
    const empty = await raw(s.port, [`GET /mcp HTTP/1.1\r\nHost: \r\nAccept: text/event-stream\r\n\r\n`]);
    assert.ok(empty.status === 403 || empty.status === 400, `empty Host: ${empty.status}`);
    if (empty.status === 403) expectGatewayError(empty, 'host_forbidden', null, 'empty Host');
    const none = await raw(s.port, [`GET /mcp HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n`]);
    expectGatewayError(none, 'host_forbidden', null, 'HTTP/1.0 without Host');
  });

  it('loopback Host names are accepted by default', async () => {
    for (const host of [`localhost:${s.port}`, `127.0.0.1:${s.port}`, `LOCALHOST:${s.port}`]) {
      const { body, headers } = okBody();
      const r = await post(s.port, body, { ...headers, host });
      assert.equal(r.status, 200, `host ${host}: ${r.text}`);
    }
  });
});

describe('hostile admission: DNS rebinding (explicit allow lists)', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ security: { allowedOrigins: ['https://app.example.com'], allowedHosts: ['gw.example.com'] } });
  });
  after(() => s.close());

  it('only the listed Host and Origin pass; loopback no longer does', async () => {
    const { body, headers } = okBody();
    expectGatewayError(await post(s.port, body, headers), 'host_forbidden', null, 'loopback Host with an allow list');
    const h = { ...headers, host: 'gw.example.com' };
    for (const origin of ['http://localhost:3000', 'https://app.example.com.evil.com', 'http://app.example.com', 'https://app.example.com:444']) {
      expectGatewayError(await post(s.port, body, { ...h, origin }), 'origin_forbidden', null, `origin ${origin}`);
    }
    expectGatewayError(await post(s.port, body, { ...h, host: 'gw.example.com.evil.com' }), 'host_forbidden', null, 'suffix host');
    for (const [host, origin] of [['gw.example.com', 'https://app.example.com'], ['gw.example.com:443', 'https://app.example.com/']] as const) {
      const r = await post(s.port, body, { ...h, host, origin });
      assert.equal(r.status, 200, `${host} ${origin}: ${r.text}`);
    }
    await assertServes(s.port, 'allow-listed host', { host: 'gw.example.com' });
  });
});

describe('hostile admission: sessions', () => {
  let s: Stack;
  let sid = '';
  const alice = { 'x-test-user': 'alice' };
  const bob = { 'x-test-user': 'bob' };
  const legacy = { 'mcp-protocol-version': '2025-11-25' };

  const call = (who: Record<string, string>, session: string, id: number, text = 'hi') =>
    post(s.port, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } }, { ...who, ...legacy, 'mcp-session-id': session });

  before(async () => {
    s = await startStack({ identify: identifyByHeader });
    const init = await post(s.port, {
      jsonrpc: '2.0', id: 0, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'alice', version: '1' } },
    }, alice);
    assert.equal(init.status, 200, init.text);
    sid = String(init.headers['mcp-session-id'] ?? '');
    assert.ok(sid.length >= 16, 'the gateway issues a session id');
    const ack = await post(s.port, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...alice, ...legacy, 'mcp-session-id': sid });
    assert.equal(ack.status, 202);
  });
  after(() => s.close());

  it('unknown session ids → 404 / -31011 session_not_found, id echoed', async () => {
    for (const bogus of ['f'.repeat(32), 'x', 'A'.repeat(4000), `${sid}x`, sid.slice(0, -1), ' ' + sid + 'z']) {
      expectGatewayError(await call(alice, bogus, 31), 'session_not_found', 31, `sid ${bogus.slice(0, 20)}`);
    }
    const r = await call(alice, sid, 32, 'still mine');
    assert.equal(r.status, 200, r.text);
    assert.equal(textOf(parseJson(r).result), 'still mine');
  });

  it("a session created by A and presented by B → 404 on POST, GET and DELETE; A's session survives", async () => {
    expectGatewayError(await call(bob, sid, 41), 'session_not_found', 41, 'bob POST');
    expectGatewayError(await call({}, sid, 42), 'session_not_found', 42, 'anonymous POST');
    expectGatewayError(await send(s.port, { method: 'GET', headers: { ...bob, accept: 'text/event-stream', 'mcp-session-id': sid } }), 'session_not_found', null, 'bob GET');
    expectGatewayError(
      await send(s.port, { method: 'GET', headers: { ...bob, accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': 'p0.0' } }),
      'session_not_found', null, 'bob resume',
    );
    expectGatewayError(await send(s.port, { method: 'DELETE', headers: { ...bob, 'mcp-session-id': sid } }), 'session_not_found', null, 'bob DELETE');
    // Bob's DELETE must not have ended Alice's session.
    const r = await call(alice, sid, 43, 'alice again');
    assert.equal(r.status, 200, r.text);
    assert.equal(textOf(parseJson(r).result), 'alice again');
  });

  it('GET with an unknown or foreign Last-Event-ID → 404 / -31013 resume_not_found', async () => {
    for (const id of ['garbage', 'p0.999999', 'g7.0', '.', 'p0.-1', 'p0.1e3', 'x'.repeat(2000)]) {
      const r = await send(s.port, { method: 'GET', headers: { ...alice, ...legacy, accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': id } });
      expectGatewayError(r, 'resume_not_found', null, `last-event-id ${id.slice(0, 20)}`);
    }
  });

  it('GET without Accept: text/event-stream → 406 / -31004', async () => {
    const r = await send(s.port, { method: 'GET', headers: { ...alice, accept: 'application/json', 'mcp-session-id': sid } });
    expectGatewayError(r, 'not_acceptable');
  });

  it("GET without a session gets the upstream's own answer (the demo's 400), never a gateway 5xx", async () => {
    const r = await send(s.port, { method: 'GET', headers: { ...alice, accept: 'text/event-stream' } });
    assert.equal(r.status, 400, `status ${r.status}: ${r.text}`);
    const body = parseJson(r, 'GET without session');
    assert.equal(body.error.code, -32600, "the upstream's JSON-RPC error passes through");
    await assertServes(s.port, 'after GET without session', alice);
  });

  it('DELETE without a session → 400 / -31010 session_required; unknown → 404 / -31011', async () => {
    expectGatewayError(await send(s.port, { method: 'DELETE', headers: alice }), 'session_required');
    expectGatewayError(await send(s.port, { method: 'DELETE', headers: { ...alice, 'mcp-session-id': 'nope' } }), 'session_not_found');
    await assertServes(s.port, 'after DELETE misuse', alice);
  });

  it('after its owner DELETEs a session, it is gone for everyone (404)', async () => {
    const del = await send(s.port, { method: 'DELETE', headers: { ...alice, ...legacy, 'mcp-session-id': sid } });
    assert.ok(del.status >= 200 && del.status < 300, `DELETE status ${del.status}: ${del.text}`);
    expectGatewayError(await call(alice, sid, 51), 'session_not_found', 51, 'after DELETE');
    expectGatewayError(await send(s.port, { method: 'DELETE', headers: { ...alice, 'mcp-session-id': sid } }), 'session_not_found', null, 'second DELETE');
  });
});

describe('hostile admission: GET against an upstream without a standalone stream', () => {
  let up: HostileUpstream;
  let s: Stack;
  before(async () => {
    up = await startHostileUpstream();
    s = await startStack({ upstream: up.url });
  });
  after(async () => {
    await s.close();
    await up.close();
  });

  it("the upstream's 405 and Allow pass through (2025-11-25: a server MAY answer GET with 405)", async () => {
    const r = await send(s.port, { method: 'GET', headers: { accept: 'text/event-stream' } });
    assert.equal(r.status, 405, `status ${r.status}: ${r.text}`);
    assert.equal(r.headers['allow'], 'POST');
  });
});

describe('hostile admission: slowloris', () => {
  let s: Stack;
  const stalled: Socket[] = [];
  before(async () => {
    s = await startStack({ limits: { maxBodyBytes: 64 * 1024 } });
  });
  after(async () => {
    for (const sock of stalled) sock.destroy();
    await s.close();
  });

  it('clients stalled mid-headers and mid-body do not stop other requests', async () => {
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nAccept: ${ACCEPT}\r\n`;
    for (let i = 0; i < 40; i++) {
      // Half a body under a truthful Content-Length, then silence.
      stalled.push(await openStalled(s.port, [`${head}Content-Length: 1000\r\n\r\n{"jsonrpc":"2.0","id":${i},"method":"tools/call","params":{"name":"echo","arguments":{"text":"`]));
    }
    for (let i = 0; i < 20; i++) {
      // Headers that never finish.
      stalled.push(await openStalled(s.port, [`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nX-Slow-${i}: a`]));
    }
    for (let i = 0; i < 10; i++) {
      // A chunked body that stops after one chunk.
      stalled.push(await openStalled(s.port, [`${head}Transfer-Encoding: chunked\r\n\r\n5\r\n{"jso\r\n`]));
    }
    // Other clients are served, in parallel, while all of those hang.
    await Promise.all(Array.from({ length: 8 }, (_, i) => assertServes(s.port, `parallel request ${i} during slowloris`)));
    // Including a streaming one.
    const body = {
      jsonrpc: '2.0', id: 9, method: 'tools/call',
      params: { name: 'countdown', arguments: { from: 2, intervalMs: 1 }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, progressToken: 't' } },
    };
    const r = await post(s.port, body, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'countdown' });
    assert.equal(r.status, 200);
    assert.match(r.text, /"id":9/);
  });

  it('a stalled body on one connection does not block a second request from the same client elsewhere', async () => {
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nAccept: ${ACCEPT}\r\n`;
    stalled.push(await openStalled(s.port, [`${head}Content-Length: 60000\r\n\r\n${'{"a":"'.padEnd(30000, 'a')}`]));
    await assertServes(s.port, 'after a 30 KB half body');
  });
});

describe('hostile admission: session table limits', () => {
  let s: Stack;
  const legacy = { 'mcp-protocol-version': '2025-11-25' };
  const initialize = (who: string, id: number) =>
    post(s.port, { jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: who, version: '1' } } }, { 'x-test-user': who });

  before(async () => {
    s = await startStack({ identify: identifyByHeader, sessions: { maxPerPrincipal: 2, maxSessions: 3 } });
  });
  after(() => s.close());

  it('one caller cannot hold more than maxPerPrincipal sessions: 429 / -31014, nothing opened upstream', async () => {
    for (const id of [1, 2]) assert.equal((await initialize('mallory', id)).status, 200);
    const opened = s.demo!.stats().sessionsCreated;
    expectGatewayError(await initialize('mallory', 3), 'session_limit', 3);
    assert.equal(s.demo!.stats().sessionsCreated, opened, 'the refused initialize never reached the upstream');
    // Another caller is unaffected.
    assert.equal((await initialize('carol', 4)).status, 200);
  });

  it('a session the gateway evicts at its table cap is ended upstream too (DELETE)', async () => {
    // The table holds 3: mallory ×2 and carol. A fourth evicts the oldest idle one.
    const before = s.demo!.stats().sessions;
    const r = await initialize('dave', 5);
    assert.equal(r.status, 200, r.text);
    const sid = String(r.headers['mcp-session-id']);
    // The demo saw a new session and, once the DELETE landed, lost the evicted one.
    for (let i = 0; i < 100 && s.demo!.stats().sessions !== before; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(s.demo!.stats().sessions, before, 'upstream session count unchanged: one created, one deleted');
    const call = await post(s.port, { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'echo', arguments: { text: 'ok' } } }, { 'x-test-user': 'dave', ...legacy, 'mcp-session-id': sid });
    assert.equal(call.status, 200, call.text);
  });
});
