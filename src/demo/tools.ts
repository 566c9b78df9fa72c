/**
 * The demo tools. Each exists to exercise one gateway path: plain calls (echo, add), live
 * streaming (countdown), DLP (leak_secret), server→client interactions in both eras (ask_user,
 * sample), large messages (big_text), cancellation (slow) and the standalone stream (demo_notify).
 *
 * Argument problems are tool execution errors (`isError: true`), not JSON-RPC errors: MCP
 * 2025-11-25 SEP-1303 "input-validation errors become tool execution errors". An unknown tool is
 * a JSON-RPC -32602 (server/tools "Error Handling").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { levelEnabled, type CallContext } from './context.ts';
import { CODES, RpcError, SERVER_INFO, isObject, type Json } from './protocol.ts';
import { openState, sealState } from './state.ts';

export interface ToolDef {
  name: string;
  title: string;
  description: string;
  inputSchema: Json;
  outputSchema?: Json;
  annotations?: Json;
}

const obj = (properties: Json, required: string[] = []): Json => ({ type: 'object', properties, required });
const int = (minimum: number, maximum: number, description: string): Json => ({ type: 'integer', minimum, maximum, description });
const readOnly = { readOnlyHint: true, openWorldHint: false };
const MAX_BIG = 64 * 1024 * 1024;

export const TOOLS: readonly ToolDef[] = [
  { name: 'echo', title: 'Echo', description: 'Returns the text it is given.', inputSchema: obj({ text: { type: 'string' } }, ['text']), annotations: readOnly },
  {
    name: 'add', title: 'Add', description: 'Adds two numbers.',
    inputSchema: obj({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']),
    outputSchema: obj({ sum: { type: 'number' } }, ['sum']), annotations: readOnly,
  },
  {
    name: 'countdown', title: 'Countdown',
    description: 'Counts down from `from`, one notifications/progress per interval (needs _meta.progressToken), then returns.',
    inputSchema: obj({ from: int(0, 1000, 'start value'), intervalMs: int(0, 60_000, 'delay between steps') }, ['from']),
    annotations: readOnly,
  },
  { name: 'leak_secret', title: 'Leak a (fake) secret', description: 'Returns text with fake credentials, for DLP demos.', inputSchema: obj({}), annotations: readOnly },
  { name: 'ask_user', title: 'Ask the user', description: 'Asks the user a question through elicitation and returns the answer.', inputSchema: obj({ question: { type: 'string' } }) },
  { name: 'sample', title: 'Sample the model', description: 'Asks the client\'s model to complete a prompt (sampling) and returns the text.', inputSchema: obj({ prompt: { type: 'string' } }) },
  { name: 'big_text', title: 'Big text', description: 'Returns one text content of exactly `bytes` ASCII bytes.', inputSchema: obj({ bytes: int(0, MAX_BIG, 'size') }, ['bytes']), annotations: readOnly },
  { name: 'slow', title: 'Slow', description: 'Waits `ms` milliseconds, then returns. Stops early when cancelled.', inputSchema: obj({ ms: int(0, 600_000, 'delay') }, ['ms']), annotations: readOnly },
  { name: 'demo_notify', title: 'Notify', description: 'Sends notifications/message: on the standalone GET stream (2025 era) or on this request\'s stream when it carries a logLevel (2026 era).', inputSchema: obj({ message: { type: 'string' } }) },
];

const TOOL_NAMES = new Set(TOOLS.map((t) => t.name));

/** Tools whose result is preceded by messages on the request's own stream, so need SSE. */
export function needsStream(era: 'legacy' | 'modern', toolName: unknown, logLevel: unknown): boolean {
  if (toolName === 'countdown') return true;
  if (era === 'legacy') return toolName === 'ask_user' || toolName === 'sample';
  return toolName === 'demo_notify' && typeof logLevel === 'string';
}

/** The client capability a tool needs (MRTR: servers MUST NOT send unsupported inputRequests). */
export function requiredCapability(toolName: unknown): 'elicitation' | 'sampling' | undefined {
  return toolName === 'ask_user' ? 'elicitation' : toolName === 'sample' ? 'sampling' : undefined;
}

const text = (t: string, isError = false): Json => (isError ? { content: [{ type: 'text', text: t }], isError } : { content: [{ type: 'text', text: t }] });

function intArg(args: Json, key: string, min: number, max: number, dflt?: number): number {
  const v = args[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ToolInputError(`"${key}" must be an integer from ${min} to ${max}`);
  }
  return v;
}

class ToolInputError extends Error {}

/** Fake credentials: the AWS documentation example key and an obviously fake API key. */
// Credential-shaped but fake, assembled so no key literal sits in the source. Not AWS's own
// documentation examples (…EXAMPLE): the detectors rightly treat those as placeholders.
export const FAKE_AWS_KEY = 'AKIA' + 'QZ7W4R6TLY2U3P5D';
const FAKE_AWS_SECRET = 'q8Nf3' + 'Lk2Vx7Rt9Bw4Zc6Hm1Jp5Sd0Gy8Ke3Ua7Wn2Xo';
export const FAKE_API_KEY = 'sk-demo-4f9c1e7a2b8d4c6e9f0a1b2c3d4e5f60';

const PATTERN = 'The quick brown fox jumps over the lazy dog. 0123456789\n';
let bigCache = PATTERN.repeat(1 + Math.ceil(65_536 / PATTERN.length));

function bigText(n: number): string {
  // Grow a cached buffer by doubling, so repeated calls are a slice, not a rebuild.
  while (bigCache.length < n) bigCache += bigCache;
  return bigCache.slice(0, n);
}

export async function callTool(ctx: CallContext, params: Json): Promise<Json> {
  const name = params.name;
  if (typeof name !== 'string' || !TOOL_NAMES.has(name)) {
    throw new RpcError(CODES.invalidParams, `Unknown tool: ${typeof name === 'string' ? name.slice(0, 128) : '(none)'}`, 200);
  }
  if (params.arguments !== undefined && !isObject(params.arguments)) {
    throw new RpcError(CODES.invalidParams, 'Invalid params: "arguments" must be an object', 200);
  }
  const args = (params.arguments ?? {}) as Json;
  try {
    return await runTool(ctx, name, args, params);
  } catch (err) {
    if (err instanceof ToolInputError) return text(`Invalid arguments for ${name}: ${err.message}`, true);
    throw err;
  }
}

async function runTool(ctx: CallContext, name: string, args: Json, params: Json): Promise<Json> {
  switch (name) {
    case 'echo':
      if (typeof args.text !== 'string') throw new ToolInputError('"text" must be a string');
      return text(args.text);
    case 'add': {
      const { a, b } = args;
      if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b)) {
        throw new ToolInputError('"a" and "b" must be finite numbers');
      }
      return { ...text(String(a + b)), structuredContent: { sum: a + b } };
    }
    case 'countdown':
      return countdown(ctx, intArg(args, 'from', 0, 1000), intArg(args, 'intervalMs', 0, 60_000, 100));
    case 'leak_secret':
      return text(
        'Here is the deployment config (fake values, for DLP demos):\n' +
          `AWS_ACCESS_KEY_ID=${FAKE_AWS_KEY}\n` +
          `AWS_SECRET_ACCESS_KEY=${FAKE_AWS_SECRET}\n` +
          `OPENAI_API_KEY=${FAKE_API_KEY}\n`,
      );
    case 'ask_user':
    case 'sample':
      return interact(ctx, name, args, params);
    case 'big_text':
      return text(bigText(intArg(args, 'bytes', 0, MAX_BIG)));
    case 'slow': {
      const ms = intArg(args, 'ms', 0, 600_000);
      await sleep(ms, undefined, { signal: ctx.signal });
      return text(`Waited ${ms} ms`);
    }
    case 'demo_notify':
      return notify(ctx, typeof args.message === 'string' ? args.message : 'Hello from portcullis-demo');
    default:
      throw new RpcError(CODES.invalidParams, `Unknown tool: ${name}`, 200);
  }
}

async function countdown(ctx: CallContext, from: number, intervalMs: number): Promise<Json> {
  // Announce each number, then wait: every event (and the final result) is a separate write an
  // interval apart, so a buffering hop in between shows up as events arriving together.
  for (let step = 1; step <= from; step++) {
    if (ctx.progressToken !== undefined) {
      // basic/utilities/progress: `progress` MUST increase with each notification.
      ctx.notify('notifications/progress', { progressToken: ctx.progressToken, progress: step, total: from, message: `${from - step + 1}` });
    }
    await sleep(intervalMs, undefined, { signal: ctx.signal });
  }
  return text(`Countdown from ${from} finished`);
}

function notify(ctx: CallContext, message: string): Json {
  const params = { level: 'info', logger: SERVER_INFO.name, data: message };
  if (ctx.era === 'legacy') {
    if (!levelEnabled(ctx.logLevel, 'info')) return text('Not sent: below the level set by logging/setLevel');
    // 2025 transports: messages unrelated to a request go on the standalone GET stream.
    return ctx.notifyStandalone('notifications/message', params)
      ? text('Sent notifications/message on the standalone GET stream')
      : text('Not sent: no standalone GET stream is open for this session');
  }
  // 2026-07-28 server/utilities/logging: request-scoped, only when the request carries logLevel.
  if (ctx.logLevel === undefined || !ctx.streaming) return text('Not sent: the request has no io.modelcontextprotocol/logLevel');
  if (!levelEnabled(ctx.logLevel, 'info')) return text('Not sent: below the requested logLevel');
  ctx.notify('notifications/message', params);
  return text('Sent notifications/message on this request\'s stream');
}

/** The embedded request each interactive tool needs from the client, and the key it is filed under. */
function inputRequest(name: 'ask_user' | 'sample', args: Json): { key: string; method: string; params: Json; subject: string } {
  if (name === 'ask_user') {
    const question = typeof args.question === 'string' ? args.question : 'What is your name?';
    return {
      key: 'answer', method: 'elicitation/create', subject: question,
      // Form mode (client/elicitation): never used for sensitive data.
      params: { message: question, requestedSchema: { type: 'object', properties: { answer: { type: 'string', title: 'Answer' } }, required: ['answer'] } },
    };
  }
  const prompt = typeof args.prompt === 'string' ? args.prompt : 'Say hello in one short sentence.';
  return {
    key: 'completion', method: 'sampling/createMessage', subject: prompt,
    params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 200 },
  };
}

async function interact(ctx: CallContext, name: 'ask_user' | 'sample', args: Json, params: Json): Promise<Json> {
  const req = inputRequest(name, args);
  const capability = name === 'ask_user' ? 'elicitation' : 'sampling';
  if (!isObject(ctx.clientCapabilities[capability])) {
    if (ctx.era === 'modern') {
      // 2026-07-28 basic/index: -32021, HTTP 400 (the HTTP layer checks this before dispatch too).
      throw new RpcError(CODES.missingClientCapability, 'Missing required client capability', 400, { requiredCapabilities: { [capability]: {} } });
    }
    return text(`The client did not declare the ${capability} capability`, true);
  }
  if (ctx.era === 'legacy') {
    let answer: Json;
    try {
      answer = await ctx.ask(req.method, req.params);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      return text(`${req.method} failed: ${err instanceof Error ? err.message : 'no answer'}`, true);
    }
    return describe(name, answer);
  }

  // 2026-07-28 MRTR (basic/patterns/mrtr): first leg returns input_required; the retry carries
  // inputResponses and our requestState back. requestState is attacker-controlled, so it is sealed.
  const responses = params.inputResponses;
  if (params.requestState === undefined && responses === undefined) {
    return {
      resultType: 'input_required',
      inputRequests: { [req.key]: { method: req.method, params: req.params } },
      requestState: sealState({ tool: name, subject: req.subject }),
    };
  }
  const state = typeof params.requestState === 'string' ? openState(params.requestState) : undefined;
  if (!state || state.tool !== name || state.subject !== req.subject) {
    throw new RpcError(CODES.invalidParams, 'Invalid or expired requestState', 200);
  }
  const answer = isObject(responses) ? responses[req.key] : undefined;
  if (!isObject(answer)) throw new RpcError(CODES.invalidParams, `Invalid params: inputResponses.${req.key} is missing`, 200);
  return describe(name, answer);
}

/** Turns an ElicitResult / CreateMessageResult into the tool's text result. */
function describe(name: 'ask_user' | 'sample', r: Json): Json {
  if (name === 'ask_user') {
    if (r.action !== 'accept') return text(`The user chose to ${r.action === 'decline' ? 'decline' : 'cancel'}`);
    const content = isObject(r.content) ? r.content : {};
    const answer = content.answer;
    return text(`The user said: ${typeof answer === 'string' || typeof answer === 'number' || typeof answer === 'boolean' ? answer : JSON.stringify(content)}`);
  }
  // 2025-11-25 sampling: content is one block, or an array when tools are involved.
  const blocks = Array.isArray(r.content) ? r.content : [r.content];
  const said = blocks.map((b) => (isObject(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('');
  return text(`The model${typeof r.model === 'string' ? ` (${r.model})` : ''} said: ${said}`);
}
