/**
 * 2026-07-28 envelope and header validation at the gateway, against hostile clients.
 *
 * streamable-http "Server validation": a request whose standard headers (MCP-Protocol-Version,
 * Mcp-Method, Mcp-Name) disagree with its body is refused with 400 and -32020 HeaderMismatch;
 * "Value encoding": `=?base64?…?=` values are decoded before comparing, and a client MUST encode
 * any value that itself looks like the sentinel. basic/index "Per-request protocol fields":
 * missing `_meta` fields are -32602; an unsupported version is -32022 with `data.supported`.
 * 2025-06-18 transports: an invalid or unsupported MCP-Protocol-Version MUST get 400.
 *
 * Every refusal is the gateway's own (data.code present: the demo upstream never sets one), so
 * these prove the gateway decides before the upstream sees anything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { textOf } from '../../src/demo/testkit.ts';
import { MODERN_VERSIONS, SUPPORTED_VERSIONS } from '../../src/transport/modern.ts';
import { assertServes, expectGatewayError, modernEcho, post, startStack, type Loose, type Stack } from './support/hostile-harness.ts';
import { startHostileUpstream, type HostileUpstream } from './support/hostile-upstream.ts';

const V = 'io.modelcontextprotocol/protocolVersion';
const CAPS = 'io.modelcontextprotocol/clientCapabilities';
const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

/** A modern request body for `method` with `params` and a full `_meta`, plus matching headers. */
function modern(method: string, params: Loose = {}, id: number | string = 5): { body: Loose; headers: Record<string, string> } {
  const body = { jsonrpc: '2.0', id, method, params: { ...params, _meta: { [V]: '2026-07-28', [CAPS]: {} } } };
  const headers: Record<string, string> = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method };
  const name = method === 'resources/read' ? params.uri : params.name;
  if (typeof name === 'string') headers['mcp-name'] = name;
  return { body, headers };
}

function without(h: Record<string, string>, name: string): Record<string, string> {
  const copy = { ...h };
  delete copy[name];
  return copy;
}

describe('hostile 2026-07-28 requests (demo upstream)', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('header/body mismatches → 400 / -32020 header_mismatch with the request id', async () => {
    const call = modern('tools/call', { name: 'echo', arguments: { text: 'x' } }, 'req-1');
    const cases: Array<[string, Record<string, string>]> = [
      ['Mcp-Method differs', { ...call.headers, 'mcp-method': 'tools/list' }],
      ['Mcp-Method differs by case', { ...call.headers, 'mcp-method': 'TOOLS/CALL' }],
      ['Mcp-Method missing', without(call.headers, 'mcp-method')],
      ['Mcp-Name differs', { ...call.headers, 'mcp-name': 'add' }],
      ['Mcp-Name missing', without(call.headers, 'mcp-name')],
      ['Mcp-Name sentinel of another name', { ...call.headers, 'mcp-name': b64('add') }],
      ['Mcp-Name sentinel with a truncated payload', { ...call.headers, 'mcp-name': '=?base64?ZWNo?=' }],
      ['Mcp-Name sentinel with bytes outside the alphabet', { ...call.headers, 'mcp-name': '=?base64?ZW*obw==?=' }],
      ['Mcp-Name sentinel with uppercase markers (not a sentinel)', { ...call.headers, 'mcp-name': '=?BASE64?ZWNobw==?=' }],
      ['MCP-Protocol-Version differs from _meta', { ...call.headers, 'mcp-protocol-version': '2025-11-25' }],
      ['MCP-Protocol-Version missing', without(call.headers, 'mcp-protocol-version')],
    ];
    for (const [label, headers] of cases) {
      expectGatewayError(await post(s.port, call.body, headers), 'header_mismatch', 'req-1', label);
    }
    const read = modern('resources/read', { uri: 'demo://readme' }, 6);
    expectGatewayError(await post(s.port, read.body, { ...read.headers, 'mcp-name': 'demo://config' }), 'header_mismatch', 6, 'resources/read uri differs');
    const prompt = modern('prompts/get', { name: 'greet', arguments: { name: 'a' } }, 7);
    expectGatewayError(await post(s.port, prompt.body, without(prompt.headers, 'mcp-name')), 'header_mismatch', 7, 'prompts/get Mcp-Name missing');
    await assertServes(s.port);
  });

  it('Mcp-Name as a correct base64 sentinel is accepted (tools/call and resources/read)', async () => {
    const call = modern('tools/call', { name: 'echo', arguments: { text: 'via sentinel' } });
    const r = await post(s.port, call.body, { ...call.headers, 'mcp-name': b64('echo') });
    assert.equal(r.status, 200, r.text);
    assert.equal(textOf(JSON.parse(r.text).result), 'via sentinel');

    const read = modern('resources/read', { uri: 'demo://readme' });
    const rr = await post(s.port, read.body, { ...read.headers, 'mcp-name': b64('demo://readme') });
    assert.equal(rr.status, 200, rr.text);
    assert.equal(JSON.parse(rr.text).result.contents[0].uri, 'demo://readme');
  });

  it('missing _meta fields → 400 / -32602 invalid_params', async () => {
    const h = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' };
    const cases: Array<[string, Loose]> = [
      ['no params at all', { jsonrpc: '2.0', id: 1, method: 'tools/list' }],
      ['no _meta', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }],
      ['_meta without protocolVersion', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { [CAPS]: {} } } }],
      ['_meta protocolVersion not a string', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { [V]: 20260728, [CAPS]: {} } } }],
      ['_meta without clientCapabilities', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { [V]: '2026-07-28' } } }],
      ['clientCapabilities is an array', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { [V]: '2026-07-28', [CAPS]: [] } } }],
      ['clientCapabilities is null', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { [V]: '2026-07-28', [CAPS]: null } } }],
      ['_meta is a string', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: 'x' } }],
    ];
    for (const [label, body] of cases) {
      expectGatewayError(await post(s.port, body, h), 'invalid_params', 1, label);
    }
    await assertServes(s.port);
  });

  it('unsupported modern version → 400 / -32022 with data.supported', async () => {
    for (const version of ['2099-01-01', '2026-07-29', '2026-07-28T00:00:00Z', 'x'.repeat(500)]) {
      const body = { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { [V]: version, [CAPS]: {} } } };
      const r = await post(s.port, body, { 'mcp-protocol-version': version, 'mcp-method': 'tools/list' });
      const msg = expectGatewayError(r, 'unsupported_protocol_version', 3, `version ${version.slice(0, 20)}`);
      assert.deepEqual(msg.error.data.supported, [...MODERN_VERSIONS]);
    }
    await assertServes(s.port);
  });

  it('unsupported MCP-Protocol-Version header on a 2025-era request → 400 / -32022 with data.supported', async () => {
    for (const version of ['1999-01-01', '2025-13-45', '2024-10-07']) {
      const r = await post(s.port, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'mcp-protocol-version': version });
      const msg = expectGatewayError(r, 'unsupported_protocol_version', 4, `header ${version}`);
      assert.deepEqual(msg.error.data.supported, [...SUPPORTED_VERSIONS]);
    }
  });

  it('a garbage MCP-Protocol-Version header is an unsupported version, not a 2026 request missing _meta', async () => {
    // isModernVersion compares strings: "bogus" >= "2026-07-28", so the gateway takes a legacy
    // request with a garbage header for a 2026-era one and complains about _meta.
    for (const version of ['bogus', 'latest', '9']) {
      const r = await post(s.port, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'mcp-protocol-version': version });
      expectGatewayError(r, 'unsupported_protocol_version', 4, `header ${version}`);
    }
  });

  it('a 2026 notification without _meta → 400 / -32602', async () => {
    const r = await post(s.port, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'notifications/cancelled' });
    expectGatewayError(r, 'invalid_params', null, 'notification');
  });

  it('a 2026 request inside a batch → 400 / -31012 batch_not_allowed', async () => {
    const { body, headers } = modernEcho('batched');
    expectGatewayError(await post(s.port, [body], headers), 'batch_not_allowed');
    await assertServes(s.port);
  });
});

describe('hostile 2026-07-28 requests: names beyond ASCII (recording upstream)', () => {
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

  it('a non-ASCII tool name mirrored as a base64 sentinel is accepted and forwarded unchanged', async () => {
    const name = 'café ☕ 東京';
    const call = modern('tools/call', { name, arguments: {} }, 21);
    const r = await post(s.port, call.body, { ...call.headers, 'mcp-name': b64(name) });
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).id, 21);
    const seen = up.seen.at(-1);
    assert.equal(seen?.headers['mcp-name'], b64(name), 'the upstream gets the encoded header as sent');
    assert.equal(JSON.parse(seen?.body ?? '{}').params.name, name);
  });

  it('a name that itself looks like the sentinel must be sent encoded: the literal form is a mismatch', async () => {
    const literal = b64('echo');
    const call = modern('tools/call', { name: literal, arguments: {} }, 22);
    const before = up.seen.length;
    expectGatewayError(await post(s.port, call.body, { ...call.headers, 'mcp-name': literal }), 'header_mismatch', 22, 'literal sentinel');
    assert.equal(up.seen.length, before, 'a refused request never reaches the upstream');
    const ok = await post(s.port, call.body, { ...call.headers, 'mcp-name': b64(literal) });
    assert.equal(ok.status, 200, ok.text);
  });

  it('a name with surrounding whitespace matches only through the sentinel', async () => {
    const call = modern('tools/call', { name: ' padded ', arguments: {} }, 23);
    // Node strips optional whitespace around header values (RFC 9110 §5.5), so plain cannot match.
    expectGatewayError(await post(s.port, call.body, { ...call.headers, 'mcp-name': ' padded ' }), 'header_mismatch', 23, 'plain padded');
    const ok = await post(s.port, call.body, { ...call.headers, 'mcp-name': b64(' padded ') });
    assert.equal(ok.status, 200, ok.text);
  });
});
