import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitSchema } from './config.ts';

function issues(input: unknown): string[] {
  const r = RateLimitSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('RateLimitSchema', () => {
  it('defaults to no limits and fills cost = 1', () => {
    assert.deepEqual(RateLimitSchema.parse({}), { limits: [], quotas: [] });
    const cfg = RateLimitSchema.parse({
      limits: [{ name: 'per-user', scope: 'principal', capacity: 10, refillPerSecond: 0.5 }],
      quotas: [{ name: 'daily', scope: 'principal', limit: 1000, windowMs: 86_400_000 }],
    });
    assert.equal(cfg.limits[0]!.cost, 1);
    assert.equal(cfg.quotas[0]!.cost, 1);
  });

  it('accepts match globs and every scope', () => {
    for (const scope of ['principal', 'tool', 'principal-tool', 'upstream', 'route']) {
      const cfg = RateLimitSchema.parse({
        limits: [{ name: 'x', scope, match: { methods: ['tools/call'], tools: ['delete_*'] }, capacity: 2, refillPerSecond: 1, cost: 2 }],
      });
      assert.equal(cfg.limits[0]!.scope, scope);
    }
  });

  it('rejects unknown keys, bad scopes and typos', () => {
    assert.deepEqual(issues({ limit: [] }), [': Unrecognized key: "limit"']);
    assert.match(issues({ limits: [{ name: 'x', scope: 'user', capacity: 1, refillPerSecond: 1 }] })[0]!, /^limits\.0\.scope: /);
    assert.deepEqual(issues({ limits: [{ name: 'x', scope: 'principal', capacity: 1, refillPerSecond: 1, match: { tool: ['a'] } }] }), [
      'limits.0.match: Unrecognized key: "tool"',
    ]);
  });

  it('rejects a cost that could never be admitted', () => {
    assert.deepEqual(issues({ limits: [{ name: 'x', scope: 'principal', capacity: 2, refillPerSecond: 1, cost: 3 }] }), [
      'limits.0.cost: must not exceed capacity (2): such a call could never be admitted',
    ]);
    assert.deepEqual(issues({ quotas: [{ name: 'q', scope: 'principal', limit: 2, windowMs: 1000, cost: 5 }] }), [
      'quotas.0.cost: must not exceed limit (2): such a call could never be admitted',
    ]);
  });

  it('rejects non-positive rates, capacities and windows', () => {
    const paths = issues({ limits: [{ name: 'x', scope: 'principal', capacity: 0, refillPerSecond: 0 }] }).map((m) => m.split(':')[0]);
    assert.deepEqual(paths, ['limits.0.capacity', 'limits.0.refillPerSecond']);
    assert.equal(issues({ quotas: [{ name: 'q', scope: 'route', limit: 1, windowMs: 0 }] }).length, 1);
  });

  it('rejects a name used twice, across limits and quotas', () => {
    assert.deepEqual(
      issues({
        limits: [{ name: 'same', scope: 'principal', capacity: 1, refillPerSecond: 1 }],
        quotas: [{ name: 'same', scope: 'principal', limit: 1, windowMs: 1000 }],
      }),
      ['quotas.0.name: duplicate name "same" (also at limits[0])'],
    );
  });
});
