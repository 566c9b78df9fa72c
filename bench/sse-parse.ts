/**
 * Micro-benchmark for the SSE parser (not a test): ~50 MB of typical MCP streamable-HTTP events
 * (`event: message`, an id, one JSON `data:` line of 200 B – 8 KB) fed in 16 KB chunks.
 *
 *   node_modules/.bin/node bench/sse-parse.ts
 *
 * Also times a bare streaming TextDecoder over the same chunks: the floor any parser pays.
 */
import { SseParser } from '../src/codec/sse.ts';
import { encodeSseEvent } from '../src/codec/sse-encode.ts';

const TARGET_BYTES = 50 * 1024 * 1024;
const CHUNK = 16 * 1024;
const RUNS = 7;

// Deterministic PRNG (mulberry32) so every run measures the same stream.
let seed = 0x5eed;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const WORDS = ['the', 'tool', 'result', 'file', 'line', 'error', 'résumé', 'data', 'value', 'naïve', 'cache', '→'];
function text(len: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < len) {
    const w = WORDS[Math.floor(rand() * WORDS.length)] ?? 'x';
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ');
}

const pieces: string[] = [];
let size = 0;
let events = 0;
for (let id = 1; size < TARGET_BYTES; id++) {
  const want = 200 + Math.floor(rand() * (8192 - 200));
  const message = { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: text(Math.max(0, want - 90)) }], isError: false } };
  const ev = encodeSseEvent({ event: 'message', id: `s1-${id}`, data: JSON.stringify(message) });
  pieces.push(ev);
  size += Buffer.byteLength(ev);
  events++;
}
const stream = Buffer.from(pieces.join(''));
const chunks: Uint8Array[] = [];
for (let i = 0; i < stream.length; i += CHUNK) chunks.push(stream.subarray(i, Math.min(i + CHUNK, stream.length)));
const mb = stream.length / (1024 * 1024);

function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function parseAll(): void {
  let n = 0;
  let bytes = 0;
  const p = new SseParser((ev) => {
    n++;
    bytes += ev.data.length;
  });
  for (const c of chunks) p.push(c);
  p.end();
  if (n !== events || bytes === 0) throw new Error(`parsed ${n} events, expected ${events}`);
}

function decodeOnly(): void {
  const d = new TextDecoder();
  let n = 0;
  for (const c of chunks) n += d.decode(c, { stream: true }).length;
  if (n === 0) throw new Error('nothing decoded');
}

function report(name: string, fn: () => void): void {
  fn(); // warm-up
  const secs: number[] = [];
  for (let i = 0; i < RUNS; i++) secs.push(timeIt(fn));
  secs.sort((a, b) => a - b);
  const median = secs[Math.floor(secs.length / 2)] ?? 0;
  const best = secs[0] ?? 0;
  console.log(`${name.padEnd(22)} median ${(mb / median).toFixed(0).padStart(5)} MB/s   best ${(mb / best).toFixed(0).padStart(5)} MB/s`);
}

console.log(`${mb.toFixed(1)} MB, ${events} events, ${chunks.length} chunks of ${CHUNK / 1024} KB, node ${process.version}`);
report('TextDecoder only', decodeOnly);
report('SseParser', parseAll);
