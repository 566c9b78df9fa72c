/**
 * Method dispatch for the demo upstream: tools (in tools.ts), resources, prompts and the
 * era-specific methods. Transport-agnostic: the HTTP layer hands in a CallContext.
 */
import { LOG_LEVELS, type CallContext } from './context.ts';
import { CAPABILITIES, CODES, MODERN_VERSIONS, META_SERVER_INFO, RpcError, SERVER_INFO, isObject, type Era, type Json } from './protocol.ts';
import { TOOLS, callTool } from './tools.ts';

const README = `# Portcullis demo upstream

A small MCP server that speaks both protocol eras over Streamable HTTP, used by \`npm start\`,
benchmarks and integration tests. Tools: echo, add, countdown, leak_secret, ask_user, sample,
big_text, slow, demo_notify.
`;

const CONFIG = `# demo upstream configuration (harmless values)
listen = 127.0.0.1
response_mode = auto
max_sessions = 10000
`;

const RESOURCES = [
  { uri: 'demo://readme', name: 'readme', title: 'Demo README', mimeType: 'text/markdown', text: README },
  { uri: 'demo://config', name: 'config', title: 'Demo configuration', mimeType: 'text/plain', text: CONFIG },
] as const;

const TEMPLATES = [
  { uriTemplate: 'demo://items/{id}', name: 'item', title: 'Demo item', description: 'A generated item; id is 1-64 of [A-Za-z0-9_-].', mimeType: 'application/json' },
];

const PROMPTS = [
  { name: 'greet', title: 'Greet', description: 'Asks the model to greet someone.', arguments: [{ name: 'name', description: 'Who to greet', required: true }] },
];

const ITEM_URI = /^demo:\/\/items\/([A-Za-z0-9_-]{1,64})$/;

const COMMON = new Set([
  'tools/list', 'tools/call', 'resources/list', 'resources/read', 'resources/templates/list', 'prompts/list', 'prompts/get',
]);
const LEGACY_ONLY = new Set(['initialize', 'ping', 'logging/setLevel']);

/**
 * 2026-07-28 removed `initialize`, `ping`, `logging/setLevel` (changelog); `server/discover` is
 * modern-only. An unknown method is 404 + -32601 in the modern era (streamable-http "Request
 * metadata"), an in-band -32601 in the legacy era.
 */
export function hasMethod(era: Era, method: string): boolean {
  if (COMMON.has(method)) return true;
  return era === 'legacy' ? LEGACY_ONLY.has(method) : method === 'server/discover';
}

/** `ttlMs`/`cacheScope` are required on these complete results (2026-07-28 server/utilities/caching). */
const CACHEABLE = new Set(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);

export function discoverResult(): Json {
  return {
    supportedVersions: [...MODERN_VERSIONS],
    capabilities: CAPABILITIES,
    // The 2026 schema carries identity in _meta (added to every modern result below); the top-level
    // copy is for clients written against earlier drafts.
    serverInfo: SERVER_INFO,
    instructions: 'Portcullis demo upstream. Try tools/call echo or countdown.',
  };
}

/** Runs one request. Legacy-era `initialize` is handled by the HTTP layer (it creates a session). */
export async function handle(ctx: CallContext, method: string, params: Json, setLogLevel: (l: string) => void): Promise<Json> {
  if (!hasMethod(ctx.era, method) || method === 'initialize') {
    throw new RpcError(CODES.methodNotFound, `Method not found: ${method.slice(0, 128)}`, 404);
  }
  const result = await dispatch(ctx, method, params, setLogLevel);
  if (ctx.era === 'legacy') return result;
  // 2026-07-28: every result carries resultType (MRTR); servers SHOULD identify themselves.
  const out: Json = { ...result, resultType: result.resultType ?? 'complete' };
  if (out.resultType === 'complete' && CACHEABLE.has(method)) {
    out.ttlMs = 60_000;
    out.cacheScope = 'public';
  }
  out._meta = { ...(isObject(result._meta) ? result._meta : {}), [META_SERVER_INFO]: SERVER_INFO };
  return out;
}

async function dispatch(ctx: CallContext, method: string, params: Json, setLogLevel: (l: string) => void): Promise<Json> {
  switch (method) {
    case 'server/discover':
      return discoverResult();
    case 'ping':
      return {};
    case 'logging/setLevel':
      if (typeof params.level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(params.level)) {
        throw new RpcError(CODES.invalidParams, `Invalid params: level must be one of ${LOG_LEVELS.join(', ')}`, 200);
      }
      setLogLevel(params.level);
      return {};
    case 'tools/list':
      return { tools: TOOLS };
    case 'tools/call':
      return callTool(ctx, params);
    case 'resources/list':
      return { resources: RESOURCES.map(({ text: _t, ...r }) => r) };
    case 'resources/templates/list':
      return { resourceTemplates: TEMPLATES };
    case 'resources/read':
      return readResource(ctx, params.uri);
    case 'prompts/list':
      return { prompts: PROMPTS };
    case 'prompts/get':
      return getPrompt(params);
    default:
      throw new RpcError(CODES.methodNotFound, `Method not found: ${method.slice(0, 128)}`, 404);
  }
}

function readResource(ctx: CallContext, uri: unknown): Json {
  if (typeof uri !== 'string') throw new RpcError(CODES.invalidParams, 'Invalid params: "uri" must be a string', 200);
  const fixed = RESOURCES.find((r) => r.uri === uri);
  if (fixed) return { contents: [{ uri, mimeType: fixed.mimeType, text: fixed.text }] };
  const m = ITEM_URI.exec(uri);
  if (m) {
    const id = m[1] as string;
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify({ id, name: `Item ${id}`, tags: ['demo'] }) }] };
  }
  // Resource not found: -32002 up to 2025-11-25; -32602 in 2026-07-28 (changelog; -32002 retired).
  const code = ctx.era === 'legacy' ? CODES.resourceNotFoundLegacy : CODES.invalidParams;
  throw new RpcError(code, 'Resource not found', 200, { uri: uri.slice(0, 256) });
}

function getPrompt(params: Json): Json {
  if (params.name !== 'greet') {
    throw new RpcError(CODES.invalidParams, `Unknown prompt: ${typeof params.name === 'string' ? params.name.slice(0, 128) : '(none)'}`, 200);
  }
  const args = isObject(params.arguments) ? params.arguments : {};
  if (typeof args.name !== 'string' || args.name === '') {
    throw new RpcError(CODES.invalidParams, 'Invalid params: prompt argument "name" is required', 200);
  }
  return {
    description: 'Greets someone',
    messages: [{ role: 'user', content: { type: 'text', text: `Please greet ${args.name} warmly, in one sentence.` } }],
  };
}
