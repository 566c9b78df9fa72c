/**
 * Reference streaming scanner: feeds text in pieces through `scanChunk` (src/detectors/
 * stream-window.ts), exactly as the gateway's chunk path does, and collects findings. (Secrets
 * split across two SSE events go through the DLP inspector itself: src/inspectors/dlp-two-events.ts.)
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
