/**
 * What one approval covers: the method and the target the policy judged (tool or prompt name,
 * resource URI), for the caller and arguments it was given for — and under the approvals channel
 * in force. A 2026-07-28 upstream that answers `input_required` after an approval gets the
 * gateway's sealed `approved` state back to the client; that state must not stretch to another
 * method, another URI, or outlive a switch of the channel to the operator queue.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.ts';
import { modernCall, type Loose } from '../../src/demo/testkit.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { tempDataDir } from '../support/data-dir.ts';

/** A 2026-07-28 upstream that asks for input (MRTR) on the first round and runs on the retry. */
async function startMrtrUpstream(): Promise<{ url: string; ran: string[]; close(): Promise<void> }> {
  const ran: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string; params: Loose };
      const reply = (result: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
      if (msg.method === 'tools/list') return reply({ resultType: 'complete', tools: [{ name: 'deploy', inputSchema: { type: 'object' } }] });
      if (msg.params?.requestState === undefined) {
        return reply({ resultType: 'input_required', inputRequests: { confirm: { method: 'elicitation/create', params: { message: 'sure?', requestedSchema: { type: 'object', properties: {} } } } }, requestState: 'upstream-round-1' });
      }
      const what = `${msg.method} ${msg.params.name ?? ''} ${msg.params.uri ?? ''}`.trim();
      ran.push(what);
      reply({ resultType: 'complete', content: [{ type: 'text', text: `ran ${what}` }], contents: [], messages: [] });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, ran, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const RULES = [
  { name: 'deploy', when: '(request.kind == "tool" && tool.name == "deploy") || (request.kind == "prompt" && prompt.name == "deploy")', decision: 'require-approval' as const, reason: 'deploy' },
  { name: 'files', when: 'request.kind == "resource"', decision: 'require-approval' as const, reason: 'files' },
];

function config(channel: 'queue' | 'auto', upstream: string): ConfigInput {
  return {
    server: { port: 0 },
    logging: { level: 'silent' },
    routes: [{ name: 'tools', path: '/mcp', upstream: { url: upstream } }],
    approvals: { channel, timeoutMs: 1_500, keys: [{ id: 'k1', key: KEY }] },
    policy: { default: 'allow', rules: RULES },
  };
}
const KEY = randomBytes(32).toString('base64');
const ELICITING = { elicitation: { form: {} } };

async function call(gw: Gateway, method: string, params: Loose, o: { id?: number; capabilities?: Loose; path?: string } = {}): Promise<Loose> {
  const r = await modernCall(`${gw.url}${o.path ?? '/mcp'}`, method, params, { id: o.id ?? 1, ...(o.capabilities ? { capabilities: o.capabilities } : {}) });
  return (await r.json()) as Loose;
}

/** Approves every pending call as it appears, keeping what the operator was shown. */
function operator(gw: Gateway): { shown: string[]; stop(): void } {
  const shown: string[] = [];
  const timer = setInterval(() => {
    for (const p of gw.approvals.list()) {
      shown.push(p.tool);
      gw.approvals.approve(p.id, 'operator');
    }
  }, 10);
  return { shown, stop: () => clearInterval(timer) };
}

/** A gateway (approvals on `channel`) in front of one MRTR upstream, for the enclosing describe. */
function useStack(channel: 'queue' | 'auto'): { readonly up: Awaited<ReturnType<typeof startMrtrUpstream>>; readonly gw: Gateway } {
  const s = {} as { up: Awaited<ReturnType<typeof startMrtrUpstream>>; gw: Gateway };
  before(async () => {
    s.up = await startMrtrUpstream();
    s.gw = await startGateway({ config: ConfigSchema.parse(config(channel, s.up.url)), admin: false, dataDir: tempDataDir(), logger: silentLogger });
  });
  after(async () => {
    await s.gw.close({ graceMs: 0 });
    await s.up.close();
  });
  return s;
}

describe('an approval covers one method and target', () => {
  const stack = useStack('queue');

  it('an approved prompts/get does not run tools/call of the same name; the prompt itself goes on', async () => {
    const { gw, up } = stack;
    const op = operator(gw);
    const first = await call(gw, 'prompts/get', { name: 'deploy', arguments: { env: 'prod' } });
    op.stop();
    assert.deepEqual(op.shown, ['deploy']);
    const state = first.result?.requestState as string;
    assert.match(state, /^pcs1\./, JSON.stringify(first));

    const other = await call(gw, 'tools/call', { name: 'deploy', arguments: { env: 'prod' }, requestState: state, inputResponses: { confirm: { action: 'accept', content: {} } } }, { id: 2 });
    assert.equal(other.error?.data?.code, 'approval_state_invalid', JSON.stringify(other));
    assert.equal(other.error?.data?.reason, 'method-mismatch');
    assert.deepEqual(up.ran, [], 'the upstream ran nothing');

    // The state still carries the approved call's own next round (its nonce was not spent).
    const same = await call(gw, 'prompts/get', { name: 'deploy', arguments: { env: 'prod' }, requestState: state, inputResponses: { confirm: { action: 'accept', content: {} } } }, { id: 3 });
    assert.equal(same.result?.resultType, 'complete', JSON.stringify(same));
    assert.deepEqual(up.ran, ['prompts/get deploy']);
  });

  it('a target too long to read in full where it is shown is refused, not queued', async () => {
    const { gw } = stack;
    const uri = `file:///srv/public/${'q/'.repeat(1500)}../../etc/shadow`;
    const r = await call(gw, 'resources/read', { uri });
    assert.equal(r.error?.data?.code, 'approval_denied', JSON.stringify(r).slice(0, 300));
    assert.match(String(r.error?.message), /too long to review/);
    assert.equal(gw.approvals.list().length, 0);
  });

  it('a resources/read approval binds the URI read, not a decoy name beside it, and shows the operator the URI', async () => {
    const { gw, up } = stack;
    up.ran.length = 0;
    const op = operator(gw);
    const first = await call(gw, 'resources/read', { uri: 'file:///srv/public/readme.txt', name: 'readme' });
    op.stop();
    assert.deepEqual(op.shown, ['file:///srv/public/readme.txt']);
    const state = first.result?.requestState as string;
    assert.match(state, /^pcs1\./, JSON.stringify(first));

    const other = await call(gw, 'resources/read', { uri: 'file:///etc/shadow', name: 'readme', requestState: state }, { id: 2 });
    assert.equal(other.error?.data?.reason, 'tool-mismatch', JSON.stringify(other));
    assert.deepEqual(up.ran, []);
  });
});

describe('a state the caller\'s user could approve is void once approvals go to an operator', () => {
  const stack = useStack('auto');

  it('channel auto → queue (a reload): the client\'s own "accept" on the old state runs nothing', async () => {
    const { gw, up } = stack;
    const asked = await call(gw, 'tools/call', { name: 'deploy', arguments: {} }, { capabilities: ELICITING });
    const state = asked.result?.requestState as string;
    assert.match(state, /^pcs1\./, JSON.stringify(asked));
    gw.apply(ConfigSchema.parse(config('queue', up.url)));

    const retry = await call(gw, 'tools/call', { name: 'deploy', arguments: {}, requestState: state, inputResponses: { portcullis_approval: { action: 'accept', content: { approve: true } } } }, { id: 2, capabilities: ELICITING });
    assert.equal(retry.error?.data?.reason, 'channel-changed', JSON.stringify(retry));
    assert.deepEqual(up.ran, []);
    assert.equal(gw.approvals.list().length, 0, 'nothing was queued for the old state either');
  });
});

describe('an approval covers one route', () => {
  let staging: Awaited<ReturnType<typeof startMrtrUpstream>>;
  let prod: Awaited<ReturnType<typeof startMrtrUpstream>>;
  let gw: Gateway;
  before(async () => {
    staging = await startMrtrUpstream();
    prod = await startMrtrUpstream();
    const input = config('queue', staging.url);
    input.routes = [
      { name: 'staging', path: '/staging', upstream: { url: staging.url } },
      { name: 'prod', path: '/prod', upstream: { url: prod.url } },
    ];
    gw = await startGateway({ config: ConfigSchema.parse(input), admin: false, dataDir: tempDataDir(), logger: silentLogger });
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await staging.close();
    await prod.close();
  });

  it('a call approved on /staging does not run on /prod with its state', async () => {
    const op = operator(gw);
    const first = await call(gw, 'tools/call', { name: 'deploy', arguments: { env: 'x' } }, { path: '/staging' });
    op.stop();
    const state = first.result?.requestState as string;
    assert.match(state, /^pcs1\./, JSON.stringify(first));
    const other = await call(gw, 'tools/call', { name: 'deploy', arguments: { env: 'x' }, requestState: state, inputResponses: { confirm: { action: 'accept', content: {} } } }, { id: 2, path: '/prod' });
    assert.equal(other.error?.data?.reason, 'route-mismatch', JSON.stringify(other));
    assert.deepEqual(prod.ran, []);
  });
});

describe('an approval runs once: not again after a restart, nor on another replica', () => {
  let up: Awaited<ReturnType<typeof startMrtrUpstream>>;
  const dataDir = tempDataDir();
  const start = (dir: string) => startGateway({ config: ConfigSchema.parse(config('queue', up.url)), admin: false, dataDir: dir, logger: silentLogger });
  let gw: Gateway;
  before(async () => {
    up = await startMrtrUpstream();
    gw = await start(dataDir);
  });
  after(async () => {
    await gw.close({ graceMs: 0 });
    await up.close();
  });

  it('a redeemed state is refused as replayed by the restarted gateway, and as another replica\'s by a second one', async () => {
    const op = operator(gw);
    const first = await call(gw, 'tools/call', { name: 'deploy', arguments: { pay: '10000 EUR' } });
    op.stop();
    const state = first.result?.requestState as string;
    assert.match(state, /^pcs1\./, JSON.stringify(first));
    const retry = { name: 'deploy', arguments: { pay: '10000 EUR' }, requestState: state, inputResponses: { confirm: { action: 'accept', content: {} } } };
    assert.equal((await call(gw, 'tools/call', retry, { id: 2 })).result?.resultType, 'complete');
    assert.deepEqual(up.ran, ['tools/call deploy']);

    await gw.close({ graceMs: 0 });
    gw = await start(dataDir);
    assert.equal((await call(gw, 'tools/call', retry, { id: 3 })).error?.data?.reason, 'replayed');

    const other = await start(tempDataDir());
    try {
      assert.equal((await call(other, 'tools/call', retry, { id: 4 })).error?.data?.reason, 'replica-mismatch');
    } finally {
      await other.close({ graceMs: 0 });
    }
    assert.deepEqual(up.ran, ['tools/call deploy'], 'the approved call ran once');
  });
});
