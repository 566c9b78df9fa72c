/**
 * Standalone entry: `node src/demo/main.ts [--port 3000] [--host 127.0.0.1] [--mode json|sse|auto]`.
 */
import { parseArgs } from 'node:util';
import { startDemoServer, type ResponseMode } from './server.ts';

const MODES: readonly string[] = ['json', 'sse', 'auto'];

function fail(msg: string): never {
  process.stderr.write(`portcullis-demo: ${msg}\n`);
  process.exit(2);
}

let values: { port?: string; host?: string; mode?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      mode: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}

if (values.help) {
  process.stdout.write('usage: node src/demo/main.ts [--port 3000] [--host 127.0.0.1] [--mode json|sse|auto]\n');
  process.exit(0);
}

const port = values.port === undefined ? 3000 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`--port must be an integer from 0 to 65535, got ${values.port}`);
if (values.mode !== undefined && !MODES.includes(values.mode)) fail(`--mode must be one of ${MODES.join(', ')}`);

try {
  const server = await startDemoServer({ port, host: values.host, responseMode: values.mode as ResponseMode | undefined });
  process.stdout.write(`portcullis-demo MCP server listening on ${server.url}\n`);
  const stop = (): void => {
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  fail(`cannot listen: ${err instanceof Error ? err.message : String(err)}`);
}
