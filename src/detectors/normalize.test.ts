import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hasHidden, normalize } from './normalize.ts';
import { scanText } from './index.ts';

test('ASCII text is its own normalization (no map allocated)', () => {
  const n = normalize('plain ascii, nothing to do');
  assert.equal(n.identity, true);
  assert.deepEqual(n.toOriginal(6, 11), [6, 11]);
});

test('characters above U+00FF whose low byte is ASCII are not taken for ASCII (the fast test reads a latin1 copy)', () => {
  // U+200B → 0x0B, U+FF21 (fullwidth A) → 0x21, U+2019 → 0x19, U+0141 → 0x41 in that copy.
  assert.equal(normalize('key\u200bvalue').text, 'keyvalue');
  assert.equal(normalize('\uff21\uff22C').text, 'ABC');
  for (const s of ['it\u2019s', '\u0141\u00f3d\u017a', 'x'.repeat(5000) + '\u2019']) {
    const n = normalize(s);
    assert.equal(n.text, s);
    assert.equal(n.identity, true);
  }
  // Pure ASCII, of any length, including the empty text.
  for (const s of ['', 'a', 'plain ASCII\n'.repeat(1000)]) assert.equal(normalize(s).identity, true);
});

test('zero-width characters inside a token are removed and counted', () => {
  const text = 'key A\u200bK\u200cI\u200dA end';
  const n = normalize(text);
  assert.equal(n.text, 'key AKIA end');
  assert.equal(n.hidden.zeroWidth, 3);
  // The match "AKIA" maps back over the hidden characters between its letters.
  const [s, e] = n.toOriginal(4, 8);
  assert.equal(text.slice(s, e), 'A\u200bK\u200cI\u200dA');
});

test('NFKC folds fullwidth letters and ligatures, keeping offsets', () => {
  const text = 'x ＡＫＩＡ ﬁle';
  const n = normalize(text);
  assert.equal(n.text, 'x AKIA file');
  const [s, e] = n.toOriginal(2, 6);
  assert.equal(text.slice(s, e), 'ＡＫＩＡ');
  // "fi" both come from the one ligature character.
  const [ls, le] = n.toOriginal(7, 8);
  assert.equal(text.slice(ls, le), 'ﬁ');
});

test('combining marks compose with the preceding letter', () => {
  const n = normalize('cafe\u0301!');
  assert.equal(n.text, 'café!');
  assert.deepEqual(n.toOriginal(3, 4), [3, 5]);
});

test('Unicode tag characters are removed and their ASCII payload decoded', () => {
  const payload = [...'ignore me'].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
  const n = normalize(`hello${payload} world`);
  assert.equal(n.text, 'hello world');
  assert.equal(n.hidden.tag, 9);
  assert.equal(n.tagText, 'ignore me');
  assert.equal(n.hiddenRuns.length, 1);
});

test('bidi controls, soft hyphens and variation selectors are classified', () => {
  const n = normalize('a\u202eb\u00adc\ufe0fd\u2066e');
  assert.equal(n.text, 'abcde');
  assert.deepEqual({ ...n.hidden }, { zeroWidth: 0, bidi: 2, tag: 0, softHyphen: 1, variationSelector: 1 });
});

test('non-ASCII text that is already NFKC maps to itself', () => {
  const n = normalize('Zürich — 東京 😀');
  assert.equal(n.identity, true);
});

// Characters that exercise every branch: ASCII, invisible ones, combining marks, compatibility
// forms, astral (surrogate pair) code points, Hangul jamo.
const piece = fc.constantFrom(
  'a', 'Z', '7', ' ', '-', '\u200b', '\u200d', '\ufeff', '\u202e', '\u2066', '\u00ad', '\ufe0f', '\u{e0041}', '\u{e0100}',
  '\u0301', '\u0308', 'é', 'ﬁ', 'Ａ', '½', '²', '😀', '\u1100', '\u1161', '\u11a8', '한', 'Å', '\u212b', 'ǆ', '㍱',
);
const text = fc.array(piece, { maxLength: 40 }).map((xs) => xs.join(''));

test('property: every normalized range maps back to an original range that normalizes to cover it', () => {
  fc.assert(
    fc.property(text, fc.nat(), fc.nat(), (t, a, b) => {
      const n = normalize(t);
      const len = n.text.length;
      const s = len === 0 ? 0 : a % (len + 1);
      const e = len === 0 ? 0 : s + (b % (len - s + 1));
      const [os, oe] = n.toOriginal(s, e);
      assert.ok(0 <= os && os <= oe && oe <= t.length, `range [${os}, ${oe}) outside the original`);
      // Whatever the normalized slice says, the original slice (re-normalized) says it too.
      assert.ok(normalize(t.slice(os, oe)).text.includes(n.text.slice(s, e)), `${JSON.stringify(t.slice(os, oe))} does not cover ${JSON.stringify(n.text.slice(s, e))}`);
    }),
    { numRuns: 2000 },
  );
});

test('property: offsets are monotone and the whole text maps to the whole text', () => {
  fc.assert(
    fc.property(text, (t) => {
      const n = normalize(t);
      let prev = 0;
      for (let k = 0; k < n.text.length; k++) {
        const s = n.originalStart(k);
        assert.ok(s >= prev, 'starts must not go backwards');
        assert.ok(n.originalEnd(k + 1) > s, 'each character covers at least one original unit');
        prev = s;
      }
      if (n.text.length > 0) assert.ok(n.toOriginal(0, n.text.length)[1] <= t.length);
    }),
    { numRuns: 1000 },
  );
});

test('property: normalization is idempotent on its output', () => {
  fc.assert(
    fc.property(text, (t) => {
      const once = normalize(t).text;
      assert.equal(normalize(once).text, once);
    }),
    { numRuns: 1000 },
  );
});

test('every Default_Ignorable_Code_Point is removed (not only the usual zero-width ones), and a key hidden by one is still found', () => {
  const ignorable = /\p{Default_Ignorable_Code_Point}/u;
  const key = 'AKIAQ3EGRZ7XK5M2VPLN';
  let checked = 0;
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    const di = ignorable.test(ch);
    assert.equal(hasHidden(ch), di, `U+${cp.toString(16)}`);
    if (!di) continue;
    checked++;
    const hidden = `key ${key.slice(0, 8)}${ch}${key.slice(8)} here`;
    assert.equal(normalize(hidden).text, `key ${key} here`, `U+${cp.toString(16)}`);
  }
  assert.ok(checked > 4000, `${checked} code points`);
  // The ones a red-team review found slipping through before, end to end through the scanner.
  for (const cp of [0x034f, 0x206a, 0x115f, 0x3164, 0xffa0, 0x17b4, 0x1d173, 0xfff9 - 1, 0x1bca0]) {
    const text = `key ${key.slice(0, 8)}${String.fromCodePoint(cp)}${key.slice(8)} here`;
    assert.deepEqual(scanText(text).map((f) => f.type), ['aws-access-key-id'], `U+${cp.toString(16)}`);
  }
});
