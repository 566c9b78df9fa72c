/**
 * Configuration of rate limits (token buckets) and quotas (fixed windows).
 *
 * A *limit* smooths bursts: a bucket of `capacity` tokens refilled continuously at
 * `refillPerSecond`; each matching call takes `cost` tokens. A *quota* caps volume over a
 * calendar-like period: at most `limit` cost units per fixed window of `windowMs`, windows aligned
 * to the Unix epoch so every replica agrees on where a window starts (a `windowMs` of 86 400 000
 * resets at 00:00 UTC).
 *
 * Both are keyed by a `scope`: which facts of a call identify "the same caller" for the limit.
 * A scope that needs a tool name (`tool`, `principal-tool`) only applies to calls that name a tool
 * (`tools/call`); other methods are not counted by it.
 *
 * Like `src/config/schema.ts`, every object is `.strict()` so a typo fails the load instead of
 * silently disabling a limit, and nested defaults use `.prefault({})`.
 */
import { z } from 'zod';
import { always, positiveInt } from '../config/primitives.ts';

export const RATE_SCOPES = ['principal', 'tool', 'principal-tool', 'upstream', 'route'] as const;
export type RateScope = (typeof RATE_SCOPES)[number];

export const RateScopeSchema = z
  .enum(RATE_SCOPES)
  .describe(
    'What one bucket counts: "principal" (per authenticated subject), "tool" (per tool, across callers), ' +
      '"principal-tool" (per caller and tool), "upstream" (per upstream URL, protecting it), "route" (per gateway route).',
  );

/** `*` matches any run of characters; everything else is literal. */
const glob = z.string().min(1).max(256).regex(/^\S+$/, 'must not contain whitespace');

export const RateMatchSchema = z
  .object({
    methods: z
      .array(glob)
      .min(1)
      .optional()
      .describe('JSON-RPC methods counted, as globs: "tools/call", "resources/*", "*". Absent: every method.'),
    tools: z
      .array(glob)
      .min(1)
      .optional()
      .describe('Tool names counted, as globs ("delete_*"). When given, only calls naming a matching tool count.'),
  })
  .strict()
  .describe('Narrows which calls a limit or quota counts. Absent: every call.');

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must match [a-z0-9][a-z0-9_-]*')
  .max(64)
  .describe('Unique name; reported in the rate_limited error, logs and metrics.');

export const TokenBucketLimitSchema = z
  .object({
    name,
    scope: RateScopeSchema,
    match: RateMatchSchema.optional(),
    capacity: positiveInt.describe('Bucket size: the largest burst admitted after a quiet period.'),
    refillPerSecond: z
      .number()
      .positive()
      .max(1e9)
      .describe('Sustained rate: tokens added per second (fractions allowed, e.g. 0.5 = one call every 2 s).'),
    cost: positiveInt.default(1).describe('Tokens one matching call takes. Must not exceed capacity.'),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (typeof l?.cost === 'number' && typeof l?.capacity === 'number' && l.capacity >= 1 && l.cost > l.capacity) {
      ctx.addIssue({ code: 'custom', path: ['cost'], message: `must not exceed capacity (${l.capacity}): such a call could never be admitted` });
    }
  }, always)
  .describe('A token bucket: bursts up to capacity, sustained refillPerSecond.');

export const QuotaSchema = z
  .object({
    name,
    scope: RateScopeSchema,
    match: RateMatchSchema.optional(),
    limit: positiveInt.describe('Largest total cost admitted per window.'),
    windowMs: positiveInt.describe('Window length; windows are aligned to the Unix epoch (86400000 = per UTC day).'),
    cost: positiveInt.default(1).describe('Units one matching call counts. Must not exceed limit.'),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (typeof q?.cost === 'number' && typeof q?.limit === 'number' && q.limit >= 1 && q.cost > q.limit) {
      ctx.addIssue({ code: 'custom', path: ['cost'], message: `must not exceed limit (${q.limit}): such a call could never be admitted` });
    }
  }, always)
  .describe('A fixed-window quota, e.g. 1000 calls per principal per day.');

export const RateLimitSchema = z
  .object({
    limits: z.array(TokenBucketLimitSchema).default([]).describe('Token-bucket limits; a call must pass every one that matches.'),
    quotas: z.array(QuotaSchema).default([]).describe('Fixed-window quotas; a call must pass every one that matches.'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // One namespace for both lists: the name is what a denied client and the audit log see, and
    // it is part of the store key, so two entries sharing it would share (and corrupt) a bucket.
    const seen = new Map<string, string>();
    for (const list of ['limits', 'quotas'] as const) {
      const items: unknown = cfg?.[list];
      if (!Array.isArray(items)) continue;
      items.forEach((item: unknown, i) => {
        const n = item !== null && typeof item === 'object' ? (item as { name?: unknown }).name : undefined;
        if (typeof n !== 'string') return;
        const prev = seen.get(n);
        if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [list, i, 'name'], message: `duplicate name "${n}" (also at ${prev})` });
        else seen.set(n, `${list}[${i}]`);
      });
    }
  }, always)
  .describe('Rate limits and quotas. Evaluated together: a call is admitted only if all matching entries admit it.');

export type RateLimitConfig = z.infer<typeof RateLimitSchema>;
export type RateLimitConfigInput = z.input<typeof RateLimitSchema>;
export type TokenBucketLimit = RateLimitConfig['limits'][number];
export type Quota = RateLimitConfig['quotas'][number];
export type RateMatch = z.infer<typeof RateMatchSchema>;
