import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError, rpcError } from '../core/errors.ts';
import { RateLimitSchema } from './config.ts';
import type { RateLimitConfigInput } from './config.ts';
import { RateLimiter, globsToRegExp, rateLimitedError, retryAfterSeconds } from './limiter.ts';
import type { RateFacts } from './limiter.ts';
import { MemoryRateLimitStore } from './memory-store.ts';
import type { RateOp } from './store.ts';

const T0 = 1_700_000_000_000;

function setup(config: RateLimitConfigInput) {
  let now = T0;
  const store = new MemoryRateLimitStore();
  const limiter = new RateLimiter(RateLimitSchema.parse(config), store, { now: () => now });
  return {
    limiter,
    advance(ms: number) {
      now += ms;
    },
  };
}

const call = (over: Partial<RateFacts> = {}): RateFacts => ({
  principal: 'alice',
  tool: 'search',
  method: 'tools/call',
  upstream: 'http://up/mcp',
  route: 'default',
  ...over,
});

async function admitted(limiter: RateLimiter, facts: RateFacts, times: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < times; i++) if ((await limiter.check(facts)).allowed) n++;
  return n;
}

describe('RateLimiter', () => {
  it('admits everything when nothing is configured', async () => {
    const { limiter } = setup({});
    assert.equal(limiter.empty, true);
    assert.equal(await admitted(limiter, call(), 1000), 1000);
  });

  it('keeps a bucket per principal under scope "principal"', async () => {
    const { limiter, advance } = setup({ limits: [{ name: 'user', scope: 'principal', capacity: 3, refillPerSecond: 1 }] });
    assert.equal(await admitted(limiter, call(), 5), 3);
    assert.equal(await admitted(limiter, call({ principal: 'bob' }), 5), 3);
    assert.deepEqual(await limiter.check(call({ tool: 'other' })), { allowed: false, limit: 'user', retryAfterMs: 1000 });
    advance(1000);
    assert.equal(await admitted(limiter, call(), 5), 1);
  });

  it('separates tools under "principal-tool" and ignores calls without a tool', async () => {
    const { limiter } = setup({ limits: [{ name: 'pt', scope: 'principal-tool', capacity: 1, refillPerSecond: 1 }] });
    assert.equal(await admitted(limiter, call({ tool: 'a' }), 3), 1);
    assert.equal(await admitted(limiter, call({ tool: 'b' }), 3), 1);
    assert.equal(await admitted(limiter, call({ principal: 'bob', tool: 'a' }), 3), 1);
    assert.equal(await admitted(limiter, call({ method: 'resources/read', tool: undefined }), 3), 3);
  });

  it('does not let separators in values collide two principal/tool pairs', async () => {
    const { limiter } = setup({ limits: [{ name: 'pt', scope: 'principal-tool', capacity: 1, refillPerSecond: 1 }] });
    assert.equal((await limiter.check(call({ principal: 'a&t=b', tool: 'c' }))).allowed, true);
    assert.equal((await limiter.check(call({ principal: 'a', tool: 'b&t=c' }))).allowed, true);
  });

  it('keys a long tool name by its digest: a bucket costs the store the same however long the name the client chose', async () => {
    const seen: string[] = [];
    const store = new MemoryRateLimitStore();
    const spy = new Proxy(store, {
      get: (t, p) => (p === 'consume' ? (ops: RateOp[], now: number) => (seen.push(...ops.map((o) => o.key)), t.consume(ops, now)) : Reflect.get(t, p, t)),
    });
    const limiter = new RateLimiter(RateLimitSchema.parse({ limits: [{ name: 'pt', scope: 'principal-tool', capacity: 1, refillPerSecond: 1 }] }), spy, { now: () => T0 });
    const long = '工具'.repeat(50_000);
    assert.equal((await limiter.check(call({ tool: `${long}a` }))).allowed, true);
    assert.equal((await limiter.check(call({ tool: `${long}a` }))).allowed, false, 'the same long name is one bucket');
    assert.equal((await limiter.check(call({ tool: `${long}b` }))).allowed, true, 'another long name is another bucket');
    assert.ok(seen.length > 0 && seen.every((k) => k.length < 200), `keys of ${seen.map((k) => k.length).join(', ')} characters`);
  });

  it('shares one bucket across principals under "tool", "upstream" and "route"', async () => {
    for (const scope of ['tool', 'upstream', 'route'] as const) {
      const { limiter } = setup({ limits: [{ name: 's', scope, capacity: 2, refillPerSecond: 1 }] });
      assert.equal(await admitted(limiter, call({ principal: 'a' }), 1), 1);
      assert.equal(await admitted(limiter, call({ principal: 'b' }), 2), 1, scope);
    }
    const { limiter } = setup({ limits: [{ name: 'r', scope: 'route', capacity: 1, refillPerSecond: 1 }] });
    assert.equal(await admitted(limiter, call({ route: 'one' }), 2), 1);
    assert.equal(await admitted(limiter, call({ route: 'two' }), 2), 1);
  });

  it('counts only calls that match methods and tool globs', async () => {
    const { limiter } = setup({
      limits: [{ name: 'deletes', scope: 'principal', match: { methods: ['tools/*'], tools: ['delete_*', 'drop'] }, capacity: 1, refillPerSecond: 0.1 }],
    });
    assert.equal(await admitted(limiter, call({ tool: 'delete_repo' }), 3), 1);
    assert.equal(await admitted(limiter, call({ tool: 'drop' }), 1), 0, 'same bucket for every matching tool');
    assert.equal(await admitted(limiter, call({ tool: 'search' }), 3), 3);
    assert.equal(await admitted(limiter, call({ tool: 'dropper' }), 3), 3, 'globs are anchored');
    assert.equal(await admitted(limiter, call({ method: 'prompts/get', tool: 'delete_x' }), 3), 3);
  });

  it('enforces quotas per fixed window', async () => {
    const { limiter, advance } = setup({ quotas: [{ name: 'daily', scope: 'principal', limit: 3, windowMs: 86_400_000 }] });
    assert.equal(await admitted(limiter, call(), 3), 3);
    const denied = await limiter.check(call());
    assert.equal(denied.allowed, false);
    assert.equal(denied.allowed === false && denied.limit, 'daily');
    // T0 is 22:13:20 UTC; the day window ends at midnight.
    assert.equal(denied.allowed === false && denied.retryAfterMs, 86_400_000 - (T0 % 86_400_000));
    advance(86_400_000);
    assert.equal(await admitted(limiter, call(), 5), 3);
  });

  it('charges nothing when any matching entry denies', async () => {
    const { limiter } = setup({
      limits: [
        { name: 'user', scope: 'principal', capacity: 10, refillPerSecond: 0.001 },
        { name: 'expensive', scope: 'principal-tool', match: { tools: ['export'] }, capacity: 1, refillPerSecond: 0.001 },
      ],
      quotas: [{ name: 'daily', scope: 'principal', limit: 10, windowMs: 86_400_000 }],
    });
    assert.equal(await admitted(limiter, call({ tool: 'export' }), 20), 1);
    // The 19 refused exports cost neither the user bucket nor the quota: 9 of each remain.
    assert.equal(await admitted(limiter, call({ tool: 'search' }), 20), 9);
  });

  it('names the entry with the longest wait when several deny', async () => {
    const { limiter } = setup({
      limits: [{ name: 'fast', scope: 'principal', capacity: 1, refillPerSecond: 10 }],
      quotas: [{ name: 'hourly', scope: 'principal', limit: 1, windowMs: 3_600_000 }],
    });
    await limiter.check(call());
    const d = await limiter.check(call());
    assert.equal(d.allowed, false);
    assert.equal(d.allowed === false && d.limit, 'hourly');
    assert.equal(d.allowed === false && d.retryAfterMs, 3_600_000 - (T0 % 3_600_000));
  });

  it('propagates a store failure instead of guessing', async () => {
    const broken = new MemoryRateLimitStore();
    await broken.close();
    const limiter = new RateLimiter(RateLimitSchema.parse({ limits: [{ name: 'x', scope: 'principal', capacity: 1, refillPerSecond: 1 }] }), broken);
    await assert.rejects(limiter.check(call()));
  });
});

describe('globsToRegExp', () => {
  it('treats * as any run and everything else literally', () => {
    const re = globsToRegExp(['a.b*', 'x(y)'])!;
    assert.equal(re.test('a.b'), true);
    assert.equal(re.test('a.bcd/e'), true);
    assert.equal(re.test('aXb'), false);
    assert.equal(re.test('x(y)'), true);
    assert.equal(re.test('xy'), false);
    assert.equal(globsToRegExp([]), undefined);
  });
});

describe('rateLimitedError / retryAfterSeconds', () => {
  it('maps to 429 / -31044 with the limit and wait in data', () => {
    const err = rateLimitedError({ limit: 'daily', retryAfterMs: 1500 });
    assert.ok(err instanceof GatewayError);
    assert.equal(err.status, 429);
    assert.deepEqual(err.data, { limit: 'daily', retryAfterMs: 1500 });
    const wire = rpcError(err.code, err.detail, err.data);
    assert.equal(wire.code, -31044);
    assert.deepEqual(wire.data, { code: 'rate_limited', limit: 'daily', retryAfterMs: 1500 });
  });

  it('rounds up to whole seconds and never says 0 (RFC 9110 §10.2.3)', () => {
    assert.equal(retryAfterSeconds(1), '1');
    assert.equal(retryAfterSeconds(1000), '1');
    assert.equal(retryAfterSeconds(1001), '2');
    assert.equal(retryAfterSeconds(59_999), '60');
    assert.equal(retryAfterSeconds(0), '1');
    assert.equal(retryAfterSeconds(Number.NaN), '1');
  });
});
