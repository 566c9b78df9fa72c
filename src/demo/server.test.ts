import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoServer, type DemoServer } from './server.ts';
import { MODERN, initSession, json, legacyCall, modernCall, postJson, responseOf, sseMessages, textOf } from './testkit.ts';
import type { Json } from './protocol.ts';

describe('demo server, 2025 era', () => {
  let plain: DemoServer;
  let sse: DemoServer;
  before(async () => {
    plain = await startDemoServer({ responseMode: 'json' });
    sse = await startDemoServer({ responseMode: 'sse' });
  });
  after(async () => {
    await plain.close();
    await sse.close();
  });

  it('listens on an ephemeral port with a /mcp url', () => {
    assert.ok(plain.port > 0);
    assert.equal(plain.url, `http://127.0.0.1:${plain.port}/mcp`);
  });

  it('initializes a session and calls a tool, answered as JSON', async () => {
    const init = await postJson(plain.url, {
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    assert.equal(init.status, 200);
    assert.match(init.headers.get('content-type') ?? '', /^application\/json/);
    const sid = init.headers.get('mcp-session-id') ?? '';
    assert.match(sid, /^[0-9a-f]{32}$/);
    const result = (await json(init)).result;
    assert.equal(result.protocolVersion, '2025-06-18');
    assert.equal(result.serverInfo.name, 'portcullis-demo');
    assert.deepEqual(Object.keys(result.capabilities).sort(), ['logging', 'prompts', 'resources', 'tools']);

    const ack = await postJson(plain.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sid });
    assert.equal(ack.status, 202);
    assert.equal(await ack.text(), '');

    const call = await legacyCall(plain.url, sid, 2, 'tools/call', { name: 'echo', arguments: { text: 'hello' } });
    assert.equal(call.status, 200);
    assert.match(call.headers.get('content-type') ?? '', /^application\/json/);
    const body = await json(call);
    assert.equal(body.id, 2);
    assert.equal(textOf(body.result), 'hello');
    assert.equal(body.result.resultType, undefined, 'resultType is a 2026 field');
  });

  it('answers an unknown protocol version with its latest 2025 version', async () => {
    const res = await postJson(plain.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '1999-01-01', capabilities: {} } });
    assert.equal((await json(res)).result.protocolVersion, '2025-11-25');
  });

  it('answers everything as SSE in sse mode, with event ids and a priming event', async () => {
    const init = await postJson(sse.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {} } });
    assert.equal(init.headers.get('content-type'), 'text/event-stream');
    assert.equal(init.headers.get('x-accel-buffering'), 'no');
    assert.equal(init.headers.get('cache-control'), 'no-cache');
    const sid = init.headers.get('mcp-session-id') ?? '';
    assert.equal((await responseOf(init)).id, 1);

    const call = await legacyCall(sse.url, sid, 7, 'tools/call', { name: 'add', arguments: { a: 2, b: 40 } });
    assert.equal(call.headers.get('content-type'), 'text/event-stream');
    const msgs = await sseMessages(call);
    assert.equal(msgs.length, 1);
    const [only] = msgs;
    assert.match(only?.ev.id ?? '', /^\d+:\d+$/);
    assert.equal(only?.msg.id, 7);
    assert.deepEqual((only?.msg.result as Json).structuredContent, { sum: 42 });
  });

  it('requires the session id: 400 without, 404 unknown, 404 after DELETE', async () => {
    const none = await postJson(plain.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal(none.status, 400);
    assert.equal((await json(none)).error.code, -32600);

    const unknown = await legacyCall(plain.url, 'f'.repeat(32), 1, 'tools/list');
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();

    const sid = await initSession(plain.url);
    const ok = await legacyCall(plain.url, sid, 1, 'tools/list');
    assert.equal(ok.status, 200);
    const names = ((await json(ok)).result.tools as Array<{ name: string }>).map((t) => t.name);
    for (const n of ['echo', 'add', 'countdown', 'leak_secret', 'ask_user', 'sample', 'big_text', 'slow', 'demo_notify']) assert.ok(names.includes(n), n);

    const sessions = plain.stats().sessions;
    const del = await fetch(plain.url, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
    assert.equal(del.status, 200);
    assert.equal(plain.stats().sessions, sessions - 1);
    const gone = await legacyCall(plain.url, sid, 2, 'tools/list');
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  });

  it('rejects an unsupported MCP-Protocol-Version header with 400', async () => {
    const sid = await initSession(plain.url);
    const res = await postJson(plain.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': sid, 'mcp-protocol-version': '1999-01-01' });
    assert.equal(res.status, 400);
    await res.body?.cancel();
  });

  it('accepts batches for 2025-03-26 only', async () => {
    const old = await initSession(plain.url, '2025-03-26');
    const res = await postJson(plain.url, [
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'b' } } },
      { nonsense: true },
    ], { 'mcp-session-id': old });
    assert.equal(res.status, 200);
    const out = (await json(res)) as Json[];
    assert.equal(out.length, 3);
    assert.deepEqual(out.find((r) => r.id === 1)?.result, {});
    assert.equal(textOf(out.find((r) => r.id === 2)?.result), 'b');
    assert.equal((out.find((r) => r.id === null)?.error as Json).code, -32600);

    const newer = await initSession(plain.url, '2025-11-25');
    const refused = await postJson(plain.url, [{ jsonrpc: '2.0', id: 1, method: 'ping' }], { 'mcp-session-id': newer });
    assert.equal(refused.status, 400);
    await refused.body?.cancel();
  });

  it('serves resources, templates and prompts', async () => {
    const sid = await initSession(plain.url);
    const readme = (await (await json(legacyCall(plain.url, sid, 1, 'resources/read', { uri: 'demo://readme' })))).result;
    assert.match(readme.contents[0].text, /Portcullis demo upstream/);
    const item = (await (await json(legacyCall(plain.url, sid, 2, 'resources/read', { uri: 'demo://items/42' })))).result;
    assert.equal(JSON.parse(item.contents[0].text).id, '42');
    const missing = await (await json(legacyCall(plain.url, sid, 3, 'resources/read', { uri: 'demo://nope' })));
    assert.equal(missing.error.code, -32002);
    const templates = (await (await json(legacyCall(plain.url, sid, 4, 'resources/templates/list')))).result;
    assert.equal(templates.resourceTemplates[0].uriTemplate, 'demo://items/{id}');
    const prompt = (await (await json(legacyCall(plain.url, sid, 5, 'prompts/get', { name: 'greet', arguments: { name: 'Ada' } })))).result;
    assert.match(prompt.messages[0].content.text, /Ada/);
  });
});

describe('demo server, 2026-07-28', () => {
  let srv: DemoServer;
  before(async () => {
    srv = await startDemoServer({});
  });
  after(() => srv.close());

  it('serves a tools/call statelessly with resultType complete and no session', async () => {
    const res = await modernCall(srv.url, 'tools/call', { name: 'echo', arguments: { text: 'modern' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('mcp-session-id'), null);
    const body = await json(res);
    assert.equal(textOf(body.result), 'modern');
    assert.equal(body.result.resultType, 'complete');
  });

  it('answers server/discover with versions, capabilities and cache hints', async () => {
    const r = (await (await json(modernCall(srv.url, 'server/discover')))).result;
    assert.deepEqual(r.supportedVersions, [MODERN]);
    assert.ok(r.capabilities.tools && r.capabilities.resources && r.capabilities.prompts);
    assert.equal(r.serverInfo.name, 'portcullis-demo');
    assert.equal(r.resultType, 'complete');
    assert.ok(Number.isInteger(r.ttlMs) && r.ttlMs >= 0);
    assert.ok(r.cacheScope === 'public' || r.cacheScope === 'private');
  });

  it('rejects header/body mismatches with 400 and -32020', async () => {
    const cases: Array<[string, Record<string, string | null>]> = [
      ['Mcp-Method differs', { 'mcp-method': 'tools/list' }],
      ['Mcp-Name differs', { 'mcp-name': 'add' }],
      ['Mcp-Name missing', { 'mcp-name': null }],
      ['Mcp-Method missing', { 'mcp-method': null }],
      ['MCP-Protocol-Version differs', { 'mcp-protocol-version': '2025-11-25' }],
      ['bad Base64 in Mcp-Name', { 'mcp-name': '=?base64?ZWNo?=' }],
    ];
    for (const [label, headers] of cases) {
      const res = await modernCall(srv.url, 'tools/call', { name: 'echo', arguments: { text: 'x' } }, { headers });
      assert.equal(res.status, 400, label);
      const body = await json(res);
      assert.equal(body.error.code, -32020, label);
      assert.equal(body.id, 1, label);
    }
  });

  it('decodes a Base64-encoded Mcp-Name before comparing', async () => {
    const name = `=?base64?${Buffer.from('echo').toString('base64')}?=`;
    const res = await modernCall(srv.url, 'tools/call', { name: 'echo', arguments: { text: 'b64' } }, { headers: { 'mcp-name': name } });
    assert.equal(res.status, 200);
    assert.equal(textOf((await json(res)).result), 'b64');
  });

  it('maps protocol errors to the statuses the spec requires', async () => {
    const unsupported = await modernCall(srv.url, 'tools/list', {}, { meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }, headers: { 'mcp-protocol-version': '2099-01-01' } });
    assert.equal(unsupported.status, 400);
    const u = await json(unsupported);
    assert.equal(u.error.code, -32022);
    assert.deepEqual(u.error.data, { supported: [MODERN], requested: '2099-01-01' });

    const unknown = await modernCall(srv.url, 'no/such/method');
    assert.equal(unknown.status, 404);
    assert.equal((await json(unknown)).error.code, -32601);

    const legacyOnly = await modernCall(srv.url, 'ping');
    assert.equal(legacyOnly.status, 404);
    await legacyOnly.body?.cancel();

    const noCaps = await modernCall(srv.url, 'tools/list', {}, { meta: { 'io.modelcontextprotocol/clientCapabilities': undefined } });
    assert.equal(noCaps.status, 400);
    assert.equal((await json(noCaps)).error.code, -32602);

    const unknownTool = await (await json(modernCall(srv.url, 'tools/call', { name: 'nope' })));
    assert.equal(unknownTool.error.code, -32602);

    const badArgs = (await (await json(modernCall(srv.url, 'tools/call', { name: 'add', arguments: { a: 'x' } })))).result;
    assert.equal(badArgs.isError, true);

    const notFound = await (await json(modernCall(srv.url, 'resources/read', { uri: 'demo://nope' })));
    assert.equal(notFound.error.code, -32602, '-32002 is retired in 2026-07-28');
  });

  it('refuses GET and DELETE from modern clients with 405', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(srv.url, { method, headers: { 'mcp-protocol-version': MODERN, accept: 'text/event-stream' } });
      assert.equal(res.status, 405, method);
      await res.body?.cancel();
    }
  });

  it('carries cache hints on list and read results', async () => {
    for (const [method, params] of [['tools/list', {}], ['prompts/list', {}], ['resources/list', {}], ['resources/templates/list', {}], ['resources/read', { uri: 'demo://config' }]] as const) {
      const r = (await (await json(modernCall(srv.url, method, params)))).result;
      assert.equal(r.resultType, 'complete', method);
      assert.equal(typeof r.ttlMs, 'number', method);
      assert.equal(r.cacheScope, 'public', method);
    }
  });
});

describe('demo server, bad input', () => {
  let srv: DemoServer;
  before(async () => {
    srv = await startDemoServer({});
  });
  after(() => srv.close());

  it('answers unparsable and malformed bodies with JSON-RPC errors', async () => {
    const parse = await postJson(srv.url, '{"jsonrpc": "2.0", ');
    assert.equal(parse.status, 400);
    assert.equal((await json(parse)).error.code, -32700);

    for (const body of ['42', '"x"', '{"id":1,"method":"ping"}', '{"jsonrpc":"2.0","id":{},"method":"ping"}', '{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}', '[]']) {
      const res = await postJson(srv.url, body);
      assert.equal(res.status, 400, body);
      assert.equal((await json(res)).error.code, -32600, body);
    }
  });

  it('refuses a foreign Origin or Host with 403 and accepts a loopback Origin', async () => {
    const bad = await postJson(srv.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'http://evil.example.com' });
    assert.equal(bad.status, 403);
    await bad.body?.cancel();
    const good = await postJson(srv.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {} } }, { origin: 'http://localhost:5173' });
    assert.equal(good.status, 200);
    await good.body?.cancel();
  });

  it('refuses a wrong Content-Type and unknown paths', async () => {
    const ct = await fetch(srv.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(ct.status, 415);
    await ct.body?.cancel();
    const path = await fetch(srv.url.replace('/mcp', '/other'));
    assert.equal(path.status, 404);
    await path.body?.cancel();
  });
});
