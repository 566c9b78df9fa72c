/**
 * Encoded payloads for the fast scanner: the matches of BASE64_RUN and then HEX_RUN, found from
 * the token pass's stretches of [A-Za-z0-9+/_] instead of by running those regexes (which try
 * every position of every word, the costliest part of the reference scanner).
 *
 * BASE64_RUN (`[A-Za-z0-9+/]{40,4096}={0,2}`, global) matches each maximal run of base64
 * characters from its start, 4096 characters at a time, while 40 or more remain; the piece that
 * reaches the run's end takes up to two `=` after it. HEX_RUN (`(?:[0-9a-fA-F]{2}){24,2048}`)
 * does the same on maximal hex runs with an even length of 48 to 4096; hex runs lie inside
 * base64 runs. The decode budget is spent in the same order as the reference scanner spends it.
 */
import { type AddSignal, decodeBase64Run, MAX_DECODED_CHARS, payloadWeight } from './injection-patterns.ts';

function isHex(ch: number): boolean {
  return (ch >= 48 && ch <= 57) || (ch >= 97 && ch <= 102) || (ch >= 65 && ch <= 70);
}

/** Splits the stretches at `_` (a word character, not a base64 one): runs of 40+. */
function base64Runs(t: string, stretches: readonly number[]): number[] {
  const runs: number[] = [];
  for (let i = 0; i < stretches.length; i += 2) {
    const end = stretches[i + 1]!;
    let from = stretches[i]!;
    for (let k = from; k <= end; k++) {
      if (k < end && t.charCodeAt(k) !== 95) continue;
      if (k - from >= 40) runs.push(from, k);
      from = k + 1;
    }
  }
  return runs;
}

export function encodedPayloads(t: string, stretches: readonly number[], add: AddSignal): void {
  let budget = MAX_DECODED_CHARS;
  const runs = base64Runs(t, stretches);
  for (let i = 0; i < runs.length; i += 2) {
    const end = runs[i + 1]!;
    for (let p = runs[i]!; end - p >= 40; ) {
      if (budget <= 0) return;
      const len = Math.min(end - p, 4096);
      let e = p + len;
      if (e === end && t.charCodeAt(e) === 61) e += t.charCodeAt(e + 1) === 61 ? 2 : 1;
      budget -= e - p;
      const w = payloadWeight(decodeBase64Run(t.slice(p, e)));
      if (w > 0) add('encoded-payload', p, e, w);
      p += len;
    }
  }
  for (let i = 0; i < runs.length; i += 2) {
    const end = runs[i + 1]!;
    if (end - runs[i]! < 48) continue;
    for (let k = runs[i]!; k < end; ) {
      if (!isHex(t.charCodeAt(k))) {
        k++;
        continue;
      }
      let j = k + 1;
      while (j < end && isHex(t.charCodeAt(j))) j++;
      for (let p = k; j - p >= 48; ) {
        if (budget <= 0) return;
        const len = Math.min((j - p) & ~1, 4096);
        budget -= len;
        const w = payloadWeight(Buffer.from(t.slice(p, p + len), 'hex'));
        if (w > 0) add('encoded-payload', p, p + len, w);
        p += len;
      }
      k = j;
    }
  }
}
