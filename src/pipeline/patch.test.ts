/**
 * String patches: overlapping patches mask the union of their ranges, whatever order they come
 * in (a private key's header marker and its key block start at the same offset), and offsets
 * map through applied edits so a later patch can cover what an earlier one left.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyPatches, mapThroughEdits, mergePatches, patchString } from './patch.ts';

const p = (start: number, end: number, replacement: string) => ({ start, end, replacement });

describe('patchString: overlapping patches', () => {
  const text = '-----BEGIN KEY-----\nBODYBODYBODY\n-----END KEY-----\ntail';
  const header = p(0, 19, '[REDACTED:private-key-header]');
  const block = p(0, text.length - 5, '[REDACTED:private-key-pkcs8]');

  it('two patches with the same start mask their union, in either order, with the distinct masks in order', () => {
    for (const list of [[header, block], [block, header]]) {
      assert.equal(patchString(text, list), '[REDACTED:private-key-pkcs8][REDACTED:private-key-header]\ntail');
    }
  });

  it('nested, partly overlapping, duplicate and touching patches', () => {
    assert.equal(patchString('0123456789', [p(2, 8, '<a>'), p(4, 6, '<b>')]), '01<a><b>89', 'nested: the outer mask first');
    assert.equal(patchString('0123456789', [p(5, 9, '<b>'), p(2, 6, '<a>')]), '01<a><b>9', 'partial overlap: the union');
    assert.equal(patchString('0123456789', [p(2, 6, '<a>'), p(2, 6, '<a>')]), '01<a>6789', 'a duplicate once');
    assert.equal(patchString('0123456789', [p(4, 6, '<b>'), p(2, 4, '<a>')]), '01<a><b>6789', 'touching: two edits');
    assert.equal(patchString('0123456789', [p(3, 10, ''), p(1, 5, '<m>')]), '0<m>', 'a cut and a mask: the mask stands over both');
    assert.equal(patchString('0123', [p(2, 99, '<x>'), p(-3, 1, '<y>')]), '<y>1<x>', 'clamped to the string');
  });

  it('applyPatches merges per leaf and leaves the message untouched', () => {
    const message = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } };
    const out = applyPatches(message, [
      { pointer: '/result/content/0/text', ...header },
      { pointer: '/result/content/0/text', ...block },
    ]) as typeof message;
    assert.equal(out.result.content[0]!.text, '[REDACTED:private-key-pkcs8][REDACTED:private-key-header]\ntail');
    assert.equal(message.result.content[0]!.text, text);
  });

  it('property: no character of any patched range survives, and the order of the patches does not matter', () => {
    // Each original character is unique (private use area) and no replacement contains one.
    const arb = fc.record({
      n: fc.integer({ min: 0, max: 60 }),
      patches: fc.array(fc.record({ a: fc.integer({ min: 0, max: 64 }), b: fc.integer({ min: 0, max: 64 }), r: fc.constantFrom('', '<x>', '<y>', '[REDACTED:z]') }), { maxLength: 8 }),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(arb, ({ n, patches, seed }) => {
        const text = Array.from({ length: n }, (_, i) => String.fromCharCode(0xe000 + i)).join('');
        const list = patches.map(({ a, b, r }) => p(Math.min(a, b), Math.max(a, b), r));
        const out = patchString(text, list);
        for (let i = 0; i < n; i++) {
          const covered = list.some((q) => q.start <= i && i < q.end);
          assert.equal(out.includes(text[i]!), !covered, `char ${i} of ${JSON.stringify(list)}`);
        }
        const shuffled = [...list].sort((x, y) => ((x.start * 31 + x.end + seed) % 7) - ((y.start * 31 + y.end + seed) % 7));
        assert.equal(patchString(text, shuffled), out);
      }),
    );
  });
});

describe('mapThroughEdits: offsets of the original string in the edited one', () => {
  // "ab[KEY]cd" from "abKEYVALUEcd": [2, 10) became "[K]".
  const edits = mergePatches([p(2, 10, '[K]')], 12);

  it('before, after and inside an edit; a range inside covers the whole replacement', () => {
    assert.equal(mapThroughEdits(edits, 1, 'start'), 1);
    assert.equal(mapThroughEdits(edits, 2, 'start'), 2);
    assert.equal(mapThroughEdits(edits, 10, 'end'), 5);
    assert.equal(mapThroughEdits(edits, 11, 'start'), 6);
    assert.equal(mapThroughEdits(edits, 5, 'start'), 2, 'inside: from the start of the mask');
    assert.equal(mapThroughEdits(edits, 5, 'end'), 5, 'inside: to the end of the mask');
    const edited = patchString('abKEYVALUEcd', edits);
    assert.equal(edited, 'ab[K]cd');
    // A cut of [6, 12) of the original (the tail, from inside the mask) removes the mask too.
    assert.equal(patchString(edited, [p(mapThroughEdits(edits, 6, 'start'), mapThroughEdits(edits, 12, 'end'), '')]), 'ab');
  });
});
