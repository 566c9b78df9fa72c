/**
 * Regenerates the benign tool-definition fixtures in test/corpora/mcp-tools/ by running official
 * MCP servers over stdio and recording their tools/list (and prompts/list, resources/list) results.
 * Not part of `npm run eval` (which only reads the committed fixtures): run it by hand with
 *   node eval/collect-tools.ts <name> <repo> <commit> <path-in-repo> -- <command> [args…]
 * e.g. a server built from modelcontextprotocol/servers at a pinned commit, or the installed
 * @modelcontextprotocol/server-everything. Output: test/corpora/mcp-tools/<name>.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [name, repo, commit, path, dashdash, command, ...args] = process.argv.slice(2);
if (!name || !repo || !commit || !path || dashdash !== '--' || !command) {
  console.error('usage: node eval/collect-tools.ts <name> <repo> <commit> <path> -- <command> [args…]');
  process.exit(2);
}
const client = new Client({ name: 'portcullis-eval', version: '0.1.0' });
await client.connect(new StdioClientTransport({ command, args, stderr: 'ignore' }));
const caps = client.getServerCapabilities() ?? {};
const all = async <T>(page: (cursor?: string) => Promise<{ nextCursor?: string } & Record<string, unknown>>, key: string): Promise<T[]> => {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const r = await page(cursor);
    out.push(...((r[key] as T[]) ?? []));
    cursor = r.nextCursor;
  } while (cursor);
  return out;
};
const tools = await all((cursor) => client.listTools(cursor ? { cursor } : {}), 'tools');
const prompts = caps.prompts ? await all((cursor) => client.listPrompts(cursor ? { cursor } : {}), 'prompts') : [];
const resources = caps.resources ? await all((cursor) => client.listResources(cursor ? { cursor } : {}), 'resources') : [];
await client.close();
const fixture = {
  source: { repo, commit, path, method: 'tools/list, prompts/list and resources/list of the server run over stdio', server: client.getServerVersion() },
  tools,
  prompts,
  resources,
};
const file = join(import.meta.dirname, '..', 'test', 'corpora', 'mcp-tools', `${name}.json`);
writeFileSync(file, JSON.stringify(fixture, null, 2) + '\n');
console.log(`${file}: ${tools.length} tools, ${prompts.length} prompts, ${resources.length} resources`);
