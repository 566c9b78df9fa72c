/**
 * Throughput of the chunk-path JSON rewriter (src/codec/json-stream.ts).
 *
 *   node_modules/.bin/node bench/json-stream.ts
 *
 * Two ~50 MB documents, fed in 64 KiB chunks:
 * - long-text: one tools/call result whose single text leaf is the whole payload (the case the
 *   chunk path exists for; mostly ASCII prose with escapes and some non-ASCII). Measured with a
 *   pass-through onString (unchanged pieces are forwarded verbatim) and with a DLP-like one that
 *   holds back a 256-char window (every piece changes, so every piece is re-escaped);
 * - small-objects: a result with ~400k small records (keys, numbers, literals, short strings),
 *   the worst case for a byte-at-a-time parser.
 * MB = 10^6 bytes of input. Best of a few runs; JSON.parse + JSON.stringify of the same bytes is
 * printed as a yardstick (it needs the whole document in memory, which the rewriter does not).
 */
import { JsonStreamRewriter } from '../src/codec/json-stream.ts';
import type { JsonStreamOptions } from '../src/codec/json-stream.ts';

const TARGET_BYTES = 50 * 1024 * 1024;
const CHUNK = 64 * 1024;

export function longTextDocument(bytes = TARGET_BYTES): Uint8Array {
  const para =
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore ' +
    'et dolore magna aliqua. "Quoted" text, a path C:\\tmp\\x, tabs\tand café, naïve, 東京, 😀.\n';
  const text = para.repeat(Math.ceil(bytes / Buffer.byteLength(para)));
  const doc = { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text }], isError: false } };
  return new Uint8Array(Buffer.from(JSON.stringify(doc)));
}

export function smallObjectsDocument(bytes = TARGET_BYTES): Uint8Array {
  const items: unknown[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const item = {
      id: i,
      name: `item-${i}`,
      price: (i % 1000) / 8,
      tags: ['alpha', 'beta'],
      active: i % 3 === 0,
      note: i % 5 === 0 ? null : 'ok',
    };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return new Uint8Array(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 8, result: { items } })));
}

/** Streams `doc` through a rewriter; returns seconds elapsed and output bytes. */
export async function rewrite(doc: Uint8Array, opts?: Partial<JsonStreamOptions>): Promise<{ seconds: number; outBytes: number }> {
  const r = new JsonStreamRewriter({ onString: () => undefined, ...opts });
  let outBytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < doc.length; i += CHUNK) outBytes += (await r.push(doc.subarray(i, i + CHUNK))).length;
  outBytes += (await r.end()).length;
  return { seconds: (performance.now() - t0) / 1000, outBytes };
}

function best(xs: number[]): number {
  return Math.max(...xs);
}

/** Like a DLP inspector: emits all but the last 256 chars of what it has seen, the rest at the end. */
function holdBack(): JsonStreamOptions['onString'] {
  let held = '';
  return (c) => {
    const all = held + c.text;
    const keep = c.end ? 0 : Math.min(256, all.length);
    held = all.slice(all.length - keep);
    return all.slice(0, all.length - keep);
  };
}

export async function benchJsonStream(
  runs = 3,
): Promise<{ longTextMBps: number; longTextRewritingMBps: number; smallObjectsMBps: number }> {
  const result: Record<string, number> = {};
  const long = longTextDocument();
  for (const [name, doc, onString] of [
    ['long-text', long, undefined],
    ['long-text-dlp', long, holdBack],
    ['small-objects', smallObjectsDocument(), undefined],
  ] as const) {
    const mbps: number[] = [];
    for (let k = 0; k < runs; k++) {
      const { seconds, outBytes } = await rewrite(doc, onString ? { onString: onString() } : {});
      if (outBytes < doc.length * 0.9) throw new Error(`${name}: output unexpectedly short`);
      mbps.push(doc.length / 1e6 / seconds);
    }
    const base: number[] = [];
    for (let k = 0; k < runs; k++) {
      const t0 = performance.now();
      JSON.stringify(JSON.parse(Buffer.from(doc.buffer, doc.byteOffset, doc.length).toString('utf8')));
      base.push(doc.length / 1e6 / ((performance.now() - t0) / 1000));
    }
    result[name] = best(mbps);
    console.log(
      `json-stream ${name.padEnd(13)} ${(doc.length / 1e6).toFixed(1)} MB: ${best(mbps).toFixed(0)} MB/s ` +
        `(JSON.parse+stringify, whole document: ${best(base).toFixed(0)} MB/s)`,
    );
  }
  return {
    longTextMBps: result['long-text']!,
    longTextRewritingMBps: result['long-text-dlp']!,
    smallObjectsMBps: result['small-objects']!,
  };
}

if (import.meta.main) await benchJsonStream();
