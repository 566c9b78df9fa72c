/**
 * Configuration of tool pinning (`pinning:` in the gateway config), and the one place that turns
 * it into a running Pinner.
 *
 * Off by default: turning it on changes what clients see (new tools may be hidden under
 * `explicit`). The default store is SQLite because pins must survive a restart: with the memory
 * store, trust-on-first-use re-trusts whatever a server lists after every restart, which is the
 * moment a rug pull would be waiting for.
 *
 * Like `src/config/schema.ts`, objects are `.strict()` (a typo fails the load instead of silently
 * leaving pinning off) and the nested default uses `.prefault()` so its own defaults are applied.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { MemoryPinStore } from './memory-store.ts';
import { PIN_MODES, Pinner } from './pinner.ts';
import { DEFAULT_PIN_DB, SqlitePinStore } from './sqlite-store.ts';
import type { PinStore } from './store.ts';

export const PinStoreSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('sqlite'),
        path: z
          .string()
          .min(1)
          .default(DEFAULT_PIN_DB)
          .describe('Database file, relative to the working directory (where `portcullis pins` looks by default). The CLI must open the same file (--db).'),
      })
      .strict(),
    z.object({ type: z.literal('memory') }).strict().describe('Process memory: pins are forgotten on restart (tests only).'),
  ])
  .describe('Where pins are kept.');

export const PinningSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Pin tool definitions and quarantine changed ones.'),
    mode: z
      .enum(PIN_MODES)
      .default('trust-on-first-use')
      .describe(
        '"trust-on-first-use": the first definition seen for a tool is approved, a later different one is quarantined. ' +
          '"explicit": every new tool is hidden until an operator approves it.',
      ),
    store: PinStoreSchema.prefault({ type: 'sqlite' }),
  })
  .strict()
  .describe('Tool pinning: hide and block tools whose definition changed since it was approved (rug pulls).');

export type PinningConfig = z.infer<typeof PinningSchema>;
export type PinningConfigInput = z.input<typeof PinningSchema>;

/** Opens the configured store; `baseDir` anchors a relative SQLite path (default: the working directory, like the CLI). */
export function openPinStore(cfg: PinningConfig['store'], baseDir: string = process.cwd()): PinStore {
  if (cfg.type === 'memory') return new MemoryPinStore();
  return new SqlitePinStore({ path: isAbsolute(cfg.path) || cfg.path === ':memory:' ? cfg.path : resolve(baseDir, cfg.path) });
}

/** The Pinner for a config, or undefined when pinning is off. The caller closes `pinner.store`. */
export function createPinner(cfg: PinningConfig, baseDir?: string): Pinner | undefined {
  if (!cfg.enabled) return undefined;
  return new Pinner({ store: openPinStore(cfg.store, baseDir), mode: cfg.mode });
}
