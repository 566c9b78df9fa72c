import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { codeLineStarts } from './code-lines.ts';

// The whole-text multiline passes code-lines.ts replaces, as the reference.
const CODE_START = /^[ \t]{0,40}(?:import[ \t]+[\w{*"'(]|(?:if|elif|for|while|with|try|except|finally|else)\b[^\n]{0,200}:[ \t]*$|[\w.]{1,80}\([^()\n]{0,200}\)[ \t]*$|from[ \t]+[\w.]+[ \t]+import\b|#include[ \t]*[<"]|package[ \t]+[\w.]+;?$|using[ \t]+[\w.]+;|(?:export[ \t]+)?(?:async[ \t]+)?function[ \t]*\*?[ \t]*\w*[ \t]*\(|def[ \t]+\w+[ \t]*\(|class[ \t]+\w+|(?:pub[ \t]+)?fn[ \t]+\w+|func[ \t]+\w+|(?:public|private|protected|static|final|override)[ \t]+\w|(?:const|let|var)[ \t]+[\w{[]|return\b|if[ \t]*\(|else\b|for[ \t]*\(|while[ \t]*\(|switch[ \t]*\(|try[ \t]*\{|catch[ \t]*\(|throw[ \t]+|elif[ \t]|except\b|#!\/|}[ \t]*(?:else|catch)?)/gm;
const CODE_END = /[;{][ \t]*$|\)[ \t]*(?:=>|->)/gm;
const DATA_LINE = /^[ \t]*(?:"[^"\n]{0,200}"[ \t]*:|[-*][ \t]|\d+[.)][ \t])/gm;

function lineStartsOf(re: RegExp, text: string, out: Set<number>): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.add(text.lastIndexOf('\n', m.index - 1) + 1);
    if (m[0].length === 0) re.lastIndex++;
  }
}

function reference(text: string): number[] | undefined {
  const code = new Set<number>();
  lineStartsOf(CODE_START, text, code);
  lineStartsOf(CODE_END, text, code);
  if (code.size < 3) return undefined;
  const data = new Set<number>();
  lineStartsOf(DATA_LINE, text, data);
  return [...code].filter((s) => !data.has(s)).sort((a, b) => a - b);
}

const lines = ['const x = 1;', '  if (a) {', '}', '} else {', 'foo(bar)', 'foo.bar(baz)  ', 'x => y', 'f(a) => b', 'g() ->  h', ')\t=>', 'return x',
  '"key": 1;', '- item;', '1. step {', '```', 'def f(x):', 'for x in y:', '#include <x>', 'import os', 'The quick brown fox.', '', '   ',
  '\t\tlet y = 2', 'SELECT * FROM t;', ' '.repeat(41) + 'return 1;', ' '.repeat(40) + 'return 1', 'if x:\r', 'a\u2028b;', 'x\u2029  class A', 'try {', 'foo(a, (b))', '=>', '->', 'if (x)\rfoo();', 'é;'];

test('property: the per-line scan finds the lines the multiline regex passes find', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...lines), { maxLength: 30 }), fc.constantFrom('\n', '\r\n', '\n\n'), (ls, sep) => {
      const text = ls.join(sep);
      assert.deepEqual(codeLineStarts(text), reference(text), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});
