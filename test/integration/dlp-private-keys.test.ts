/**
 * Private keys through the gateway with the DLP defaults (families secret, pii, marker; redact):
 * the marker `private-key-header` (the BEGIN line) and the secret `private-key-*` (the whole
 * block) start at the same offset, and both masks must stand over their union. Keeping one of the
 * two sent the key body in clear on every path. Each key kind, in a tool result as JSON, as an
 * SSE event and as an oversized JSON body (the chunk path, its bytes cut inside the key), and in
 * tool arguments (what the upstream receives).
 *
 * Keys are generated at run time; the upstream's results travel base64-encoded in the arguments
 * so the request itself carries no key.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { identifyByHeader, MODERN, parseJson, post, sseData, type Loose } from './support/hostile-harness.ts';
import { generatePrivateKeys } from '../support/private-keys.ts';

const KEYS: Record<string, string> = generatePrivateKeys();
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Key body lines found in `out` (whole, or their first or last 16 characters): must be none. */
function leaks(pem: string, out: string): string[] {
  return pem.split('\n').filter((l) => l && !l.startsWith('-----')).flatMap((l) => (out.includes(l.slice(0, 16)) || out.includes(l.slice(-16)) ? [l.slice(0, 16)] : []));
}

/**
 * `tools/call` answers with `arguments.textB64` as the result's text: as JSON, or with `sse` as
 * one SSE event, or with `big` followed by 80 KB of filler (over the gateway's buffer: the chunk
 * path) written in pieces cut at `cutsAt` (offsets into the text) 30 ms apart. Records bodies.
 */
async function startUpstream(): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      seen.push(body);
      const msg = JSON.parse(body || '{}') as { id?: unknown; params?: { arguments?: { textB64?: string; sse?: boolean; big?: boolean; cutsAt?: number[] } } };
      if (msg.id === undefined) return void res.writeHead(202).end();
      const args = msg.params?.arguments ?? {};
      const text = args.textB64 ? Buffer.from(args.textB64, 'base64').toString('utf8') : 'ok';
      const content = [{ type: 'text', text }, ...(args.big ? [{ type: 'text', text: 'x'.repeat(80_000) }] : [])];
      const out = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content } });
      if (args.sse) return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${out}\n\n`);
      res.writeHead(200, { 'content-type': 'application/json' });
      // Byte offsets of the text's characters in the body: the text is ASCII, after its JSON prefix.
      const base = out.indexOf(JSON.stringify(text).slice(1, 20));
      const cuts = (args.cutsAt ?? []).map((c) => base + JSON.stringify(text.slice(0, c)).length - 2);
      let at = 0;
      const next = (): void => {
        const cut = cuts.shift();
        if (cut === undefined) return void res.end(out.slice(at));
        res.write(out.slice(at, cut));
        at = cut;
        setTimeout(next, 30);
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen, server };
}

describe('DLP defaults: private keys are masked whole on every path', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let gw: Gateway;
  let id = 1;

  before(async () => {
    up = await startUpstream();
    const input: ConfigInput = {
      server: { port: 0 },
      logging: { level: 'silent' },
      limits: { maxBufferedMessageBytes: 64 * 1024 },
      // The defaults: families secret, pii and marker; every finding redacted.
      routes: [{ name: 'tools', path: '/mcp', upstream: { url: up.url }, inspectors: [{ type: 'dlp' }] }],
    };
    gw = await startGateway({ config: ConfigSchema.parse(input), identify: identifyByHeader, admin: false, logger: silentLogger, dataDir: tempDataDir() });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => {
      up.server.closeAllConnections();
      up.server.close(() => resolve());
    });
  });

  // A caller per call: nothing here is about session memory.
  const call = (args: Record<string, unknown>) => {
    const n = id++;
    return post(gw.port, { jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'cat', arguments: args, _meta: meta } }, {
      'x-test-user': `keys-${n}`,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'cat',
    });
  };

  for (const [kind, pem] of Object.entries(KEYS)) {
    const text = `here is the key:\n${pem}and after it`;
    const masked = (out: string, label: string) => {
      assert.deepEqual(leaks(pem, out), [], `${label}: ${out.slice(0, 300)}`);
      assert.ok(out.includes('[REDACTED:private-key-') && out.includes('and after it'), `${label}: ${out.slice(0, 300)}`);
    };

    it(`${kind}: in a tool result as JSON`, async () => {
      const r = parseJson(await call({ textB64: b64(text) }));
      masked(r.result.content[0].text, 'json');
    });

    it(`${kind}: in a tool result as an SSE event`, async () => {
      const r = await call({ textB64: b64(text), sse: true });
      const events = sseData(r.text).map((d) => JSON.parse(d) as Loose);
      masked(events.at(-1).result.content[0].text, 'sse');
    });

    it(`${kind}: in an oversized tool result (chunk path), its bytes cut in the header and the body`, async () => {
      const r = parseJson(await call({ textB64: b64(text), big: true, cutsAt: [30, 200, pem.length - 40] }));
      masked(r.result.content[0].text, 'chunk path');
      assert.equal(r.result.content[1].text.length, 80_000);
    });

    it(`${kind}: in tool arguments, the upstream never receives it`, async () => {
      const before = up.seen.length;
      const r = parseJson(await call({ content: text }));
      assert.ok(r.result, JSON.stringify(r));
      const got = up.seen.slice(before).join('\n');
      masked(JSON.parse(got).params.arguments.content, 'arguments');
    });
  }
});
