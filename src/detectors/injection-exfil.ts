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
 * is one comparison against the next good position and the next break. Only the verbs that pass
 * are handed to the regex, which then matches: the same matches, without the search.
 */

const VERB = /\b(?:send|post|upload|forward|transmit|exfiltrate|leak|email|submit)\b/iy;
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

/** JavaScript's `\s`. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

const matchEnd = (re: RegExp, t: string, at: number): number => {
  re.lastIndex = at;
  return re.test(t) ? re.lastIndex : -1;
};

/** The candidate verb positions from which the exfiltration rule matches (the others dropped). */
export function exfiltrationStarts(t: string, candidates: readonly number[]): number[] {
  if (candidates.length === 0) return [];
  const n = t.length;
  const NONE = n + GAP_SECRET + GAP_TO + GAP_TAIL + 1;
  // Next `.` or line break at or after p: a gap [a, b) is clean when nextBreak[a] >= b.
  const nextBreak = new Int32Array(n + 1);
  // Next space or `@` at or after p: where a run of [^\s@] starting at p ends.
  const nextStop = new Int32Array(n + 1);
  nextBreak[n] = n;
  nextStop[n] = n;
  for (let p = n - 1; p >= 0; p--) {
    const c = t.charCodeAt(p);
    nextBreak[p] = c === 46 || c === 10 ? p : nextBreak[p + 1]!;
    nextStop[p] = c === 64 || isSpace(c) ? p : nextStop[p + 1]!;
  }
  const tailAt = (p: number): boolean => {
    const r = nextStop[p]!;
    if (r > p && r - p <= LOCAL_MAX && r + 1 < n && t.charCodeAt(r) === 64) {
      const after = t.charCodeAt(r + 1);
      if (after !== 64 && !isSpace(after)) return true;
    }
    const c = t.charCodeAt(p) | 0x20;
    return (c === 104 || c === 119) && matchEnd(TAIL_WORD, t, p) >= 0;
  };
  // Right to left: the nearest good position at or after p, for each link of the chain.
  const nextTail = new Int32Array(n + 1).fill(NONE);
  const nextGoodTo = new Int32Array(n + 1).fill(NONE);
  const nextGoodSecret = new Int32Array(n + 1).fill(NONE);
  /** Whether a link starting at `start`, ending at `end`, has its next link within `gap` (`next`). */
  const reaches = (end: number, next: Int32Array, gap: number): boolean => {
    const q = next[end]!;
    return q <= end + gap && nextBreak[end]! >= q;
  };
  for (let p = n - 1; p >= 0; p--) {
    nextTail[p] = tailAt(p) ? p : nextTail[p + 1]!;
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
    nextGoodTo[p] = goodTo ? p : nextGoodTo[p + 1]!;
    nextGoodSecret[p] = goodSecret ? p : nextGoodSecret[p + 1]!;
  }
  return candidates.filter((v) => {
    const e = matchEnd(VERB, t, v);
    return e >= 0 && reaches(e, nextGoodSecret, GAP_SECRET);
  });
}
