/**
 * Reference streaming scanner: feeds text in pieces through `scanChunk` (src/detectors/
 * stream-window.ts), exactly as the gateway's chunk path is meant to, and collects findings.
 * Also a minimal SSE framing round trip (WHATWG HTML §9.2 event stream: `data:` lines, blank
 * line ends an event) so a secret split across two events is carried through real framing and
 * JSON string escaping before being scanned.
 */
import { INITIAL_STREAM_STATE, scanChunk, type StreamOptions } from '../src/detectors/stream-window.ts';
import type { Finding } from '../src/detectors/types.ts';

/** Scans the concatenation of `pieces` as one stream; offsets are in the concatenated text. */
export function scanPieces(pieces: readonly string[], options: StreamOptions = {}): Finding[] {
  let state = INITIAL_STREAM_STATE;
  const out: Finding[] = [];
  pieces.forEach((p, i) => {
    const step = scanChunk(state, p, i === pieces.length - 1, options);
    out.push(...step.findings);
    state = step.state;
  });
  return out;
}

/** One JSON-RPC notification per text piece, framed as SSE events. */
export function toSse(pieces: readonly string[]): string {
  return pieces
    .map((text, i) => {
      const msg = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: 'tool', data: text, seq: i } });
      return `event: message\nid: ${i + 1}\ndata: ${msg}\n\n`;
    })
    .join('');
}

/** Parses an SSE byte stream fed in arbitrary chunks; returns each event's `data`. */
export function parseSse(chunks: readonly string[]): string[] {
  const events: string[] = [];
  let buf = '';
  let data: string[] = [];
  for (const c of chunks) {
    buf += c;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (data.length > 0) events.push(data.join('\n'));
        data = [];
      } else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
    }
  }
  return events;
}

/** SSE round trip: frame pieces as events, re-chunk the wire at `cut`, parse, extract the texts. */
export function sseRoundTrip(pieces: readonly string[], cut: number): string[] {
  const wire = toSse(pieces);
  const at = Math.max(0, Math.min(wire.length, cut));
  return parseSse([wire.slice(0, at), wire.slice(at)]).map((d) => (JSON.parse(d) as { params: { data: string } }).params.data);
}
