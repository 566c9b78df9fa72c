/**
 * Human approval settings: how a require-approval decision reaches a person, how long it may
 * wait, and the keys that seal 2026-era approval state.
 */
import { z } from 'zod';
import { positiveInt } from '../config/primitives.ts';

const SealKeySchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must match [A-Za-z0-9_-]{1,32}').describe('Key id, carried in each sealed state.'),
    key: z
      .string()
      .regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'must be base64')
      .refine((k) => Buffer.from(k, 'base64').length === 32, { error: 'must decode to exactly 32 bytes (AES-256)' })
      .describe('32 random bytes, base64. Use ${ENV_VAR}: never commit it.'),
  })
  .strict();

export const ApprovalsSchema = z
  .object({
    channel: z
      .enum(['auto', 'queue'])
      .default('auto')
      .describe(
        "'auto': ask the client's user through elicitation when the client declared it (2025 era: elicitation/create; 2026-07-28: an input_required result), otherwise wait in the operator queue. 'queue': always wait for an operator (separation of duties: the caller cannot approve its own call).",
      ),
    timeoutMs: positiveInt.default(120_000).describe('How long a call waits for a decision; no decision blocks it.'),
    stateTtlMs: positiveInt.default(600_000).describe('How long a sealed 2026-era approval state stays valid for the retry.'),
    maxPending: positiveInt.default(100).describe('Calls waiting in the operator queue at once; more are refused.'),
    keys: z
      .array(SealKeySchema)
      .default([])
      .describe('AES-256-GCM keys sealing approval state; the first seals, any opens (rotation). Empty: a random per-process key, so a restart voids pending states. A state is redeemed on the replica that issued it either way.'),
  })
  .strict()
  .describe('Human approval for calls policy marks require-approval.');

export type ApprovalsConfig = z.infer<typeof ApprovalsSchema>;
