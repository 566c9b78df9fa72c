/**
 * The inspection pipeline end to end through the gateway, against the bundled demo upstream:
 * what a client sees when an inspector blocks, redacts, or meets a message over the buffer limit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { modernCall, sseMessages, startHarness, type Harness } from './support/gateway.ts';
import { FAKE_AWS_KEY } from '../../src/demo/tools.ts';

describe('pipeline through the gateway', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness((c) => {
      c.limits.maxBufferedMessageBytes = 64 * 1024;
      c.routes[0]!.inspectors = [
        { type: 'method-deny', methods: ['tools/call:slow', 'resources/read:demo://config'] },
        { type: 'redact', patterns: [{ name: 'aws-key', regex: 'AKIA[0-9A-Z]{16}' }, { name: 'dog', regex: 'lazy dog' }], replacement: '[REDACTED:{name}]', windowChars: 64 },
      ];
    });
  });
  after(() => h.close());

  test('a denied tool call gets a JSON-RPC error with the reason, and never reaches the upstream', async () => {
    const before = h.demo.stats().requests;
    const { id, res } = await modernCall(h.url, 'tools/call', { name: 'slow', arguments: { ms: 1 } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { id: number; error: { code: number; data: { code: string; reasons: string[] } } };
    assert.equal(body.id, id);
    assert.equal(body.error.code, -31020);
    assert.equal(body.error.data.code, 'blocked');
    assert.deepEqual(body.error.data.reasons, ['policy/method-denied']);
    assert.equal(h.demo.stats().requests, before, 'upstream saw nothing');
  });

  test('a resource read is judged by its uri, even with a decoy name beside it', async () => {
    const before = h.demo.stats().requests;
    for (const params of [{ uri: 'demo://config' }, { name: 'readme', uri: 'demo://config' }]) {
      const { res } = await modernCall(h.url, 'resources/read', params, { 'mcp-name': params.uri });
      const body = (await res.json()) as { error?: { data: { reasons: string[] } } };
      assert.deepEqual(body.error?.data.reasons, ['policy/method-denied'], JSON.stringify(params));
    }
    assert.equal(h.demo.stats().requests, before, 'upstream saw neither');
    const { res } = await modernCall(h.url, 'resources/read', { name: 'config', uri: 'demo://readme' }, { 'mcp-name': 'demo://readme' });
    assert.ok(((await res.json()) as { result?: unknown }).result, 'a decoy name does not block an allowed uri either');
  });

  test('a secret in a tool result is redacted before the client sees it', async () => {
    const { res } = await modernCall(h.url, 'tools/call', { name: 'leak_secret', arguments: {} });
    const text = await res.text();
    assert.ok(!text.includes(FAKE_AWS_KEY), 'the key never reaches the client');
    assert.match(text, /\[REDACTED:aws-key\]/);
    JSON.parse(text);
  });

  test('an oversized result takes the chunk path: streamed, every match redacted, valid JSON', async () => {
    const bytes = 2 * 1024 * 1024;
    const { res } = await modernCall(h.url, 'tools/call', { name: 'big_text', arguments: { bytes } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { result: { content: Array<{ text: string }> } };
    const out = body.result.content[0]!.text;
    assert.doesNotMatch(out, /lazy dog/);
    const line = 'The quick brown fox jumps over the lazy dog. 0123456789\n';
    const whole = Math.floor(bytes / line.length);
    assert.equal(out.split('[REDACTED:dog]').length - 1, whole + (bytes % line.length >= line.indexOf('lazy dog') + 8 ? 1 : 0));
  });

  test('streamed progress passes through event by event with the result last', async () => {
    const { id, res } = await modernCall(h.url, 'tools/call', { name: 'countdown', arguments: { from: 3, intervalMs: 10 }, _meta: { progressToken: 'p' } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const msgs = sseMessages(await res.text());
    assert.deepEqual(msgs.map((m) => m['method'] ?? 'result'), ['notifications/progress', 'notifications/progress', 'notifications/progress', 'result']);
    assert.equal(msgs.at(-1)!['id'], id);
  });
});

describe('an inspector that needs whole messages refuses oversized ones', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness((c) => {
      c.limits.maxBufferedMessageBytes = 16 * 1024;
      c.routes[0]!.inspectors = [{ type: 'method-deny', methods: ['tools/call:nothing'] }];
    }, {}, {
      extraInspectors: [{ name: 'whole', methods: { 'tools/call': 'response' }, needs: 'message', onFailure: 'closed', onMessage: () => ({ kind: 'allow' }) }],
    });
  });
  after(() => h.close());

  test('message_too_large as a JSON-RPC error for the same id', async () => {
    const { id, res } = await modernCall(h.url, 'tools/call', { name: 'big_text', arguments: { bytes: 100_000 } });
    const body = (await res.json()) as { id: number; error: { data: { code: string } } };
    assert.equal(body.id, id);
    assert.equal(body.error.data.code, 'message_too_large');
    // and the gateway still serves
    const ok = await modernCall(h.url, 'tools/call', { name: 'echo', arguments: { text: 'hi' } });
    assert.equal(ok.res.status, 200);
  });
});

describe('2025-03-26 batches through the pipeline', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness((c) => {
      c.routes[0]!.inspectors = [{ type: 'redact', patterns: [{ name: 'aws-key', regex: 'AKIA[0-9A-Z]{16}' }], replacement: '[REDACTED:{name}]', windowChars: 64 }];
    });
  });
  after(() => h.close());

  test('every response of a batch is inspected (no element bypasses the pipeline)', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(h.url, {
      method: 'POST', headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    const session = { ...headers, 'mcp-session-id': sid };
    await (await fetch(h.url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    const res = await fetch(h.url, {
      method: 'POST', headers: session,
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } },
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'leak_secret', arguments: {} } },
      ]),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(!text.includes(FAKE_AWS_KEY), 'the key never reaches the client');
    assert.match(text, /\[REDACTED:aws-key\]/);
    assert.match(text, /hello/);
  });
});
