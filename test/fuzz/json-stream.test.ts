/**
 * Property tests for the chunk-path JSON rewriter: for any JSON text, cut into any chunks, the
 * rewriter must agree with the whole-message path (JSON.parse + collectStringLeaves).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonStreamError, JsonStreamRewriter, collectStringLeaves } from '../../src/codec/json-stream.ts';
import type { ChunkDecision, JsonStreamOptions, StringChunk } from '../../src/codec/json-stream.ts';

const encoder = new TextEncoder();
/** Output must be valid UTF-8: decoding it fatally proves no invalid input bytes leaked through. */
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** How the whole-message path reads bytes: WHATWG UTF-8 decoding, BOM kept (JSON.parse rejects it). */
const wholeDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

// Strings mixing any code point with the characters that stress a JSON codec: escapes, controls,
// lone surrogates, astral characters (one with a case mapping), pointer syntax, BOM, U+FFFD.
const specialUnit = fc.constantFrom(
  '"', '\\', '/', '\u0000', '\b', '\n', '\u001f', '\u007f', 'é', '東', '😀', '\u{10428}',
  '\ud83d', '\ude00', '\ud800', '\udfff', '~', '~1', '\u2028', '\ufeff', '\ufffd', 'ß',
);
const unit = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 3 },
  { arbitrary: specialUnit, weight: 2 },
  { arbitrary: fc.constantFrom('a', 'b', ' ', 'Z'), weight: 3 },
);
const jsonValue = fc.jsonValue({ stringUnit: unit, maxDepth: 4 });

/** Serialisations of one value: compact, pretty, and with random \u / \/ escapes. */
const serialisation = fc.oneof(
  fc.constant<'compact' | 'pretty' | number>('compact'),
  fc.constant<'compact' | 'pretty' | number>('pretty'),
  fc.integer({ min: 1, max: 0x7fffffff }),
);

function escapeRandomly(s: string, seed: number): string {
  let x = seed;
  const rnd = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    return x / 0x80000000;
  };
  let out = '';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    const r = rnd();
    if (c === 0x2f && r < 0.5) out += '\\/';
    else if (r < 0.3) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (r < 0.4) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += JSON.stringify(s[k]!).slice(1, -1);
  }
  return out;
}

function serialise(v: unknown, how: 'compact' | 'pretty' | number): string {
  if (how === 'compact') return JSON.stringify(v);
  if (how === 'pretty') return JSON.stringify(v, null, 2);
  // Rebuild with every string (keys included) escaped differently; same value.
  const walk = (x: unknown): string => {
    if (typeof x === 'string') return `"${escapeRandomly(x, how)}"`;
    if (Array.isArray(x)) return `[ ${x.map(walk).join(' ,\n')} ]`;
    if (x !== null && typeof x === 'object') {
      return `{${Object.entries(x).map(([k, val]) => `"${escapeRandomly(k, how + 1)}"\t:${walk(val)}`).join(',')}}`;
    }
    return JSON.stringify(x);
  };
  return walk(v);
}

/** Arbitrary cut positions (taken modulo the length); sometimes every byte is its own chunk. */
const cuts = fc.oneof(
  { arbitrary: fc.array(fc.nat(), { maxLength: 16 }), weight: 4 },
  { arbitrary: fc.constant<number[] | 'bytes'>('bytes'), weight: 1 },
);

function split(bytes: Uint8Array, at: number[] | 'bytes'): Uint8Array[] {
  if (at === 'bytes') return Array.from(bytes, (_, k) => bytes.subarray(k, k + 1));
  const pos = [...new Set(at.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of pos) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  parts.push(bytes.subarray(prev));
  return parts;
}

async function rewrite(
  parts: Uint8Array[],
  onString: (c: StringChunk) => ChunkDecision,
  opts: Partial<JsonStreamOptions> = {},
): Promise<string> {
  const r = new JsonStreamRewriter({ ...opts, onString });
  const out: Uint8Array[] = [];
  for (const p of parts) out.push(await r.push(p));
  out.push(await r.end());
  return strictDecoder.decode(Buffer.concat(out));
}

function mapLeaves(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapLeaves(x, f));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: mapLeaves(x, f), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

const RUNS = { numRuns: 150 };

/** Records the pieces of each leaf, checking the piece contract on the way. */
function leafRecorder(maxPiece: number): { onString: (c: StringChunk) => undefined; leaves: Array<{ pointer: string; text: string }>; done(): void } {
  const leaves: Array<{ pointer: string; text: string }> = [];
  let current: { pointer: string; text: string } | undefined;
  return {
    leaves,
    onString(c) {
      assert.equal(c.isKey, false);
      assert.ok(c.text.length <= maxPiece, 'piece longer than maxStringPiece');
      if (current === undefined) {
        current = { pointer: c.pointer, text: '' };
      } else {
        assert.equal(c.pointer, current.pointer, 'pieces of two leaves interleaved');
        const last = current.text.charCodeAt(current.text.length - 1);
        const first = c.text.charCodeAt(0);
        assert.ok(!(last >= 0xd800 && last <= 0xdbff && first >= 0xdc00 && first <= 0xdfff), 'split surrogate pair');
      }
      assert.equal(c.offset, current.text.length, 'offsets are contiguous');
      current.text += c.text;
      if (c.end) {
        leaves.push(current);
        current = undefined;
      }
      return undefined;
    },
    done() {
      assert.equal(current, undefined, 'a leaf never got its end piece');
    },
  };
}

test('(a) pass-through: output parses to the input value; compact input comes out byte-identical', async () => {
  await fc.assert(
    fc.asyncProperty(jsonValue, serialisation, cuts, fc.integer({ min: 4, max: 64 }), async (v, how, at, piece) => {
      const text = serialise(v, how);
      const out = await rewrite(split(encoder.encode(text), at), () => undefined, { maxStringPiece: piece });
      const expected = JSON.parse(text);
      assert.deepStrictEqual(JSON.parse(out), expected);
      // Input escaped the way JSON.stringify escapes comes out exactly as JSON.stringify's compact
      // form. (Other valid escapes of unchanged text, e.g. \u0061, are forwarded as they came.)
      if (typeof how === 'string') assert.equal(out, JSON.stringify(expected));
    }),
    RUNS,
  );
});

test('(b) pieces per pointer concatenate to the leaves collectStringLeaves finds, in order', async () => {
  await fc.assert(
    fc.asyncProperty(jsonValue, serialisation, cuts, fc.integer({ min: 4, max: 40 }), async (v, how, at, piece) => {
      const text = serialise(v, how);
      const rec = leafRecorder(piece);
      await rewrite(split(encoder.encode(text), at), rec.onString, { maxStringPiece: piece });
      rec.done();
      assert.deepStrictEqual(rec.leaves, collectStringLeaves(JSON.parse(text)));
    }),
    RUNS,
  );
});

test('(b) surrogate pairs, raw or escaped, are never split across pieces', async () => {
  const astral = fc.string({ unit: fc.constantFrom('😀', '\u{10428}', '\ud83d', '\ude00', 'a', 'é'), maxLength: 40 });
  await fc.assert(
    fc.asyncProperty(fc.array(astral, { minLength: 1, maxLength: 3 }), serialisation, cuts, fc.integer({ min: 4, max: 13 }), async (v, how, at, piece) => {
      const text = serialise(v, how);
      const rec = leafRecorder(piece);
      await rewrite(split(encoder.encode(text), at), rec.onString, { maxStringPiece: piece });
      rec.done();
      assert.deepStrictEqual(rec.leaves, collectStringLeaves(JSON.parse(text)));
    }),
    { numRuns: 300 },
  );
});

test('(c) uppercasing every piece (sync or async) equals uppercasing every leaf', async () => {
  await fc.assert(
    fc.asyncProperty(jsonValue, serialisation, cuts, fc.integer({ min: 4, max: 40 }), async (v, how, at, piece) => {
      const text = serialise(v, how);
      const out = await rewrite(
        split(encoder.encode(text), at),
        (c) => (c.offset % 2 === 0 ? c.text.toUpperCase() : Promise.resolve(c.text.toUpperCase())),
        { maxStringPiece: piece },
      );
      assert.deepStrictEqual(JSON.parse(out), mapLeaves(JSON.parse(text), (s) => s.toUpperCase()));
    }),
    RUNS,
  );
});

/** Wide limits, so only grammar decides (the differential oracle has no limits). */
const WIDE = { maxDepth: 10_000, maxKeyBytes: 1 << 20, maxNumberBytes: 1 << 20 };

async function agreesWithJsonParse(bytes: Uint8Array, at: number[] | 'bytes', opts: Partial<JsonStreamOptions> = WIDE): Promise<void> {
  let expected: unknown;
  let valid = true;
  try {
    expected = JSON.parse(wholeDecoder.decode(bytes));
  } catch {
    valid = false;
  }
  try {
    const out = await rewrite(split(bytes, at), () => undefined, opts);
    assert.ok(valid, 'accepted input JSON.parse rejects');
    assert.deepStrictEqual(JSON.parse(out), expected);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof JsonStreamError, `threw ${String(err)}`);
    assert.ok(!valid, `rejected valid JSON: ${err.message}`);
    assert.ok(err.offset >= 0 && err.offset <= bytes.length, 'error offset within the input');
  }
}

const interesting = fc.constantFrom(...'{}[]",:\\/u0123456789-+.eEtrufalsn \t\n\r\f\v\u0000\u0080\u00ff'.split('').map((c) => c.charCodeAt(0) & 0xff));

/** Near-JSON: a soup of valid and broken tokens, so most inputs get deep into the grammar. */
const tokenSoup = fc
  .array(
    fc.constantFrom(
      '{', '}', '[', ']', ',', ':', ' ', '\n', '\f', '\u00a0', '"a"', '"~/"', '""', '"\\u12"', '"\\ud83d"',
      '"\\x"', '"\u0001"', '"\\"', '"', '\\', '0', '01', '-0', '-', '1.5', '1.', '.5', '2e', '3E+7', '4e-',
      '+1', 'true', 'false', 'null', 'nul', 'True', '\xef\xbb\xbf', '\xff', '\xc3', '\xa9',
    ),
    { maxLength: 24 },
  )
  .map((tokens) => Uint8Array.from(tokens.join(''), (c) => c.charCodeAt(0) & 0xff));

/** Number-like tokens in a document: the number grammar (RFC 8259 §6) decides. */
const numberish = fc
  .tuple(fc.string({ unit: fc.constantFrom(...'0123456789-+.eE'), minLength: 1, maxLength: 8 }), fc.boolean())
  .map(([num, wrap]) => encoder.encode(wrap ? `[${num},${num}]` : num));

test('(d) garbage: random bytes only ever throw JsonStreamError, in agreement with JSON.parse', async () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    numberish,
    fc.array(interesting, { maxLength: 48 }).map((a) => Uint8Array.from(a)),
    tokenSoup,
    tokenSoup,
  );
  await fc.assert(fc.asyncProperty(bytes, cuts, (b, at) => agreesWithJsonParse(b, at)), { numRuns: 600 });
});

test('(d) garbage: mutated JSON is accepted exactly when JSON.parse accepts it', async () => {
  const mutation = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.oneof(interesting, fc.integer({ min: 0, max: 255 })));
  await fc.assert(
    fc.asyncProperty(jsonValue, serialisation, fc.array(mutation, { minLength: 1, maxLength: 3 }), cuts, async (v, how, muts, at) => {
      const b = [...encoder.encode(serialise(v, how))];
      for (const [where, kind, byte] of muts) {
        const p = where % (b.length + 1);
        if (kind === 0) b[p] = byte; // replace (or append at the end)
        else if (kind === 1) b.splice(p, 0, byte); // insert
        else if (kind === 2) b.splice(p, 1); // delete
        else b.length = p; // truncate
      }
      await agreesWithJsonParse(Uint8Array.from(b), at);
    }),
    { numRuns: 300 },
  );
});

test('(e) onNumber: every number handed out whole and replaced equals the same replacement on JSON.parse\'s value; garbage agrees as without it', async () => {
  const mapNumbers = (v: unknown): unknown =>
    typeof v === 'number' ? `n:${JSON.stringify(v)}` : Array.isArray(v) ? v.map(mapNumbers) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapNumbers(x)])) : v;
  await fc.assert(
    fc.asyncProperty(jsonValue, serialisation, cuts, fc.boolean(), async (v, how, at, async) => {
      const text = serialise(v, how);
      const onNumber = (t: { text: string }) => (async ? Promise.resolve(`n:${t.text}`) : `n:${t.text}`);
      const out = await rewrite(split(encoder.encode(text), at), () => undefined, { ...WIDE, onNumber });
      assert.deepStrictEqual(JSON.parse(out), mapNumbers(JSON.parse(text)));
    }),
    RUNS,
  );
  await fc.assert(fc.asyncProperty(fc.oneof(numberish, tokenSoup), cuts, (b, at) => agreesWithJsonParse(b, at, { ...WIDE, onNumber: async () => undefined })), { numRuns: 300 });
});
