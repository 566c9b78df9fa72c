import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TopLevelError, TopLevelScanner, type TopLevelOptions } from './json-top-level.ts';

const CAPTURE = ['id', 'jsonrpc', 'method', 'result'] as const;

interface Seen {
  shape: 'object' | 'other' | undefined;
  keys: string[];
  keyCount: number;
  captured: Record<string, string | undefined>;
}

/** Feeds `pieces` and ends; what a user of the scanner sees, or the TopLevelError it threw. */
function scan(pieces: readonly string[], opts: TopLevelOptions = { capture: CAPTURE }): Seen | TopLevelError {
  const s = new TopLevelScanner(opts);
  try {
    for (const p of pieces) s.push(p);
    s.end();
  } catch (err) {
    if (err instanceof TopLevelError) return err;
    throw err;
  }
  const captured: Record<string, string | undefined> = {};
  for (const name of opts.capture ?? []) captured[name] = s.captured(name);
  return { shape: s.shape, keys: [...s.keys], keyCount: s.keyCount, captured };
}

function ok(text: string, opts?: TopLevelOptions): Seen {
  const r = scan([text], opts);
  if (r instanceof TopLevelError) assert.fail(`${text}: ${r.message}`);
  return r;
}

function refused(text: string, offset: number, message: RegExp): void {
  const r = scan([text]);
  assert.ok(r instanceof TopLevelError, `expected a TopLevelError for ${text}`);
  assert.match(r.message, message, text);
  assert.equal(r.offset, offset, text);
}

/** Split `text` at the given cut points (any order, duplicates allowed: empty pieces too). */
function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = cuts.map((c) => c % (text.length + 1)).sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(text.slice(prev, p));
    prev = p;
  }
  out.push(text.slice(prev));
  return out;
}

describe('TopLevelScanner: member names', () => {
  it('lists the top-level names in order, duplicates kept', () => {
    const r = ok(' {"jsonrpc":"2.0","id":1,"method":"x","params":{},"id":2} ');
    assert.deepEqual(r.keys, ['jsonrpc', 'id', 'method', 'params', 'id']);
    assert.equal(r.keyCount, 5);
    assert.equal(r.shape, 'object');
  });

  it('reports a name as soon as it is complete, before its value arrives (response vs request early)', () => {
    const names: string[] = [];
    const s = new TopLevelScanner({ onKey: (n) => names.push(n) });
    s.push('{"jsonrpc":"2.0","id":1,"res');
    assert.deepEqual(names, ['jsonrpc', 'id']);
    s.push('ult"');
    assert.deepEqual(names, ['jsonrpc', 'id', 'result']);
    assert.deepEqual(s.keys, names);
    s.push(' : {"content":[');
    s.push(']}}');
    s.end();
    assert.deepEqual(names, ['jsonrpc', 'id', 'result']);
  });

  it('does not take a name inside params, an array or a string for a top-level one', () => {
    const r = ok('{"method":"m","params":{"result":1,"error":{"id":9}},"x":[{"result":2}],"y":"\\"result\\":3"}');
    assert.deepEqual(r.keys, ['method', 'params', 'x', 'y']);
    assert.equal(r.captured.id, undefined);
    assert.equal(r.captured.result, undefined);
  });

  it('keeps braces, brackets and escaped quotes inside strings as text; \\\\" ends a string', () => {
    const r = ok('{"a":{"s":"}}]]{{\\"result\\":{"},"b":"\\\\","result":"x\\\\\\"}"}');
    assert.deepEqual(r.keys, ['a', 'b', 'result']);
    assert.equal(r.captured.result, '"x\\\\\\"}"');
  });

  it('decodes escapes in names (lone surrogates as U+FFFD) and captures by the decoded name', () => {
    const r = ok('{"i\\u0064":7,"\\u006detho\\u0044":1,"a\\"b\\\\c\\/\\n":2,"\\ud83d\\ude00":3,"x\\ud800":4,"\\uDC00":5}');
    assert.deepEqual(r.keys, ['id', 'methoD', 'a"b\\c/\n', '\u{1F600}', 'x\uFFFD', '\uFFFD']);
    assert.equal(r.captured.id, '7');
  });

  it('keeps the first 256 names and counts all', () => {
    const members = Array.from({ length: 1000 }, (_, k) => `"k${k}":${k}`);
    const r = ok(`{${members.join(',')}}`);
    assert.equal(r.keyCount, 1000);
    assert.equal(r.keys.length, 256);
    assert.equal(r.keys[255], 'k255');
  });

  it('refuses a name longer than maxKeyLength, counted decoded', () => {
    const opts = { maxKeyLength: 4 };
    assert.deepEqual(ok('{"abcd":1,"\\u0061\\u0062\\u0063\\u0064":2}', opts).keys, ['abcd', 'abcd']);
    assert.match(String(scan(['{"abcde":1}'], opts)), /longer than maxKeyLength/);
    assert.match(String(scan(['{"abcd\\u0065":1}'], opts)), /longer than maxKeyLength/);
    // Spread over pieces, it is refused by the piece that makes it too long.
    const s = new TopLevelScanner(opts);
    s.push('{"ab');
    s.push('cd');
    assert.throws(() => s.push('e"'), (e: unknown) => e instanceof TopLevelError && e.offset === 6);
  });
});

describe('TopLevelScanner: captured values', () => {
  it('captures the raw JSON text of top-level scalars', () => {
    const r = ok('{"jsonrpc":"2.0","id":7,"method":"tools/call","result":null}');
    assert.deepEqual(r.captured, { id: '7', jsonrpc: '"2.0"', method: '"tools/call"', result: 'null' });
    assert.equal(ok('{"id":"a"}').captured.id, '"a"');
    assert.equal(ok('{"id":-1.5E+3}').captured.id, '-1.5E+3');
    assert.equal(ok('{"id":0}').captured.id, '0');
    assert.equal(ok('{"id":true,"result":false}').captured.result, 'false');
    assert.equal(ok('{"id":true}').captured.id, 'true');
    // Raw, not re-encoded: the caller compares it with the request's id text.
    assert.equal(ok('{"id":"\\u0061\\n"}').captured.id, '"\\u0061\\n"');
  });

  it('captures nothing for containers, absent names, or names below the top level', () => {
    assert.equal(ok('{"id":{"x":1}}').captured.id, undefined);
    assert.equal(ok('{"id":[1]}').captured.id, undefined);
    assert.equal(ok('{"x":1}').captured.id, undefined);
    assert.equal(ok('{"x":{"id":1}}').captured.id, undefined);
    assert.equal(ok('{"x":1}', { capture: [] }).captured.id, undefined);
  });

  it('keeps the last occurrence of a repeated name', () => {
    assert.equal(ok('{"id":1,"id":"2"}').captured.id, '"2"');
    assert.equal(ok('{"id":1,"id":{}}').captured.id, undefined);
    assert.equal(ok('{"id":{},"id":3}').captured.id, '3');
  });

  it("reports 'too-long' for a value longer than maxCaptured", () => {
    const opts = { capture: ['id'], maxCaptured: 5 };
    assert.equal(ok('{"id":"abc"}', opts).captured.id, '"abc"');
    assert.equal(ok('{"id":"abcd"}', opts).captured.id, 'too-long');
    assert.equal(ok('{"id":"\\n\\t"}', opts).captured.id, 'too-long'); // 6 raw units
    assert.equal(ok('{"id":12345}', opts).captured.id, '12345');
    assert.equal(ok('{"id":123456}', opts).captured.id, 'too-long');
    assert.equal(ok('{"id":false}', opts).captured.id, 'false');
    assert.equal(ok('{"id":false}', { capture: ['id'], maxCaptured: 4 }).captured.id, 'too-long');
    assert.equal(ok('{"id":""}', { capture: ['id'], maxCaptured: 1 }).captured.id, 'too-long');
  });
});

describe('TopLevelScanner: shape and grammar', () => {
  it("calls any text that does not start with '{' 'other' and ignores the rest", () => {
    for (const text of ['[{"result":1}]', ' "str"', '7', 'null', '\uFEFF{}', 'garbage {{{"', ']']) {
      assert.equal(ok(text).shape, 'other', text);
      assert.deepEqual(ok(text).keys, []);
    }
    const s = new TopLevelScanner();
    s.push(' \n\t');
    assert.equal(s.shape, undefined);
    s.push('[');
    assert.equal(s.shape, 'other');
    s.push('}}}}"\\');
    s.end();
  });

  it('refuses input that is not one JSON object, with the offset of the problem', () => {
    refused('', 0, /empty/);
    refused('  ', 2, /empty/);
    refused('{"a":1', 6, /unexpected end/);
    refused('{"a":"x', 7, /unexpected end/);
    refused('{"a":[1,', 8, /unexpected end/);
    refused('{"a":1}}', 7, /data after/);
    refused('{"a":1} x', 8, /data after/);
    refused('{"a":1,}', 7, /member name/);
    refused('{,}', 1, /member name/);
    refused('{"a" 1}', 5, /':'/);
    refused('{"a":1 "b":2}', 7, /','/);
    refused('{"a":}', 5, /value/);
    refused('{"a":01}', 6, /','/);
    refused('{"a":-}', 6, /number/);
    refused('{"a":1.}', 7, /number/);
    refused('{"a":1e}', 7, /number/);
    refused('{"a":1e+}', 8, /number/);
    refused('{"a":-a}', 6, /number/);
    refused('{"a":tru}', 8, /literal/);
    refused('{"a":"\\x"}', 7, /escape/);
    refused('{"a":"\\u12G4"}', 10, /escape/);
    refused('{"a\nb":1}', 3, /control/);
    refused('{"id":"a\tb"}', 8, /control/);
    // Nested values: brackets must match by kind, so `[1}` cannot end a nested value early.
    refused('{"a":[1},"result":2}', 7, /mismatched/);
    refused('{"a":{"b":1]}', 11, /mismatched/);
    refused('{"a":[1 # 2]}', 8, /unexpected character/);
    refused('{"a":[{"\\q":1}]}', 9, /escape/);
  });

  it('rejects nesting deeper than 10 000 below the top level', () => {
    ok(`{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    refused(`{"a":${'['.repeat(10_001)}`, 5 + 10_000, /nesting deeper/);
  });

  it('keeps an error: every later call rethrows it; push after end is a usage error', () => {
    const s = new TopLevelScanner();
    assert.throws(() => s.push('{x'), TopLevelError);
    assert.throws(() => s.push('}'), /offset 1/);
    assert.throws(() => s.end(), /offset 1/);
    const t = new TopLevelScanner();
    t.push('{}');
    t.end();
    assert.throws(() => t.push(' '), /after end/);
  });

  it('propagates an onKey exception and stops there', () => {
    const s = new TopLevelScanner({ onKey: () => { throw new Error('caller bug'); } });
    assert.throws(() => s.push('{"a":1}'), /caller bug/);
    assert.throws(() => s.end(), /caller bug/);
  });

  it('checks its options', () => {
    assert.throws(() => new TopLevelScanner({ maxCaptured: -1 }), RangeError);
    assert.throws(() => new TopLevelScanner({ maxKeyLength: 1.5 }), RangeError);
    assert.throws(() => new TopLevelScanner({ capture: 'id' as unknown as string[] }), TypeError);
    assert.throws(() => new TopLevelScanner({ onKey: 'x' as unknown as () => void }), TypeError);
  });
});

/** Escapes in names and values, astral characters, literals, numbers and whitespace everywhere. */
const TRICKY =
  ' {\t"jso\\u006Erpc" \n: "2.0" , "i\\u0064":-12.5e+3,"\\ud83d\\ude00\u{1F600}":true, "p":{"result":"}\\"{","a":[null,false,1e5,{"\\\\":"\\\\"}]},' +
  '"method"\r\n:"to\\u00e9ls/\\"call\\"\\\\","n":null,"s":"\\/\\b\\f\\n\\r\\t\\u0000","error":[[]],"result":{}} ';

describe('TopLevelScanner: pieces', () => {
  it('gives the same result for every split of a tricky text into two or three pieces', () => {
    const whole = ok(TRICKY);
    assert.deepEqual(whole.keys, ['jsonrpc', 'id', '\u{1F600}\u{1F600}', 'p', 'method', 'n', 's', 'error', 'result']);
    assert.deepEqual(whole.captured, { id: '-12.5e+3', jsonrpc: '"2.0"', method: '"to\\u00e9ls/\\"call\\"\\\\"', result: undefined });
    const n = TRICKY.length;
    for (let i = 0; i <= n; i++) {
      assert.deepEqual(scan([TRICKY.slice(0, i), TRICKY.slice(i)]), whole, `split at ${i}`);
      for (let j = i; j <= n; j += 7) assert.deepEqual(scan([TRICKY.slice(0, i), TRICKY.slice(i, j), TRICKY.slice(j)]), whole, `split at ${i}, ${j}`);
    }
    assert.deepEqual(scan([...TRICKY.split(''), '']), whole);
  });

  it('skips long strings with escaped quotes and braces after long plain runs, however split', () => {
    // Long plain runs are searched with indexOf, whose positions are kept only within one piece.
    const long =
      `{"a":"${'x'.repeat(100)}\\"},\\"result\\":${'y'.repeat(50)}\\\\","b":["${'z'.repeat(70)}\\"]}","${'w'.repeat(40)}",` +
      `{"${'v'.repeat(45)}\\u0022":"${'u'.repeat(33)}"}],"result":1}`;
    const whole = ok(long);
    assert.deepEqual(whole.keys, ['a', 'b', 'result']);
    assert.equal(whole.captured.result, '1');
    for (let i = 0; i <= long.length; i++) {
      assert.deepEqual(scan([long.slice(0, i), long.slice(i)]), whole, `split at ${i}`);
      // A long first piece, then shorter ones: positions found in one piece mean nothing in the next.
      assert.deepEqual(scan([long.slice(0, i), ...splitAt(long.slice(i), [20, 41, 77])]), whole, `split at ${i} and after`);
    }
  });

  it('gives the same error offset however an invalid text is split', () => {
    const bad = '{"id":1,"a":[{"b":"\\"}"}},"c":2}';
    const want = scan([bad]);
    assert.ok(want instanceof TopLevelError);
    for (let i = 0; i <= bad.length; i++) assert.equal((scan([bad.slice(0, i), bad.slice(i)]) as TopLevelError).offset, want.offset);
  });
});

// --- properties ---------------------------------------------------------------------------------

const ws = fc.constantFrom('', ' ', '\t', '\n', '\r\n', '  ');
// Names: protocol names, and strings rich in quotes, backslashes, braces, astral and lone surrogates.
const nameChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\', '{', '}', '[', ']', ':', ',', '\u2028', '\u{1F600}', '\0') },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', '\udfff') },
);
const name = fc.oneof(fc.constantFrom('id', 'jsonrpc', 'method', 'params', 'result', 'error'), fc.string({ unit: nameChar, maxLength: 8 }));
// Strings with long plain runs (read with indexOf) next to quotes, backslashes and braces.
const longString = fc.array(fc.constantFrom('x'.repeat(40), 'é'.repeat(33), '"', '\\', '{', '}', '"result":'), { maxLength: 8 }).map((a) => a.join(''));
const value = fc.oneof(
  fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }),
  longString,
  fc.array(fc.oneof(longString, fc.dictionary(longString, longString, { maxKeys: 2 })), { maxLength: 3 }),
  fc.constantFrom('2.0', 'tools/call', '}{"', '\\"'),
  fc.integer(),
);
const member = fc.record({ name, value, escapeAll: fc.boolean(), indent: fc.constantFrom(undefined, 1, '\t'), ws: fc.tuple(ws, ws, ws, ws) });
type Member = typeof member extends fc.Arbitrary<infer T> ? T : never;

/** The member name as JSON text: as JSON.stringify writes it, or every unit a \uXXXX escape. */
function encodeName(m: Member): string {
  if (!m.escapeAll) return JSON.stringify(m.name);
  let out = '"';
  for (let k = 0; k < m.name.length; k++) {
    const hex = m.name.charCodeAt(k).toString(16).padStart(4, '0');
    out += `\\u${k % 2 === 0 ? hex : hex.toUpperCase()}`;
  }
  return `${out}"`;
}

function objectText(members: readonly Member[], outer: readonly string[]): string {
  const body = members.map((m) => `${m.ws[0]}${encodeName(m)}${m.ws[1]}:${m.ws[2]}${JSON.stringify(m.value, null, m.indent)}${m.ws[3]}`);
  return `${outer[0]}{${outer[1]}${body.join(',')}}${outer[2]}`;
}

const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';

/**
 * The top-level member names of a text JSON.parse accepted as an object, in order, duplicates
 * kept. Not Object.keys(JSON.parse(text)): besides dropping duplicates and moving index-like names
 * first, V8 in Node 24.21 misreads a one-character escaped name once an object with the name "\\"
 * was parsed before at that place (`JSON.parse('{"\\\\":1}')`, then `JSON.parse('{"\\u0041":1}')`
 * has the name "\\"), and the generated names include both. Each name is decoded on its own as a
 * string value, which that bug does not touch.
 */
function referenceNames(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (' \t\n\r'.includes(text[k]!)) k++;
      if (depth === 1 && text[k] === ':') names.push((JSON.parse(text.slice(i, j + 1)) as string).toWellFormed());
      i = j;
    }
  }
  return names;
}

describe('TopLevelScanner: properties', () => {
  it('finds exactly the generated members and scalar values, however the text is split', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), fc.tuple(ws, ws, ws), fc.array(fc.nat(), { maxLength: 20 }), (members, outer, cuts) => {
        const text = objectText(members, outer);
        const parsed = JSON.parse(text) as Record<string, unknown>; // the generator writes JSON
        const names = members.map((m) => m.name.toWellFormed());
        const captured: Record<string, string | undefined> = {};
        for (const c of CAPTURE) {
          const last = members.findLast((m) => m.name.toWellFormed() === c);
          const raw = last !== undefined && isScalar(last.value) ? JSON.stringify(last.value) : undefined;
          captured[c] = raw !== undefined && raw.length > 256 ? 'too-long' : raw;
          // Same as a parse: the last duplicate wins.
          if (names.includes(c)) assert.equal(raw, isScalar(parsed[c]) ? JSON.stringify(parsed[c]) : undefined);
        }
        const want: Seen = { shape: 'object', keys: names, keyCount: names.length, captured };
        assert.deepEqual(scan([text]), want);
        assert.deepEqual(scan(splitAt(text, cuts)), want);
      }),
      { numRuns: 400 },
    );
  });

  // Mutations of valid objects: whatever JSON.parse accepts as an object, the scanner accepts
  // with the same names; anything it refuses is a TopLevelError in the text.
  it('agrees with JSON.parse on mutated objects and throws only TopLevelError', () => {
    const edit = fc.record({ at: fc.nat(), op: fc.constantFrom('delete', 'insert', 'replace'), ch: fc.constantFrom('{', '}', '[', ']', '"', '\\', ':', ',', ' ', '0', '-', 'e', '.', 't', 'u', 'x', '\n', '\ud800') });
    fc.assert(
      fc.property(fc.array(member, { maxLength: 5 }), fc.array(edit, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 8 }), (members, edits, cuts) => {
        let text = objectText(members, ['', '', '']);
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + (e.op === 'delete' ? '' : e.ch) + text.slice(e.op === 'insert' ? at : at + 1);
        }
        const r = scan(splitAt(text, cuts));
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          if (r instanceof TopLevelError) assert.ok(r.offset >= 0 && r.offset <= text.length);
          return;
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          assert.ok(!(r instanceof TopLevelError) && r.shape === 'other', text);
          return;
        }
        assert.ok(!(r instanceof TopLevelError), `${text}: ${String(r)}`);
        assert.deepEqual(r.keys, referenceNames(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but TopLevelError on random text', () => {
    const unit = fc.oneof(fc.constantFrom('{', '}', '[', ']', '"', '\\', ':', ',', ' ', 'u', '0', '-', 'e', 't', 'n', '\ud800'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 8 }), (body, brace, cuts) => {
        const text = brace ? `{${body}` : body;
        const r = scan(splitAt(text, cuts)); // scan rethrows anything but TopLevelError
        if (r instanceof TopLevelError) assert.ok(r.offset >= 0 && r.offset <= text.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('TopLevelScanner: hostile input', () => {
  it('stops 1 MB of [ at the depth limit: the error is at the 10 001st', () => {
    const s = new TopLevelScanner();
    s.push('{"a":');
    assert.throws(
      () => s.push('['.repeat(1 << 20)),
      (e: unknown) => e instanceof TopLevelError && /nesting deeper/.test(e.message) && e.offset === 5 + 10_000,
    );
  });

  it('holds no more than the bounded text through a 10 MB string value', () => {
    for (const capture of [[], ['result']]) {
      const s = new TopLevelScanner({ capture, maxCaptured: 256 });
      s.push('{"jsonrpc":"2.0","id":1,"result":"');
      let most = 0;
      const piece = 'x\\"{}\\\\'.repeat(8192); // 64 KiB with escapes and braces
      for (let sent = 0; sent < 10 << 20; sent += piece.length) {
        s.push(piece);
        most = Math.max(most, s.held);
      }
      s.push('"}');
      s.end();
      assert.ok(most <= 256 + 'jsonrpcidresult'.length, `held ${most}`);
      assert.deepEqual(s.keys, ['jsonrpc', 'id', 'result']);
      assert.equal(s.captured('result'), capture.length > 0 ? 'too-long' : undefined);
    }
  });

  it('keeps no piece alive through the names and values it keeps', () => {
    // A V8 slice of a long string is a view holding the whole string: a 20-character name sliced
    // from a 10 MB piece would keep 10 MB per message. Measured in a child with --expose-gc.
    const script = `
      import { TopLevelScanner } from ${JSON.stringify(new URL('./json-top-level.ts', import.meta.url).href)};
      const keep = [];
      for (let k = 0; k < 20; k++) {
        const s = new TopLevelScanner({ capture: ['id'] });
        const text = '{"id":"' + 'i'.repeat(20) + k + '","' + 'n'.repeat(20) + k + '":"' + 'x'.repeat(10e6) + '","' + 'k'.repeat(100);
        s.push(new TextDecoder().decode(Buffer.from(text)));
        keep.push(s);
      }
      gc();
      gc();
      const m = process.memoryUsage();
      process.stdout.write(JSON.stringify({ bytes: m.heapUsed + m.external, keys: keep[19].keys, id: keep[19].captured('id') }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' })) as { bytes: number; keys: string[]; id: string };
    assert.deepEqual(out.keys, ['id', `${'n'.repeat(20)}19`]);
    assert.equal(out.id, `"${'i'.repeat(20)}19"`);
    // 200 MB if the pieces were kept, the runtime's own few tens of MB if not.
    assert.ok(out.bytes < 100e6, `${(out.bytes / 1e6).toFixed(0)} MB in use`);
  });

  it('holds no more than maxKeyLength of a huge member name, and refuses it', () => {
    const s = new TopLevelScanner({ maxKeyLength: 100 });
    s.push('{"');
    const piece = 'k'.repeat(60);
    s.push(piece);
    assert.equal(s.held, 60); // the name so far is held, and counted
    assert.throws(() => {
      for (let k = 0; k < 1000; k++) {
        s.push(piece);
        assert.ok(s.held <= 100);
      }
    }, (e: unknown) => e instanceof TopLevelError && e.offset === 2 + 100 && /maxKeyLength/.test(e.message));
  });

  it('holds no more than maxCaptured of a 1 MB number', () => {
    const s = new TopLevelScanner({ capture: ['id'], maxCaptured: 16 });
    s.push('{"id":1');
    for (let k = 0; k < 16; k++) {
      s.push('7'.repeat(65536));
      assert.ok(s.held <= 16 + 2);
    }
    s.push('}');
    s.end();
    assert.equal(s.captured('id'), 'too-long');
  });
});
