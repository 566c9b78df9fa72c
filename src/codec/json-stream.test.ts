import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JsonStreamError,
  JsonStreamRewriter,
  collectStringLeaves,
  escapePointerSegment,
  pointerSegments,
} from './json-stream.ts';
import type { ChunkDecision, JsonStreamOptions, StringChunk } from './json-stream.ts';

type Opts = Partial<JsonStreamOptions> & { onString?: (c: StringChunk) => ChunkDecision };

/** Feeds `input` in chunks of `size` bytes (0 = one chunk); returns the output and the pieces. */
async function run(input: string | Uint8Array, opts: Opts = {}, size = 0): Promise<{ out: string; pieces: StringChunk[] }> {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const pieces: StringChunk[] = [];
  const onString = opts.onString ?? (() => undefined);
  const r = new JsonStreamRewriter({
    ...opts,
    onString: (c) => {
      pieces.push(c);
      return onString(c);
    },
  });
  const out: Uint8Array[] = [];
  const step = size || bytes.length || 1;
  for (let i = 0; i < bytes.length; i += step) out.push(await r.push(bytes.subarray(i, i + step)));
  out.push(await r.end());
  return { out: Buffer.concat(out).toString('utf8'), pieces };
}

/** Every chunking from one byte at a time to one chunk. */
const SIZES = [1, 2, 3, 5, 0];

/** The text of each leaf, by pointer, reassembled from its pieces. */
function leaves(pieces: StringChunk[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pieces) out[p.pointer] = (out[p.pointer] ?? '') + p.text;
  return out;
}

async function rejects(input: string | Uint8Array, code: JsonStreamError['code'], offset: number, opts: Opts = {}): Promise<void> {
  for (const size of SIZES) {
    await assert.rejects(run(input, opts, size), (err: unknown) => {
      assert.ok(err instanceof JsonStreamError, `expected JsonStreamError, got ${String(err)}`);
      assert.equal(err.code, code, `code for ${JSON.stringify(String(input))} in chunks of ${size}`);
      assert.equal(err.offset, offset, `offset for ${JSON.stringify(String(input))} in chunks of ${size}`);
      return true;
    });
  }
}

test('re-emits a JSON-RPC result compactly and names every string leaf by its pointer', async () => {
  const msg = '{ "jsonrpc": "2.0", "id": 7,\n "result": { "content": [ { "type": "text", "text": "hello" } ], "isError": false } }';
  for (const size of SIZES) {
    const { out, pieces } = await run(msg, {}, size);
    assert.equal(out, JSON.stringify(JSON.parse(msg)));
    assert.deepEqual(leaves(pieces), {
      '/jsonrpc': '2.0',
      '/result/content/0/type': 'text',
      '/result/content/0/text': 'hello',
    });
  }
});

test('pointers escape "~" and "/" in keys (RFC 6901) and index arrays, nested', async () => {
  const doc = '{"a/b":{"m~n":[["x",{"":"y"}],"z"]},"~1":"w"}';
  const { pieces } = await run(doc);
  assert.deepEqual(
    pieces.map((p) => p.pointer),
    ['/a~1b/m~0n/0/0', '/a~1b/m~0n/0/1/', '/a~1b/m~0n/1', '/~01'],
  );
  // The whole-message path names the same leaves the same way.
  assert.deepEqual(
    collectStringLeaves(JSON.parse(doc)).map((l) => l.pointer),
    pieces.map((p) => p.pointer),
  );
  assert.deepEqual(pointerSegments('/a~1b/m~0n/0/1/'), ['a/b', 'm~n', '0', '1', '']);
});

test('a top-level string has the empty pointer', async () => {
  const { out, pieces } = await run('  "top"\n');
  assert.equal(out, '"top"');
  assert.deepEqual(pieces, [{ pointer: '', text: 'top', offset: 0, end: true, isKey: false }]);
});

test('an empty string is handed out as exactly one empty piece with end: true', async () => {
  for (const size of SIZES) {
    const { out, pieces } = await run('{"a":"","b":[""]}', {}, size);
    assert.equal(out, '{"a":"","b":[""]}');
    assert.deepEqual(pieces, [
      { pointer: '/a', text: '', offset: 0, end: true, isKey: false },
      { pointer: '/b/0', text: '', offset: 0, end: true, isKey: false },
    ]);
  }
});

test('keys are never handed out, and duplicate keys are each inspected', async () => {
  const { out, pieces } = await run('{"secret-key":1,"k":"first","k":"second"}');
  assert.equal(out, '{"secret-key":1,"k":"first","k":"second"}');
  assert.deepEqual(
    pieces.map((p) => [p.pointer, p.text]),
    [
      ['/k', 'first'],
      ['/k', 'second'],
    ],
  );
});

test('escapes decode to their values, also split across chunks', async () => {
  const doc = String.raw`["\"\\\/\b\f\n\r\t", "\u0041\u00e9\u6771\uD83D\uDE00", "\ud800 lone \udc00"]`;
  const expected = JSON.parse(doc) as string[];
  for (const size of SIZES) {
    const { out, pieces } = await run(doc, {}, size);
    assert.deepEqual(JSON.parse(out), expected);
    assert.deepEqual(Object.values(leaves(pieces)), expected);
  }
});

test('text that is replaced is escaped exactly as JSON.stringify escapes it', async () => {
  const nasty = 'q"b\\s/c\u0000\u0007\b\t\n\f\r\u001f\u007f é 😀 \ud800 \udfff \u2028';
  const { out } = await run('{"a":"x","b":["y"]}', { onString: () => nasty });
  assert.equal(out, `{"a":${JSON.stringify(nasty)},"b":[${JSON.stringify(nasty)}]}`);
  // Lone surrogates survive as \uXXXX escapes.
  assert.match(out, /\\ud800 \\udfff/);
});

test('multi-byte UTF-8 split at every byte boundary decodes intact', async () => {
  const text = '\ufeffaé東😀𐐨z'.repeat(3); // U+FEFF is content, also at the start of a string
  const doc = Buffer.from(JSON.stringify({ t: text, [text]: text }));
  for (let cut = 0; cut <= doc.length; cut++) {
    const pieces: string[] = [];
    const r = new JsonStreamRewriter({ onString: (c) => void pieces.push(c.text) });
    const out = Buffer.concat([await r.push(doc.subarray(0, cut)), await r.push(doc.subarray(cut)), await r.end()]);
    assert.equal(out.toString(), doc.toString(), `cut at ${cut}`);
    assert.equal(pieces.join(''), text + text);
  }
});

test('invalid UTF-8 in a string becomes U+FFFD, exactly as the whole-message path decodes it', async () => {
  const doc = Buffer.concat([Buffer.from('["a'), Buffer.from([0xff, 0xe6, 0x9d, 0x41, 0xf0, 0x9f, 0x98]), Buffer.from('"]')]);
  const whole = JSON.parse(doc.toString('utf8')) as string[];
  for (const size of SIZES) {
    const { out, pieces } = await run(doc, {}, size);
    assert.deepEqual(leaves(pieces), { '/0': whole[0] });
    // The output is re-encoded: valid UTF-8 carrying the same replacement characters.
    assert.deepEqual(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(out))), whole);
  }
});

test('numbers and literals are re-emitted verbatim', async () => {
  const doc = '[0, -0, 1.5e-10, 1E+2, -12.75, 123456789012345678901234567890, 2e308, true, false, null]';
  for (const size of SIZES) {
    const { out } = await run(doc, {}, size);
    assert.equal(out, '[0,-0,1.5e-10,1E+2,-12.75,123456789012345678901234567890,2e308,true,false,null]');
  }
  for (const scalar of ['0', '-1.25e3', 'true', 'false', 'null']) {
    assert.equal((await run(` ${scalar} `)).out, scalar);
    assert.equal((await run(scalar, {}, 1)).out, scalar);
  }
});

test('a long string comes out in pieces of at most maxStringPiece, with running offsets', async () => {
  const text = 'x'.repeat(1000) + '😀'.repeat(300) + '\n'.repeat(100);
  for (const size of [1, 7, 64, 0]) {
    const { out, pieces } = await run(JSON.stringify({ text }), { maxStringPiece: 64 }, size);
    assert.equal(out, JSON.stringify({ text }));
    assert.ok(pieces.length >= Math.ceil(text.length / 64));
    let offset = 0;
    for (const [k, p] of pieces.entries()) {
      assert.ok(p.text.length <= 64);
      assert.equal(p.offset, offset);
      assert.equal(p.end, k === pieces.length - 1);
      offset += p.text.length;
    }
    assert.equal(pieces.map((p) => p.text).join(''), text);
  }
});

test('a huge string streams through: pieces keep pace with input, nothing accumulates', async () => {
  const max = 1024;
  let handed = 0;
  const r = new JsonStreamRewriter({ onString: (c) => void (handed += c.text.length), maxStringPiece: max });
  const out: Uint8Array[] = [await r.push(Buffer.from('{"result":{"text":"'))];
  const unit = String.raw`ab\"cd\\é東😀\u00e9`; // escapes, 2-, 3- and 4-byte UTF-8
  const block = Buffer.from(unit.repeat(50));
  const blockUnits = (JSON.parse(`"${unit}"`) as string).length * 50;
  for (let k = 1; k <= 2000; k++) {
    // Cut mid-sequence and mid-escape on purpose.
    out.push(await r.push(block.subarray(0, 333)), await r.push(block.subarray(333)));
    // All but at most one piece of what came in has been handed out (and forwarded).
    assert.ok(k * blockUnits - handed <= max, `holding ${k * blockUnits - handed} units`);
  }
  out.push(await r.push(Buffer.from('"}}')), await r.end());
  const text = (JSON.parse(Buffer.concat(out).toString()) as { result: { text: string } }).result.text;
  assert.equal(text.length, 2000 * blockUnits);
  assert.equal(text, (JSON.parse(`"${unit}"`) as string).repeat(100_000));
});

test('text is forwarded by the push that brought it, not held for a full piece', async () => {
  const r = new JsonStreamRewriter({ onString: () => undefined }); // default piece: 16384
  const head = await r.push(Buffer.from(`{"text":"${'a'.repeat(10_000)}`));
  assert.equal(Buffer.from(head).toString(), `{"text":"${'a'.repeat(10_000)}`);
  const tail = Buffer.concat([await r.push(Buffer.from('bc"}')), await r.end()]);
  assert.equal(tail.toString(), 'bc"}');
});

test('a replacer may hold text back and release it later (the DLP window)', async () => {
  const secret = 'AKIAABCDEFGHIJKLMNOP';
  const text = `${'lorem ipsum '.repeat(20)}${secret}${' dolor sit'.repeat(20)}`;
  const doc = JSON.stringify({ result: { text } });
  for (const size of [3, 17, 0]) {
    let held = '';
    const { out } = await run(
      doc,
      {
        maxStringPiece: 8, // the secret always arrives split over several pieces
        onString: (c) => {
          const all = (held + c.text).replaceAll(secret, '[REDACTED]');
          const keep = c.end ? 0 : Math.min(all.length, secret.length);
          held = all.slice(all.length - keep);
          return all.slice(0, all.length - keep);
        },
      },
      size,
    );
    assert.equal((JSON.parse(out) as { result: { text: string } }).result.text, text.replace(secret, '[REDACTED]'));
  }
});

test('async decisions are applied in order, and pushes may be issued without waiting', async () => {
  const r = new JsonStreamRewriter({
    maxStringPiece: 4,
    onString: async (c) => {
      await new Promise((resolve) => setTimeout(resolve, c.offset % 3));
      return `<${c.text}>`;
    },
  });
  const doc = Buffer.from('["abcdefghij","kl"]');
  const outs = await Promise.all([r.push(doc.subarray(0, 6)), r.push(doc.subarray(6)), r.end()]);
  assert.deepEqual(JSON.parse(Buffer.concat(outs).toString()), ['<abcd><efgh><ij>', '<kl>']);
});

test('an onString failure rejects the push and fails the rewriter for good', async () => {
  const boom = new Error('inspector down');
  for (const onString of [
    (): never => {
      throw boom;
    },
    (): Promise<never> => Promise.reject(boom),
  ]) {
    const r = new JsonStreamRewriter({ onString });
    await assert.rejects(r.push(Buffer.from('["x"]')), boom);
    await assert.rejects(r.push(Buffer.from(' ')), boom);
    await assert.rejects(r.end(), boom);
  }
  const bad = new JsonStreamRewriter({ onString: () => 42 as unknown as string });
  await assert.rejects(bad.push(Buffer.from('"x"')), TypeError);
});

test('syntax errors carry the byte offset where they were found', async () => {
  const cases: Array<[string, number]> = [
    ['', 0],
    ['   ', 3],
    ['[1,]', 3],
    ['{"a":1,}', 7],
    ['{"a" 1}', 5],
    ['{a:1}', 1],
    ['[1 2]', 3],
    ['"abc', 4],
    ['["a\u0001"]', 3],
    ['"\\x"', 2],
    ['"\\u12G4"', 5],
    ['tru', 3],
    ['trUe', 2],
    ['[-]', 2],
    ['-', 1],
    ['01', 1],
    ['1.', 2],
    ['1.e5', 2],
    ['.5', 0],
    ['+1', 0],
    ['1e', 2],
    ['1e+', 3],
    ['[1,2', 4],
    ['{"a":[}', 6],
    ['\ufeff{}', 0],
    ['\f1', 0],
    ['[\u00a0]', 1],
  ];
  for (const [input, offset] of cases) {
    const code = input === '01' ? 'json_trailing_data' : 'json_syntax';
    await rejects(input, code, offset);
  }
});

test('anything after the value is trailing data', async () => {
  await rejects('{} {}', 'json_trailing_data', 3);
  await rejects('"a""b"', 'json_trailing_data', 3);
  await rejects('1 x', 'json_trailing_data', 2);
  assert.equal((await run('{} \r\n\t ')).out, '{}');
});

test('limits: depth, key length and number length', async () => {
  assert.equal((await run('[[[1]]]', { maxDepth: 3 })).out, '[[[1]]]');
  await rejects('[[[[1]]]]', 'json_too_deep', 3, { maxDepth: 3 });
  await rejects(`${'['.repeat(65)}${']'.repeat(65)}`, 'json_too_deep', 64);
  await rejects(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`, 'json_too_deep', 320);

  assert.equal((await run('{"abcd":1}', { maxKeyBytes: 4 })).out, '{"abcd":1}');
  await rejects('{"abcde":1}', 'json_key_too_long', 6, { maxKeyBytes: 4 });
  await rejects(`{"${'k'.repeat(5000)}":1}`, 'json_key_too_long', 4098);
  // A key is bounded in raw bytes, escapes included.
  await rejects('{"\\u0041\\u0042":1}', 'json_key_too_long', 10, { maxKeyBytes: 8 });

  assert.equal((await run('[-1234]', { maxNumberBytes: 5 })).out, '[-1234]');
  await rejects('[-12345]', 'json_number_too_long', 6, { maxNumberBytes: 5 });
  await rejects(`[${'9'.repeat(300)}]`, 'json_number_too_long', 257);
});

test('a failed rewriter keeps failing; use after end() is refused', async () => {
  const r = new JsonStreamRewriter({ onString: () => undefined });
  await assert.rejects(r.push(Buffer.from('[1,]')), JsonStreamError);
  await assert.rejects(r.push(Buffer.from('2')), JsonStreamError);
  await assert.rejects(r.end(), JsonStreamError);

  const done = new JsonStreamRewriter({ onString: () => undefined });
  await done.push(Buffer.from('{}'));
  await done.end();
  await assert.rejects(done.push(Buffer.from(' ')), /after end/);
});

test('error messages never quote the input', async () => {
  for (const input of ['{"password":"hunter2" x}', '["hunter2\u0001"]', '{"hunter2"}']) {
    await assert.rejects(run(input), (err: Error) => !err.message.includes('hunter2'));
  }
});

test('options are validated', () => {
  const onString = (): undefined => undefined;
  assert.throws(() => new JsonStreamRewriter({ onString, maxStringPiece: 3 }), RangeError);
  assert.throws(() => new JsonStreamRewriter({ onString, maxDepth: -1 }), RangeError);
  assert.throws(() => new JsonStreamRewriter({ onString, maxKeyBytes: 1.5 }), RangeError);
  assert.throws(() => new JsonStreamRewriter({ onString: undefined as unknown as typeof onString }), TypeError);
});

test('pointer helpers follow RFC 6901', () => {
  assert.equal(escapePointerSegment('plain'), 'plain');
  assert.equal(escapePointerSegment('a/b~c'), 'a~1b~0c');
  assert.equal(escapePointerSegment('~1'), '~01');
  assert.deepEqual(pointerSegments(''), []);
  assert.deepEqual(pointerSegments('/'), ['']);
  assert.deepEqual(pointerSegments('/~01/a~1b//0'), ['~1', 'a/b', '', '0']);
  for (const seg of ['', '~', '/', '~1', '~0/', 'é😀']) {
    assert.deepEqual(pointerSegments(`/${escapePointerSegment(seg)}`), [seg]);
  }
  assert.throws(() => pointerSegments('a/b'), TypeError);
  assert.throws(() => pointerSegments('/a~2'), TypeError);
  assert.throws(() => pointerSegments('/a~'), TypeError);
});

test('collectStringLeaves lists string values only, in document order, and survives deep nesting', () => {
  const value = { a: 'x', n: 1, b: [true, null, 'y', { 'c/d': 'z' }], e: {} };
  assert.deepEqual(collectStringLeaves(value), [
    { pointer: '/a', text: 'x' },
    { pointer: '/b/2', text: 'y' },
    { pointer: '/b/3/c~1d', text: 'z' },
  ]);
  assert.deepEqual(collectStringLeaves('s'), [{ pointer: '', text: 's' }]);
  assert.deepEqual(collectStringLeaves(42), []);
  let deep: unknown = 'bottom';
  for (let k = 0; k < 100_000; k++) deep = [deep];
  assert.equal(collectStringLeaves(deep)[0]!.pointer.length, 200_000);
});

test('onNumber: every number is handed out whole, with its pointer, however the bytes are split', async () => {
  const msg = '{"a":123456789,"b":[1,-2.5e+3,0],"c":{"d":-0.0001E-2},"e":7}';
  for (const size of SIZES) {
    const tokens: Array<[string, string]> = [];
    const { out } = await run(msg, { onNumber: (t) => void tokens.push([t.pointer, t.text]) }, size);
    assert.equal(out, msg, `copied through unchanged in chunks of ${size}`);
    assert.deepEqual(tokens, [['/a', '123456789'], ['/b/0', '1'], ['/b/1', '-2.5e+3'], ['/b/2', '0'], ['/c/d', '-0.0001E-2'], ['/e', '7']], `chunks of ${size}`);
  }
});

test('onNumber: a replacement is written as a JSON string, sync or async, and a top-level number is handed out too', async () => {
  const mask = (t: { text: string }) => (t.text.length >= 6 ? `[REDACTED:${t.text.slice(0, 2)}"]` : undefined);
  for (const size of SIZES) {
    assert.equal((await run('{"card":4111111111111111,"n":[42, 4000056655665556 ]}', { onNumber: mask }, size)).out, '{"card":"[REDACTED:41\\"]","n":[42,"[REDACTED:40\\"]"]}');
    assert.equal((await run('[4111111111111111,7]', { onNumber: async (t) => mask(t) }, size)).out, '["[REDACTED:41\\"]",7]');
    assert.equal((await run(' 4111111111111111 ', { onNumber: async (t) => mask(t) }, size)).out, '"[REDACTED:41\\"]"');
    // Unchanged (undefined, or the same text): the token as it came, not a string.
    assert.equal((await run('{"x":12345678}', { onNumber: (t) => t.text }, size)).out, '{"x":12345678}');
  }
});

test('onNumber: a number is still checked against the grammar and maxNumberBytes', async () => {
  const onNumber = () => undefined;
  await rejects('{"a":1.}', 'json_syntax', 7, { onNumber });
  await rejects('{"a":-}', 'json_syntax', 6, { onNumber });
  await rejects('[01]', 'json_syntax', 2, { onNumber });
  await rejects('[12', 'json_syntax', 3, { onNumber });
  await rejects(`[${'9'.repeat(300)}]`, 'json_number_too_long', 257, { onNumber });
});
