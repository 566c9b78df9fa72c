import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { expand } from '../../eval/secret-formats.ts';
import { Rng } from '../../eval/rng.ts';
import { holdBackWindow, LEFT_CONTEXT, scanText } from './index.ts';
import { INITIAL_STREAM_STATE, scanChunk, type StreamOptions } from './stream-window.ts';
import type { Finding } from './types.ts';

function stream(pieces: readonly string[], opts: StreamOptions = {}): { findings: Finding[]; maxCarry: number; released: number[] } {
  let state = INITIAL_STREAM_STATE;
  const findings: Finding[] = [];
  const released: number[] = [];
  let maxCarry = 0;
  pieces.forEach((p, i) => {
    const step = scanChunk(state, p, i === pieces.length - 1, opts);
    findings.push(...step.findings);
    released.push(step.released);
    state = step.state;
    maxCarry = Math.max(maxCarry, state.carry.length);
  });
  return { findings, maxCarry, released };
}

const r = new Rng(77);
const samples = ['«AKIA{b32:16}»', '«{ghp}»', '«{jwt}»', 'xoxb: «xoxb-{digits:12}-{digits:13}-{b62:24}»', 'mongodb://app:«{password}»@db.local/x', 'mail «ana@acme-corp.com» now'].map((t) => expand(t, r, 'sample'));
const filler = ' lorem ipsum dolor sit amet '.repeat(80);

test('property: a secret split at any offset into any chunking is found exactly once', () => {
  fc.assert(
    fc.property(fc.constantFrom(...samples), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }), (s, cuts) => {
      const text = filler + s.text + filler;
      const pieces: string[] = [];
      let at = 0;
      for (const c of cuts) {
        if (at >= text.length) break;
        pieces.push(text.slice(at, at + c));
        at += c;
      }
      pieces.push(text.slice(at));
      const got = stream(pieces).findings.filter((f) => f.start < filler.length + s.end && f.end > filler.length + s.start);
      assert.equal(got.length, 1, JSON.stringify(got));
    }),
    { numRuns: 300 },
  );
});

test('every offset of a two-chunk split gives the same findings as the whole text', () => {
  const text = `token ${samples[0]!.text} and ${samples[1]!.text} end`;
  const whole = scanText(text).map((f) => `${f.type}@${f.start}-${f.end}`);
  for (let k = 0; k <= text.length; k++) {
    assert.deepEqual(stream([text.slice(0, k), text.slice(k)]).findings.map((f) => `${f.type}@${f.start}-${f.end}`), whole, `split at ${k}`);
  }
});

test('released text never runs ahead of a finding that is still incomplete', () => {
  const text = filler + samples[0]!.text + filler;
  const pieces = text.match(/[\s\S]{1,50}/g)!;
  const { findings, released } = stream(pieces);
  const f = findings[0]!;
  // Each release point is either before the finding or after its end: never inside it.
  for (const rel of released) assert.ok(rel <= f.start || rel >= f.end, `released up to ${rel} inside [${f.start}, ${f.end})`);
});

test('memory stays bounded: the carry never exceeds window + left context', () => {
  const big = 'a b c d e f g '.repeat(20000);
  const { maxCarry } = stream(big.match(/[\s\S]{1,997}/g)!);
  assert.ok(maxCarry <= holdBackWindow() + LEFT_CONTEXT + 997, `carry ${maxCarry}`);
});

test('zero-width padding inside a key does not let it slip through the window', () => {
  const key = samples[0]!.text;
  const padded = [...key].join('\u200b\u200b\u200b');
  const text = filler + padded + filler;
  const pieces = text.match(/[\s\S]{1,33}/g)!;
  const got = stream(pieces).findings.filter((f) => f.type === 'aws-access-key-id');
  assert.equal(got.length, 1);
  assert.equal(text.slice(got[0]!.start, got[0]!.end), padded);
});

test('a private key streamed in small chunks is covered from header to END line', () => {
  const pem = expand('«{pemRsa}»', new Rng(3), 'private-key-rsa').text;
  const text = 'log start\n' + pem + '\nlog end ' + filler;
  const got = stream(text.match(/[\s\S]{1,40}/g)!).findings.filter((f) => f.type === 'private-key-rsa');
  const covered = got.reduce((a, f) => a + (f.end - f.start), 0);
  const first = got[0]!.start;
  const last = got[got.length - 1]!.end;
  assert.equal(first, text.indexOf('-----BEGIN'));
  assert.ok(last >= text.indexOf('-----END RSA PRIVATE KEY') + 20, 'END line covered');
  assert.equal(covered, last - first, 'pieces are contiguous');
});

test('texts of consecutive SSE events are one stream: a key split between two events is found', () => {
  const key = samples[1]!.text;
  const events = [`progress: ${key.slice(0, 11)}`, `${key.slice(11)} done`];
  assert.equal(stream(events).findings.filter((f) => f.type === 'github-pat').length, 1);
});
