import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { codeLineStarts } from './code-lines.ts';
import { CODE_BLOCK_MAX, scanSourceCode } from './markers.ts';

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
  '\t\tlet y = 2', 'SELECT * FROM t;', ' '.repeat(41) + 'return 1;', ' '.repeat(40) + 'return 1', 'if x:\r', 'a\u2028b;', 'x\u2029  class A', 'try {', 'foo(a, (b))', '=>', '->', 'if (x)\rfoo();', 'é;',
  // Words CODE_START's keywords begin with, whole and glued to more word characters.
  'functional()', 'function*gen()', 'function foo(a,', 'functionName(a,', 'function* gen(a,', 'async function f(a,', '  functionName (a)', 'imports x', 'import{a}', 'iffy: x', 'if:', 'else:', 'elsewhere', 'protected x', 'protectedx y',
  'finally:', '#!/bin/sh', '#define X', '}x', 'returnx', 'return;', 'fnx y', 'pub fn x', 'func main', 'classy x', 'class A', 'async function f(', 'export default x',
  'using System;', 'package main', 'from x import y', 'with open(f) as g:', 'except:', 'switch (x)', 'catch (e)', 'throw new E', 'var', 'let x', 'const{a}=b',
  'static int x', 'override fun', 'final x', 'def g (', 'while(x)', 'for(;;)', 'try{', 'elif x:', 'Import x', 'IF (x)', '_x(y)', '.x(y)', 'é(x)', 'x\u2028if (a)',
  // Arrows are found from their `>`.
  ')>', 'f(x) >= y', 'f(x)->', 'f(x) = > y', '>', '>>', 'a)=>', '(a) =>>', '(a)\t->b', '->(a)', 'x)=>\r)->'];

test('property: the per-line scan finds the lines the multiline regex passes find', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...lines), { maxLength: 30 }), fc.constantFrom('\n', '\r\n', '\n\n'), (ls, sep) => {
      const text = ls.join(sep);
      assert.deepEqual(codeLineStarts(text), reference(text), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});

/** scanSourceCode as it was before `codeLines` counted the lines between code lines. */
function referenceRuns(text: string): [number, number, number][] {
  const out: [number, number, number][] = [];
  if (text.length < 40 || text.indexOf('\n') < 0) return out;
  const starts = reference(text);
  if (starts === undefined) return out;
  const blank = (from: number, to: number): boolean => text.slice(from, to).trim() === '';
  let runStart = -1;
  let runEnd = -1;
  let code = 0;
  let other = 0;
  const flush = (): void => {
    if (runStart >= 0 && code >= 3 && code >= 2 * other) out.push([runStart, runEnd, code]);
    runStart = -1;
    code = 0;
    other = 0;
  };
  for (const s of starts) {
    let e = text.indexOf('\n', s);
    if (e < 0) e = text.length;
    if (e - s > 400) continue;
    if (runStart >= 0) {
      let gap = 0;
      for (let p = text.indexOf('\n', runEnd + 1); p >= 0 && p < s; p = text.indexOf('\n', p + 1)) {
        const next = text.indexOf('\n', p + 1);
        if (p + 1 < s && !blank(p + 1, next < 0 || next > s ? s : next)) gap++;
        if (gap > 3) break;
      }
      other += gap;
      if (gap > 3 || other > code) flush();
    }
    if (runStart < 0) runStart = s;
    code++;
    runEnd = e;
  }
  flush();
  return out;
}

test('source-code runs break after more than 3 non-blank lines, whatever the totals', () => {
  const code = (k: number): string => Array.from({ length: k }, (_, i) => `const v${i} = ${i};`).join('\n');
  const prose = (k: number): string => Array.from({ length: k }, (_, i) => `plain words, line ${i}`).join('\n');
  for (const text of [`${code(6)}\n${prose(5)}\n${code(3)}`, `${code(8)}\n${prose(4)}\n${code(3)}`, `${code(8)}\n\n${prose(3)}\n \n${code(3)}`, `${code(3)}\r\n${prose(4)}\r\n${code(9)}`]) {
    const want = referenceRuns(text).map(([s, e]) => [s, e]);
    assert.deepEqual(scanSourceCode(text).map((m) => [m.start, m.end]), want, JSON.stringify(text));
  }
});

test('property: source-code runs from the one-pass line counts equal the line-by-line rescan', () => {
  const more = [...lines, '', '', '  ', '\t', '\r', '\u00a0', 'plain words here', 'more prose', 'x'.repeat(401) + ';', 'const y = ' + 'z'.repeat(395) + ';', '"a": 1,', '- b'];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...more), { maxLength: 60 }), fc.constantFrom('\n', '\r\n', '\n\n'), (ls, sep) => {
      const text = ls.join(sep);
      const got = scanSourceCode(text).map((m) => [m.start, m.end]);
      const want = referenceRuns(text).flatMap(([s, e]) => {
        const parts: number[][] = [];
        for (let p = s; p < e; p += CODE_BLOCK_MAX) parts.push([p, Math.min(e, p + CODE_BLOCK_MAX)]);
        return parts;
      });
      assert.deepEqual(got, want, JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});
