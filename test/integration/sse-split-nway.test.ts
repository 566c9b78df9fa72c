/**
 * A secret split across many SSE events, through the gateway: the relay holds a bounded queue of
 * events (transport/relay-sse.ts HeldEvents, pipeline/held-events.ts) and the DLP inspector
 * amends every held event a match touches (inspectors/dlp-stream-run.ts). Before, only one event
 * was held, so every piece of a token streamed a few characters per event but the last two went
 * out in clear.
 *
 * Also the bounds: an upstream that sends a flood of events that may all continue gets them all
 * through, in order, with no more than HELD_EVENTS_MAX held at a time; and a quiet upstream gets
 * its held events out when their hold ends, not when the stream does.
 *
 * A 2025-03-26 upstream with a session, scripted per call through the tool's arguments. The
 * machine may be busy: holds are generous where the test needs events in time, and time bounds
 * are seconds. Test secrets are assembled at run time and travel base64-encoded.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { base62, crc32 } from '../../src/detectors/checks.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { HELD_EVENTS_MAX } from '../../src/pipeline/types.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { ACCEPT, type Loose } from './support/hostile-harness.ts';

const ghBody = 'Zk4' + 'q9WmR2xT7vLp3NcY8bHs6JdF1gK';
const GITHUB = `ghp_${ghBody}${base62(crc32(ghBody), 6)}`;
const AWS = 'AKIA' + 'W7J2NP4TQ6XV3R5M';
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Upstream {
  url: string;
  server: Server;
  /** When the upstream ended its last tools/call stream (performance.now()). */
  endedAt: number;
  /** The next call's stream stays open after its parts until this settles (or `quietMs` passes). */
  gate: Promise<void> | undefined;
}

/**
 * `tools/call` answers on an SSE stream: one notifications/message per `arguments.partsB64`
 * entry, `gapMs` apart, then (after the gate, at most `quietMs`) the result, and the stream ends.
 */
async function startUpstream(): Promise<Upstream> {
  const up: Upstream = { url: '', server: undefined as unknown as Server, endedAt: 0, gate: undefined };
  up.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Loose;
      if (msg.method === 'initialize') {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'up-1' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: '2025-03-26', capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'up', version: '1' } } }));
        return;
      }
      // Notifications, and the gateway's answer to a server request it dropped: accepted.
      if (msg.id === undefined || msg.method === undefined) return void res.writeHead(202).end();
      const args = msg.params?.arguments ?? {};
      const parts = (args.partsB64 as string[]).map((p) => Buffer.from(p, 'base64').toString('utf8'));
      const gap = Number(args.gapMs ?? 0);
      const gate = up.gate;
      up.gate = undefined;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        up.endedAt = performance.now();
        res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: 'done' }] } })}\n\n`);
      };
      let i = 0;
      const next = (): void => {
        if (res.destroyed) return;
        // Back to back (one write per event) when there is no gap.
        do {
          const part = parts[i++];
          // The last piece in a server→client request (an elicitation) instead of a log line.
          if (args.lastAsRequest === true && i === parts.length) {
            res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 'srv-2', method: 'elicitation/create', params: { message: part, requestedSchema: { type: 'object', properties: {} } } })}\n\n`);
            continue;
          }
          res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: 'llm', data: part } })}\n\n`);
          // Raw SSE between the pieces (a message with no text, an empty event, …).
          if (typeof args.betweenB64 === 'string' && i < parts.length) res.write(Buffer.from(args.betweenB64, 'base64').toString('utf8'));
        } while (gap === 0 && i < parts.length);
        if (i < parts.length) return void setTimeout(next, gap);
        if (!gate) return finish();
        const quiet = setTimeout(finish, Number(args.quietMs ?? 10_000));
        void gate.then(() => {
          clearTimeout(quiet);
          finish();
        });
      };
      next();
    });
  });
  await new Promise<void>((resolve) => up.server.listen(0, '127.0.0.1', resolve));
  up.url = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}/mcp`;
  return up;
}

/** An SSE POST read as it arrives: each log line with the time it came (performance.now()). */
function streamCall(port: number, path: string, body: unknown, headers: Record<string, string>, onLine?: (count: number) => void): Promise<{ status: number; headers: IncomingHttpHeaders; lines: Array<{ data: string; at: number }>; resultAt: number }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const lines: Array<{ data: string; at: number }> = [];
    let resultAt = 0;
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'content-type': 'application/json', accept: ACCEPT, 'content-length': String(Buffer.byteLength(payload)), ...headers } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
          if (data === '') continue;
          const m = JSON.parse(data) as Loose;
          if (m.method === 'notifications/message') {
            lines.push({ data: m.params.data as string, at: performance.now() });
            onLine?.(lines.length);
          } else if (m.result || m.error) resultAt = performance.now();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, lines, resultAt }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** `secret` cut at n - 1 distinct offsets, spread from a seed (reproducible). */
function cutInto(secret: string, n: number, seed: number): string[] {
  const cuts = new Set<number>();
  for (let k = seed; cuts.size < n - 1; k = (k * 7 + 3) % 9973) cuts.add(1 + (k % (secret.length - 1)));
  const at = [0, ...[...cuts].sort((a, b) => a - b), secret.length];
  return at.slice(1).map((end, i) => secret.slice(at[i], end));
}

describe('DLP: a secret split across many SSE events, through the gateway', () => {
  let up: Upstream;
  let gw: Gateway;
  const sessions: Record<string, Record<string, string>> = {};
  let id = 1;
  // One route per hold: in time for sure (the split secret), very long (only the cap can release
  // the flood), short (the quiet upstream).
  const ROUTES = { split: 1000, flood: 600_000, quiet: 300, block: 1000 } as const;

  before(async () => {
    up = await startUpstream();
    const input: ConfigInput = {
      server: { port: 0 },
      logging: { level: 'silent' },
      routes: Object.entries(ROUTES).map(([name, crossEventHoldMs]) => ({
        name,
        path: `/${name}`,
        upstream: { url: up.url },
        inspectors: [{ type: 'dlp', crossEventHoldMs, ...(name === 'block' ? { actions: { default: 'block' as const } } : {}) }],
      })),
    };
    gw = await startGateway({ config: ConfigSchema.parse(input), admin: false, logger: silentLogger, dataDir: tempDataDir() });
    for (const name of Object.keys(ROUTES)) {
      const path = `/${name}`;
      const init = await streamCall(gw.port, path, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, {});
      assert.equal(init.status, 200);
      sessions[name] = { 'mcp-session-id': String(init.headers['mcp-session-id']) };
      await streamCall(gw.port, path, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessions[name]);
    }
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => {
      up.server.closeAllConnections();
      up.server.close(() => resolve());
    });
  });

  const call = (route: keyof typeof ROUTES, parts: string[], gapMs: number, extra: Record<string, unknown> = {}, onLine?: (n: number) => void) =>
    streamCall(gw.port, `/${route}`, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'llm', arguments: { partsB64: parts.map(b64), gapMs, ...extra } } }, sessions[route]!, onLine);

  for (const [name, secret, mask] of [
    ['a GitHub token', GITHUB, '[REDACTED:github-pat]'],
    ['an AWS access key id', AWS, '[REDACTED:aws-access-key-id]'],
  ] as const) {
    it(`${name} streamed in 6 events a few ms apart: every event arrives, in order, the token masked across them, promptly`, async () => {
      for (const seed of [1, 5, 11]) {
        const pieces = cutInto(secret, 6, seed);
        const started = performance.now();
        const r = await call('split', [`the token is ${pieces[0]}`, ...pieces.slice(1, -1), `${pieces.at(-1)} end\n`], 5);
        const label = `${JSON.stringify(pieces)}: ${JSON.stringify(r.lines.map((l) => l.data))}`;
        assert.equal(r.status, 200, label);
        // The pieces were cut out of the held events; the mask stands where the last one was.
        assert.deepEqual(r.lines.map((l) => l.data), ['the token is ', '', '', '', '', `${mask} end\n`], label);
        const out = r.lines.map((l) => l.data).join('');
        for (let i = 0; i + 8 <= secret.length; i++) assert.ok(!out.includes(secret.slice(i, i + 8)), label);
        assert.ok(r.resultAt >= r.lines.at(-1)!.at, 'the result comes last');
        // The last event ends the line: nothing waits for a hold (1 s); generous for a busy machine.
        assert.ok(performance.now() - started < 5000, `took ${Math.round(performance.now() - started)} ms`);
      }
    });
  }

  for (const [between, sse] of [
    ['a progress notification with numbers only', `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 7, progress: 3 } })}\n\n`],
    ['a server ping request', `data: ${JSON.stringify({ jsonrpc: '2.0', id: 'srv-1', method: 'ping' })}\n\n`],
    ['an event with empty data', 'id: e1\ndata:\n\n'],
    ['a log whose data is a number', `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 42 } })}\n\n`],
  ] as const) {
    it(`pieces with ${between} between them: still masked across them (it neither continues nor ends the run)`, async () => {
      const pieces = cutInto(AWS, 4, 3);
      const r = await call('split', [`key ${pieces[0]}`, ...pieces.slice(1, -1), `${pieces.at(-1)} end\n`], 5, { betweenB64: b64(sse) });
      const label = JSON.stringify(r.lines.map((l) => l.data));
      assert.equal(r.status, 200, label);
      // Every piece cut from its event, the mask where the last one was: nothing of the key out.
      const out = r.lines.filter((l) => typeof l.data === 'string').map((l) => l.data).join('');
      assert.equal(out, 'key [REDACTED:aws-access-key-id] end\n', label);
    });
  }

  it('a block rule, the last piece in a server request (dropped): the earlier pieces are cut from the held events too', async () => {
    const pieces = cutInto(AWS, 4, 7);
    const r = await call('block', [`key ${pieces[0]}`, ...pieces.slice(1)], 5, { lastAsRequest: true });
    const label = JSON.stringify(r.lines.map((l) => l.data));
    const out = r.lines.map((l) => l.data).join('');
    assert.equal(out, 'key ', label);
  });

  it('200 tiny events that may all continue: all through, in order, never more than 64 held (HELD_EVENTS_MAX)', async () => {
    // The hold is 10 minutes: only the queue's cap lets events out while the upstream is open.
    const parts = Array.from({ length: 200 }, (_, i) => `t${i} `);
    // The documented bound (pipeline/types.ts); the test holds the relay to it, not to whatever
    // the constant says.
    assert.ok(HELD_EVENTS_MAX <= 64);
    const enough = parts.length - 64;
    let open!: () => void;
    up.gate = new Promise<void>((resolve) => (open = resolve));
    const r = await call('flood', parts, 0, { quietMs: 10_000 }, (n) => {
      if (n >= enough) open();
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.lines.map((l) => l.data), parts, 'every event, in order, unchanged');
    // Out while the upstream was still open (it waits for them, at most 10 s): the rest were held.
    const early = r.lines.filter((l) => l.at < up.endedAt).length;
    assert.ok(early >= enough, `${early} events out before the upstream ended; at least ${enough} expected`);
  });

  it('a quiet upstream: its held events go out when their hold ends, not when the stream does', async () => {
    // Six pieces that may continue, then the upstream stays quiet (up to 10 s, until they are out).
    const parts = ['the answer ', 'is still ', 'being ', 'written ', 'token by ', 'token'];
    let open!: () => void;
    up.gate = new Promise<void>((resolve) => (open = resolve));
    const r = await call('quiet', parts, 5, { quietMs: 10_000 }, (n) => {
      if (n === parts.length) open();
    });
    assert.deepEqual(r.lines.map((l) => l.data), parts);
    assert.ok(r.lines.every((l) => l.at < up.endedAt), 'all out before the upstream ended');
  });
});
