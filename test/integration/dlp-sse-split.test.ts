/**
 * Secrets split across SSE events, through the gateway, on every kind of stream a 2025-03-26
 * session has: a POST's stream, the standalone GET stream and a batch's stream (the last two
 * answer no single request, and used to get no cross-event state at all); and a held event that
 * carries masks of its own before the split key (its amend used to land at the offsets of the
 * unmasked text, sending part of the key in clear).
 *
 * The upstream writes its events back to back (a few ms apart) and the hold is a generous 1 s, so
 * a busy machine cannot make a second part "late". Test secrets are assembled at run time and
 * travel to the upstream base64-encoded (the GET stream's are set on the upstream directly).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { post, send, sseData, type Loose } from './support/hostile-harness.ts';

const K1 = 'AKIA' + 'Q3EGRZ7XK5M2VPLN';
const K2 = 'AKIA' + 'W7J2NP4TQ6XV3R5M';
const K3 = 'AKIA' + 'GYT3P6XLNVQJN23Y';
const MASK = '[REDACTED:aws-access-key-id]';
/** The gateway's `limits.maxBufferedMessageBytes` here. */
const BUFFER_LIMIT = 64 * 1024;

/** The notes of the exchanges in the gateway's audit trail that `match`, once at least `min` do (5 s at most). */
async function exchangeNotes(dataDir: string, match: (notes: Record<string, unknown>) => boolean, min = 1): Promise<Array<Record<string, unknown>>> {
  const reader = new SqliteSink({ path: join(dataDir, '.portcullis', 'audit.db'), readOnly: true });
  try {
    for (let i = 0; i < 100; i++) {
      const found: Array<Record<string, unknown>> = [];
      for await (const r of reader.read({ kind: 'exchange' })) {
        const notes = (r as { unmapped?: { notes?: Record<string, unknown> } }).unmapped?.notes;
        if (notes && match(notes)) found.push(notes);
      }
      if (found.length >= min) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    return [];
  } finally {
    await reader.close();
  }
}
const b64 = (s: string) => Buffer.from(s).toString('base64');
const PKCS8 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PEM_LINES = PKCS8.split('\n');
/** Body lines of the key found in `out` (whole, or their first or last 16 characters). */
const bodyLeaks = (out: string) => PEM_LINES.filter((l) => l && !l.startsWith('-----') && (out.includes(l.slice(0, 16)) || out.includes(l.slice(-16))));
/** The key as a `tail` tool streams a file: `per` lines per log event. */
const pemEvents = (per: number) => {
  const parts: string[] = [];
  for (let i = 0; i < PEM_LINES.length - 1; i += per) parts.push(`${PEM_LINES.slice(i, i + per).join('\n')}\n`);
  return parts;
};

/**
 * A 2025-03-26 upstream with a session. `tools/call` (alone or in a batch) answers on an SSE
 * stream: one notifications/message per part of the first call's `arguments.partsB64`, 5 ms
 * apart, then a result per request. GET opens the standalone stream with the parts in `getParts`
 * and ends it 300 ms later.
 */
async function startUpstream(): Promise<{ url: string; server: Server; getParts: string[] }> {
  const state = { getParts: [] as string[] };
  const note = (data: string) => `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: 'tail', data } })}\n\n`;
  const writeParts = (res: ServerResponse, parts: string[], then: () => void) => {
    let i = 0;
    const next = (): void => {
      if (res.destroyed) return;
      if (i < parts.length) {
        res.write(note(parts[i++]!));
        setTimeout(next, 5);
      } else then();
    };
    next();
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        writeParts(res, state.getParts, () => setTimeout(() => res.end(), 300));
        return;
      }
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Loose;
      const msgs: Loose[] = Array.isArray(parsed) ? parsed : [parsed];
      if (msgs[0].method === 'initialize') {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'up-1' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msgs[0].id, result: { protocolVersion: '2025-03-26', capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'up', version: '1' } } }));
        return;
      }
      const requests = msgs.filter((m) => m.id !== undefined);
      if (requests.length === 0) return void res.writeHead(202).end();
      const parts = ((msgs.find((m) => m.method === 'tools/call')?.params?.arguments?.partsB64 ?? []) as string[]).map((p) => Buffer.from(p, 'base64').toString('utf8'));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const args = msgs.find((m) => m.method === 'tools/call')?.params?.arguments ?? {};
      const text = args.resultB64 === undefined ? 'done' : Buffer.from(args.resultB64 as string, 'base64').toString('utf8');
      // Structured content first, when given: it comes before the text in the answer.
      const structured = args.structuredB64 === undefined ? {} : { structuredContent: JSON.parse(Buffer.from(args.structuredB64 as string, 'base64').toString('utf8')) };
      // An image before the text, when asked (its base64 must not be taken for the text).
      const image = args.imageFirst ? [{ type: 'image', mimeType: 'image/png', data: 'iVBORw0KGgo' + 'A'.repeat(5000) }] : [];
      const answers = requests.map((m) => `data: ${JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { ...structured, content: [...image, { type: 'text', text }] } })}\n\n`).join('');
      // `pauseAt`: the answer stops that many characters into its text for 60 ms (it arrives in two reads).
      const at = typeof args.pauseAt === 'number' ? answers.indexOf('"text":"') + 8 + args.pauseAt : -1;
      writeParts(res, parts, () => {
        if (at < 0) return void res.end(answers);
        res.write(answers.slice(0, at));
        setTimeout(() => res.end(answers.slice(at)), 60);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    server,
    get getParts() {
      return state.getParts;
    },
    set getParts(v: string[]) {
      state.getParts = v;
    },
  };
}

describe('DLP: secrets split across SSE events, on every kind of stream', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let gw: Gateway;
  let session: Record<string, string>;
  let dataDir: string;
  let id = 1;

  before(async () => {
    up = await startUpstream();
    const input: ConfigInput = {
      server: { port: 0 },
      logging: { level: 'silent' },
      // A result over this is relayed as it arrives (the SSE chunk path); the rest are held whole.
      limits: { maxBufferedMessageBytes: BUFFER_LIMIT },
      routes: [{ name: 'tools', path: '/mcp', upstream: { url: up.url }, inspectors: [{ type: 'dlp', crossEventHoldMs: 1000 }] }],
    };
    dataDir = tempDataDir();
    gw = await startGateway({ config: ConfigSchema.parse(input), admin: false, logger: silentLogger, dataDir });
    const init = await post(gw.port, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    assert.equal(init.status, 200, init.text);
    session = { 'mcp-session-id': String(init.headers['mcp-session-id']) };
    await post(gw.port, { jsonrpc: '2.0', method: 'notifications/initialized' }, session);
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => {
      up.server.closeAllConnections();
      up.server.close(() => resolve());
    });
  });

  /** The log lines the client got, in order. */
  const logLines = (text: string): string[] =>
    sseData(text)
      .map((d) => JSON.parse(d) as Loose)
      .flatMap((m: Loose) => (Array.isArray(m) ? m : [m]))
      .filter((m: Loose) => m.method === 'notifications/message')
      .map((m: Loose) => m.params.data as string);
  const callWith = async (parts: string[]) => {
    const r = await post(gw.port, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'tail', arguments: { partsB64: parts.map(b64) } } }, session);
    assert.equal(r.status, 200, r.text);
    return logLines(r.text);
  };

  it("a key whose end comes in the call's result, after a log event with its start: both parts masked", async () => {
    const r = await post(gw.port, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'tail', arguments: { partsB64: [b64(`aws key ${K3.slice(0, 10)}`)], resultB64: b64(`${K3.slice(10)} was the key`) } } }, session);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(logLines(r.text), ['aws key ']);
    const result = sseData(r.text).map((d) => JSON.parse(d) as Loose).find((m: Loose) => m.result !== undefined);
    // The result's first string is its content block's `type` ("text"): the run goes on in the text.
    assert.deepEqual(result.result.content, [{ type: 'text', text: `${MASK} was the key` }]);
  });

  it('the same with a result too large to hold (the SSE chunk path): the log event waits for the text, both parts masked', async () => {
    const rest = `${K1.slice(10)} was the key`;
    for (const filler of [' and the build went on'.repeat(BUFFER_LIMIT / 10), 'x'.repeat(BUFFER_LIMIT * 2)]) {
      const r = await post(gw.port, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'tail', arguments: { partsB64: [b64(`aws key ${K1.slice(0, 10)}`)], resultB64: b64(rest + filler) } } }, session);
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.deepEqual(logLines(r.text), ['aws key ']);
      const result = sseData(r.text).map((d) => JSON.parse(d) as Loose).find((m: Loose) => m.result !== undefined);
      assert.equal(result.result.content[0].text, `${MASK} was the key${filler}`);
    }
    const notes = await exchangeNotes(dataDir, (n) => n['sse_streamed'] === true, 2);
    assert.equal(notes.length, 2, 'both results took the SSE chunk path');
    for (const n of notes) assert.equal(n['sse_held_released_unamended'], undefined, 'the held event went out amended');
  });

  it('a result too large to hold whose text comes after 600 K characters of other content: the held event goes out unamended, and the record says so', async () => {
    const r = await post(
      gw.port,
      { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'tail', arguments: { partsB64: [b64(`aws key ${K1.slice(0, 10)}`)], resultB64: b64(`${K1.slice(10)} x`), structuredB64: b64(JSON.stringify({ pad: 'p'.repeat(600_000) })) } } },
      session,
    );
    assert.equal(r.status, 200, r.text.slice(0, 300));
    // A documented limit (docs/content-security.md): the bound keeps the stream moving.
    assert.deepEqual(logLines(r.text), [`aws key ${K1.slice(0, 10)}`]);
    const notes = await exchangeNotes(dataDir, (n) => n['sse_held_released_unamended'] !== undefined);
    assert.equal(notes.length, 1);
  });

  it('a POST stream: the key split across two events is masked (the control)', async () => {
    assert.deepEqual(await callWith([`aws key ${K2.slice(0, 10)}`, `${K2.slice(10)} end\n`]), ['aws key ', `${MASK} end\n`]);
  });

  it('a held event with masks of its own before the split key: its amend lands on the key, not before it', async () => {
    for (const cut of [1, 10, 19]) {
      assert.deepEqual(await callWith([`old key ${K1} rotated, new key ${K2.slice(0, cut)}`, `${K2.slice(cut)} active\n`]), [`old key ${MASK} rotated, new key `, `${MASK} active\n`], `cut ${cut}`);
      assert.deepEqual(
        await callWith([`old keys ${K1} ${K3} rotated, new key ${K2.slice(0, cut)}`, `${K2.slice(cut)} active\n`]),
        [`old keys ${MASK} ${MASK} rotated, new key `, `${MASK} active\n`],
        `cut ${cut}, two masks before`,
      );
    }
  });

  it('the standalone GET stream: a key split across two of its events is masked', async () => {
    up.getParts = [`aws key ${K2.slice(0, 10)}`, `${K2.slice(10)} end\n`];
    const r = await send(gw.port, { method: 'GET', headers: { accept: 'text/event-stream', ...session } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(logLines(r.text), ['aws key ', `${MASK} end\n`]);
  });

  it("a 2025-03-26 batch's stream: a key split across two of its events is masked", async () => {
    const batch = [
      { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'tail', arguments: { partsB64: [`aws key ${K2.slice(0, 10)}`, `${K2.slice(10)} end\n`].map(b64) } } },
      { jsonrpc: '2.0', id: id++, method: 'ping' },
    ];
    const r = await post(gw.port, batch, session);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(logLines(r.text), ['aws key ', `${MASK} end\n`]);
    assert.equal(sseData(r.text).filter((d) => (JSON.parse(d) as Loose).result).length, 2, 'both answers follow');
  });

  // More than two events: the run of continuing text (dlp.ts) masks each event's part as it passes.
  it('a private key streamed as many log events (a POST stream, then the GET stream): no line of its body reaches the client', async () => {
    for (const per of [1, 3, 9]) {
      const lines = await callWith(['reading id_rsa\n', ...pemEvents(per), 'done\n']);
      const out = lines.join('');
      assert.deepEqual(bodyLeaks(out), [], `${per} lines per event: ${JSON.stringify(lines)}`);
      assert.ok(out.startsWith('reading id_rsa\n') && out.endsWith('done\n') && out.includes('[REDACTED:private-key-pkcs8]'), `${per} per event: ${out}`);
    }
    up.getParts = pemEvents(4);
    const r = await send(gw.port, { method: 'GET', headers: { accept: 'text/event-stream', ...session } });
    assert.deepEqual(bodyLeaks(logLines(r.text).join('')), [], 'GET stream');
  });

  it('a key cut into three events: every part is masked (the relay holds both earlier events)', async () => {
    const lines = await callWith([`aws key ${K2.slice(0, 7)}`, K2.slice(7, 14), `${K2.slice(14)} end\n`]);
    // Many-event splits: test/integration/sse-split-nway.test.ts.
    assert.deepEqual(lines, ['aws key ', '', `${MASK} end\n`]);
  });
});

describe('DLP across SSE events, a result too large to hold: route variants', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let gw: Gateway;
  let dataDir: string;
  let id = 1;
  const TICKET = { regexes: [{ id: 'ticket', pattern: 'TICKET-[0-9]{12}', maxLength: 4000 }] };
  before(async () => {
    up = await startUpstream();
    const route = (name: string, inspectors: unknown[]) => ({ name, path: `/${name}`, upstream: { url: up.url }, inspectors });
    const input: ConfigInput = {
      server: { port: 0 },
      logging: { level: 'silent' },
      limits: { maxBufferedMessageBytes: BUFFER_LIMIT },
      routes: [
        route('one', [{ type: 'dlp', crossEventHoldMs: 1000 }]),
        // Two DLP inspectors, the first with a far longer window (a custom rule of up to 4000 characters).
        route('two', [{ type: 'dlp', name: 'tickets', families: ['custom'], custom: TICKET, crossEventHoldMs: 1000 }, { type: 'dlp', name: 'base', crossEventHoldMs: 1000 }]),
        route('block', [{ type: 'dlp', crossEventHoldMs: 1000, actions: { types: { 'aws-access-key-id': 'block' } } }]),
      ] as ConfigInput['routes'],
    };
    dataDir = tempDataDir();
    gw = await startGateway({ config: ConfigSchema.parse(input), admin: false, logger: silentLogger, dataDir });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => {
      up.server.closeAllConnections();
      up.server.close(() => resolve());
    });
  });

  /** A session on `path`, then one tools/call whose upstream streams `parts` as log events, then the answer. */
  const callOn = async (path: string, args: Record<string, unknown>) => {
    const init = await send(gw.port, { path, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': String(init.headers['mcp-session-id']) };
    await send(gw.port, { path, headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    const r = await send(gw.port, { path, headers, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'tail', arguments: args } }) });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const messages = sseData(r.text).flatMap((d) => {
      try {
        return [JSON.parse(d) as Loose];
      } catch {
        return [];
      }
    });
    return { logs: messages.filter((m) => m.method === 'notifications/message').map((m) => m.params.data as string), answer: messages.find((m) => m.id !== undefined) };
  };
  const filler = ' and the build went on'.repeat(BUFFER_LIMIT / 10);

  it('an image before the text: the run goes on in the text, not in the image data', async () => {
    const { logs, answer } = await callOn('/one', { partsB64: [b64(`aws key ${K1.slice(0, 10)}`)], resultB64: b64(`${K1.slice(10)} was the key${filler}`), imageFirst: true });
    assert.deepEqual(logs, ['aws key ']);
    assert.equal(answer.result.content[1].text, `${MASK} was the key${filler}`);
  });

  it('two DLP inspectors: the held events wait for the one with the longer window too', async () => {
    const { logs, answer } = await callOn('/two', {
      partsB64: [b64('ticket TICKET-123456')],
      resultB64: b64(`789012 was the ticket${filler}`),
      structuredB64: b64(JSON.stringify({ pad: 'p'.repeat(64_900) })),
      pauseAt: 4200,
    });
    assert.deepEqual(logs, ['ticket ']);
    assert.ok(answer.result.content[0].text.startsWith('[REDACTED:ticket] was the ticket'), answer.result.content[0].text.slice(0, 80));
  });

  it('a block rule: the held part is cut, and the call gets its blocked error with the reason', async () => {
    const { logs, answer } = await callOn('/block', { partsB64: [b64(`aws key ${K1.slice(0, 10)}`)], resultB64: b64(`${K1.slice(10)} was the key${filler}`) });
    assert.deepEqual(logs, ['aws key ']);
    assert.equal(answer.error.data.code, 'blocked');
    assert.deepEqual(answer.error.data.reasons, ['dlp/aws-access-key-id']);
    const notes = await exchangeNotes(dataDir, (n) => n['cut'] !== undefined);
    assert.deepEqual(notes[0]!['cut'], { reasons: ['dlp/aws-access-key-id'] });
    assert.equal(notes[0]!['sse_held_released_unamended'], undefined);
  });
});
