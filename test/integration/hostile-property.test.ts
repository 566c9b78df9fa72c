/**
 * Property: no request a client can make (random method, path, headers and body, well-formed or
 * not) gets a gateway 5xx other than 502/503/504, every gateway refusal is a row of the error
 * table (status, JSON-RPC code and data.code agree), and the gateway keeps serving.
 *
 * "Bad input gets a clear error, never a crash" (docs/CONVENTIONS.md). The gateway runs in this
 * process, so a crash would end the run: surviving it is itself the no-crash check.
 *
 * Requests are built mostly valid and then mutated, so that most of them get past the early
 * refusals (Host, Content-Type, Accept) into era classification, sessions and the upstream.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERRORS, type ErrorCode } from '../../src/core/errors.ts';
import { assertServes, post, raw, send, startStack, type Reply, type Stack } from './support/hostile-harness.ts';

let s: Stack;
let session = '';
before(async () => {
  // Short timeouts: a random request that makes the upstream wait must end in 504, not stall the run.
  s = await startStack({ limits: { maxBodyBytes: 16 * 1024, maxHeaderBytes: 8 * 1024 }, timeouts: { requestMs: 3000, idleMs: 2000 } });
  const init = await post(s.port, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } });
  session = String(init.headers['mcp-session-id'] ?? '');
  assert.ok(session, 'a real session for the fuzzer to use');
});
after(() => s.close());

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const b64 = (v: string) => `=?base64?${Buffer.from(v, 'utf8').toString('base64')}?=`;

const version = fc.oneof(fc.constantFrom('2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2099-01-01', 'bogus', ''), printable);
// Tools that answer at once: no long waits, no server→client requests waiting for an answer.
const toolName = fc.oneof(fc.constantFrom('echo', 'add', 'leak_secret', 'nope', ''), printable);
const rpcMethod = fc.oneof(
  fc.constantFrom('initialize', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/read', 'prompts/get', 'notifications/initialized', 'notifications/cancelled', 'server/discover'),
  printable,
);
const rpcId = fc.oneof(fc.integer({ min: -5, max: 1e6 }), fc.string({ maxLength: 8 }), fc.constant(null), fc.double(), fc.constant({}));

const meta = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      'io.modelcontextprotocol/protocolVersion': fc.oneof(version, fc.integer(), fc.constant(null)),
      'io.modelcontextprotocol/clientCapabilities': fc.oneof(fc.constant({}), fc.constant([]), fc.constant(null), fc.string()),
    },
    { requiredKeys: [] },
  ),
);

const params = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      name: fc.oneof(toolName, fc.integer()),
      uri: fc.oneof(fc.constantFrom('demo://readme', 'demo://nope'), printable),
      arguments: fc.oneof(fc.record({ text: fc.string({ maxLength: 50 }), a: fc.integer(), b: fc.integer() }, { requiredKeys: [] }), fc.constant(null)),
      protocolVersion: version,
      capabilities: fc.constant({}),
      _meta: meta,
    },
    { requiredKeys: [] },
  ),
  fc.array(fc.integer(), { maxLength: 3 }),
);

const rpcish = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('2.0'), fc.constant('1.0'), fc.integer()),
    id: rpcId,
    method: rpcMethod,
    params,
    result: fc.constant({}),
    error: fc.constant({ code: 1, message: 'x' }),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { arbitrary: rpcish.map((m) => JSON.stringify(m)), weight: 6 },
  { arbitrary: fc.array(rpcish, { maxLength: 3 }).map((a) => JSON.stringify(a)), weight: 2 },
  { arbitrary: fc.json({ maxDepth: 3 }), weight: 1 },
  { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
  { arbitrary: fc.constant('x'.repeat(20 * 1024)), weight: 1 }, // over maxBodyBytes
);

/** Mostly `usual`, sometimes something else, sometimes absent. */
const mostly = (usual: fc.Arbitrary<string>, other: fc.Arbitrary<string>) =>
  fc.oneof({ arbitrary: usual, weight: 16 }, { arbitrary: other, weight: 1 }, { arbitrary: fc.constant(undefined), weight: 1 });
const rarely = (a: fc.Arbitrary<string>) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 10 }, { arbitrary: a, weight: 1 });

const baseHeaders = fc.record({
  'content-type': mostly(fc.constantFrom('application/json', 'application/json; charset=utf-8'), fc.oneof(fc.constantFrom('text/plain', 'application/jsonl'), printable)),
  accept: mostly(fc.constantFrom('application/json, text/event-stream', '*/*'), fc.oneof(fc.constantFrom('text/event-stream', 'application/json'), printable)),
  origin: rarely(fc.oneof(fc.constantFrom('http://localhost:3000', 'http://evil.example', 'null'), printable)),
  host: fc.oneof({ arbitrary: fc.constantFrom('HOST', 'localhost:PORT'), weight: 16 }, { arbitrary: fc.constantFrom('evil.example', 'localhost.evil.example'), weight: 1 }),
  'mcp-session-id': rarely(fc.oneof(fc.constant('SESSION'), printable)),
  'last-event-id': rarely(fc.oneof(fc.constantFrom('p0.0', 'g1.3', 'p0.1'), printable)),
  'mcp-param-x': rarely(printable),
});

/** A 2026-07-28 request with headers mirroring its body, then up to three mutations of either. */
const modernRequest = fc
  .record({
    id: fc.oneof({ arbitrary: fc.oneof(fc.nat(), fc.string({ maxLength: 8 })), weight: 6 }, { arbitrary: rpcId, weight: 1 }),
    method: fc.oneof({ arbitrary: fc.constantFrom('tools/call', 'tools/list', 'resources/read', 'prompts/get', 'ping', 'server/discover'), weight: 5 }, { arbitrary: rpcMethod, weight: 1 }),
    name: fc.oneof({ arbitrary: fc.constantFrom('echo', 'add', 'leak_secret'), weight: 4 }, { arbitrary: toolName, weight: 1 }),
    uri: fc.constantFrom('demo://readme', 'demo://nope', 'x'),
    text: fc.string({ maxLength: 40 }),
    encodeName: fc.boolean(),
    mutations: fc.oneof(
      fc.constant([]),
      fc.array(
        fc.oneof(
          fc.record({ header: fc.constantFrom('mcp-protocol-version', 'mcp-method', 'mcp-name'), value: fc.option(fc.oneof(printable, version, toolName.map(b64)), { nil: undefined }) }),
          fc.record({ meta: fc.constantFrom('io.modelcontextprotocol/protocolVersion', 'io.modelcontextprotocol/clientCapabilities'), value: fc.oneof(version, fc.constant(null), fc.constant([]), fc.constant({})) }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    ),
  })
  .map((r) => {
    const metaObj: Record<string, unknown> = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    const p: Record<string, unknown> = { _meta: metaObj, arguments: { text: r.text } };
    if (r.method === 'resources/read') p['uri'] = r.uri;
    else p['name'] = r.name;
    const h: Record<string, string | undefined> = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': r.method };
    const target = String(r.method === 'resources/read' ? r.uri : r.name);
    if (['tools/call', 'resources/read', 'prompts/get'].includes(r.method)) h['mcp-name'] = r.encodeName ? b64(target) : target;
    for (const m of r.mutations) {
      if ('header' in m) h[m.header] = m.value;
      else metaObj[m.meta] = m.value;
    }
    return { body: JSON.stringify({ jsonrpc: '2.0', id: r.id, method: r.method, params: p }), mcp: h };
  });

/** A 2025-era (or shapeless) message, mostly on the live session, with a random or missing protocol header. */
const legacyBody = fc.oneof(
  {
    arbitrary: fc
      .record({ id: fc.nat(), method: fc.constantFrom('tools/list', 'tools/call', 'ping', 'resources/list', 'prompts/list'), text: fc.string({ maxLength: 40 }) })
      .map((r) => JSON.stringify({ jsonrpc: '2.0', id: r.id, method: r.method, params: r.method === 'tools/call' ? { name: 'echo', arguments: { text: r.text } } : {} })),
    weight: 2,
  },
  { arbitrary: body, weight: 1 },
);

const legacyRequest = fc
  .record({
    body: legacyBody,
    v: fc.oneof({ arbitrary: fc.constant('2025-11-25'), weight: 3 }, { arbitrary: fc.option(version, { nil: undefined }), weight: 1 }),
    sid: fc.oneof({ arbitrary: fc.constant('SESSION'), weight: 3 }, { arbitrary: fc.option(printable, { nil: undefined }), weight: 1 }),
  })
  .map((r) => ({ body: r.body, mcp: { 'mcp-protocol-version': r.v, 'mcp-session-id': r.sid } as Record<string, string | undefined> }));

const request = fc.record({
  method: fc.oneof({ arbitrary: fc.constant('POST'), weight: 6 }, { arbitrary: fc.constantFrom('GET', 'DELETE'), weight: 2 }, { arbitrary: fc.constantFrom('PUT', 'OPTIONS', 'PATCH'), weight: 1 }),
  path: fc.oneof({ arbitrary: fc.constantFrom('/mcp', '/mcp/', '/mcp?x=1'), weight: 8 }, { arbitrary: fc.constantFrom('/', '/other', '/MCP'), weight: 1 }),
  headers: baseHeaders,
  payload: fc.oneof(modernRequest, legacyRequest),
});

const okStatus = (status: number) => status < 500 || status === 502 || status === 503 || status === 504;

function check(r: Reply, label: string): void {
  assert.ok(okStatus(r.status), `${label}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  if (!/^application\/json/.test(String(r.headers['content-type'] ?? '')) || r.text === '') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.text);
  } catch {
    assert.fail(`${label}: a JSON content-type with a body that is not JSON: ${r.text.slice(0, 200)}`);
  }
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  for (const m of messages as Array<{ error?: { code?: number; data?: { code?: string } } } | null>) {
    const code = m?.error?.data?.code;
    if (typeof code !== 'string') continue; // the upstream's own answer, passed through
    assert.ok(code in ERRORS, `${label}: data.code ${code} is not in the error table`);
    const spec = ERRORS[code as ErrorCode];
    assert.equal(m?.error?.code, spec.rpc, `${label}: ${code} with JSON-RPC code ${m?.error?.code}`);
    // A refusal that is the whole HTTP answer carries the table's status; in-band ones are 200.
    if (!Array.isArray(parsed) && r.status !== 200) assert.equal(r.status, spec.status, `${label}: ${code} with HTTP ${r.status}`);
  }
}

const seen = new Map<string, number>();
/** Answers the gateway relayed (no gateway data.code): the request made it to the upstream. */
let upstreamAnswers = 0;
const RUNS = 500;

test('random requests never get a gateway 5xx (other than 502/503/504) and always a table error', async () => {
  await fc.assert(
    fc.asyncProperty(request, async (q) => {
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...q.headers, ...q.payload.mcp })) if (v !== undefined) h[k] = v;
      h['host'] = h['host'] === 'HOST' ? `127.0.0.1:${s.port}` : h['host']!.replace('PORT', String(s.port));
      if (h['mcp-session-id'] === 'SESSION') h['mcp-session-id'] = session;
      // A GET on a live session opens the standalone stream, which stays open by design.
      if (q.method === 'GET' && h['mcp-session-id'] === session && h['last-event-id'] === undefined) h['last-event-id'] = 'p0.0';
      // Keep the live session alive for the rest of the run.
      if (q.method === 'DELETE' && h['mcp-session-id'] === session) h['mcp-session-id'] = `${session}-other`;
      const withBody = q.method === 'POST' || q.method === 'PUT' || q.method === 'PATCH';
      const r = await send(s.port, { method: q.method, path: q.path, headers: h, ...(withBody ? { body: q.payload.body } : {}) });
      seen.set(`${q.method} ${r.status}`, (seen.get(`${q.method} ${r.status}`) ?? 0) + 1);
      if (!r.text.includes('"data":{"code":')) upstreamAnswers++;
      else if (process.env['HOSTILE_STATS']) { const c = /"data":\{"code":"(\w+)/.exec(r.text)?.[1] ?? ''; seen.set(c, (seen.get(c) ?? 0) + 1); }
      check(r, `${q.method} ${q.path} ${JSON.stringify(h)} ${withBody ? q.payload.body.slice(0, 300) : ''}`);
    }),
    // A fixed seed: the coverage floor below (how many inputs reach the upstream) is a property
    // of the generator, and must not flake with the draw. FC_SEED explores other draws.
    { numRuns: RUNS, seed: Number(process.env['FC_SEED'] ?? 20261123) },
  );
  if (process.env['HOSTILE_STATS']) console.log(upstreamAnswers, [...seen].sort());
  // The generator must reach past the early refusals, or the property says little.
  assert.ok(upstreamAnswers >= RUNS / 5, `only ${upstreamAnswers} of ${RUNS} random requests reached the upstream`);
  await assertServes(s.port, 'after the random requests');
});

test('random bytes on a raw socket never crash the gateway or get a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
        fc
          .tuple(fc.constantFrom('POST', 'GET', 'DELETE', 'BREW', ''), fc.constantFrom('/mcp', '*', 'http://evil/mcp', ''), printable, fc.string({ maxLength: 100 }))
          .map(([m, p, hv, b]) => Buffer.from(`${m} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Any: ${hv}\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`)),
      ),
      async (bytes) => {
        // Our side half-closes after writing: an answer or a close must follow, never a wait.
        const r = await raw(s.port, [bytes], { end: true }).catch(() => undefined);
        if (r && r.status !== 0) assert.ok(okStatus(r.status), `HTTP ${r.status} for ${JSON.stringify(bytes.toString('latin1').slice(0, 120))}`);
      },
    ),
    { numRuns: 200 },
  );
  await assertServes(s.port, 'after random bytes');
});
