/**
 * Hostile client input at the listener and POST stages: every malformed request gets the exact
 * refusal from the error table (HTTP status, JSON-RPC code, data.code), never a crash or a 5xx,
 * and the gateway keeps serving normal traffic afterwards.
 *
 * Spec anchors: JSON-RPC 2.0 §5.1 (-32700 / -32600, "[]" is an Invalid Request) and §6; MCP
 * 2025-11-25 / 2026-07-28 streamable-http "Sending Messages to the Server" (Content-Type, Accept,
 * 400 for an unaccepted message); RFC 9110 §15.5.6 (405 carries Allow), §15.5.14 (413),
 * RFC 6585 §5 (431).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCEPT,
  RawConnection,
  assertServes,
  expectGatewayError,
  modernEcho,
  post,
  raw,
  send,
  startStack,
  type Stack,
} from './support/hostile-harness.ts';
import { textOf } from '../../src/demo/testkit.ts';

const BODY_LIMIT = 2048;

describe('hostile input: body shape', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ limits: { maxBodyBytes: BODY_LIMIT } });
  });
  after(() => s.close());

  it('malformed JSON → 400 / -32700 parse_error, id null, no body echo', async () => {
    const cases = [
      '{"jsonrpc":',
      '{"jsonrpc":"2.0","id":1,"method":"tools/list",}',
      "{'jsonrpc':'2.0'}",
      '\u00ef\u00bb\u00bf{}', // mojibake BOM
      '{"jsonrpc":"2.0","id":1,"method":"x","params":{"token":"sk-LEAKME-1234567890"',
      '',
      '   ',
    ];
    for (const body of cases) {
      const r = await post(s.port, body);
      const msg = expectGatewayError(r, 'parse_error', null, `body ${JSON.stringify(body)}`);
      // The reason never quotes the body (it may hold a secret): position only.
      assert.doesNotMatch(msg.error.message, /LEAKME/, 'parse error must not echo request data');
    }
    await assertServes(s.port);
  });

  it('valid JSON that is not JSON-RPC → 400 / -32600 invalid_request, id echoed only when valid', async () => {
    const cases: Array<[unknown, string | number | null]> = [
      [{ hello: 'world' }, null],
      ['just a string', null],
      [42, null],
      [null, null],
      [true, null],
      [{ jsonrpc: '1.0', id: 7, method: 'tools/list' }, 7],
      [{ jsonrpc: '2.0', id: 8, method: 42 }, 8],
      [{ jsonrpc: '2.0', id: 9, method: '' }, 9],
      [{ jsonrpc: '2.0', id: 'a', method: 'tools/list', params: [1, 2] }, 'a'],
      [{ jsonrpc: '2.0', id: { nested: 1 }, method: 'tools/list' }, null],
      [{ jsonrpc: '2.0', id: null, method: 'tools/list' }, null],
      [{ jsonrpc: '2.0', id: 2 ** 60, method: 'tools/list' }, null],
      [{ jsonrpc: '2.0', id: 1.5, method: 'tools/list' }, null],
      [{ jsonrpc: '2.0', id: 10, result: {}, error: { code: 1, message: 'x' } }, 10],
      [{ jsonrpc: '2.0', id: 11 }, 11],
    ];
    for (const [body, id] of cases) {
      const r = await post(s.port, JSON.stringify(body));
      expectGatewayError(r, 'invalid_request', id, `body ${JSON.stringify(body)}`);
    }
    await assertServes(s.port);
  });

  it('empty batch [] → 400 / -32600 invalid_request (JSON-RPC 2.0 §6: "rpc call with an empty Array")', async () => {
    const r = await post(s.port, '[]');
    expectGatewayError(r, 'invalid_request', null, 'empty batch');
    await assertServes(s.port);
  });

  it('malformed batches → 400 / -32600; batches after 2025-03-26 → 400 / -31012', async () => {
    expectGatewayError(await post(s.port, '[1]'), 'invalid_request', null, 'batch of a number');
    expectGatewayError(await post(s.port, '[{"jsonrpc":"2.0","id":1,"method":"tools/list"}, {"nope":1}]'), 'invalid_request', null, 'batch with a bad element');
    expectGatewayError(
      await post(s.port, JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {} } }])),
      'invalid_request',
      null,
      'initialize inside a batch',
    );
    expectGatewayError(
      await post(s.port, JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }]), { 'mcp-protocol-version': '2025-11-25' }),
      'batch_not_allowed',
      null,
      'batch on 2025-11-25',
    );
    await assertServes(s.port);
  });
});

describe('hostile input: content negotiation', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

  it('wrong or missing Content-Type → 415 / -31003 unsupported_media_type', async () => {
    for (const ct of ['text/plain', 'application/jsonx', 'application/json-seq', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'json', undefined]) {
      const headers: Record<string, string> = { accept: ACCEPT };
      if (ct !== undefined) headers['content-type'] = ct;
      const r = await send(s.port, { body: ping, headers });
      expectGatewayError(r, 'unsupported_media_type', null, `content-type ${ct}`);
    }
    await assertServes(s.port);
  });

  it('Content-Type parameters and case are accepted (RFC 9110 §8.3.1)', async () => {
    const { body, headers } = modernEcho('typed');
    const r = await send(s.port, { body: JSON.stringify(body), headers: { ...headers, 'content-type': 'Application/JSON; charset=utf-8', accept: ACCEPT } });
    assert.equal(r.status, 200, r.text);
    assert.equal(textOf(JSON.parse(r.text).result), 'typed');
  });

  it('missing or insufficient Accept → 406 / -31004 not_acceptable', async () => {
    for (const accept of [undefined, 'application/json', 'text/event-stream', 'text/html', '']) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (accept !== undefined) headers['accept'] = accept;
      const r = await send(s.port, { body: ping, headers });
      expectGatewayError(r, 'not_acceptable', null, `accept ${JSON.stringify(accept)}`);
    }
    await assertServes(s.port);
  });
});

describe('hostile input: sizes', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ limits: { maxBodyBytes: BODY_LIMIT, maxHeaderBytes: 8 * 1024 } });
  });
  after(() => s.close());

  const head = (port: number, extra: string) =>
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: ${ACCEPT}\r\n${extra}\r\n`;
  const oversized = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x'.repeat(BODY_LIMIT) } } });

  it('oversized body with an honest Content-Length → 413 / -31005 body_too_large', async () => {
    expectGatewayError(await post(s.port, oversized), 'body_too_large');
    await assertServes(s.port);
  });

  it('a body of exactly the limit is read (the limit is inclusive)', async () => {
    const { body, headers } = modernEcho('');
    const pad = BODY_LIMIT - JSON.stringify(body).length;
    body.params.arguments.text = 'p'.repeat(pad);
    const text = JSON.stringify(body);
    assert.equal(text.length, BODY_LIMIT);
    const r = await post(s.port, text, headers);
    assert.equal(r.status, 200, r.text);
    assert.equal(textOf(JSON.parse(r.text).result).length, pad);
  });

  it('oversized chunked body (no Content-Length) → 413 / -31005', async () => {
    const r = await send(s.port, {
      headers: { 'content-type': 'application/json', accept: ACCEPT },
      chunks: [oversized.slice(0, 1000), oversized.slice(1000, 2000), oversized.slice(2000)],
    });
    expectGatewayError(r, 'body_too_large');
    await assertServes(s.port);
  });

  it('lying Content-Length (declares 1 TB, sends a few bytes, stalls) → 413 at once', async () => {
    const r = await raw(s.port, [head(s.port, 'Content-Length: 1000000000000\r\n') + '{"jsonrpc":"2.0"']);
    expectGatewayError(r, 'body_too_large');
    await assertServes(s.port);
  });

  it('lying Content-Length (declares less than it sends) → only the declared bytes are the body', async () => {
    const c = new RawConnection(s.port);
    try {
      await c.connected;
      // 6 declared bytes of an over-limit stream: the body is '{"a":1' (bad JSON), never more.
      await c.write(head(s.port, 'Content-Length: 6\r\n') + '{"a":1');
      expectGatewayError(await c.response(), 'parse_error', null, 'the declared 6 bytes');
      // The excess arrives as the "next request" on the connection: not HTTP, refused by the parser.
      await c.write('x'.repeat(BODY_LIMIT * 2) + '\r\n\r\n');
      const second = await c.response();
      assert.equal(second.status, 400, 'the excess is not a request');
      await c.closedByServer();
    } finally {
      c.destroy();
    }
    await assertServes(s.port);
  });

  it('after refusing an oversized body the gateway stops reading it (closes the connection)', async () => {
    // A 413 on a keep-alive connection that then drains the rest lets a client stream an
    // unbounded body into the gateway; RFC 9110 §15.5.14: the server MAY close the connection.
    const c = new RawConnection(s.port);
    let stop = false;
    let sent = 0;
    try {
      await c.connected;
      await c.write(head(s.port, 'Transfer-Encoding: chunked\r\n'));
      const pump = (async () => {
        while (!stop && sent < 64 * 1024 * 1024) {
          if (!(await c.write(`400\r\n${'x'.repeat(1024)}\r\n`))) return;
          sent += 1024;
        }
      })();
      expectGatewayError(await c.response(), 'body_too_large', null, 'endless chunked body');
      // Bounded: the pump stops at 64 MiB; a gateway that keeps draining never closes before that.
      await Promise.race([c.closedByServer(), pump]);
      stop = true;
      await pump;
      assert.ok(c.isClosed, `the gateway kept reading the refused body (${(sent / 1048576).toFixed(0)} MiB accepted after the 413)`);
    } finally {
      stop = true;
      c.destroy();
    }
    await assertServes(s.port);
  });

  it('a refused request with a huge declared body does not keep the connection draining it', async () => {
    const c = new RawConnection(s.port);
    try {
      await c.connected;
      await c.write(head(s.port, 'Content-Length: 1000000000000\r\n') + '{"jsonrpc"');
      const r = await c.response();
      expectGatewayError(r, 'body_too_large');
      assert.equal(r.headers['connection'], 'close', 'a 413 that leaves the body unread must close the connection');
    } finally {
      c.destroy();
    }
  });

  it('oversized request headers → 431 (or 400 from the HTTP parser), then still serving', async () => {
    const r = await raw(s.port, [head(s.port, `X-Flood: ${'a'.repeat(16 * 1024)}\r\nContent-Length: 2\r\n`) + '{}']);
    assert.ok(r.status === 431 || r.status === 400, `status ${r.status}`);
    // Many small headers add up the same way.
    const many = Array.from({ length: 600 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
    const r2 = await raw(s.port, [head(s.port, `${many}Content-Length: 2\r\n`) + '{}']);
    assert.ok(r2.status === 431 || r2.status === 400, `status ${r2.status}`);
    await assertServes(s.port);
  });

  it('Content-Length together with Transfer-Encoding (smuggling shape) → 400, connection closed', async () => {
    const r = await raw(s.port, [head(s.port, 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n') + '0\r\n\r\n']);
    assert.equal(r.status, 400);
    const r2 = await raw(s.port, [head(s.port, 'Content-Length: 4\r\nContent-Length: 5\r\n') + '{}{}{']);
    assert.equal(r2.status, 400);
    const r3 = await raw(s.port, [head(s.port, 'Content-Length: abc\r\n') + '{}']);
    assert.equal(r3.status, 400);
    await assertServes(s.port);
  });

  it('a malformed pipelined request never injects bytes into the response in flight', async () => {
    // countdown streams for a while: its SSE response is mid-body when the garbage arrives.
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'countdown',
        arguments: { from: 3, intervalMs: 100 },
        _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, progressToken: 'p' },
      },
    });
    const c = new RawConnection(s.port);
    try {
      await c.connected;
      await c.write(
        head(s.port, `MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: countdown\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`) + body,
      );
      // Wait until the SSE response has started, then send a line that is not HTTP.
      await new Promise<void>((resolve) => {
        const check = () => (c.socket.bytesRead > 0 ? resolve() : setTimeout(check, 10));
        check();
      });
      await c.write('NOT HTTP AT ALL\r\n\r\n');
      await c.closedByServer();
      const wire = c.unread.toString('latin1');
      const statusLines = wire.match(/HTTP\/1\.1 \d{3}/g) ?? [];
      assert.deepEqual(statusLines, ['HTTP/1.1 200'], `a second status line was written inside the SSE body: ${JSON.stringify(wire.slice(0, 600))}`);
    } finally {
      c.destroy();
    }
    await assertServes(s.port);
  });
});

describe('hostile input: methods and paths', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('unknown paths → 404 / -31007 not_found', async () => {
    for (const path of ['/', '/nope', '/MCP', '/mcp/extra', '//mcp', '/mcp%2f', '/%2e%2e/mcp', '/admin/../mcp', '*']) {
      const r = await send(s.port, { path, body: '{}', headers: { 'content-type': 'application/json', accept: ACCEPT } });
      expectGatewayError(r, 'not_found', null, `path ${path}`);
    }
    await assertServes(s.port);
  });

  it('a query string and a trailing slash still reach the route', async () => {
    for (const path of ['/mcp?x=1', '/mcp/']) {
      const { body, headers } = modernEcho(path);
      const r = await send(s.port, { path, body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json', accept: ACCEPT } });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.equal(textOf(JSON.parse(r.text).result), path);
    }
  });

  it('PUT, PATCH, OPTIONS, TRACE → 405 / -31006 with Allow: GET, POST, DELETE', async () => {
    for (const method of ['PUT', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
      const r = await send(s.port, { method, body: method === 'TRACE' ? undefined : '{}', headers: { 'content-type': 'application/json' } });
      expectGatewayError(r, 'method_not_allowed', null, method);
      assert.equal(r.headers['allow'], 'GET, POST, DELETE', `${method}: Allow`);
    }
    await assertServes(s.port);
  });

  it('HEAD → 405 with Allow and no body', async () => {
    const r = await send(s.port, { method: 'HEAD' });
    assert.equal(r.status, 405);
    assert.equal(r.headers['allow'], 'GET, POST, DELETE');
    assert.equal(r.text, '');
  });
});
