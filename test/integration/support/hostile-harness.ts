/**
 * Harness for the hostile-input integration tests: a gateway in front of the demo upstream (or a
 * scripted hostile one), HTTP helpers that can say things `fetch` refuses to (a foreign Host, a
 * lying Content-Length, a half-sent body), and the assertion every refusal shares: the exact HTTP
 * status, JSON-RPC code and `data.code` from the error table (src/core/errors.ts).
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { quickConfig } from '../../../src/config/quick.ts';
import type { Config } from '../../../src/config/schema.ts';
import { ERRORS, type ErrorCode } from '../../../src/core/errors.ts';
import { startDemoServer, type DemoServer } from '../../../src/demo/server.ts';
import { ACCEPT, MODERN, textOf } from '../../../src/demo/testkit.ts';
import { startGateway, type Gateway } from '../../../src/gateway.ts';
import type { Identify } from '../../../src/listener/handler.ts';
import type { Inspector } from '../../../src/pipeline/types.ts';
import { silentLogger } from '../../../src/telemetry/logger.ts';
import { tempDataDir } from '../../support/data-dir.ts';

export { ACCEPT, MODERN };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface ConfigPatch {
  limits?: Partial<Config['limits']>;
  security?: Partial<Config['security']>;
  timeouts?: Partial<Config['routes'][number]['timeouts']>;
  streams?: Partial<Config['streams']>;
  sessions?: Partial<Config['sessions']>;
  pinning?: Config['pinning'];
}

export function makeConfig(upstream: string, patch: ConfigPatch = {}): Config {
  const base = quickConfig({ upstream, port: 0, adminPort: 0 });
  const route = base.routes[0]!;
  return {
    ...base,
    limits: { ...base.limits, ...patch.limits },
    security: { ...base.security, ...patch.security },
    streams: { ...base.streams, ...patch.streams },
    sessions: { ...base.sessions, ...patch.sessions },
    pinning: patch.pinning ?? base.pinning,
    routes: [{ ...route, timeouts: { ...route.timeouts, ...patch.timeouts } }],
  };
}

export interface Stack {
  gw: Gateway;
  /** The gateway's MCP endpoint. */
  url: string;
  port: number;
  demo: DemoServer | undefined;
  close(): Promise<void>;
}

export interface StackOptions extends ConfigPatch {
  /** Upstream URL; default: a fresh demo server. */
  upstream?: string;
  identify?: Identify;
  extraInspectors?: readonly Inspector[];
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const demo = opts.upstream === undefined ? await startDemoServer({ port: 0 }) : undefined;
  const config = makeConfig(opts.upstream ?? demo!.url, opts);
  const gw = await startGateway({ dataDir: tempDataDir(),
    config,
    admin: false,
    logger: silentLogger,
    ...(opts.identify ? { identify: opts.identify } : {}),
    ...(opts.extraInspectors ? { extraInspectors: opts.extraInspectors } : {}),
  });
  return {
    gw,
    url: `${gw.url}/mcp`,
    port: gw.port,
    demo,
    async close() {
      await gw.close();
      await demo?.close();
    },
  };
}

/** Principal from an `x-test-user` header: two callers without real authentication. */
export const identifyByHeader: Identify = (req) => {
  const u = req.headers['x-test-user'];
  return { subject: typeof u === 'string' ? u : 'anonymous', method: 'test-header' };
};

/** An inspector that reads every message and allows it: makes the gateway parse s2c traffic. */
export const observeAll: Inspector = {
  name: 'observe-all',
  methods: { '*': 'both' },
  needs: 'message',
  onFailure: 'closed',
  onMessage: () => ({ kind: 'allow' }),
};

// ------------------------------------------------------------------------------ HTTP clients

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface SendOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked, in these pieces. */
  chunks?: Array<string | Buffer>;
}

/** One request through node:http (which, unlike fetch, lets a test set Host). */
export function send(port: number, o: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { host: `127.0.0.1:${port}`, ...o.headers };
    if (o.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
    if (o.chunks) headers['transfer-encoding'] = 'chunked';
    const req = httpRequest({ host: '127.0.0.1', port, method: o.method ?? 'POST', path: o.path ?? '/mcp', headers, agent: false, setHost: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.chunks) {
      for (const c of o.chunks) req.write(c);
      req.end();
    } else {
      req.end(o.body);
    }
  });
}

/** A JSON POST with the headers a well-behaved client sends. */
export function post(port: number, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(port, {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
  });
}

export interface RawReply extends Reply {
  /** The server had closed the connection when this reply was read. */
  closed: boolean;
}

/** Tries to cut one complete HTTP/1.1 response off the front of `buf`. */
function parseResponse(buf: Buffer, final: boolean): { reply: Omit<RawReply, 'closed'>; used: number } | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers: IncomingHttpHeaders = {};
  for (const line of head.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const start = headEnd + 4;
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    if (buf.length - start >= n) return { reply: { status, headers, text: buf.subarray(start, start + n).toString('utf8') }, used: start + n };
    return final ? { reply: { status, headers, text: buf.subarray(start).toString('utf8') }, used: buf.length } : undefined;
  }
  if (String(headers['transfer-encoding'] ?? '').includes('chunked')) {
    let at = start;
    const body: Buffer[] = [];
    for (;;) {
      const le = buf.indexOf('\r\n', at);
      if (le < 0) break;
      const size = parseInt(buf.subarray(at, le).toString('latin1'), 16);
      if (!Number.isFinite(size)) break;
      if (size === 0) {
        if (buf.length < le + 4) break;
        return { reply: { status, headers, text: Buffer.concat(body).toString('utf8') }, used: le + 4 };
      }
      if (buf.length < le + 2 + size + 2) break;
      body.push(buf.subarray(le + 2, le + 2 + size));
      at = le + 2 + size + 2;
    }
    return final ? { reply: { status, headers, text: Buffer.concat(body).toString('utf8') }, used: buf.length } : undefined;
  }
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { reply: { status, headers, text: '' }, used: start };
  return final ? { reply: { status, headers, text: buf.subarray(start).toString('utf8') }, used: buf.length } : undefined;
}

/**
 * HTTP/1.1 over a bare socket, for what node:http will not send: lying Content-Length, header
 * floods, half bodies, several requests on one connection.
 */
export class RawConnection {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  private ended = false;
  private waiter: (() => void) | undefined;
  readonly connected: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    this.socket.on('end', end);
    this.socket.on('close', end);
    // A reset is the server's right; what it sent before is still read.
    this.socket.on('error', end);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves false when the socket can no longer be written (the server closed it). */
  write(data: string | Buffer): Promise<boolean> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (err) => resolve(!err)));
  }

  /** The next complete response on the connection. */
  async response(): Promise<RawReply> {
    await this.connected;
    for (;;) {
      const parsed = parseResponse(this.buf, this.ended);
      if (parsed) {
        this.buf = this.buf.subarray(parsed.used);
        return { ...parsed.reply, closed: this.ended };
      }
      if (this.ended) {
        throw new Error(`connection closed before a response (${this.buf.length} bytes: ${JSON.stringify(this.buf.toString('latin1').slice(0, 80))})`);
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Resolves once the server has closed the connection. */
  async closedByServer(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Bytes received and not yet consumed by `response()`. */
  get unread(): Buffer {
    return this.buf;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Writes `parts` on a fresh connection and returns the first response. `end` half-closes our side
 * after writing, so an incomplete request ends in an answer or a close instead of a wait.
 */
export async function raw(port: number, parts: Array<string | Buffer>, o: { end?: boolean } = {}): Promise<RawReply> {
  const c = new RawConnection(port);
  try {
    await c.connected;
    for (const p of parts) await c.write(p);
    if (o.end) c.socket.end();
    return await c.response();
  } finally {
    c.destroy();
  }
}

/** Opens a socket, writes `parts`, and leaves it hanging (slowloris). */
export function openStalled(port: number, parts: Array<string | Buffer>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      for (const p of parts) s.write(p);
      resolve(s);
    });
    s.on('error', (err) => {
      // A reset while stalled is the gateway's right; the tests look at other requests.
      if (!s.connecting) return;
      reject(err);
    });
  });
}

// ------------------------------------------------------------------------------ assertions

export function parseJson(r: Reply, label = ''): Loose {
  try {
    return JSON.parse(r.text);
  } catch {
    assert.fail(`${label}: body is not JSON (HTTP ${r.status}): ${JSON.stringify(r.text.slice(0, 200))}`);
  }
}

/**
 * The refusal a client sees: HTTP status, JSON-RPC code and data.code all from the error table,
 * a JSON body, the given id (null when the request's id could not be known).
 */
export function expectGatewayError(r: Reply, code: ErrorCode, id: string | number | null = null, label: string = code): Loose {
  const spec = ERRORS[code];
  assert.equal(r.status, spec.status, `${label}: HTTP status (body ${r.text.slice(0, 300)})`);
  assert.match(String(r.headers['content-type'] ?? ''), /^application\/json/, `${label}: content-type`);
  const body = parseJson(r, label);
  assert.equal(body.jsonrpc, '2.0', `${label}: jsonrpc`);
  assert.equal(body.error?.code, spec.rpc, `${label}: JSON-RPC code (message: ${body.error?.message})`);
  assert.equal(body.error?.data?.code, code, `${label}: data.code`);
  assert.equal(body.id, id, `${label}: id`);
  assert.equal('result' in body, false, `${label}: no result next to an error`);
  return body;
}

let seq = 0;

/** A well-formed 2026-07-28 tools/call body and its mirrored headers. */
export function modernEcho(text: string, id = 1): { body: Loose; headers: Record<string, string> } {
  return {
    body: {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: 'echo',
        arguments: { text },
        _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} },
      },
    },
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
  };
}

/** The gateway still answers a normal request after whatever came before (demo upstream). */
export async function assertServes(port: number, label = 'after hostile input', extraHeaders: Record<string, string> = {}): Promise<void> {
  const text = `alive-${++seq}`;
  const { body, headers } = modernEcho(text, 4242);
  const r = await post(port, body, { ...headers, ...extraHeaders });
  assert.equal(r.status, 200, `${label}: normal request status (body ${r.text.slice(0, 300)})`);
  const msg = parseJson(r, label);
  assert.equal(msg.id, 4242, label);
  assert.equal(textOf(msg.result), text, `${label}: echoed text`);
}

/** Parses an SSE body into its data payloads (comments and empty events skipped). */
export function sseData(text: string): string[] {
  const out: string[] = [];
  for (const block of text.replace(/\r\n?/g, '\n').split('\n\n')) {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length > 0 && data.join('\n') !== '') out.push(data.join('\n'));
  }
  return out;
}

/** Asserts an in-band (SSE) JSON-RPC error with the table's code for `id`. */
export function expectStreamError(events: string[], code: ErrorCode, id: string | number, label: string = code): Loose {
  const last = events.at(-1);
  assert.ok(last !== undefined, `${label}: the stream carried no event`);
  let msg: Loose;
  try {
    msg = JSON.parse(last);
  } catch {
    assert.fail(`${label}: last event is not JSON: ${JSON.stringify(last.slice(0, 200))}`);
  }
  assert.equal(msg.id, id, `${label}: id`);
  assert.equal(msg.error?.code, ERRORS[code].rpc, `${label}: JSON-RPC code (message: ${msg.error?.message})`);
  assert.equal(msg.error?.data?.code, code, `${label}: data.code`);
  return msg;
}

/** An in-band refusal of a request: HTTP 200 carrying a JSON-RPC error from the table. */
export function expectInBandError(r: Reply, code: ErrorCode, id: string | number, label: string = code): Loose {
  assert.equal(r.status, 200, `${label}: HTTP status (body ${r.text.slice(0, 300)})`);
  const body = parseJson(r, label);
  assert.equal(body.id, id, `${label}: id`);
  assert.equal(body.error?.code, ERRORS[code].rpc, `${label}: JSON-RPC code (message: ${body.error?.message})`);
  assert.equal(body.error?.data?.code, code, `${label}: data.code`);
  return body;
}
