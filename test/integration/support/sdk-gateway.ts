/**
 * Starts a Portcullis gateway in front of an upstream for SDK integration tests: the CLI's quick
 * config (`--upstream URL --port 0`), no admin listener, silent logs, and optionally inspectors on
 * the route (parsed through the config schema so they get the same defaults as a file).
 */
import type { Gateway } from '../../../src/gateway.ts';
import { startGateway } from '../../../src/gateway.ts';
import { quickConfig } from '../../../src/config/quick.ts';
import { InspectorSchema, type InspectorConfig } from '../../../src/config/schema.ts';
import { silentLogger } from '../../../src/telemetry/logger.ts';
import { tempDataDir } from '../../support/data-dir.ts';

export interface TestGateway {
  readonly gateway: Gateway;
  /** The MCP endpoint (`…/mcp`). */
  readonly mcpUrl: URL;
  /** Its data directory (the audit trail is at `.portcullis/audit.db` in it). */
  readonly dataDir: string;
  close(): Promise<void>;
}

/** The inspector set the "with inspectors" variants use: a redactor and a method deny-list. */
export const POLICY_INSPECTORS: readonly unknown[] = [
  { type: 'redact', patterns: [{ name: 'aws-key', regex: 'AKIA[0-9A-Z]{16}' }], replacement: '[REDACTED:{name}]', windowChars: 256 },
  { type: 'method-deny', methods: ['tools/call:danger_*'] },
];

export async function startTestGateway(upstream: string, inspectors: readonly unknown[] = []): Promise<TestGateway> {
  const config = quickConfig({ upstream, port: 0, adminPort: 0 });
  config.routes[0]!.inspectors = inspectors.map((i) => InspectorSchema.parse(i) as InspectorConfig);
  const dataDir = tempDataDir();
  const gateway = await startGateway({ dataDir, config, admin: false, logger: silentLogger });
  return {
    gateway,
    mcpUrl: new URL(`${gateway.url}/mcp`),
    dataDir,
    close: () => gateway.close(),
  };
}
