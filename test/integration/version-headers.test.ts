/**
 * MCP-Protocol-Version on every legacy request after initialize, and what -32022 advertises.
 *
 * 2025-06-18 and 2025-11-25 transports: "the client MUST include the MCP-Protocol-Version header
 * on all subsequent requests … If the server receives a request with an invalid or unsupported
 * MCP-Protocol-Version, it MUST respond with 400 Bad Request." Subsequent requests include the GET
 * stream (and its resumption) and DELETE, not only POST. The gateway serves both eras, so the
 * UnsupportedProtocolVersionError's `data.supported` lists every version it serves
 * (basic/versioning's own example: `["2026-07-28", "2025-11-25"]`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERRORS } from '../../src/core/errors.ts';
import { initSession, legacyCall, modernCall, responseOf, textOf, type Loose } from '../../src/demo/testkit.ts';
import { MODERN_VERSIONS, SUPPORTED_VERSIONS } from '../../src/transport/modern.ts';
import { startHarness, type Harness } from './support/gateway.ts';

const BAD = ['bogus', '2025-11-26', '1900-01-01', '2026-07-28; x'];

async function expectUnsupported(res: Response, requested: string, label: string, supported: readonly string[] = SUPPORTED_VERSIONS): Promise<void> {
  assert.equal(res.status, 400, `${label}: HTTP status`);
  const body = (await res.json()) as Loose;
  assert.equal(body.error?.code, ERRORS.unsupported_protocol_version.rpc, `${label}: JSON-RPC code`);
  assert.equal(body.error?.data?.code, 'unsupported_protocol_version', label);
  assert.deepEqual(body.error?.data?.supported, [...supported], `${label}: data.supported`);
  assert.equal(body.error?.data?.requested, requested, `${label}: data.requested`);
}

describe('MCP-Protocol-Version on GET and DELETE', () => {
  let h: Harness;
  let sid: string;
  before(async () => {
    h = await startHarness();
    sid = await initSession(h.url);
  });
  after(() => h.close());

  const get = (version: string | undefined, extra: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(h.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-session-id': sid, ...(version !== undefined ? { 'mcp-protocol-version': version } : {}), ...extra },
      signal,
    });
  const del = (version: string | undefined, session = sid) =>
    fetch(h.url, { method: 'DELETE', headers: { 'mcp-session-id': session, ...(version !== undefined ? { 'mcp-protocol-version': version } : {}) } });

  it('GET with an invalid or unsupported version → 400 / -32022 listing every served version', async () => {
    for (const v of BAD) await expectUnsupported(await get(v), v, `GET ${v}`);
    // Checked before the session and the resumption id: no stream is opened or looked up.
    await expectUnsupported(await get('bogus', { 'mcp-session-id': 'no-such-session' }), 'bogus', 'GET unknown session');
    await expectUnsupported(await get('bogus', { 'last-event-id': 'g0.3' }), 'bogus', 'GET resumption');
  });

  it('GET with a served version (or none) still opens the standalone stream', async () => {
    for (const v of ['2025-11-25', undefined]) {
      const ac = new AbortController();
      // A session of its own each: the upstream allows one standalone stream per session.
      const res = await get(v, { 'mcp-session-id': await initSession(h.url) }, ac.signal);
      assert.equal(res.status, 200, `GET ${v}`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      ac.abort();
      await res.body?.cancel().catch(() => {});
    }
  });

  it('DELETE with an invalid or unsupported version → 400 / -32022, and the session survives', async () => {
    for (const v of BAD) await expectUnsupported(await del(v), v, `DELETE ${v}`);
    await expectUnsupported(await del('bogus', 'no-such-session'), 'bogus', 'DELETE unknown session');
    const call = await responseOf(await legacyCall(h.url, sid, 7, 'tools/call', { name: 'echo', arguments: { text: 'still here' } }));
    assert.equal(textOf((call as Loose).result), 'still here');
  });

  it('DELETE with a served version ends the session', async () => {
    const other = await initSession(h.url);
    const res = await del('2025-11-25', other);
    assert.ok(res.status < 300, `DELETE: ${res.status}`);
    const after = await legacyCall(h.url, other, 8, 'tools/list');
    assert.equal(after.status, 404);
  });
});

describe('-32022 data.supported lists both eras', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('a modern request naming an unknown version', async () => {
    const res = await modernCall(h.url, 'tools/list', {}, { meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }, headers: { 'mcp-protocol-version': '2099-01-01' } });
    // Only what server/discover reports (conformance sep-2575): the modern versions.
    await expectUnsupported(res, '2099-01-01', 'modern body version', MODERN_VERSIONS);
  });

  it('a legacy POST with an unsupported header', async () => {
    const sid = await initSession(h.url);
    const res = await fetch(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': 'bogus' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    await expectUnsupported(res, 'bogus', 'legacy POST header');
  });
});
