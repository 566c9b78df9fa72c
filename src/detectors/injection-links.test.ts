import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRegExpSpace, markdownLinks } from './injection-links.ts';
import { urlCarriesData } from './injection-patterns.ts';

/** MD_LINK as first written (plain backtracking): the definition the linear finder must match. */
const BACKTRACKING_MD_LINK = /(!?)\[[^\]\n]{0,200}\]\(\s*<?(https?:\/\/[^\s)>]{1,2000})>?(?:\s+"[^"\n]{0,200}")?\s*\)/g;

type Hit = [string, number, number, number];
function reference(t: string): Hit[] {
  const out: Hit[] = [];
  BACKTRACKING_MD_LINK.lastIndex = 0;
  for (let m = BACKTRACKING_MD_LINK.exec(t); m !== null; m = BACKTRACKING_MD_LINK.exec(t)) {
    const w = urlCarriesData(m[2]!);
    if (w > 0) out.push([m[1] === '!' ? 'image-exfiltration' : 'link-exfiltration', m.index, m.index + m[0].length, m[1] === '!' ? w : w * 0.7]);
  }
  return out;
}
function linear(t: string): Hit[] {
  const out: Hit[] = [];
  markdownLinks(t, (type, s, e, w) => out.push([type, s, e, w]));
  return out;
}

test("isRegExpSpace is exactly JavaScript's \\s, for every UTF-16 code unit", () => {
  for (let c = 0; c < 0x10000; c++) assert.equal(isRegExpSpace(c), /\s/.test(String.fromCharCode(c)), `U+${c.toString(16)}`);
});

test('the linear finder reports exactly the backtracking pattern’s links, on text built from link parts', () => {
  const parts = ['[', ']', '(', ')', '](', '![', '!', ' ', '  ', '\n', '\u00a0', '"', '<', '>', 'http://', 'https://', 'x', 'a.b/', '?q=', 'ZXhmaWx0cmF0ZWRfZGF0YV9mcm9tX3RoZV91c2Vy', '{id}', '%7B', '&d=', 'title'];
  const noise = fc.constantFrom(...parts);
  // Links as written, each part present or not: most are near misses of one another.
  const maybe = (arb: fc.Arbitrary<string>) => fc.oneof(fc.constant(''), arb);
  const link = fc
    .tuple(
      maybe(fc.constant('!')),
      fc.constantFrom('[', '[[', '[a [b', '[x]['),
      fc.constantFrom('', 'see', 'a\nb', 'x]y'),
      fc.constantFrom('](', '] (', ']('),
      fc.constantFrom('', ' ', '\u00a0', '\n'),
      maybe(fc.constant('<')),
      fc.constantFrom('http://', 'https://', 'ftp://', 'http:/'),
      fc.constantFrom('x/?q=ZXhmaWx0cmF0ZWRfZGF0YV9mcm9tX3RoZV91c2Vy', 'x/{id}', 'x/p', 'x/?a=1', 'x/?q=ZXhm)aWx0cmF0ZWRfZGF0YV9mcm9tX3RoZV91c2Vy'),
      maybe(fc.constant('>')),
      maybe(fc.constantFrom(' "t"', '  "t t"', ' "t', ' "a\nb"', '"t"', ' \'t\'')),
      fc.constantFrom('', ' ', '  '),
      maybe(fc.constant(')')),
    )
    .map((p) => p.join(''));
  fc.assert(
    fc.property(fc.array(fc.oneof(noise, link), { maxLength: 24 }), (pieces) => {
      const t = pieces.join('');
      assert.deepEqual(linear(t), reference(t));
    }),
    { numRuns: 20_000 },
  );
});

test('the limits are the pattern’s: 200 characters of link text, 2,000 of URL, 200 of title', () => {
  const data = '?d=' + 'A'.repeat(60);
  // A URL body (after `https://`) of exactly `n` characters that carries data.
  const url = (n: number) => `https://x/${data}${'u'.repeat(n - 2 - data.length)}`;
  for (const n of [1999, 2000, 2001]) {
    const t = `![a](${url(n)})`;
    assert.deepEqual(linear(t), reference(t), `URL of ${n}`);
    assert.equal(reference(t).length, n <= 2000 ? 1 : 0);
  }
  for (const n of [199, 200, 201]) {
    const texts = [`[${'t'.repeat(n)}](http://x/${data})`, `[a](http://x/${data} "${'t'.repeat(n)}")`, `[a](http://x/${data} "${'t'.repeat(n)}" )`];
    for (const t of texts) assert.deepEqual(linear(t), reference(t), `${n}: ${t.slice(0, 40)}`);
  }
  assert.equal(reference(`[a](http://x/${data} "${'t'.repeat(201)}")`).length, 0, 'a title over 200 is not a link');
});
