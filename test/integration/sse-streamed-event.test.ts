/**
 * The SSE chunk path end to end: an upstream SSE event larger than
 * `limits.maxBufferedMessageBytes` is inspected and relayed as it arrives instead of being held
 * whole. The client starts reading before the upstream has finished the event, secrets anywhere in
 * it (split across the upstream's writes too) arrive redacted, and whatever goes wrong after bytes
 * went out (a blocking rule, an answer for another id, an upstream that stops mid-event) ends the
 * stream without the client ever dispatching part of a message. Messages the gateway must read
 * whole (a large notification) still are.
 *
 * Test secrets are assembled at run time so no credential-shaped literal sits in the source.
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Digester } from '../../src/audit/digest.ts';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import { SseParser, type SseEvent } from '../../src/codec/sse.ts';
import { ABANDONED_EVENT_TYPE } from '../../src/session/relay-stream.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';
import { ACCEPT, MODERN } from './support/hostile-harness.ts';

const AWS = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const PEM = '-----BEGIN ' + 'RSA PRIVATE KEY-----';
const BUFFER_LIMIT = 64 * 1024;
/** Filler text of the big results: prose, no secret, ~4 KB per block. */
const FILLER = 'The build finished on node 24; three warnings about unused imports were ignored. '.repeat(50);
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

/** Set when the upstream's answer to a 'hold' call was closed under it (the gateway cancelled). */
let holdClosed = false;
/** Lets a test hold the upstream in the middle of an event until it has seen the client read. */
let gateOpen: (() => void) | undefined;

/**
 * An upstream that answers every tools/call with SSE, writing the big event in many pieces with
 * `result` before `id` (the TypeScript SDK's member order), so the gateway cannot learn the id
 * before it must decide to stream.
 */
function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    const msg = JSON.parse(body) as { id?: number; method?: string; params?: { name?: string } };
    if (msg.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    const name = msg.params?.name ?? '';
    if (name === 'json-dies') {
      // The first bytes of a JSON answer, then the connection drops: nothing of it reaches the client.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"jsonrpc":"2.0","id":${msg.id},"result":{"content":[{"type":"text","text":"partial`, () => setTimeout(() => res.destroy(), 20));
      return;
    }
    if (name === 'json-blobs') {
      // A JSON body over the buffer limit carrying files as base64 blobs (embedded resources);
      // the last one behind a repeated label, "image/png" then "text/plain" (a client keeps the last).
      const content = JSON.stringify(BLOBS.map((resource) => ({ type: 'resource', resource })));
      const spoofed = `{"type":"resource","resource":{"uri":"file:///b.env","mimeType":"image/png","mimeType":"text/plain","blob":"${BLOBS[0]!.blob}"}}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      // And strings a tool files under a `blob` name that are no base64 at all.
      const notes = JSON.stringify({ notes: [{ blob: `a note, not base64: key ${AWS}` }, { blob: 'hello' }] });
      res.end(`{"jsonrpc":"2.0","id":${msg.id},"result":{"content":${content.slice(0, -1)},${spoofed}],"structuredContent":${notes}}}`);
      return;
    }
    if (name === 'json-numbers') {
      // A JSON body over the buffer limit whose structured content carries card numbers as numbers.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"jsonrpc":"2.0","id":${msg.id},"result":${numbersResult()}}`);
      return;
    }
    if (name.startsWith('json-')) {
      // A JSON body over the buffer limit (relay.ts's chunk path), `id` last as the SDK writes it.
      res.writeHead(200, { 'content-type': 'application/json' });
      const answerId = name === 'json-other-id' ? msg.id + 1000 : msg.id;
      // 'json-huge': over 1 MiB, past what the audit thread is handed whole.
      res.end(`{"result":{"content":[{"type":"text","text":"${FILLER.repeat(name === 'json-huge' ? 300 : 30)}"}]},"jsonrpc":"2.0","id":${answerId}}`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    void answer(name, msg.id, res);
  });
}

async function answer(name: string, id: number, res: ServerResponse): Promise<void> {
  const tick = () => new Promise((r) => setImmediate(r));
  const writeResult = async (parts: string[], answerId = id, tail = true) => {
    res.write('event: message\ndata: {"result":{"content":[{"type":"text","text":"');
    for (const p of parts) {
      res.write(p);
      await tick();
    }
    if (tail) res.write(`"}]},"jsonrpc":"2.0","id":${answerId}}\n\n`);
  };
  const blocks = (n: number) => Array.from({ length: n }, () => FILLER);
  switch (name) {
    case 'big': {
      // Keys early, in the middle split across two writes, and at the very end.
      const parts = [`key ${AWS} `, ...blocks(30), `then ${AWS.slice(0, 9)}`, `${AWS.slice(9)} `, ...blocks(30), ` last ${AWS}`];
      await writeResult(parts);
      break;
    }
    case 'gated': {
      await writeResult(blocks(40), id, false);
      await new Promise<void>((r) => (gateOpen = r));
      res.write(`${FILLER}"}]},"jsonrpc":"2.0","id":${id}}\n\n`);
      break;
    }
    case 'hold': {
      res.on('close', () => (holdClosed = true));
      await writeResult(blocks(40), id, false);
      return; // never finishes the event
    }
    case 'leak-pem':
      await writeResult([...blocks(30), PEM, ...blocks(30)]);
      break;
    case 'other-id':
      await writeResult(blocks(30), id + 1000);
      break;
    case 'id-twice':
      // `ID` beside `id`: a case-folding client (Go, .NET web defaults) reads the other one.
      await writeResult(blocks(30), id, false);
      res.write(`"}]},"jsonrpc":"2.0","id":${id},"ID":999}\n\n`);
      break;
    case 'many-lines': {
      // The answer as thousands of short `data:` lines (split between tokens; a reader joins them with LF).
      const json = JSON.stringify({ result: { content: Array.from({ length: 6000 }, (_, i) => ({ type: 'text', text: `item ${i}` })) }, jsonrpc: '2.0', id });
      res.write(`event: message\n${json.replaceAll('},{', '},\n{').split('\n').map((l) => `data: ${l}\n`).join('')}\n`);
      break;
    }
    case 'numbers': {
      // The same as one SSE event, written in 1 KB pieces (numbers split across writes).
      const data = `{"result":${numbersResult()},"jsonrpc":"2.0","id":${id}}`;
      res.write('event: message\ndata: ');
      for (let i = 0; i < data.length; i += 1000) {
        res.write(data.slice(i, i + 1000));
        await tick();
      }
      res.write('\n\n');
      break;
    }
    case 'stops-midway':
      await writeResult(blocks(30), id, false);
      res.destroy();
      return;
    case 'big-notification': {
      // A large log notification first (read whole: not an answer), then the small answer.
      const text = `${FILLER.repeat(20)} ${AWS}`;
      res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: text } })}\n\n`);
      res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'done' }] } })}\n\n`);
      break;
    }
    default:
      res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } })}\n\n`);
  }
  res.end();
}

/** Card numbers (Luhn-valid test numbers) as JSON numbers in 2,000 rows of structured content, over the buffer limit. */
const CARD = 4111111111111111;
function numbersResult(): string {
  const rows = Array.from({ length: 2000 }, (_, i) => ({ row: i, amount: 120_000 + i, card: CARD, note: 'paid in full, nothing to report here' }));
  return JSON.stringify({ content: [{ type: 'text', text: 'see structured content' }], structuredContent: { rows } });
}

/** A text file with a key in the middle, a PNG-like file (a NUL in its header), and a text file labelled an image. */
const ENV_FILE = `${FILLER.repeat(20)}\nAWS_ACCESS_KEY_ID=${AWS}\n${FILLER.repeat(20)}`;
/** '?' and '>' make `_` and `-` in base64url; its length leaves the last group short (no padding). */
const URL_ENV_FILE = `# ???>>> ${FILLER.repeat(10)}\nAWS_ACCESS_KEY_ID=${AWS}\n${FILLER.repeat(10)}.`;
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from(`${FILLER} ${AWS}`)]);
const BLOBS = [
  { uri: 'file:///app/.env', mimeType: 'application/octet-stream', blob: Buffer.from(ENV_FILE).toString('base64') },
  { uri: 'file:///logo.png', blob: PNG.toString('base64') },
  { uri: 'file:///photo', mimeType: 'image/jpeg', blob: Buffer.from(`${FILLER} ${AWS}`).toString('base64') },
  // The URL-safe alphabet (RFC 4648 §5), unpadded: Buffer decodes it as base64, so a client may too.
  { uri: 'file:///url.env', blob: Buffer.from(URL_ENV_FILE).toString('base64url') },
];

interface Streamed {
  status: number;
  /** Bytes read so far (grows while the response is open). */
  received: () => number;
  /** Events a spec parser dispatched from everything read; resolves when the response is over. */
  done: Promise<{ events: SseEvent[]; text: string }>;
  /** Close the connection (the client leaves). */
  destroy: () => void;
}

/** A tools/call through the gateway, read as it arrives; never rejects on a cut connection. */
function call(port: number, path: string, name: string, id: number): Promise<Streamed> {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {}, _meta: meta } });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: false,
        headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': name, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const parts: Buffer[] = [];
        let n = 0;
        const done = new Promise<{ events: SseEvent[]; text: string }>((finish) => {
          const over = () => {
            const text = Buffer.concat(parts).toString('utf8');
            const events: SseEvent[] = [];
            const p = new SseParser((ev) => events.push(ev), { maxEventBytes: 64 * 1024 * 1024 });
            p.push(text);
            p.end();
            finish({ events, text });
          };
          res.on('data', (c: Buffer) => {
            parts.push(c);
            n += c.length;
          });
          res.on('end', over);
          res.on('error', over);
          res.on('aborted', over);
          res.on('close', over);
        });
        resolve({ status: res.statusCode ?? 0, received: () => n, done, destroy: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Audit records of `kind` in the gateway's SQLite trail, read until `found` picks one (5 s at most). */
async function auditRecord<T>(dataDir: string, kind: 'stream' | 'exchange', found: (records: Array<Record<string, any>>) => T | undefined): Promise<T | undefined> {
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const reader = new SqliteSink({ path: join(dataDir, '.portcullis', 'audit.db'), readOnly: true });
    const records: Array<Record<string, any>> = [];
    for await (const r of reader.read({ kind })) records.push(r as Record<string, any>);
    await reader.close();
    const hit = found(records);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/**
 * What a client reads of a stream the gateway gave up mid-event: the event, ended as one no client
 * takes for a message (its type is not `message`, its data is not JSON), then exactly one message,
 * the JSON-RPC error for request `id`. Returns that error.
 */
function givenUp(events: SseEvent[], id: number): { code: number; message: string; data?: { reasons?: string[] } } {
  const messages = events.filter((e) => e.type === 'message');
  for (const e of events.filter((x) => x.type !== 'message')) {
    assert.equal(e.type, ABANDONED_EVENT_TYPE);
    assert.throws(() => JSON.parse(e.data), SyntaxError, 'the part that went out can never parse as a message');
  }
  assert.equal(messages.length, 1, JSON.stringify(messages.map((m) => m.data.slice(0, 80))));
  const msg = JSON.parse(messages[0]!.data) as { id: number; error: { code: number; message: string } };
  assert.equal(msg.id, id, 'the error answers the request, so the client stops waiting');
  assert.ok(msg.error, 'an error, not a result');
  return msg.error;
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * The test upstream and a gateway in front of it (audit in `dataDir`), for one describe block:
 * `gw()` once its `before` ran.
 */
function stack(
  limits: ConfigInput['limits'],
  routes: (url: string) => ConfigInput['routes'],
): { gw: () => Gateway; dataDir: string } {
  let upstream: Server;
  let gateway: Gateway;
  const dataDir = tempDataDir();
  before(async () => {
    upstream = createServer(upstreamHandler);
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
    const input: ConfigInput = { server: { port: 0 }, logging: { level: 'silent' }, limits, routes: routes(url) };
    gateway = await startGateway({ config: ConfigSchema.parse(input), admin: false, logger: silentLogger, dataDir });
  });
  after(async () => {
    await gateway.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });
  return { gw: () => gateway, dataDir };
}

describe('SSE events larger than the buffer limit stream through the gateway', () => {
  const s = stack({ maxBufferedMessageBytes: BUFFER_LIMIT }, (url) => [
    { name: 'dlp', path: '/mcp', upstream: { url }, inspectors: [{ type: 'dlp', actions: { default: 'redact', types: { 'private-key-rsa': 'block', 'private-key-header': 'block' } } }] },
    { name: 'plain', path: '/plain', upstream: { url } },
  ]);
  const { dataDir } = s;
  let gw: Gateway;
  before(() => {
    gw = s.gw();
  });

  it('a large result arrives as one event, every secret in it redacted, wherever the pieces fell', async () => {
    const r = await call(gw.port, '/mcp', 'big', 1);
    const { events } = await r.done;
    assert.equal(events.length, 1);
    const msg = JSON.parse(events[0]!.data) as { id: number; result: { content: Array<{ text: string }> } };
    assert.equal(msg.id, 1);
    const text = msg.result.content[0]!.text;
    assert.ok(text.length > BUFFER_LIMIT * 3, 'the event was well over the buffer limit');
    assert.ok(!text.includes(AWS) && !text.includes(AWS.slice(0, 9) + AWS.slice(9, 12)), 'no part of a key got through');
    assert.equal(text.split('[REDACTED:aws-access-key-id]').length - 1, 3, 'all three keys masked, the split one included');
    assert.ok(text.includes(FILLER), 'the rest is intact');
  });

  it('the audit trail has the streamed event as a segment of its own size, and no text of it', async () => {
    let text = '';
    const big = await auditRecord(dataDir, 'stream', (records) => {
      text = JSON.stringify(records);
      return records.map((r) => r.unmapped?.stream).find((st) => st?.phase === 'segment' && (st.bytes ?? 0) > BUFFER_LIMIT * 3);
    });
    assert.ok(big, text.slice(0, 400));
    assert.equal(big.count, 1);
    assert.ok(!text.includes(FILLER.slice(0, 40)) && !text.includes(AWS), 'no content of it in the trail');
  });

  it("the exchange's record says it was redacted, by which inspector and why, as a small answer's would", async () => {
    const rec = await auditRecord(dataDir, 'exchange', (records) =>
      records.find((x) => x.unmapped?.notes?.sse_streamed && x.unmapped?.verdict !== 'block' && JSON.stringify(x).includes('aws-access-key-id')),
    );
    assert.ok(rec, 'the streamed exchange is recorded');
    assert.equal(rec.unmapped.verdict, 'redact');
    assert.deepEqual(rec.unmapped.reasons, ['dlp/aws-access-key-id']);
    // One outcome for the whole streamed answer (not one per piece, which would crowd out the rest).
    assert.deepEqual(
      rec.unmapped.inspectors.filter((o: { verdict: string }) => o.verdict !== 'allow').map((o: { name: string; verdict: string; reasons?: string[] }) => [o.name, o.verdict, o.reasons]),
      [['dlp', 'redact', ['dlp/aws-access-key-id']]],
    );
  });

  it("the exchange record digests the bytes the client got, on the chunk paths and for a pass-through body over 1 MiB", async () => {
    const key = Buffer.from(readFileSync(join(dataDir, '.portcullis', 'audit-keys', 'audit-digest.key'), 'utf8').trim(), 'base64');
    const digestOf = (text: string) => new Digester(key).digestBytes([Buffer.from(text, 'utf8')]);
    const sse = await (await call(gw.port, '/mcp', 'big', 40)).done;
    const json = await (await call(gw.port, '/mcp', 'json-big', 41)).done;
    const plain = await (await call(gw.port, '/plain', 'json-huge', 42)).done;
    assert.ok(plain.text.length > 1024 * 1024);
    for (const [id, delivered] of [[40, sse.events[0]!.data], [41, json.text], [42, plain.text]] as const) {
      const rec = await auditRecord(dataDir, 'exchange', (records) => records.find((x) => x.api?.request?.uid === String(id)));
      assert.ok(rec, `call ${id} recorded`);
      assert.equal(rec.unmapped.digests.result_bytes, digestOf(delivered), `call ${id}: the digest of what the client received`);
    }
    // An answer that died before any of it went out: the client got an error, the record no result digest.
    const dead = await (await call(gw.port, '/plain', 'json-dies', 43)).done;
    assert.equal((JSON.parse(dead.text) as { error: { code: number } }).error.code, -31030);
    const rec = await auditRecord(dataDir, 'exchange', (records) => records.find((x) => x.api?.request?.uid === '43'));
    assert.ok(rec, 'call 43 recorded');
    assert.equal(rec.unmapped.digests.result_bytes, undefined, 'bytes the client never received are not digested as its result');
  });

  it('the client reads the event while the upstream is still writing it', async () => {
    const r = await call(gw.port, '/mcp', 'gated', 2);
    // The upstream has written ~160 KB of the event and waits: the client already has most of it.
    await until(() => gateOpen !== undefined && r.received() > BUFFER_LIMIT * 2);
    gateOpen!();
    gateOpen = undefined;
    const { events } = await r.done;
    assert.equal(events.length, 1);
    assert.equal((JSON.parse(events[0]!.data) as { id: number }).id, 2);
  });

  it('a client leaving mid-event cancels the upstream request (2026-07-28)', async () => {
    holdClosed = false;
    const r = await call(gw.port, '/mcp', 'hold', 8);
    await until(() => r.received() > BUFFER_LIMIT * 2);
    r.destroy();
    await until(() => holdClosed, 5000);
  });

  it('a blocking rule mid-event gives the event up, the client gets a blocked error at once, and the gateway goes on', async () => {
    const r = await call(gw.port, '/mcp', 'leak-pem', 3);
    const { events, text } = await r.done;
    const error = givenUp(events, 3);
    assert.equal(error.code, -31020);
    assert.deepEqual(error.data?.reasons, ['dlp/private-key-header']);
    assert.ok(!text.includes(PEM), 'nothing from the blocked part went out');
    const next = await (await call(gw.port, '/mcp', 'echo', 33)).done;
    assert.deepEqual(next.events.map((e) => (JSON.parse(e.data) as { id: number }).id), [33], 'the next call is served');
  });

  it('an answer for another request id, found at its end, is given up rather than delivered', async () => {
    const r = await call(gw.port, '/mcp', 'other-id', 4);
    const { events } = await r.done;
    assert.equal(givenUp(events, 4).code, -31032);
  });

  it('a large JSON body answering another request id is cut before its end, never delivered whole', async () => {
    const good = await (await call(gw.port, '/mcp', 'json-big', 9)).done;
    assert.equal((JSON.parse(good.text) as { id: number }).id, 9, 'the right answer passes');
    const bad = await (await call(gw.port, '/mcp', 'json-other-id', 10)).done;
    assert.ok(bad.text.length > BUFFER_LIMIT, 'most of it went out before its id was known');
    assert.throws(() => JSON.parse(bad.text), SyntaxError, 'but not all: no client can read it as an answer');
  });

  it('a text file sent as a base64 blob in a large answer is scanned as text and masked, whatever its label; binary blobs pass byte for byte', async () => {
    const { text } = await (await call(gw.port, '/mcp', 'json-blobs', 16)).done;
    const blobs = (JSON.parse(text) as { result: { content: Array<{ resource: { blob: string } }> } }).result.content.map((c) => c.resource.blob);
    const files = blobs.map((b) => Buffer.from(b, 'base64'));
    assert.equal(files.length, 5);
    assert.equal(files[0]!.toString('utf8'), ENV_FILE.replace(AWS, '[REDACTED:aws-access-key-id]'));
    assert.deepEqual(files[1], PNG, 'not text: not scanned, not changed');
    assert.equal(files[2]!.toString('utf8'), `${FILLER} [REDACTED:aws-access-key-id]`, 'labelled an image, but text: scanned');
    assert.equal(files[3]!.toString('utf8'), URL_ENV_FILE.replace(AWS, '[REDACTED:aws-access-key-id]'), 'URL-safe base64: decoded and scanned too');
    assert.ok(/^[A-Za-z0-9_-]+$/.test(blobs[3]!), 'and sent back in its own alphabet, unpadded as it came');
    assert.equal(files[4]!.toString('utf8'), ENV_FILE.replace(AWS, '[REDACTED:aws-access-key-id]'), 'a repeated label changes nothing');
    const notes = (JSON.parse(text) as { result: { structuredContent: { notes: Array<{ blob: string }> } } }).result.structuredContent.notes;
    assert.deepEqual(notes.map((n) => n.blob), ['a note, not base64: key [REDACTED:aws-access-key-id]', 'hello'], 'no base64: scanned as a string, never re-encoded');
  });

  it('card numbers sent as JSON numbers in a large answer are masked on both chunk paths, other numbers intact', async () => {
    type Rows = { id: number; result: { structuredContent: { rows: Array<{ row: number; amount: number; card: unknown }> } } };
    const sse = await (await call(gw.port, '/mcp', 'numbers', 13)).done;
    assert.equal(sse.events.length, 1);
    const json = await (await call(gw.port, '/mcp', 'json-numbers', 14)).done;
    for (const [msg, id] of [[JSON.parse(sse.events[0]!.data) as Rows, 13], [JSON.parse(json.text) as Rows, 14]] as const) {
      assert.equal(msg.id, id);
      const rows = msg.result.structuredContent.rows;
      assert.equal(rows.length, 2000);
      assert.ok(rows.every((r) => r.card === '[REDACTED:credit-card]'), `every card masked (${String(rows.find((r) => r.card !== '[REDACTED:credit-card]')?.card)})`);
      assert.ok(rows.every((r, i) => r.row === i && r.amount === 120_000 + i), 'ids and amounts untouched');
    }
    // Unchanged where no inspector reads the answer.
    const plain = await (await call(gw.port, '/plain', 'numbers', 15)).done;
    assert.equal((JSON.parse(plain.events[0]!.data) as Rows).result.structuredContent.rows[0]!.card, CARD);
  });

  it('a streamed answer with a second, case-folded id is given up (the whole-message path refuses it too)', async () => {
    const { events } = await (await call(gw.port, '/mcp', 'id-twice', 11)).done;
    assert.equal(givenUp(events, 11).code, -31032);
  });

  it('an answer written as thousands of short data lines arrives as one event, the same JSON', async () => {
    const { events } = await (await call(gw.port, '/mcp', 'many-lines', 12)).done;
    assert.equal(events.length, 1);
    const msg = JSON.parse(events[0]!.data) as { id: number; result: { content: Array<{ text: string }> } };
    assert.equal(msg.id, 12);
    assert.equal(msg.result.content.length, 6000);
    assert.equal(msg.result.content[5999]!.text, 'item 5999');
  });

  it('an upstream that stops mid-event leaves the client with no partial message, and an error for its request', async () => {
    const r = await call(gw.port, '/mcp', 'stops-midway', 5);
    const { events } = await r.done;
    assert.equal(givenUp(events, 5).code, -31030, 'upstream_unavailable: its connection dropped');
  });

  it('a large notification is still read whole (and redacted), then the answer follows', async () => {
    const r = await call(gw.port, '/mcp', 'big-notification', 6);
    const { events } = await r.done;
    assert.equal(events.length, 2);
    const note = JSON.parse(events[0]!.data) as { method: string; params: { data: string } };
    assert.equal(note.method, 'notifications/message');
    assert.ok(note.params.data.endsWith('[REDACTED:aws-access-key-id]'));
    assert.equal((JSON.parse(events[1]!.data) as { id: number }).id, 6);
  });

  it('on a route without inspectors the large event streams through unchanged', async () => {
    const r = await call(gw.port, '/plain', 'big', 7);
    const { events } = await r.done;
    assert.equal(events.length, 1);
    const text = (JSON.parse(events[0]!.data) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text;
    assert.ok(text.startsWith(`key ${AWS} `) && text.endsWith(` last ${AWS}`));
  });
});

describe('a streamed answer over maxEventBytes', () => {
  const s = stack({ maxBufferedMessageBytes: BUFFER_LIMIT, maxEventBytes: 2 * BUFFER_LIMIT }, (url) => [
    { name: 'dlp', path: '/mcp', upstream: { url }, inspectors: [{ type: 'dlp' }] },
  ]);
  const { dataDir } = s;
  let gw: Gateway;
  before(() => {
    gw = s.gw();
  });

  it('is cut where it passes the limit, and the record gives that cause', async () => {
    const r = await call(gw.port, '/mcp', 'big', 1);
    const { events } = await r.done;
    assert.equal(givenUp(events, 1).code, -31033);
    const cut = await auditRecord(dataDir, 'exchange', (records) => records.find((x) => x.unmapped?.notes?.sse_streamed)?.unmapped.notes.cut as unknown);
    assert.deepEqual(cut, { reason: 'upstream_event_too_large' });
  });
});
