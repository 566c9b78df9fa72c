/**
 * The v2 SDK on both sides of the gateway in the 2026-07-28 era: a `Client` pinned to
 * 2026-07-28 (no legacy fallback: anything but a modern answer fails the connect) → Portcullis →
 * `createMcpHandler` (stateless, modern-only). Without and with inspectors on the route.
 *
 * What a user would notice: the pinned connect succeeds (server/discover went through and came
 * back modern), the tool list, tool results, resource and prompt arrive intact, no session id
 * appears anywhere, a credential is masked and a denied tool is refused. A dual-era client
 * (`mode: 'auto'`) lands in whichever era the upstream behind the gateway speaks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { join } from 'node:path';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import { startTestGateway, POLICY_INSPECTORS, type TestGateway } from './support/sdk-gateway.ts';
import { startV1Upstream } from './support/sdk-v1-upstream.ts';
import { startV2Upstream, type RunningV2Upstream } from './support/sdk-v2-upstream.ts';

const MODERN = '2026-07-28';

/**
 * The notes of the first exchange in the gateway's audit trail that took the SSE chunk path
 * (`sse_streamed`: its answer was relayed as it arrived), read until one appears (5 s at most).
 */
async function streamedExchangeNotes(dataDir: string): Promise<Record<string, unknown> | undefined> {
  const reader = new SqliteSink({ path: join(dataDir, '.portcullis', 'audit.db'), readOnly: true });
  try {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for await (const r of reader.read({ kind: 'exchange' })) {
        const notes = (r as { unmapped?: { notes?: Record<string, unknown> } }).unmapped?.notes;
        if (notes?.['sse_streamed']) return notes;
      }
    }
    return undefined;
  } finally {
    await reader.close();
  }
}

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

for (const withInspectors of [false, true]) {
  describe(`v2 client pinned to ${MODERN} → gateway → v2 server (${withInspectors ? 'with' : 'no'} inspectors)`, () => {
    let upstream: RunningV2Upstream;
    let gw: TestGateway;
    let client: Client;
    let transport: StreamableHTTPClientTransport;

    before(async () => {
      upstream = await startV2Upstream();
      gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      client = new Client({ name: 'sdk-v2-modern', version: '2.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
      transport = new StreamableHTTPClientTransport(gw.mcpUrl);
      await client.connect(transport);
    });

    after(async () => {
      await client?.close();
      await gw?.close();
      await upstream?.close();
    });

    it('discovers a modern server through the gateway', async () => {
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      const d = await client.discover();
      assert.ok(d.supportedVersions.includes(MODERN), `supportedVersions ${JSON.stringify(d.supportedVersions)}`);
      assert.ok(d.capabilities.tools, 'tools capability advertised');
      assert.equal(transport.sessionId, undefined, 'no session in the 2026 era');
      assert.equal(gw.gateway.sessions.size, 0, 'the gateway minted no session');
    });

    it('lists tools', async () => {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['big', 'confirm', 'countdown', 'echo', 'lookup', 'wait']);
    });

    it('calls a tool', async () => {
      const r = await client.callTool({ name: 'echo', arguments: { text: 'modern ✓' } });
      assert.equal(r.isError ?? false, false);
      assert.equal(textOf(r), 'echo: modern ✓');
    });

    it('reads a resource and gets a prompt', async () => {
      const r = await client.readResource({ uri: 'memo://greeting' });
      assert.equal((r.contents[0] as { text?: string }).text, 'Hello from the v2 upstream');
      const p = await client.getPrompt({ name: 'greet', arguments: { name: 'Grace' } });
      assert.deepEqual(p.messages, [{ role: 'user', content: { type: 'text', text: 'Please greet Grace warmly.' } }]);
    });

    if (withInspectors) {
      it('masks a credential the client sends, before the upstream sees it', async () => {
        const r = await client.callTool({ name: 'echo', arguments: { text: 'my key AKIAABCDEFGHIJKLMNOP' } });
        assert.equal(textOf(r), 'echo: my key [REDACTED:aws-key]');
        assert.equal(upstream.probe.echoed.at(-1), 'my key [REDACTED:aws-key]', 'the upstream got the masked text');
      });

      it('refuses a denied tool', async () => {
        await assert.rejects(client.callTool({ name: 'danger_delete', arguments: {} }), (err: Error & { code?: number }) => {
          assert.equal(err.code, -31020);
          return true;
        });
      });
    }

    it('a 2 MiB result streamed as one SSE event (over the buffer limit) arrives whole' + (withInspectors ? ', every credential masked' : ''), async () => {
      let progressed = 0;
      const r = await client.callTool({ name: 'big', arguments: { kib: 2048 } }, { onprogress: () => progressed++ });
      assert.equal(progressed, 1, 'the answer came on an SSE stream');
      const t = textOf(r);
      assert.ok(t.length > 2_000_000, `${t.length} characters`);
      if (withInspectors) {
        assert.equal(t.match(/AKIA[0-9A-Z]{16}/g), null, 'no raw key left');
        assert.equal(t.match(/\[REDACTED:aws-key\]/g)?.length, 32, 'one mask per 64 KiB block');
        // Relayed as it arrived (the SDK's member order lets it), not held whole.
        assert.ok(await streamedExchangeNotes(gw.dataDir), 'the answer took the SSE chunk path');
      } else {
        assert.equal(t.match(/AKIAABCDEFGHIJKLMNOP/g)?.length, 32);
      }
    });

    it('the upstream saw only valid 2026 requests', () => {
      assert.deepEqual(upstream.errors.map((e) => e.message), []);
    });
  });
}

describe('v2 client → gateway → v2 server: a blocking DLP rule in the middle of a streamed result', () => {
  it('the call fails at once with the blocked error (no wait for the request timeout), and the next call works', async () => {
    const upstream = await startV2Upstream();
    const gw = await startTestGateway(upstream.url, [{ type: 'dlp', actions: { default: 'redact', types: { 'private-key-header': 'block', 'private-key-rsa': 'block' } } }]);
    const client = new Client({ name: 'sdk-v2-block', version: '2.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
    try {
      await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
      // A 2 MiB result: over the buffer limit, so it streams, and half of it is out before the key.
      await assert.rejects(client.callTool({ name: 'big', arguments: { kib: 2048, pem: true } }, { onprogress: () => {}, timeout: 60_000 }), (err: unknown) => {
        assert.equal((err as { code?: number }).code, -31020, String(err));
        return true;
      });
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo: after');
      // It did take the streamed path: the exchange record says so, and why it was cut.
      const notes = await streamedExchangeNotes(gw.dataDir);
      assert.deepEqual(notes?.['cut'], { reasons: ['dlp/private-key-header'] });
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });
});

describe("dual-era v2 client (versionNegotiation 'auto') through the gateway", () => {
  it('falls back to the 2025 handshake when the upstream is legacy-only (v1 SDK server)', async () => {
    const upstream = await startV1Upstream({});
    const gw = await startTestGateway(upstream.url);
    const client = new Client({ name: 'sdk-v2-auto', version: '2.0.0' }, { versionNegotiation: { mode: 'auto' } });
    try {
      await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
      assert.equal(client.getProtocolEra(), 'legacy');
      assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'old' } })), 'echo: old');
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });

  it('selects 2026-07-28 when the upstream is dual-era (v2 createMcpHandler)', async () => {
    const upstream = await startV2Upstream({ legacy: 'stateless' });
    const gw = await startTestGateway(upstream.url);
    const client = new Client({ name: 'sdk-v2-auto', version: '2.0.0' }, { versionNegotiation: { mode: 'auto' } });
    try {
      await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl));
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'new' } })), 'echo: new');
    } finally {
      await client.close();
      await gw.close();
      await upstream.close();
    }
  });
});
