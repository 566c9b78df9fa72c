/**
 * JSON-RPC 2.0 message classification for MCP (https://www.jsonrpc.org/specification).
 *
 * Stricter than bare JSON-RPC where MCP is (basic/index "Messages"):
 * - request ids are a string or an integer, never null; we further require a *safe* integer,
 *   because an id beyond 2^53 does not survive JSON.parse → JSON.stringify unchanged, and a proxy
 *   that altered an id would break the client's request/response correlation;
 * - `params`, when present, is an object (MCP never uses by-position arrays).
 * An error response may carry `id: null` (JSON-RPC §5: the id could not be determined) or, per the
 * MCP 2025-11-25 schema (`JSONRPCErrorResponse.id?`), no id at all.
 */

export type JsonRpcId = string | number;
export type MessageKind = 'request' | 'notification' | 'result' | 'error';
export type JsonRpcObject = Record<string, unknown>;

export interface RequestMessage {
  kind: 'request';
  id: JsonRpcId;
  method: string;
  message: JsonRpcObject;
}
export interface NotificationMessage {
  kind: 'notification';
  id?: undefined;
  method: string;
  message: JsonRpcObject;
}
export interface ResultMessage {
  kind: 'result';
  id: JsonRpcId;
  method?: undefined;
  message: JsonRpcObject;
}
export interface ErrorMessage {
  kind: 'error';
  /** undefined when the error response's id is null or absent. */
  id?: JsonRpcId;
  method?: undefined;
  message: JsonRpcObject;
}
export type Classified = RequestMessage | NotificationMessage | ResultMessage | ErrorMessage;

export type ClassifyOutcome =
  | { ok: true; value: Classified }
  /** `id`: the message's id when it is a valid one, else null (what an error reply must echo). */
  | { ok: false; reason: string; id: JsonRpcId | null };

export type ParseBodyOutcome = { ok: true; batch: boolean; items: unknown[] } | { ok: false; reason: string; tooDeep?: boolean };

function isObject(v: unknown): v is JsonRpcObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isValidId(v: unknown): v is JsonRpcId {
  return typeof v === 'string' || Number.isSafeInteger(v);
}

function invalid(reason: string, msg: JsonRpcObject): ClassifyOutcome {
  return { ok: false, reason, id: isValidId(msg['id']) ? msg['id'] : null };
}

export function classify(msg: unknown): ClassifyOutcome {
  if (!isObject(msg)) {
    return { ok: false, reason: Array.isArray(msg) ? 'message is an array, not an object' : 'message is not a JSON object', id: null };
  }
  // "jsonrpc: A String specifying the version of the JSON-RPC protocol. MUST be exactly '2.0'."
  if (msg['jsonrpc'] !== '2.0') return invalid('jsonrpc must be "2.0"', msg);
  const id = msg['id'];
  const hasId = id !== undefined;
  const hasResult = 'result' in msg;
  const hasError = 'error' in msg;

  if ('method' in msg) {
    const method = msg['method'];
    if (typeof method !== 'string') return invalid('method must be a string', msg);
    if (method === '') return invalid('method must not be empty', msg);
    if (hasResult || hasError) return invalid('a message cannot have both method and result/error', msg);
    const params = msg['params'];
    if (params !== undefined && !isObject(params)) return invalid('params must be an object', msg);
    // "A Notification is a Request object without an 'id' member."
    if (!hasId) return { ok: true, value: { kind: 'notification', method, message: msg } };
    if (id === null) return invalid('request id must not be null', msg);
    if (!isValidId(id)) return invalid('request id must be a string or an integer', msg);
    return { ok: true, value: { kind: 'request', id, method, message: msg } };
  }

  if (hasResult && hasError) return invalid('a response cannot have both result and error', msg);
  if (hasResult) {
    // "id: This member is REQUIRED. It MUST be the same as the value of the id member in the
    // Request Object." MCP requests never have a null id, so neither can their results.
    if (!hasId) return invalid('result response has no id', msg);
    if (!isValidId(id)) return invalid('result id must be a string or an integer', msg);
    return { ok: true, value: { kind: 'result', id, message: msg } };
  }
  if (hasError) {
    if (hasId && id !== null && !isValidId(id)) return invalid('error id must be a string, an integer or null', msg);
    const err = msg['error'];
    if (!isObject(err)) return invalid('error must be an object', msg);
    // "code: A Number that indicates the error type that occurred. This MUST be an integer."
    if (!Number.isInteger(err['code'])) return invalid('error.code must be an integer', msg);
    if (typeof err['message'] !== 'string') return invalid('error.message must be a string', msg);
    const value: ErrorMessage = { kind: 'error', message: msg };
    if (hasId && id !== null) value.id = id as JsonRpcId;
    return { ok: true, value };
  }
  return invalid('not a request, notification or response (no method, result or error)', msg);
}

export function isRequest(c: Classified): c is RequestMessage {
  return c.kind === 'request';
}
export function isNotification(c: Classified): c is NotificationMessage {
  return c.kind === 'notification';
}
export function isResponse(c: Classified): c is ResultMessage | ErrorMessage {
  return c.kind === 'result' || c.kind === 'error';
}

/**
 * Parse an HTTP body. An array is a batch (JSON-RPC §6); "an Array with at least one value", so
 * `[]` is invalid. The reason never quotes the body (V8's JSON errors can include a snippet of
 * it, which may hold a secret); only the position is kept.
 */
/**
 * Deepest nesting of arrays and objects a message may have: the same bound as the chunk path
 * (json-stream.ts maxDepth) and policy input (policy/cel.ts). Everything that walks a parsed
 * message (string leaves with their pointers, copy-on-write patches, canonical JSON digests)
 * costs more per level, some of it recursively: an upstream answer nested 100,000 deep pegged
 * the event loop for tens of seconds and then exhausted the heap.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Does the JSON text nest arrays/objects deeper than `max`? One pass, strings skipped with
 * indexOf; run before JSON.parse so a hostile document is refused before it is built. Text that
 * is not JSON may get either answer; the parse reports it.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: one preceded by an even number of backslashes.
      for (let q = text.indexOf('"', i + 1); ; q = text.indexOf('"', q + 1)) {
        if (q < 0) return false;
        let b = q - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if ((q - 1 - b) % 2 === 0) {
          i = q;
          break;
        }
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

export function parseBody(text: string): ParseBodyOutcome {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, reason: `nesting deeper than ${MAX_JSON_DEPTH} levels`, tooDeep: true };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (text.trim() === '') return { ok: false, reason: 'body is empty' };
    const detail = err instanceof Error ? err.message : '';
    if (detail.startsWith('Unexpected end of JSON input')) return { ok: false, reason: 'invalid JSON: unexpected end of input' };
    const at = /at position (\d+)/.exec(detail);
    return { ok: false, reason: at ? `invalid JSON at position ${at[1]}` : 'invalid JSON' };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { ok: false, reason: 'empty batch' };
    return { ok: true, batch: true, items: value };
  }
  return { ok: true, batch: false, items: [value] };
}

/** A JSON-RPC error response; `data` is omitted when undefined. */
export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcObject {
  const error: JsonRpcObject = { code, message };
  if (data !== undefined) error['data'] = data;
  return { jsonrpc: '2.0', id, error };
}

// ------------------------------------------------------------------ ambiguous member names
//
// The gateway judges its own parse of a client message (JSON.parse: exact, case-sensitive names,
// last duplicate wins) but forwards the client's bytes. Any receiver that reads a member name
// differently then acts on a message the gateway never inspected. RFC 8259 §4 (RFC 7159 §4):
// "The names within an object SHOULD be unique … When the names within an object are not
// unique, the behavior of software that receives such an object is unpredictable": some keep the
// first duplicate, most the last. Go's encoding/json (mcp-go and many Go servers) and .NET's
// System.Text.Json with JsonSerializerDefaults.Web (the C# MCP SDK) go further and match struct
// fields case-insensitively, last match wins: `"name":"search","Name":"delete_repo"` is `search`
// to the gateway and `delete_repo` to them. So a client message is refused when
//  1. any object holds two names equal under `foldName` (exact duplicates included), or
//  2. the message object, its `params` / `result` / `error` object or their `_meta`, holds a name
//     that folds to a protocol member name without being spelled exactly (`"Method"`, `"paramſ"`,
//     a lone `"Name"` in params): the gateway reads that member as absent, a folding receiver as
//     present, so policy, method-deny and pinning judge a call other than the one that runs.
// Rule 2 stops at the protocol's own objects: below them (tool arguments, values in `_meta`)
// names belong to the tool or extension and any spelling is legitimate; rule 1 applies there.

/**
 * Name folding: ASCII case, plus the non-ASCII letters whose case maps onto an ASCII letter:
 * U+017F LATIN SMALL LETTER LONG S (s) and U+212A KELVIN SIGN (k), the only two in Go's
 * unicode.SimpleFold orbits of ASCII letters (strings.EqualFold / encoding/json foldName), and
 * U+0130 İ and U+0131 ı (i), whose simple case mappings reach ASCII (UnicodeData.txt; Java's
 * String.equalsIgnoreCase, .NET's OrdinalIgnoreCase). Other non-ASCII letters are left alone:
 * protocol member names are ASCII, so a receiver folding them cannot reach one.
 */
export function foldName(s: string): string {
  let plain = true;
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      if (c === 0x17f || c === 0x212a || c === 0x130 || c === 0x131) plain = false;
    } else if (c >= 0x41 && c <= 0x5a) {
      plain = false;
    }
  }
  if (plain) return s;
  if (ascii) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c >= 0x41 && c <= 0x5a) out += String.fromCharCode(c + 0x20);
    else if (c === 0x17f) out += 's';
    else if (c === 0x212a) out += 'k';
    else if (c === 0x130 || c === 0x131) out += 'i';
    else out += ch;
  }
  return out;
}

/** Folded protocol member name → its one exact spelling. */
function canon(names: readonly string[]): ReadonlyMap<string, string> {
  return new Map(names.map((n) => [foldName(n), n]));
}

/** JSON-RPC 2.0 §4/§5 members of a request, notification or response object. */
const ENVELOPE = canon(['jsonrpc', 'id', 'method', 'params', 'result', 'error']);

/**
 * Members of the objects under the envelope that the gateway's inspection reads or that an
 * upstream decodes into typed fields: client request / notification params (MCP schema, both
 * eras), the results a client sends back (sampling, elicitation, roots), error objects.
 */
const MEMBERS = canon([
  // params
  '_meta', 'name', 'arguments', 'uri', 'cursor', 'task', 'taskId', 'protocolVersion', 'capabilities', 'clientInfo', 'level',
  'ref', 'argument', 'context', 'requestId', 'reason', 'progressToken', 'progress', 'total', 'message', 'notifications',
  'inputResponses', 'requestState', 'elicitationId',
  // results a client returns
  'action', 'content', 'roots', 'model', 'role', 'stopReason', 'resultType',
  // error objects (JSON-RPC 2.0 §5.1)
  'code', 'data',
  // results a server returns, read by the gateway's inspectors (pinning and poisoning read
  // `tools`, `prompts`, `resources`; DLP and injection the content) and decoded by clients
  'tools', 'prompts', 'resources', 'resourceTemplates', 'contents', 'messages', 'nextCursor', 'structuredContent', 'isError',
  'instructions', 'serverInfo', 'description',
]);
/** `_meta` members the gateway reads (progress correlation, 2026-07-28 era and envelope). */
const META = canon([
  'progressToken',
  'io.modelcontextprotocol/protocolVersion',
  'io.modelcontextprotocol/clientCapabilities',
  'io.modelcontextprotocol/clientInfo',
  'io.modelcontextprotocol/logLevel',
  'io.modelcontextprotocol/related-task',
  'io.modelcontextprotocol/subscriptionId',
]);
/**
 * Members of the definitions a server lists (Tool, Prompt, Resource, ResourceTemplate; MCP schema
 * 2025-11-25): the tool-poisoning scan and pinning read `description`, `inputSchema` and the rest
 * by these names, and a case-folding client (Go's encoding/json) would read `"Description"` as the
 * description the scan never saw.
 */
const DEFINITION = canon([
  'name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations', 'icons', 'execution', '_meta',
  'arguments', 'uri', 'uriTemplate', 'mimeType', 'size',
]);
/** The protocol members (params / result) whose array elements are definitions. */
const DEFINITION_LISTS = new Set(['tools', 'prompts', 'resources', 'resourceTemplates']);
const PROTOCOL_OBJECTS = new Set(['params', 'result', 'error']);
const ROLE_NONE = 0;
const ROLE_MESSAGE = 1;
const ROLE_PROTOCOL = 2;
const ROLE_META = 3;
const ROLE_DEFINITION = 4;
const SPELLINGS: ReadonlyArray<ReadonlyMap<string, string> | undefined> = [undefined, ENVELOPE, MEMBERS, META, DEFINITION];

/** Above this many names an object's duplicate check uses a Set instead of a linear scan. */
const LINEAR_NAMES = 16;

/**
 * Why the JSON text `text` is ambiguous as a client message (see above), or undefined. `text`
 * must already be valid JSON (JSON.parse accepted it): the scan only tracks strings and braces.
 * One pass, strings skipped with indexOf: about the cost of JSON.parse on a small message
 * (~1.5 µs for a 400-byte tools/call), less on large ones; objects with many names use a Set, so
 * a wide object is linear, not quadratic.
 */
export function ambiguousMember(text: string): string | undefined {
  const names: string[] = []; // folded names of the open objects, innermost last
  const starts: number[] = []; // per open object: where its names begin in `names`
  const sets: Array<Set<string> | undefined> = []; // per open object with many names
  const roles: number[] = []; // per open object: ROLE_*
  let messageName = ''; // the last name read in the message object (what a `{` there opens)
  let protocolName = ''; // the last name read in a params / result / error object
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      const parent = starts.length === 0 ? -1 : roles[starts.length - 1]!;
      starts.push(names.length);
      sets.push(undefined);
      roles.push(
        parent === -1
          ? ROLE_MESSAGE
          : parent === ROLE_MESSAGE && PROTOCOL_OBJECTS.has(messageName)
            ? ROLE_PROTOCOL
            : parent === ROLE_PROTOCOL && protocolName === '_meta'
              ? ROLE_META
              : // Arrays are not tracked: an object opened in a protocol object right after the
                // name `tools` (and the like) is an element of that list.
                parent === ROLE_PROTOCOL && DEFINITION_LISTS.has(protocolName)
                ? ROLE_DEFINITION
                : ROLE_NONE,
      );
      continue;
    }
    if (c === 0x7d /* } */) {
      names.length = starts.pop()!;
      sets.pop();
      roles.pop();
      continue;
    }
    if (c !== 0x22 /* " */) continue;
    // A string: find its closing quote (one preceded by an even run of backslashes).
    let end = i;
    for (;;) {
      end = text.indexOf('"', end + 1);
      let b = end - 1;
      while (text.charCodeAt(b) === 0x5c /* \ */) b--;
      if ((end - 1 - b) % 2 === 0) break;
    }
    let j = end + 1;
    let d = text.charCodeAt(j);
    while (d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d) d = text.charCodeAt(++j);
    if (d === 0x3a /* : */) {
      // A member name. Escapes decoded (`"na\u006De"` is `name`); a lone surrogate escape is
      // U+FFFD to Go, as it would be to any UTF-8 encoder.
      let name = text.slice(i + 1, end);
      if (name.includes('\\')) name = (JSON.parse(text.slice(i, end + 1)) as string).toWellFormed();
      const top = starts.length - 1;
      const folded = foldName(name);
      const role = roles[top]!;
      if (role !== ROLE_NONE) {
        const exact = SPELLINGS[role]!.get(folded);
        if (exact !== undefined && exact !== name) return `member "${exact}" must be spelled exactly`;
        if (role === ROLE_MESSAGE) messageName = name;
        else if (role === ROLE_PROTOCOL) protocolName = name;
      }
      const set = sets[top];
      if (set === undefined) {
        const from = starts[top]!;
        for (let k = from; k < names.length; k++) {
          if (names[k] === folded) return duplicate(folded);
        }
        names.push(folded);
        if (names.length - from > LINEAR_NAMES) {
          sets[top] = new Set(names.slice(from));
          names.length = from;
        }
      } else {
        if (set.has(folded)) return duplicate(folded);
        set.add(folded);
      }
    }
    i = end;
  }
  return undefined;
}

function duplicate(folded: string): string {
  // Named only when it is a protocol member: any other name may be client data (never echoed).
  const known = ENVELOPE.get(folded) ?? MEMBERS.get(folded) ?? META.get(folded);
  const what = known !== undefined ? `member "${known}"` : 'a member name';
  return `${what} occurs twice in one object (names compared case-insensitively)`;
}

/**
 * MCP notifications are the `notifications/*` methods (schema: every ClientNotification). A
 * request method sent without an id is a JSON-RPC notification (§4.1) to the gateway, which
 * answers nothing and inspects it as such (policy and pinning judge requests), while an upstream
 * that dispatches on `method` first runs it: only notification methods may travel without an id.
 */
export function isNotificationMethod(method: string): boolean {
  return method.startsWith('notifications/');
}

/**
 * The first id shared by two requests (or two responses) of a batch, if any. JSON-RPC 2.0 §6:
 * the client matches the responses of a batch by id; MCP (basic/index, Requests): "The request
 * ID MUST NOT have been previously used by the requestor within the same session". Ids are
 * compared as text: an id 7 and an id "7" are one id to a receiver that normalises ids.
 */
export function duplicateBatchId(items: readonly Classified[]): JsonRpcId | undefined {
  const requests = new Set<string>();
  const responses = new Set<string>();
  for (const c of items) {
    if (c.id === undefined) continue;
    const seen = c.kind === 'request' ? requests : responses;
    const key = String(c.id);
    if (seen.has(key)) return c.id;
    seen.add(key);
  }
  return undefined;
}
