/**
 * Markdown links and images (`[x](url)`, `![x](url)`) in linear time, with exactly MD_LINK's
 * global-`exec` matches.
 *
 * MD_LINK run from every `[` re-reads what follows the `](`: its URL may be 2,000 characters and
 * an unclosed `![a](http://x/?q=` repeated puts one start every 17 characters, so a megabyte of
 * them cost ~1.3 s of event loop (a tool result an attacker shapes stalls every caller). Here
 * each `](` is judged once, by hand, from the `(`: the URL runs to the first `[\s)>]` (found
 * with a pointer that only moves forward, since later `](` have later URLs), and what may follow
 * it (`>`, a title, spaces, `)`) is read once per URL end. Only a `](` with a complete tail is
 * handed to the sticky regex, at the leftmost start its `[` allows: it then matches, and matches
 * never overlap, so the regex reads each character a bounded number of times. The regex still
 * decides every match; the hand check only must never turn away a `](` the regex would take.
 *
 * Why the hand check is exact, part by part (MD_LINK in injection-patterns.ts):
 * - `\s*<?https?://`: greedy is the only way, since `<` and `h` are not spaces and `:` is not `s`;
 * - `[^\s)>]{1,2000}` (atomic there): its run ends at a stop character; a run longer than 2,000
 *   leaves a URL character next, which neither `>`, a title (`\s`) nor `\s*\)` can take;
 * - `>?`, then `(?:\s+"[^"\n]{0,200}")?\s*\)`: the title first, else without it, as the
 *   regex's backtracking would try them.
 */
import { isRegExpSpace, MD_LINK, type AddSignal } from './injection-patterns.ts';

export { isRegExpSpace };
import { addLink } from './injection-reference.ts';

const MD_LINK_Y = new RegExp(MD_LINK.source, 'y');
/** MD_LINK's `[^\]\n]{0,200}`, `[^\s)>]{1,2000}` and `[^"\n]{0,200}`. */
const MAX_TEXT = 200;
const MAX_URL = 2000;
const MAX_TITLE = 200;

const isUrlStop = (c: number): boolean => c === 41 || c === 62 || isRegExpSpace(c);

/** Reports every markdown link or image MD_LINK's global loop would, in the same order. */
export function markdownLinks(t: string, add: AddSignal): void {
  const n = t.length;
  /** First URL stop at or after the last URL start looked at (-1: none looked at yet). */
  let stop = -1;
  /** What follows a URL, by where the URL (and its optional `>`) ends: one reading per end. */
  let afterAt = -1;
  let afterEnd = -1;

  const spacesFrom = (i: number): number => {
    while (i < n && isRegExpSpace(t.charCodeAt(i))) i++;
    return i;
  };
  const closeFrom = (i: number): number => {
    const j = spacesFrom(i);
    return t.charCodeAt(j) === 41 ? j + 1 : -1;
  };
  /** `(?:\s+"[^"\n]{0,200}")?\s*\)` from `j`: where the match ends, or -1. */
  const after = (j: number): number => {
    if (j === afterAt) return afterEnd;
    let end = -1;
    const q = spacesFrom(j);
    if (q > j && t.charCodeAt(q) === 34) {
      const limit = Math.min(n, q + 1 + MAX_TITLE);
      let k = q + 1;
      while (k < limit && t.charCodeAt(k) !== 34 && t.charCodeAt(k) !== 10) k++;
      if (t.charCodeAt(k) === 34) end = closeFrom(k + 1);
    }
    if (end < 0) end = closeFrom(j);
    afterAt = j;
    afterEnd = end;
    return end;
  };
  /** Whether what follows the `](` at `q` completes a link. */
  const completes = (q: number): boolean => {
    let i = spacesFrom(q + 2);
    if (t.charCodeAt(i) === 60) i++;
    let body: number;
    if (t.startsWith('https://', i)) body = i + 8;
    else if (t.startsWith('http://', i)) body = i + 7;
    else return false;
    if (stop < body) {
      stop = body;
      while (stop < n && !isUrlStop(t.charCodeAt(stop))) stop++;
    }
    const length = stop - body;
    if (length < 1 || length > MAX_URL) return false;
    return after(t.charCodeAt(stop) === 62 ? stop + 1 : stop) >= 0;
  };

  let resume = 0;
  for (let q = t.indexOf(']('); q >= 0; q = t.indexOf('](', q + 1)) {
    if (q < resume || !completes(q)) continue;
    // The leftmost `[` (or `![`) at or after `resume` whose text reaches this `]`.
    let start = -1;
    for (let k = q - 1; k >= 0 && k >= q - 1 - MAX_TEXT; k--) {
      const c = t.charCodeAt(k);
      if (c === 93 || c === 10) break;
      if (c === 91) {
        if (k - 1 >= resume && t.charCodeAt(k - 1) === 33) start = k - 1;
        else if (k >= resume) start = k;
      }
    }
    if (start < 0) continue;
    MD_LINK_Y.lastIndex = start;
    const m = MD_LINK_Y.exec(t);
    // Always a match (the tail is complete and the head is valid); checked all the same.
    if (m === null) continue;
    resume = start + m[0].length;
    addLink(add, m.index, m[0].length, m[1]!, m[2]!);
  }
}
