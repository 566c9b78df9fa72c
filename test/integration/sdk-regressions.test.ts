/**
 * Regression tests for gateway defects found with real SDK clients and servers, each pinned by
 * the behaviour a user should get (all fixed; letters match the commit that fixed them).
 *
 *  A  2026: redaction rewrites the body but not the mirrored `Mcp-Param-*` / `Mcp-Name` headers:
 *     the secret still reaches the upstream (in the header) and the upstream refuses the request
 *     (400, -32020 HeaderMismatch).
 *  B  redaction rewrites opaque protocol fields (here MRTR `requestState`), breaking the flow.
 *  C  2025: the gateway forwards an initialize that negotiates 2024-11-05, then refuses every
 *     request of that session with 400 -32022.
 *  F  GET answered by the upstream with a non-200 status (405 from any stateless server) becomes
 *     500 "Internal gateway error": every SDK client reports an SSE error on connect.
 *  G  after a client drops its standalone GET stream, the gateway keeps the upstream GET open, so
 *     the client cannot open a new standalone stream (the upstream answers 409).
 *  H  `timeouts.requestMs` firing mid-SSE stops the relay but leaves the client's stream open with
 *     no error: calls hang until the client's own timeout, and 2026 `subscriptions/listen` streams
 *     silently stop delivering while keep-alives make them look alive.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { startGateway } from '../../src/gateway.ts';
import { quickConfig } from '../../src/config/quick.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { POLICY_INSPECTORS, startTestGateway } from './support/sdk-gateway.ts';
import { rawInitialize, rpcId } from './support/sdk-raw.ts';
import { startV1Upstream } from './support/sdk-v1-upstream.ts';
import { startV2Upstream } from './support/sdk-v2-upstream.ts';
import { tempDataDir } from '../support/data-dir.ts';

const KEY = 'AKIAABCDEFGHIJKLMNOP';
const pinned = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

describe('A: 2026 redaction and the mirrored request headers', () => {
  it('a redacted tool argument mirrored into Mcp-Param-* never reaches the upstream raw', async () => {
    const upstream = await startV2Upstream();
    const gw = await startTestGateway(upstream.url, POLICY_INSPECTORS);
    const client = new V2Client({ name: 'bug-a', version: '1' }, pinned);
    try {
      await client.connect(new V2Transport(gw.mcpUrl));
      await client.listTools(); // lets the client learn the x-mcp-header annotation
      let outcome: string;
      try {
        outcome = textOf(await client.callTool({ name: 'lookup', arguments: { account: KEY } }));
      } catch (err) {
        outcome = `error: ${(err as Error).message}`;
      }
      const leaked = upstream.probe.headers.filter((h) => Object.values(h).some((v) => v.includes(KEY)));
      assert.deepEqual(leaked, [], 'no upstream request carried the raw key in an MCP header');
      assert.equal(outcome, 'account [REDACTED:aws-key]');
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });

  it('a redacted resource URI never reaches the upstream raw in Mcp-Name', async () => {
    const upstream = await startV2Upstream();
    const gw = await startTestGateway(upstream.url, POLICY_INSPECTORS);
    const client = new V2Client({ name: 'bug-a', version: '1' }, pinned);
    try {
      await client.connect(new V2Transport(gw.mcpUrl));
      let code: number | undefined;
      try {
        await client.readResource({ uri: `memo://notes/${KEY}` });
      } catch (err) {
        code = (err as { code?: number }).code;
      }
      const leaked = upstream.probe.headers.filter((h) => Object.values(h).some((v) => v.includes(KEY)));
      assert.deepEqual(leaked, [], 'no upstream request carried the raw key in Mcp-Name');
      assert.notEqual(code, -32020, 'the upstream did not refuse a header/body mismatch the gateway created');
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });
});

describe('B: redaction of opaque protocol fields', () => {
  it('a high-entropy-token redact rule does not break a signed MRTR requestState', async () => {
    const upstream = await startV2Upstream({ signedState: true });
    const gw = await startTestGateway(upstream.url, [{ type: 'redact', patterns: [{ name: 'token', regex: '[A-Za-z0-9_-]{40,}' }] }]);
    const client = new V2Client({ name: 'bug-b', version: '1' }, { ...pinned, capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { reason: 'ok' } }));
    try {
      await client.connect(new V2Transport(gw.mcpUrl));
      const r = await client.callTool({ name: 'confirm', arguments: { action: 'deploy' } });
      assert.equal(textOf(r), 'deploy confirmed because ok (state signed:deploy)');
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });
});

describe('C: 2024-11-05 negotiated through the gateway', () => {
  it('a session the gateway let initialize is then served', async () => {
    const upstream = await startV1Upstream({ jsonResponse: true });
    const gw = await startTestGateway(upstream.url);
    try {
      const init = await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: rpcId(),
          method: 'initialize',
          params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'bug-c', version: '1' } },
        }),
      });
      const initBody = (await init.json()) as { result?: { protocolVersion?: string } };
      // Refusing the handshake up front would also be consistent; accepting it commits to serving it.
      if (init.status !== 200 || initBody.result === undefined) return;
      assert.equal(initBody.result.protocolVersion, '2024-11-05');
      const headers = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': init.headers.get('mcp-session-id') ?? '',
        'mcp-protocol-version': '2024-11-05',
      };
      const ack = await fetch(gw.mcpUrl, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      await ack.body?.cancel();
      assert.equal(ack.status, 202);
      const res = await fetch(gw.mcpUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: rpcId(), method: 'tools/call', params: { name: 'echo', arguments: { text: 'old' } } }),
      });
      const body = (await res.json()) as { result?: { content: Array<{ text: string }> } };
      assert.equal(res.status, 200);
      assert.equal(body.result?.content[0]?.text, 'echo: old');
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('F: non-200 answers to the standalone GET', () => {
  it('a 2025 client against a stateless upstream connects without stream errors', async () => {
    const upstream = await startV2Upstream({ legacy: 'stateless' });
    const gw = await startTestGateway(upstream.url);
    const client = new V1Client({ name: 'bug-f', version: '1' });
    const errors: string[] = [];
    client.onerror = (e) => errors.push(e.message);
    try {
      await client.connect(new V1Transport(gw.mcpUrl));
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'echo: hi');
      const get = await fetch(gw.mcpUrl, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25' } });
      await get.body?.cancel();
      assert.equal(get.status, 405, "the upstream's 405 is passed through");
      assert.deepEqual(errors, []);
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });
});

describe('G: re-opening the standalone GET stream', () => {
  it('a client whose GET stream dropped can open a new one', async () => {
    const upstream = await startV1Upstream({});
    const gw = await startTestGateway(upstream.url);
    try {
      const s = await rawInitialize(gw.mcpUrl);
      const headers = { accept: 'text/event-stream', 'mcp-session-id': s.sessionId, 'mcp-protocol-version': s.protocolVersion };
      const ac = new AbortController();
      const first = await fetch(gw.mcpUrl, { method: 'GET', headers, signal: ac.signal });
      assert.equal(first.status, 200);
      ac.abort();
      // Give the disconnect a few chances to propagate; never a fixed wait.
      let status = 0;
      for (let i = 0; i < 20 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 25));
        const again = await fetch(gw.mcpUrl, { method: 'GET', headers });
        status = again.status;
        await again.body?.cancel();
      }
      assert.equal(status, 200);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('H: timeouts.requestMs firing while a stream is being relayed', () => {
  async function gatewayWithRequestMs(upstream: string, requestMs: number) {
    const config = quickConfig({ upstream, port: 0, adminPort: 0 });
    config.routes[0]!.timeouts.requestMs = requestMs;
    return startGateway({ dataDir: tempDataDir(), config, admin: false, logger: silentLogger });
  }

  it('2025: the client gets the gateway upstream_timeout error, not silence', async () => {
    const upstream = await startV1Upstream({});
    const gw = await gatewayWithRequestMs(upstream.url, 400);
    const client = new V1Client({ name: 'bug-h', version: '1' });
    try {
      await client.connect(new V1Transport(new URL(`${gw.url}/mcp`)));
      await assert.rejects(
        client.callTool({ name: 'countdown', arguments: { n: 10, intervalMs: 200, tag: 'h1' } }, undefined, { timeout: 3000, onprogress: () => {} }),
        (err: { code?: number }) => {
          assert.equal(err.code, -31031, 'upstream_timeout from the gateway (not the client giving up: -32001)');
          return true;
        },
      );
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });

  it('2026: the client gets the gateway upstream_timeout error, not silence', async () => {
    const upstream = await startV2Upstream();
    const gw = await gatewayWithRequestMs(upstream.url, 400);
    const client = new V2Client({ name: 'bug-h', version: '1' }, pinned);
    try {
      await client.connect(new V2Transport(new URL(`${gw.url}/mcp`)));
      await assert.rejects(
        client.callTool({ name: 'countdown', arguments: { n: 10, intervalMs: 200, tag: 'h2' } }, { timeout: 3000, onprogress: () => {} }),
        (err: { code?: number }) => {
          assert.equal(err.code, -31031, 'upstream_timeout from the gateway (not the client giving up)');
          return true;
        },
      );
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });

  it('2026: a subscriptions/listen stream past requestMs either still delivers or visibly ends', async () => {
    const upstream = await startV2Upstream();
    const gw = await gatewayWithRequestMs(upstream.url, 300);
    const client = new V2Client({ name: 'bug-h', version: '1' }, pinned);
    let changed = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      changed++;
    });
    try {
      await client.connect(new V2Transport(new URL(`${gw.url}/mcp`)));
      const sub = await client.listen({ toolsListChanged: true });
      let closed: string | undefined;
      void sub.closed.then((c) => {
        closed = c;
      });
      // Outlive requestMs, then announce a change and see whether the subscriber hears of it.
      await new Promise((r) => setTimeout(r, 600));
      for (let i = 0; i < 40 && changed === 0 && closed === undefined; i++) {
        upstream.notifyToolsChanged();
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(changed > 0 || closed !== undefined, 'the notification arrived, or the subscription reported its end');
      await sub.close();
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });
});
