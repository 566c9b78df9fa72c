/**
 * Ambiguous member names: the check that keeps the gateway and the receiver reading one message.
 *
 * The gateway judges its own parse of a client message (JSON.parse: exact, case-sensitive names,
 * last duplicate wins) but forwards the client's bytes. Any receiver that reads a member name
 * differently then acts on a message the gateway never inspected. RFC 8259 §4 (RFC 7159 §4):
 * "The names within an object SHOULD be unique … When the names within an object are not
 * unique, the behavior of software that receives such an object is unpredictable": some keep the
 * first duplicate, most the last. Go's encoding/json (mcp-go and many Go servers) and .NET's
 * System.Text.Json with JsonSerializerDefaults.Web (the C# MCP SDK) go further and match struct
 * fields case-insensitively, last match wins: `"name":"search","Name":"delete_repo"` is `search`
 * to the gateway and `delete_repo` to them. So a client message is refused when
 *  1. any object holds two names equal under `foldName` (exact duplicates included), or
 *  2. the message object, its `params` / `result` / `error` object or their `_meta`, holds a name
 *     that folds to a protocol member name without being spelled exactly (`"Method"`, `"paramſ"`,
 *     a lone `"Name"` in params): the gateway reads that member as absent, a folding receiver as
 *     present, so policy, method-deny and pinning judge a call other than the one that runs.
 * Rule 2 stops at the protocol's own objects: below them (tool arguments, values in `_meta`)
 * names belong to the tool or extension and any spelling is legitimate; rule 1 applies there.
 *  3. any object holds a one-character name written as an escape (`"\u0078"`, `"\n"`): the
 *     gateway's own parser can misread it. V8's JSON.parse in Node.js 24.21 (found here, not yet
 *     reported upstream) returns such a key as `"\"` once any earlier parse in the process met a
 *     one-character escaped key such as `"\\"`; so one client's message can make the next read
 *     `{"\u0078": "rm -rf /"}` as an argument named `\` while the upstream runs it as `x`,
 *     past every rule about `tool.arguments.x`, and a tool definition can change one-letter
 *     schema names under its pin. Names of two or more characters, and string values, are read
 *     correctly; JSON.stringify never writes a printable one-character name this way.
 */

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
      if (name.includes('\\')) {
        name = (JSON.parse(text.slice(i, end + 1)) as string).toWellFormed();
        if (name.length === 1) return `member name ${JSON.stringify(text.slice(i + 1, end))} is one character written as an escape`;
      }
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
