/**
 * The CLI's quick form, `portcullis run --upstream URL --port N`: one route named `default` at
 * `/mcp` (or `path`) to one upstream, everything else at its default. Built through the same
 * schema as a file, so it gets the same defaults and checks; problems name the flag.
 */
import { ConfigError, formatPath, fromZodError } from './issues.ts';
import { ConfigSchema } from './schema.ts';
import type { Config, ConfigInput } from './schema.ts';

export interface QuickOptions {
  /** Upstream MCP endpoint URL. */
  upstream: string;
  /** Data-plane port (default 8080; 0 = ephemeral). */
  port?: number;
  /** Admin port (default 9090; 0 = ephemeral). */
  adminPort?: number;
  /** Bind address for both listeners (default 127.0.0.1). */
  host?: string;
  /** Route path (default /mcp). */
  path?: string;
  /** Admin API token (the CLI takes it from PORTCULLIS_ADMIN_TOKEN). */
  adminToken?: string;
}

export const QUICK_SOURCE = '<command line>';

const FLAGS: Record<string, string> = {
  'routes[0].upstream.url': '--upstream',
  'server.port': '--port',
  'admin.port': '--admin-port',
  'server.host': '--host',
  'admin.host': '--host',
  'routes[0].path': '--path',
};

/** @throws ConfigError naming the offending flag. */
export function quickConfig(opts: QuickOptions): Config {
  const input: ConfigInput = {
    server: { host: opts.host, port: opts.port },
    // The admin listener approves tool calls: it follows --host off loopback only with a token,
    // otherwise it stays on loopback while the data plane faces the network.
    admin: {
      host: opts.adminToken !== undefined ? opts.host : undefined,
      port: opts.adminPort,
      ...(opts.adminToken !== undefined ? { token: opts.adminToken } : {}),
    },
    routes: [{ name: 'default', path: opts.path ?? '/mcp', upstream: { url: opts.upstream } }],
  };
  const result = ConfigSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const seen = new Set<string>();
  const issues = fromZodError(result.error, ConfigSchema, input).flatMap((r) => {
    const field = formatPath(r.path);
    const path = FLAGS[field] ?? field;
    const line = `${path}: ${r.message}`;
    if (seen.has(line)) return [];
    seen.add(line);
    return [{ file: QUICK_SOURCE, path, message: r.message }];
  });
  throw new ConfigError(QUICK_SOURCE, issues);
}
