/**
 * The v1 SDK on both sides of the gateway (2025-11-25 era): a real `Client` with
 * `StreamableHTTPClientTransport` → Portcullis → a real `McpServer` on a sessionful
 * `StreamableHTTPServerTransport`, in JSON-response mode and in SSE mode, without and with
 * inspectors on the route (with inspectors, every message is parsed and re-serialised by the
 * gateway instead of streamed through, so both relay paths are covered).
 *
 * What a user would notice: the tool list, tool results, resource text and prompt messages arrive
 * intact; the gateway's session id is the one the client holds (never the upstream's); a
 * credential in a tool result is masked; a denied tool is refused without reaching the upstream;
 * server notifications unrelated to any request arrive on the standalone GET stream; closing the
 * session ends it upstream too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startTestGateway, POLICY_INSPECTORS, type TestGateway } from './support/sdk-gateway.ts';
import { startV1Upstream, type RunningV1Upstream } from './support/sdk-v1-upstream.ts';

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

for (const mode of ['json', 'sse'] as const) {
  for (const withInspectors of [false, true]) {
    const label = `${mode} responses, ${withInspectors ? 'with' : 'no'} inspectors`;

    describe(`v1 client → gateway → v1 server (${label})`, () => {
      let upstream: RunningV1Upstream;
      let gw: TestGateway;
      let client: Client;
      let transport: StreamableHTTPClientTransport;
      let listChanged = 0;

      before(async () => {
        upstream = await startV1Upstream({ jsonResponse: mode === 'json' });
        gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
        client = new Client({ name: 'sdk-v1-roundtrip', version: '1.0.0' });
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
          listChanged++;
        });
        transport = new StreamableHTTPClientTransport(gw.mcpUrl);
        await client.connect(transport);
      });

      after(async () => {
        await client?.close();
        await gw?.close();
        await upstream?.close();
      });

      it('initializes with the upstream identity and a gateway-issued session id', () => {
        assert.equal(client.getServerVersion()?.name, 'sdk-v1-upstream');
        assert.equal(transport.protocolVersion, '2025-11-25');
        assert.ok(transport.sessionId, 'the client holds a session id');
        assert.ok(!upstream.sessionIds.includes(transport.sessionId), "the upstream's session id never reaches the client");
        assert.equal(gw.gateway.sessions.size, 1, 'the gateway tracks the session');
        assert.equal(upstream.sessions, 1);
      });

      it('lists tools', async () => {
        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name).sort();
        for (const expected of ['ask_user', 'countdown', 'echo', 'leak', 'sample']) assert.ok(names.includes(expected), `${expected} listed`);
        const echo = tools.find((t) => t.name === 'echo');
        assert.deepEqual(Object.keys((echo?.inputSchema as { properties?: object }).properties ?? {}), ['text']);
      });

      it('calls a tool', async () => {
        const r = await client.callTool({ name: 'echo', arguments: { text: 'through the gate ✓' } });
        assert.equal(r.isError ?? false, false);
        assert.equal(textOf(r), 'echo: through the gate ✓');
      });

      it('reads a resource', async () => {
        const { resources } = await client.listResources();
        assert.deepEqual(resources.map((r) => r.uri), ['memo://greeting']);
        const r = await client.readResource({ uri: 'memo://greeting' });
        assert.deepEqual(r.contents, [{ uri: 'memo://greeting', mimeType: 'text/plain', text: 'Hello from the v1 upstream' }]);
      });

      it('gets a prompt', async () => {
        const { prompts } = await client.listPrompts();
        assert.deepEqual(prompts.map((p) => p.name), ['greet']);
        const r = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
        assert.deepEqual(r.messages, [{ role: 'user', content: { type: 'text', text: 'Please greet Ada warmly.' } }]);
      });

      if (withInspectors) {
        it('masks a credential in a tool result', async () => {
          const r = await client.callTool({ name: 'leak', arguments: {} });
          assert.equal(textOf(r), 'key=[REDACTED:aws-key] end');
        });

        it('masks every credential in a 2 MiB result', async () => {
          const r = await client.callTool({ name: 'big', arguments: { kib: 2048 } });
          const t = textOf(r);
          assert.equal(t.match(/AKIA[0-9A-Z]{16}/g), null, 'no raw key left');
          assert.equal(t.match(/\[REDACTED:aws-key\]/g)?.length, 32, 'one mask per 64 KiB block');
        });

        it('refuses a denied tool without reaching the upstream', async () => {
          const before = upstream.probe.toolCalls.filter((n) => n === 'danger_delete').length;
          await assert.rejects(
            client.callTool({ name: 'danger_delete', arguments: {} }),
            (err: Error & { code?: number }) => {
              assert.equal(err.code, -31020);
              assert.match(err.message, /danger_delete is not allowed/);
              return true;
            },
          );
          assert.equal(upstream.probe.toolCalls.filter((n) => n === 'danger_delete').length, before);
        });
      } else {
        it('passes a credential-looking result through untouched when no inspector is configured', async () => {
          const r = await client.callTool({ name: 'leak', arguments: {} });
          assert.equal(textOf(r), 'key=AKIAABCDEFGHIJKLMNOP end');
        });
      }

      it('delivers an unrelated server notification on the standalone GET stream', async () => {
        // The client opens its GET stream on its own after connecting; the upstream drops
        // notifications sent before that stream exists, so keep announcing until one arrives.
        for (let i = 0; i < 200 && listChanged === 0; i++) {
          upstream.toolsChanged();
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(listChanged > 0, 'notifications/tools/list_changed reached the client');
      });

      it('ends the session upstream when the client terminates it', async () => {
        await transport.terminateSession();
        assert.equal(gw.gateway.sessions.size, 0);
        assert.equal(upstream.sessions, 0);
      });
    });
  }
}

describe('v1 client → gateway → v1 server (SSE, 2025-11-25): a blocking DLP rule in the middle of a streamed result', () => {
  it('the call fails at once with the blocked error, and the session goes on', async () => {
    const upstream = await startV1Upstream({ jsonResponse: false });
    const gw = await startTestGateway(upstream.url, [{ type: 'dlp', actions: { default: 'redact', types: { 'private-key-header': 'block', 'private-key-rsa': 'block' } } }]);
    const client = new Client({ name: 'sdk-v1-block', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
      // 2 MiB as one SSE event: it streams (over the buffer limit), and half is out before the key.
      await assert.rejects(client.callTool({ name: 'big', arguments: { kib: 2048, pem: true } }, undefined, { timeout: 60_000 }), (err: unknown) => {
        assert.equal((err as { code?: number }).code, -31020, String(err));
        return true;
      });
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo: after');
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });
});
