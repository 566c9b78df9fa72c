/**
 * Access policy, rate limits and human approval end to end: the demo upstream behind the
 * gateway, callers told apart by a test header, raw HTTP for the 2026 era and the official SDK
 * 1.x client for the 2025 era.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SqliteSink } from '../../src/audit/sqlite-sink.ts';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { runApprovalsCli } from '../../src/approval/cli.ts';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startDemoServer, type DemoServer } from '../../src/demo/server.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { identifyByHeader, MODERN, parseJson, post, type Loose } from './support/hostile-harness.ts';
import { tempDataDir } from '../support/data-dir.ts';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

const POLICY: ConfigInput['policy'] = {
  default: 'deny',
  rules: [
    { name: 'tools', when: 'request.kind == "tool"', decision: 'allow', reason: 'tools' },
    { name: 'secrets-for-alice', when: 'tool.name == "leak_secret" && principal.subject != "alice"', decision: 'deny', reason: 'alice-only', message: 'only alice' },
    { name: 'echo-in-workspace', when: 'tool.name == "echo" && has(tool.arguments.text) && tool.arguments.text.startsWith("/") && !pathWithin(tool.arguments.text, "/workspace")', decision: 'deny', reason: 'outside-workspace' },
    { name: 'add-needs-approval', when: 'tool.name == "add" || tool.name == "ask_user"', decision: 'require-approval', reason: 'needs-approval' },
  ],
};

function config(upstream: string, policy: ConfigInput['policy'], extra: Partial<ConfigInput> = {}): ReturnType<typeof ConfigSchema.parse> {
  return ConfigSchema.parse({
    server: { port: 0 },
    admin: { port: 0, token: ADMIN_TOKEN },
    logging: { level: 'silent' },
    routes: [{ name: 'tools', path: '/mcp', upstream: { url: upstream } }],
    policy,
    ...extra,
  });
}

const meta = (caps: Record<string, unknown> = {}) => ({ 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': caps });

function modern(gw: Gateway, who: string, method: string, params: Record<string, unknown>, id = 1, caps: Record<string, unknown> = {}) {
  const name = typeof params['name'] === 'string' ? params['name'] : undefined;
  return post(gw.port, { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta(caps) } }, {
    'x-test-user': who,
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
  });
}

const toolText = (msg: Loose): string => msg.result?.content?.[0]?.text ?? '';

describe('policy, rate limits and approval through the gateway', () => {
  let demo: DemoServer;
  let gw: Gateway;
  let dataDir: string;

  before(async () => {
    demo = await startDemoServer({ port: 0 });
    dataDir = tempDataDir();
    gw = await startGateway({ dataDir,
      config: config(demo.url, POLICY, {
        rateLimits: { limits: [{ name: 'echo-burst', scope: 'principal-tool', match: { tools: ['echo'] }, capacity: 3, refillPerSecond: 0.01 }] },
        approvals: { timeoutMs: 10_000 },
      }),
      identify: identifyByHeader,
      logger: silentLogger,
    });
  });
  after(async () => {
    await gw.close();
    await demo.close();
  });

  it('hides a tool from the list of the caller who may not use it, and denies the call; another caller sees and calls it', async () => {
    const names = async (who: string) => (parseJson(await modern(gw, who, 'tools/list', {})).result.tools as Array<{ name: string }>).map((t) => t.name);
    assert.ok(!(await names('bob')).includes('leak_secret'), 'hidden from bob');
    assert.ok((await names('alice')).includes('leak_secret'), 'listed for alice');
    assert.ok((await names('bob')).includes('echo'));

    const denied = parseJson(await modern(gw, 'bob', 'tools/call', { name: 'leak_secret', arguments: {} }, 2));
    assert.equal(denied.error?.data?.code, 'policy_denied', JSON.stringify(denied));
    assert.deepEqual(denied.error.data.reasons, ['policy/alice-only']);
    const allowed = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'leak_secret', arguments: {} }, 3));
    assert.ok(allowed.result, JSON.stringify(allowed));
  });

  it('decides on arguments: a path outside the allowed prefix is denied, dot-segments included', async () => {
    const call = async (text: string) => parseJson(await modern(gw, 'dave', 'tools/call', { name: 'echo', arguments: { text } }, 4));
    assert.equal(toolText(await call('/workspace/notes.txt')), '/workspace/notes.txt');
    assert.equal((await call('/etc/passwd')).error?.data?.code, 'policy_denied');
    assert.equal((await call('/workspace/../etc/passwd')).error?.data?.code, 'policy_denied', 'traversal is normalised first');
  });

  it('rate limit: past the burst, 429 with Retry-After and a JSON-RPC error that says when to retry', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await modern(gw, 'carol', 'tools/call', { name: 'echo', arguments: { text: `n${i}` } }, 10 + i)).status, 200);
    const r = await modern(gw, 'carol', 'tools/call', { name: 'echo', arguments: { text: 'one too many' } }, 20);
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After: ${r.headers['retry-after']}`);
    const body = parseJson(r);
    assert.equal(body.id, 20);
    assert.equal(body.error.data.code, 'rate_limited');
    assert.ok(body.error.data.retryAfterMs > 0);
    // Other callers and other tools are not affected.
    assert.equal((await modern(gw, 'erin', 'tools/call', { name: 'echo', arguments: { text: 'fine' } }, 21)).status, 200);
    assert.equal((await modern(gw, 'carol', 'tools/call', { name: 'leak_secret', arguments: {} }, 22)).status, 200);
  });

  it('2026 approval: input_required with a sealed state; accept runs the call; the state cannot be replayed or forged', async () => {
    const caps = { elicitation: { form: {} } };
    const first = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'add', arguments: { a: 2, b: 3 } }, 30, caps));
    assert.equal(first.result?.resultType, 'input_required', JSON.stringify(first));
    const ask = first.result.inputRequests.portcullis_approval;
    assert.equal(ask.method, 'elicitation/create');
    assert.match(ask.params.message, /add/);
    const state: string = first.result.requestState;
    assert.match(state, /^pcs1\./);

    const accept = { portcullis_approval: { action: 'accept', content: { approve: true } } };
    const retry = (s: string, who = 'alice', args = { a: 2, b: 3 }) =>
      modern(gw, who, 'tools/call', { name: 'add', arguments: args, requestState: s, inputResponses: accept }, 31, caps).then((r) => parseJson(r));
    const done = await retry(state);
    assert.equal(toolText(done), '5', JSON.stringify(done));

    assert.equal((await retry(state)).error?.data?.reason, 'replayed');
    const flipped = state.slice(0, -3) + (state.at(-3) === 'A' ? 'B' : 'A') + state.slice(-2);
    assert.equal((await retry(flipped)).error?.data?.code, 'approval_state_invalid');
    // Bound to the caller and the arguments.
    const fresh = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'add', arguments: { a: 2, b: 3 } }, 32, caps)).result.requestState;
    assert.equal((await retry(fresh, 'bob')).error?.data?.reason, 'principal-mismatch');
    const fresh2 = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'add', arguments: { a: 2, b: 3 } }, 33, caps)).result.requestState;
    assert.equal((await retry(fresh2, 'alice', { a: 2, b: 300 })).error?.data?.reason, 'arguments-mismatch');
  });

  it('2026 approval: a declined prompt blocks the call', async () => {
    const caps = { elicitation: {} };
    const first = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'add', arguments: { a: 1, b: 1 } }, 40, caps));
    const r = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'add', arguments: { a: 1, b: 1 }, requestState: first.result.requestState, inputResponses: { portcullis_approval: { action: 'decline' } } }, 41, caps));
    assert.equal(r.error?.data?.code, 'approval_denied');
  });

  it("2026 approval composes with the upstream's own input_required: approved once, the upstream's round is not asked again", async () => {
    const caps = { elicitation: {} };
    const args = { question: 'Favourite colour?' };
    const first = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'ask_user', arguments: args }, 50, caps));
    const approve = { portcullis_approval: { action: 'accept', content: { approve: true } } };
    // Approved: the upstream now asks its own question; its state travels inside the gateway's.
    const second = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'ask_user', arguments: args, requestState: first.result.requestState, inputResponses: approve }, 51, caps));
    assert.equal(second.result?.resultType, 'input_required', JSON.stringify(second));
    assert.ok(second.result.inputRequests.answer, "the upstream's own input request passes through");
    assert.match(second.result.requestState, /^pcs1\./, "the upstream's state is sealed inside the gateway's");
    const answer = { answer: { action: 'accept', content: { answer: 'teal' } } };
    const third = parseJson(await modern(gw, 'alice', 'tools/call', { name: 'ask_user', arguments: args, requestState: second.result.requestState, inputResponses: answer }, 52, caps));
    assert.equal(toolText(third), 'The user said: teal', JSON.stringify(third));
  });

  it('operator queue (no elicitation): the call waits; the CLI lists it and approves it; a denied one is refused', async () => {
    const pending = modern(gw, 'frank', 'tools/call', { name: 'add', arguments: { a: 20, b: 22 } }, 60);
    const admin = gw.adminUrl!;
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) }, env: { PORTCULLIS_ADMIN_URL: admin, PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN, PORTCULLIS_APPROVER: 'ops' } };
    let id: string | undefined;
    for (let i = 0; i < 200 && id === undefined; i++) {
      id = gw.approvals.list().find((p) => p.principal === 'frank')?.id;
      if (id === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(id, 'the call is waiting in the queue');
    assert.equal(await runApprovalsCli(['list'], io as never), 0);
    assert.ok(out.join('').includes(id), out.join(''));
    assert.equal(await runApprovalsCli(['approve', id], io as never), 0, out.join(''));
    assert.equal(toolText(parseJson(await pending)), '42');
    // The audit record of the call says who approved it.
    let approval: Loose | undefined;
    for (let i = 0; i < 100 && !approval?.by; i++) {
      const reader = new SqliteSink({ path: join(dataDir, '.portcullis', 'audit.db'), readOnly: true });
      for await (const r of reader.read({ kind: 'exchange', principal: 'frank' })) if ((r.unmapped as Loose)['approval']) approval = (r.unmapped as Loose)['approval'];
      await reader.close();
      if (!approval?.by) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(approval, { outcome: 'approved', channel: 'queue', by: 'ops' });

    const refused = modern(gw, 'frank', 'tools/call', { name: 'add', arguments: { a: 1, b: 2 } }, 61);
    let id2: string | undefined;
    for (let i = 0; i < 200 && id2 === undefined; i++) {
      id2 = gw.approvals.list().find((p) => p.principal === 'frank')?.id;
      if (id2 === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(await runApprovalsCli(['deny', id2!, '--note', 'not today'], io as never), 0);
    assert.equal(parseJson(await refused).error?.data?.code, 'approval_denied');
  });

  it('the admin approvals API refuses a caller without the admin token', async () => {
    const r = await fetch(`${gw.adminUrl}/approvals`);
    assert.equal(r.status, 401);
    await r.body?.cancel();
  });

  it('2026 approval with the official 2.x client: it fulfils the input_required prompt itself and retries with the sealed state', async () => {
    let answer: 'accept' | 'decline' = 'accept';
    const prompts: string[] = [];
    const client = new V2Client({ name: 'approver-v2', version: '2.0.0' }, { versionNegotiation: { mode: { pin: MODERN } }, capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler('elicitation/create', async (req) => {
      prompts.push(String((req.params as { message?: unknown }).message));
      return answer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
    });
    await client.connect(new V2Transport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { 'x-test-user': 'alice' } } }));
    try {
      const ok = await client.callTool({ name: 'add', arguments: { a: 19, b: 23 } });
      assert.equal((ok.content as Array<{ text: string }>)[0]?.text, '42');
      assert.equal(prompts.length, 1);
      assert.match(prompts[0]!, /add/);
      answer = 'decline';
      await assert.rejects(client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }), /Approval denied/);
    } finally {
      await client.close();
    }
  });

  it('2025 approval: the gateway asks the SDK client through elicitation; accept runs the call, decline refuses it', async () => {
    let answer: 'accept' | 'decline' = 'accept';
    const prompts: string[] = [];
    const client = new Client({ name: 'approver', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      prompts.push(req.params.message);
      return answer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
    });
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { 'x-test-user': 'alice' } } });
    await client.connect(transport);
    try {
      const ok = await client.callTool({ name: 'add', arguments: { a: 40, b: 2 } });
      assert.equal((ok.content as Array<{ text: string }>)[0]?.text, '42');
      assert.equal(prompts.length, 1);
      assert.match(prompts[0]!, /add/);
      answer = 'decline';
      await assert.rejects(client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }), /Approval denied/);
    } finally {
      await client.close();
    }
  });
});

describe('policy dry-run', () => {
  let demo: DemoServer;
  let gw: Gateway;
  before(async () => {
    demo = await startDemoServer({ port: 0 });
    gw = await startGateway({ dataDir: tempDataDir(), config: config(demo.url, { ...POLICY, mode: 'dry-run' }), identify: identifyByHeader, logger: silentLogger });
  });
  after(async () => {
    await gw.close();
    await demo.close();
  });

  it('decides and records, enforces nothing', async () => {
    const r = parseJson(await modern(gw, 'bob', 'tools/call', { name: 'leak_secret', arguments: {} }, 1));
    assert.ok(r.result, `dry-run lets the call through: ${JSON.stringify(r)}`);
    const metrics = await gw.metrics.metricsText();
    assert.match(metrics, /portcullis_verdicts_total\{[^}]*inspector="policy"[^}]*reason="policy\/dry-run-deny"[^}]*\} 1/, 'the would-be deny is counted');
    const list = parseJson(await modern(gw, 'bob', 'tools/list', {}, 2));
    assert.ok((list.result.tools as Array<{ name: string }>).some((t) => t.name === 'leak_secret'), 'dry-run hides nothing');
  });
});

describe('policy over session counters', () => {
  let demo: DemoServer;
  let gw: Gateway;
  before(async () => {
    demo = await startDemoServer({ port: 0 });
    const budget = { default: 'allow' as const, rules: [{ name: 'budget', when: 'session.counters[?"tool_calls"].orValue(0) >= 2', decision: 'deny' as const, reason: 'session-budget' }] };
    gw = await startGateway({ dataDir: tempDataDir(), config: config(demo.url, budget), identify: identifyByHeader, admin: false, logger: silentLogger });
  });
  after(async () => {
    await gw.close();
    await demo.close();
  });

  it('a 2025 session gets two tool calls, then the budget rule denies the third', async () => {
    const client = new Client({ name: 'budget', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { 'x-test-user': 'gina' } } }));
    try {
      for (const n of [1, 2]) await client.callTool({ name: 'echo', arguments: { text: `call ${n}` } });
      await assert.rejects(client.callTool({ name: 'echo', arguments: { text: 'call 3' } }), /Denied by policy/);
    } finally {
      await client.close();
    }
  });

  it('a 2026-07-28 caller (no session) is counted per caller: two calls, then denied; another caller starts afresh', async () => {
    const call = async (who: string, id: number) => parseJson(await modern(gw, who, 'tools/call', { name: 'echo', arguments: { text: `call ${id}` } }, id));
    assert.equal(toolText(await call('ivan', 1)), 'call 1');
    assert.equal(toolText(await call('ivan', 2)), 'call 2');
    assert.equal((await call('ivan', 3)).error?.data?.code, 'policy_denied');
    assert.equal(toolText(await call('judy', 4)), 'call 4');
  });
});

describe('policy warn with notify', () => {
  let demo: DemoServer;
  let gw: Gateway;
  before(async () => {
    demo = await startDemoServer({ port: 0 });
    const warn = { default: 'allow' as const, rules: [{ name: 'watch-echo', when: 'tool.name == "echo"', decision: 'warn' as const, reason: 'echo-watched', message: 'echo calls are reviewed', notify: true }] };
    gw = await startGateway({ dataDir: tempDataDir(), config: config(demo.url, warn), identify: identifyByHeader, admin: false, logger: silentLogger });
  });
  after(async () => {
    await gw.close();
    await demo.close();
  });

  it('allows the call and tells the client in the result _meta', async () => {
    const r = parseJson(await modern(gw, 'hal', 'tools/call', { name: 'echo', arguments: { text: 'noted' } }, 1));
    assert.equal(toolText(r), 'noted');
    assert.deepEqual(r.result._meta?.['dev.portcullis/notices'], ['echo calls are reviewed']);
    const other = parseJson(await modern(gw, 'hal', 'tools/call', { name: 'add', arguments: { a: 1, b: 1 } }, 2));
    assert.equal(other.result._meta?.['dev.portcullis/notices'], undefined, 'only calls the warn rule matched');
  });
});
