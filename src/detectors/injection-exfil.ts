/**
 * Where the exfiltration rule (injection-patterns.ts: a send verb, within 40 characters a secret
 * word, within 40 more `to`/`at`, within 20 more a URL, `www.`, an e-mail address or `webhook`,
 * no `.` or line break in the gaps) can match, decided in linear time.
 *
 * Run as a regex from every send verb, the three nested gaps are tried in every combination
 * before the rule gives up: a megabyte of `send send … token token … to to … xxxx` cost the event
 * loop ~0.9 s (3.7 s while the e-mail part was an unbounded `\S+@\S+`). Here each link of the
 * chain is judged once, right to left: a tail can start at p (O(1) per position), a `to` is good
 * when a tail starts within its 20 characters, a secret word is good when a good `to` starts
 * within its 40, a verb is a start when a good secret word does. "Within, with no break between"
 * is one comparison against the next good position and the next break. A verb that passes is a
 * match, reported from the verb to the end of the chain's nearest links (nearest good secret
 * word, then `to`, then tail): handing it to the regex instead let its greedy gaps try the
 * farthest links first, ~1 s per crafted MB of chains that do match. Which verbs match is
 * exactly the regex's (the tests hold the two to it); where a match is said to end can differ,
 * so the global loop's next match may start at another verb: the score (strongest signal per
 * type) is the same.
 */

import { isRegExpSpace } from './injection-patterns.ts';

const VERB = /\b(?:send|post|upload|forward|transmit|exfiltrate|leak|email|submit)\b/iy;
const VERBS = new RegExp(VERB.source, 'gi');

/** Where each send verb starts: every candidate, for a scanner without trigger words. */
export function verbsIn(t: string): number[] {
  const out: number[] = [];
  VERBS.lastIndex = 0;
  for (let m = VERBS.exec(t); m !== null; m = VERBS.exec(t)) out.push(m.index);
  return out;
}
const SECRET = /(?:conversation|chat history|context|credentials?|passwords?|api keys?|tokens?|secrets?|private keys?|cookies|env(?:ironment)? variables|personal data|user data|contents?)\b/iy;
const TO = /(?:to|at)\b/iy;
const TAIL_WORD = /(?:https?:\/\/|www\.|webhook)/iy;
/** The rule's gaps: verb → secret word, secret word → `to`, `to` → tail. */
const GAP_SECRET = 40;
const GAP_TO = 40;
const GAP_TAIL = 20;
/** `[^\s@]{1,64}@[^\s@]`: an e-mail address's local part, at most 64 characters (RFC 5321 §4.5.3.1.1). */
const LOCAL_MAX = 64;

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}


const matchEnd = (re: RegExp, t: string, at: number): number => {
  re.lastIndex = at;
  return re.test(t) ? re.lastIndex : -1;
};

/**
 * How far past a verb's start its chain can reach: the verb (10), a gap (40), a secret word (21,
 * "environment variables"), a gap (40), `to` (2), a gap (20), a tail (66: a 64-character local
 * part, `@` and one more). Every position the check reads lies in [verb, verb + REACH).
 */
const REACH = 10 + GAP_SECRET + 21 + GAP_TO + 2 + GAP_TAIL + LOCAL_MAX + 2;

/** The candidate verb positions from which the exfiltration rule matches (the others dropped). */
export function exfiltrationStarts(t: string, candidates: readonly number[]): number[] {
  return chains(t, candidates).map(([v]) => v);
}

/**
 * The rule's matches among the candidates, as a global loop reports them: left to right, each
 * starting after the previous one ends. [start, end) in `t`.
 */
export function exfiltrationMatches(t: string, candidates: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let resume = 0;
  for (const [v, end] of chains(t, candidates)) {
    if (v < resume) continue;
    out.push([v, end]);
    resume = end;
  }
  return out;
}

/** Each candidate that starts a chain, with where its nearest chain ends, in increasing order. */
function chains(t: string, candidates: readonly number[]): Array<[number, number]> {
  if (candidates.length === 0) return [];
  // Candidates whose reaches overlap are judged over one span: the work is bounded by the text
  // near verbs (most texts: a few hundred characters), not by the text's length.
  const sorted = [...candidates].sort((x, y) => x - y);
  const kept: Array<[number, number]> = [];
  const tails = new TailIndicators(t);
  let first = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i]! < sorted[i - 1]! + REACH) continue;
    const span = sorted.slice(first, i);
    const to = Math.min(t.length, span.at(-1)! + REACH);
    if (tails.within(span[0]!, to)) for (const v of startsInSpan(t, span[0]!, to, span)) kept.push(v);
    first = i;
  }
  return kept;
}

/** A tail needs `@` or one of these: a span with neither has no start (most spans: one search). */
const TAIL_ANYWHERE = /https?:\/\/|www\.|webhook/gi;

/**
 * Where the next `@` and the next other tail begin, at or after a position: spans come in
 * increasing order, so each search starts where none was found before and the text is read once
 * (a search per span to the text's end would be quadratic on a text full of verbs).
 */
class TailIndicators {
  readonly t: string;
  #at = -1;
  #word = -1;

  constructor(t: string) {
    this.t = t;
  }

  within(from: number, to: number): boolean {
    if (this.#at < from) this.#at = indexOrEnd(this.t.indexOf('@', from), this.t.length);
    if (this.#at < to) return true;
    if (this.#word < from) {
      TAIL_ANYWHERE.lastIndex = from;
      this.#word = TAIL_ANYWHERE.exec(this.t)?.index ?? this.t.length;
    }
    return this.#word < to;
  }
}

const indexOrEnd = (i: number, end: number): number => (i < 0 ? end : i);

/** exfiltrationStarts over t[from, to): positions past `to` are never needed (REACH). */
function startsInSpan(t: string, from: number, to: number, candidates: readonly number[]): Array<[number, number]> {
  const n = to - from;
  const NONE = to + REACH + 1;
  // Next `.` or line break at or after p: a gap [a, b) is clean when nextBreak[a] >= b.
  const nextBreak = new Int32Array(n + 1);
  // Next space or `@` at or after p: where a run of [^\s@] starting at p ends (`to` when none
  // before the span's end, which is then too far for a local part).
  const nextStop = new Int32Array(n + 1);
  nextBreak[n] = to;
  nextStop[n] = to;
  for (let i = n - 1; i >= 0; i--) {
    const c = t.charCodeAt(from + i);
    nextBreak[i] = c === 46 || c === 10 ? from + i : nextBreak[i + 1]!;
    nextStop[i] = c === 64 || isRegExpSpace(c) ? from + i : nextStop[i + 1]!;
  }
  /** Where a tail starting at p ends, or -1. */
  const tailEnd = (p: number): number => {
    const c = t.charCodeAt(p) | 0x20;
    const word = c === 104 || c === 119 ? matchEnd(TAIL_WORD, t, p) : -1;
    if (word >= 0) return word;
    const r = nextStop[p - from]!;
    if (r > p && r - p <= LOCAL_MAX && r + 1 < t.length && t.charCodeAt(r) === 64) {
      const after = t.charCodeAt(r + 1);
      if (after !== 64 && !isRegExpSpace(after)) return r + 2;
    }
    return -1;
  };
  const tailAt = (p: number): boolean => tailEnd(p) >= 0;
  // Right to left: the nearest good position at or after p, for each link of the chain.
  const nextTail = new Int32Array(n + 1).fill(NONE);
  const nextGoodTo = new Int32Array(n + 1).fill(NONE);
  const nextGoodSecret = new Int32Array(n + 1).fill(NONE);
  /** Whether a link ending at `end` has its next link (`next`) within `gap`, no break between. */
  const reaches = (end: number, next: Int32Array, gap: number): boolean => {
    if (end >= to) return false;
    const q = next[end - from]!;
    return q <= end + gap && nextBreak[end - from]! >= q;
  };
  for (let i = n - 1; i >= 0; i--) {
    const p = from + i;
    nextTail[i] = tailAt(p) ? p : nextTail[i + 1]!;
    const c = t.charCodeAt(p);
    const wordStart = isWordChar(c) && (p === 0 || !isWordChar(t.charCodeAt(p - 1)));
    let goodTo = false;
    let goodSecret = false;
    if (wordStart) {
      const lower = c | 0x20;
      if (lower === 116 || lower === 97) {
        const e = matchEnd(TO, t, p);
        goodTo = e >= 0 && reaches(e, nextTail, GAP_TAIL);
      }
      const e = matchEnd(SECRET, t, p);
      goodSecret = e >= 0 && reaches(e, nextGoodTo, GAP_TO);
    }
    nextGoodTo[i] = goodTo ? p : nextGoodTo[i + 1]!;
    nextGoodSecret[i] = goodSecret ? p : nextGoodSecret[i + 1]!;
  }
  const out: Array<[number, number]> = [];
  for (const v of candidates) {
    const ve = matchEnd(VERB, t, v);
    if (ve < 0 || !reaches(ve, nextGoodSecret, GAP_SECRET)) continue;
    // The nearest chain: its secret word, the `to` after it, the tail after that.
    const secretEnd = matchEnd(SECRET, t, nextGoodSecret[ve - from]!);
    const toEnd = matchEnd(TO, t, nextGoodTo[secretEnd - from]!);
    out.push([v, tailEnd(nextTail[toEnd - from]!)]);
  }
  return out;
}
