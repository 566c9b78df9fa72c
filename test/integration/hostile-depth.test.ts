/**
 * Deeply nested JSON, both directions, through a gateway with DLP on and default limits: the
 * red-team reproduction of an upstream answer nested 100,000 deep (~600 KB) pegged the event
 * loop for tens of seconds and then exhausted the heap (the process died with every client). A
 * message may nest 64 levels (codec/jsonrpc.ts MAX_JSON_DEPTH); deeper is refused at once with a
 * table error, and the gateway keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDlpInspector } from '../../src/inspectors/dlp.ts';
import { expectGatewayError, parseJson, post, startStack, type Stack } from './support/hostile-harness.ts';
import { scripted, startHostileUpstream, type HostileUpstream } from './support/hostile-upstream.ts';

const DEPTH = 100_000;
const dlp = createDlpInspector({ families: ['secret', 'pii', 'marker'], minConfidence: 0.5, actions: { default: 'redact', families: {}, types: {} }, direction: 'both', crossEventHoldMs: 50 });

describe('deeply nested JSON with DLP on', () => {
  let up: HostileUpstream;
  let s: Stack;
  before(async () => {
    up = await startHostileUpstream();
    s = await startStack({ upstream: up.url, extraInspectors: [dlp] });
  });
  after(async () => {
    await s.close();
    await up.close();
  });

  it('a request nested 100,000 deep → 400 / -32600 invalid_request at once; nothing reaches the upstream', async () => {
    const seen = up.seen.length;
    const started = Date.now();
    const body = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ok","arguments":{"x":${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}}}}`;
    const r = await post(s.port, body, { 'mcp-protocol-version': '2025-11-25' });
    expectGatewayError(r, 'invalid_request', null);
    assert.match(parseJson(r).error.message + JSON.stringify(parseJson(r).error.data ?? {}), /deeper than 64/);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.equal(up.seen.length, seen);
  });

  it('an upstream answer nested 100,000 deep → 502 / -31032 upstream_protocol at once, JSON and SSE', async () => {
    for (const sse of [false, true]) {
      const started = Date.now();
      const { body, headers } = scripted('deep', 6, { depth: DEPTH, sse });
      const r = await post(s.port, body, headers);
      if (sse) assert.match(r.text, /upstream_protocol/);
      else expectGatewayError(r, 'upstream_protocol', 6);
      assert.ok(Date.now() - started < 2000, `sse=${sse}: took ${Date.now() - started} ms`);
    }
  });

  it('the gateway still serves afterwards', async () => {
    const { body, headers } = scripted('ok', 7, { text: 'alive' });
    const r = await post(s.port, body, headers);
    assert.equal(parseJson(r).id, 7);
  });
});
