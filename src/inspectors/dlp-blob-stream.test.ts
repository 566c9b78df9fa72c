import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checksummed } from '../../eval/secret-formats.ts';
import { Rng } from '../../eval/rng.ts';
import { scanText, type Finding } from '../detectors/index.ts';
import { mergePatches } from '../pipeline/patch.ts';
import { decodeTextBlob, maskedBlob } from './dlp-binary.ts';
import { BlobTextStream, ChunkBlobs, readsAsBase64 } from './dlp-blob-stream.ts';

const AWS = 'AKIAQYLPMN5HHHFPZAM2';
const GHP = checksummed('ghp_', new Rng(7));
const redact = (f: Finding): string => `[REDACTED:${f.type}]`;
const b64 = (s: string | Uint8Array): string => Buffer.from(s as string).toString('base64');

/** Feeds `input` cut at `cuts` (sorted offsets); the concatenated emits and what came back. */
function run(input: string, cuts: readonly number[] = [], maskOf: (f: Finding) => string | undefined = redact) {
  const s = new BlobTextStream({}, maskOf);
  const bounds = [0, ...cuts, input.length];
  let emit = '';
  const findings: Finding[] = [];
  const binary: boolean[] = [];
  let maxRetained = 0;
  for (let i = 1; i < bounds.length; i++) {
    const step = s.push(input.slice(bounds[i - 1], bounds[i]), i === bounds.length - 1);
    emit += step.emit;
    findings.push(...step.findings);
    binary.push(step.binary);
    maxRetained = Math.max(maxRetained, s.retained);
  }
  return { emit, findings, binary, maxRetained };
}

/** What dlp.ts does with the blob on the whole-message path (normalized to standard base64). */
/**
 * What the whole path makes of a blob (dlp.ts onMessage, dlp-binary.ts), except for the one
 * judgement the chunk path leaves out: text with > 1% control characters is still text here.
 */
function wholePath(input: string): string {
  const bytes = Buffer.from(input, 'base64');
  const decoded = bytes.includes(0) ? undefined : bytes.toString('utf8');
  const text = decoded === undefined || decoded.includes('\uFFFD') ? undefined : decoded;
  const masks = text === undefined ? [] : scanText(text).map((f) => ({ start: f.start, end: f.end, replacement: redact(f) }));
  if (text === undefined || masks.length === 0) return Buffer.from(input, 'base64').toString('base64');
  return maskedBlob(text, mergePatches(masks, text.length).map((e) => ({ start: e.start, end: e.end, mask: e.replacement })));
}

const sortedCuts = (n: number) => fc.uniqueArray(fc.integer({ min: 0, max: n }), { maxLength: 8 }).map((a) => a.sort((x, y) => x - y));
const filler = 'The quick brown fox jumps over the lazy dog. Ünïcödé ✓ 日本語 🦊\n'.repeat(30);
const config = `# deploy config\naws_access_key_id = ${AWS}\n${filler}github_token: ${GHP}\n${filler}`;

test('secrets in a text blob are found and masked at every split of the base64', () => {
  assert.deepEqual(scanText(config).map((f) => f.type), ['aws-access-key-id', 'github-pat']);
  const input = b64(config);
  const expected = wholePath(input);
  const masked = Buffer.from(expected, 'base64').toString('utf8');
  assert.ok(masked.includes('aws_access_key_id = [REDACTED:aws-access-key-id]\n') && masked.includes('[REDACTED:github-pat]'));
  assert.ok(!masked.includes(AWS) && !masked.includes(GHP));
  for (let k = 0; k <= input.length; k++) {
    const r = run(input, [k]);
    assert.equal(r.emit, expected, `split at ${k}`);
    assert.deepEqual(r.findings.map((f) => `${f.type}@${config.slice(f.start, f.end)}`), [`aws-access-key-id@${AWS}`, `github-pat@${GHP}`], `split at ${k}`);
    assert.ok(!r.binary.includes(true));
  }
  // Many small pieces: every group, UTF-8 sequence and match straddles pieces.
  for (const size of [1, 2, 3, 5, 7, 11, 64, 333]) {
    const cuts = Array.from({ length: Math.ceil(input.length / size) - 1 }, (_, i) => (i + 1) * size);
    assert.equal(run(input, cuts).emit, expected, `pieces of ${size}`);
  }
});

test('property: any text, any split, equals the whole path; random bytes come back unchanged', () => {
  // Long enough padding (up to ~12 KB) that text is released in several steps, at offsets that
  // may fall inside an emoji's surrogate pair or a multi-byte UTF-8 sequence.
  const pad = fc.string({ unit: fc.constantFrom('x', ' ', '🦊', 'é', '日本', '\u200b', '\n'), maxLength: 3000 });
  const text = fc
    .tuple(pad, fc.string({ unit: 'grapheme', maxLength: 300 }), fc.constantFrom('', ` ${AWS} `, `token=${GHP}\n`), fc.string({ unit: 'binary', maxLength: 300 }), pad)
    .map(([p1, a, secret, b, p2]) => p1 + a + secret + b + p2);
  fc.assert(
    fc.property(text.chain((t) => fc.tuple(fc.constant(b64(t)), sortedCuts(b64(t).length))), ([input, cuts]) => {
      assert.equal(run(input, cuts).emit, wholePath(input));
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }).chain((bytes) => fc.tuple(fc.constant(bytes), sortedCuts(b64(bytes).length))), ([bytes, cuts]) => {
      const r = run(b64(bytes), cuts);
      assert.equal(r.emit, wholePath(b64(bytes)));
      if (decodeTextBlob(b64(bytes)) === undefined) assert.deepEqual(Buffer.from(r.emit, 'base64'), Buffer.from(bytes));
    }),
    { numRuns: 300 },
  );
});

test('PNG bytes are binary: forwarded byte for byte, nothing scanned', () => {
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    Buffer.from(`IHDRtEXtComment\0${AWS}\0`),
    Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff)),
  ]);
  const input = b64(png);
  for (const cuts of [[], [1], [5, 17, 400], Array.from({ length: 100 }, (_, i) => i * 71)]) {
    const r = run(input, cuts);
    assert.deepEqual(Buffer.from(r.emit, 'base64'), png);
    assert.equal(r.emit, input);
    assert.deepEqual(r.findings, []);
    // Binary from the first piece with bytes (0x89 is no UTF-8 lead), and for good.
    const first = [...cuts, input.length].findIndex((end) => end >= 2);
    assert.deepEqual(r.binary, r.binary.map((_, i) => i >= first));
  }
});

test('decoding matches Buffer.from(…, "base64") on messy base64', () => {
  const plain = Buffer.from(`${filler}${AWS}`.repeat(3));
  const std = plain.toString('base64');
  const mime = std.replace(/.{76}/g, '$&\r\n');
  const cases = [
    mime,
    std.replace(/=+$/, ''),
    plain.toString('base64url'),
    ` \t${std.slice(0, 101)} \n ${std.slice(101)}\n`,
    'QQ==QQ==', 'QQ=QQ', 'Q', 'QQ', 'QUI', 'Q=Q', '=QUJD', 'QUJD====', 'QUJ=D', 'QU*J:D', 'QUJDQ',
    'QU\u00e9JD', 'QU\u0141JD', 'QU\u{1F600}JD', 'QU\uD800JD', 'QUJ\u013dQUJD', // low byte read: Ł ≡ A, 😀 ≡ '='
  ];
  for (const input of cases) {
    for (const cuts of [[], [1], [2, 3], Array.from({ length: Math.floor(input.length / 3) }, (_, i) => i * 3)]) {
      const r = run(input, cuts.filter((c) => c <= input.length), () => undefined);
      assert.equal(r.emit, Buffer.from(input, 'base64').toString('base64'), JSON.stringify(input.slice(0, 40)));
    }
  }
  const messy = fc.string({ unit: fc.constantFrom(...'AQZaqz09+/-_=', ' ', '\n', '\r', '\t', '*', '\u00e9', '\u0141', '\u013d', '\u{1F600}'), maxLength: 6000 });
  fc.assert(
    fc.property(messy.chain((s) => fc.tuple(fc.constant(s), sortedCuts(s.length))), ([input, cuts]) => {
      assert.equal(run(input, cuts, () => undefined).emit, Buffer.from(input, 'base64').toString('base64'));
    }),
    { numRuns: 500 },
  );
});

test('a 20 MB text blob in 16K pieces: a few KB held, every secret masked', () => {
  const line = `2024-05-01 INFO request served in 12ms by worker-7 key=${AWS} done\n`;
  const text = (filler + line).repeat(Math.ceil((20 * 2 ** 20) / (filler.length + line.length)));
  const input = b64(text);
  const cuts = Array.from({ length: Math.ceil(input.length / 16384) - 1 }, (_, i) => (i + 1) * 16384);
  const r = run(input, cuts);
  assert.ok(r.maxRetained <= 8192, `held ${r.maxRetained}`);
  assert.equal(r.findings.length, text.split(AWS).length - 1);
  assert.equal(Buffer.from(r.emit, 'base64').toString('utf8'), text.replaceAll(AWS, '[REDACTED:aws-access-key-id]'));
});

test('text that turns binary half-way: the secret before is masked, the bytes after are intact', () => {
  const head = `secret ${AWS}\n${'plain log line without secrets\n'.repeat(3500)}`; // > 100 KB
  const tail = Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe]), Buffer.from(`later ${AWS} ${GHP} é`)]);
  const input = b64(Buffer.concat([Buffer.from(head), tail]));
  const cuts = Array.from({ length: Math.ceil(input.length / 16384) - 1 }, (_, i) => (i + 1) * 16384);
  const r = run(input, cuts);
  assert.deepEqual(Buffer.from(r.emit, 'base64'), Buffer.concat([Buffer.from(head.replace(AWS, '[REDACTED:aws-access-key-id]')), tail]));
  assert.deepEqual(r.findings.map((f) => f.type), ['aws-access-key-id']);
  assert.equal(r.binary[0], false);
  assert.equal(r.binary.at(-1), true);
});

test('text or binary by the bytes: a BOM, a U+FFFD and cut UTF-8 as the whole path decides; control characters never stop the scan', () => {
  const blobs = [
    `\uFEFFkey ${AWS}`, // BOM kept, text
    `key ${AWS} \uFFFD`, // a U+FFFD reads as a decoding error: binary
    `${'\x01'.repeat(5)} key ${AWS} ${'a'.repeat(600)}`, // under 1% controls: text for both paths
  ].map((t) => b64(t));
  blobs.push(b64(Buffer.concat([Buffer.from(`key ${AWS} `), Buffer.from('🦊').subarray(0, 3)]))); // cut UTF-8 at the end
  for (const input of blobs) for (let k = 0; k <= input.length; k += 7) assert.equal(run(input, [k]).emit, wholePath(input));
  assert.ok(Buffer.from(run(blobs[0]!).emit, 'base64').toString('utf8').startsWith('\uFEFFkey [REDACTED:'));
  // Over 1% control characters: the whole path calls it binary; here it is text, scanned, and the
  // key masked, wherever it sits: a coloured banner before it does not let it through.
  for (const text of [`${'\x01'.repeat(10)} key ${AWS} ${'a'.repeat(500)}`, `${'\x1b[31m'.repeat(300)}${'log line\n'.repeat(200)}AWS_ACCESS_KEY_ID=${AWS}\n`]) {
    assert.equal(decodeTextBlob(b64(text)), undefined, 'binary for the whole path');
    const input = b64(text);
    for (const k of [0, 100, 2000]) {
      const r = run(input, [Math.min(k, input.length)]);
      assert.equal(Buffer.from(r.emit, 'base64').toString('utf8'), text.replace(AWS, '[REDACTED:aws-access-key-id]'));
      assert.equal(r.binary.at(-1), false);
    }
  }
});

test('empty and whitespace-only blobs, an empty final piece', () => {
  for (const input of ['', '  \n\t', '==', 'QQ']) {
    assert.equal(run(input).emit, Buffer.from(input, 'base64').toString('base64'));
    assert.equal(run(input, [0, input.length]).emit, Buffer.from(input, 'base64').toString('base64'));
  }
  const s = new BlobTextStream({}, redact);
  assert.deepEqual(s.push('', true), { emit: '', findings: [], values: [], binary: false });
  assert.throws(() => s.push('QQ', true));
});

test('each finding comes with the text it matched (for its keyed fingerprint), wherever the pieces fell', () => {
  const input = b64(`${'line of text\n'.repeat(500)}key ${AWS} end\n${'more text\n'.repeat(500)}`);
  for (const size of [3, 100, 4096]) {
    const s = new BlobTextStream({}, redact);
    const got: string[] = [];
    for (let at = 0; at < input.length; at += size) {
      const step = s.push(input.slice(at, at + size), at + size >= input.length);
      step.findings.forEach((f, i) => got.push(`${f.type}=${step.values[i]}`));
    }
    assert.deepEqual(got, [`aws-access-key-id=${AWS}`], `pieces of ${size}`);
  }
});

test('a blob leaf that does not read as base64 is left to the ordinary string scan, never re-encoded', () => {
  for (const [text, whole, base64] of [
    ['hello world', true, false], // a space
    ['hello', true, false], // not a multiple of 4: re-encoding would drop the "o"
    ['abc', true, false],
    ['QUJD', true, true],
    ['QUI=', true, true],
    ['QU==\r\n', true, true],
    ['QUJDRA', false, true], // a first piece: the rest may follow
    ['{"name":"x"}', false, false],
    ['a=b', true, false], // padding before the end
    [Buffer.from('??>?').toString('base64url'), true, true], // §5, unpadded: 'Pz8-Pw'
    [`${Buffer.from('??>?').toString('base64url')}==`, true, true],
    [`${Buffer.from('??>?').toString('base64url')}=`, true, false], // padded, but not to a multiple of 4
    ['hello-world', true, false], // §5 letters, but it would not read back the same ('…wor' + 'lQ')
    ['/srv/my_app/data', true, false], // both alphabets: a path, not base64 (it came out "/srv/my/app/data")
    ['a-b/c_d+', true, false],
    ['ab_cd-ef/gh+', false, false], // a first piece, too
  ] as const) {
    assert.equal(readsAsBase64(text, whole), base64, JSON.stringify(text));
  }
  const blobs = new ChunkBlobs();
  const make = () => new BlobTextStream({}, redact);
  assert.equal(blobs.blob('/r/blob', 'not base64, a note', true, make), 'plain');
  assert.ok(blobs.blob('/r/blob', b64('a file'), true, make) instanceof BlobTextStream, 'a new leaf at the same place is judged afresh');
});

test('a blob in the URL-safe alphabet (RFC 4648 §5) is scanned as text and comes back in that alphabet, padded only if it was', () => {
  // '?' and '>' make `/` and `+` in §4, so `_` and `-` here.
  let text = `${'???>>> build log ~~~\n'.repeat(40)}AWS_ACCESS_KEY_ID=${AWS}\n${filler}`;
  while (Buffer.byteLength(text) % 3 === 0) text += '.'; // so that padding has something to pad
  const unpadded = Buffer.from(text).toString('base64url');
  assert.ok(/[-_]/.test(unpadded) && !/[+/=]/.test(unpadded) && unpadded.length % 4 !== 0);
  const padded = unpadded + '='.repeat(4 - (unpadded.length % 4));
  const clean = Buffer.from(filler + '???>>>').toString('base64url');
  for (const input of [unpadded, padded]) {
    assert.equal(readsAsBase64(input.slice(0, 16_384), input.length <= 16_384), true);
    const blobs = new ChunkBlobs();
    let alphabet: string | undefined;
    blobs.blob('/r/blob', input.slice(0, 1000), false, (a) => ((alphabet = a), new BlobTextStream({}, redact, a)));
    assert.equal(alphabet, 'base64url');
    for (const cuts of [[], [1], [3, 5, 700], Array.from({ length: 60 }, (_, i) => i * 37)]) {
      const r = run2(input, cuts, 'base64url');
      assert.ok(!/[+/]/.test(r.emit), 'the same alphabet');
      // Padded only if the input was (the masked text's length decides whether there is any).
      if (input.endsWith('=')) assert.equal(r.emit.length % 4, 0);
      else assert.ok(!r.emit.includes('='));
      assert.equal(Buffer.from(r.emit, 'base64url').toString('utf8'), text.replace(AWS, '[REDACTED:aws-access-key-id]'));
      assert.equal(r.emit, wholePathMasked(input), 'as the whole path masks it');
    }
  }
  // Nothing to mask: the blob comes out as it came, to the letter, however it is cut.
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), fc.boolean(), (s, pad) => {
      let input = Buffer.from(filler.slice(0, 50) + s).toString('base64url');
      if (pad && input.length % 4 !== 0) input += '='.repeat(4 - (input.length % 4));
      for (const cuts of [[], [1], [2, 7, 11]]) assert.equal(run2(input, cuts.filter((c) => c <= input.length), 'base64url').emit, input);
    }),
  );
  assert.equal(run2(clean, [5], 'base64url').emit, clean);
});

function run2(input: string, cuts: readonly number[], alphabet: 'base64' | 'base64url') {
  const s = new BlobTextStream({}, redact, alphabet);
  const bounds = [0, ...cuts, input.length];
  let emit = '';
  for (let i = 1; i < bounds.length; i++) emit += s.push(input.slice(bounds[i - 1], bounds[i]), i === bounds.length - 1).emit;
  return { emit };
}

/** The whole path's masked blob (dlp.ts onMessage): the same masks, in the original's alphabet. */
function wholePathMasked(input: string): string {
  const text = decodeTextBlob(input)!;
  const masks = scanText(text).map((f) => ({ start: f.start, end: f.end, replacement: redact(f) }));
  return maskedBlob(text, mergePatches(masks, text.length).map((e) => ({ start: e.start, end: e.end, mask: e.replacement })), input);
}
