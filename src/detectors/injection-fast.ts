/**
 * The fast injection scanner: the same matches as the reference scanner (injection-reference.ts),
 * without running ~17 regexes over the whole text.
 *
 * Every pattern needs a trigger word within a bounded distance of where a match starts: the
 * override rule starts with "ignore" / "disregard" / …, the output directive ends in "your
 * response", a role token holds "system" / "im_start" / …. One pass (injection-tokens.ts) finds
 * the trigger words; each one names the few positions where a match could start (the word
 * itself, word starts in a window before it, the line start before it). The pattern then runs
 * as a sticky regex at just those positions, in increasing order, resuming after each match.
 * That is exactly the global `exec` loop: it reports, from its `lastIndex`, the first position
 * where the pattern matches, and only candidate positions can match. Candidate sets are
 * deliberately generous (a superset is always exact; only a missing position would not be).
 *
 * Case: the reference scanner runs the phrase and code patterns on `t.toLowerCase()`. Here they
 * run on `t` with the `i` flag, which is the same: their literals are lower-case ASCII, a
 * non-unicode `i` regex folds only ASCII onto ASCII, and lower-casing maps each code unit to
 * one code unit of the same kind (ASCII letter to letter, non-ASCII to non-ASCII, space to
 * space), so word boundaries and classes like `[^.\n]` see the same thing. Two code points are
 * exceptions. U+212A (KELVIN SIGN) lower-cases to ASCII `k`: a text with it goes to the reference
 * scanner (NFKC, detectors/normalize.ts, has made it `K` before any scanner sees it anyway).
 * U+0130 (İ) lower-cases to two code units, so the reference scanner reads a text with one in its
 * original case: one `İ` anywhere (any Turkish text, or one character an attacker appends)
 * switched its phrase rules off for upper-case text. Such a text stays here, case-insensitive.
 */
import {
  type AddSignal,
  CODE_DESTROY,
  CODE_SEND,
  CODE_SOURCE,
  HTML_IMG,
  type InjectionScanner,
  PHRASES,
  ROLE_TOKENS,
} from './injection-patterns.ts';
import { addHtmlImage, addRoleToken, addSourceNearSend } from './injection-reference.ts';
import { markdownLinks } from './injection-links.ts';
import { encodedPayloads } from './injection-encoded.ts';
import { exfiltrationMatches } from './injection-exfil.ts';
import { CLS, findWords, fold, isWord, longStretches, SPACE, WordDictionary } from './injection-tokens.ts';

/**
 * Adds the positions where a match containing the trigger word at `t[q, e)` could start.
 * Triggers come in text order; `scanned` is per-call scratch a generator may use to remember
 * how far it has looked (so overlapping windows are not scanned twice).
 */
type Gen = (t: string, q: number, e: number, out: number[], scanned: Int32Array) => void;

const atWord: Gen = (_t, q, _e, out) => {
  out.push(q);
};

function letterMask(letters: string): number {
  let m = 0;
  for (const ch of letters) m |= 1 << (ch.charCodeAt(0) & 31);
  return m;
}

/** Slots in the per-call `scanned` array, one per generator that needs one. */
let scanSlots = 0;

/** Word starts in `[q - far, q - near]` whose first letter is one of `letters`. */
function wordStartsBefore(far: number, near: number, letters: string): Gen {
  const mask = letterMask(letters);
  const slot = scanSlots++;
  return (t, q, _e, out, scanned) => {
    const end = q - near;
    for (let k = Math.max(0, q - far, scanned[slot]! + 1); k <= end; k++) {
      if (!isWord(t.charCodeAt(k)) || (k > 0 && isWord(t.charCodeAt(k - 1)))) continue;
      if (((mask >>> (fold(t, k) & 31)) & 1) !== 0) out.push(k);
    }
    if (end > scanned[slot]!) scanned[slot] = end;
  };
}

/** Runs `gen` only when `gate` (sticky, case-insensitive) matches at the trigger word. */
function gated(gate: RegExp, gen: Gen): Gen {
  return (t, q, e, out, scanned) => {
    gate.lastIndex = q;
    if (gate.test(t)) gen(t, q, e, out, scanned);
  };
}

/**
 * `(?:^|\n)` + a run of `skip` characters before the word: each `\n` in or just before the run,
 * and 0 when the run reaches the start of the text.
 */
function lineStarts(skip: (ch: number) => boolean): Gen {
  return (t, q, _e, out) => {
    let k = q - 1;
    for (; k >= 0 && skip(t.charCodeAt(k)); k--) if (t.charCodeAt(k) === 10) out.push(k);
    if (k < 0) out.push(0);
    else if (t.charCodeAt(k) === 10) out.push(k);
  };
}
const lineStartBlanks = lineStarts((ch) => ch === 32 || ch === 9);
const lineStartSpaces = lineStarts((ch) => (CLS[ch]! & SPACE) !== 0);
/** Role headings: `(?:^|\n)\s*#{2,4}\s*word`. */
const lineStartHeading = lineStarts((ch) => ch === 35 || (CLS[ch]! & SPACE) !== 0);

/** `<word>` or `</word>`. */
const angleTag: Gen = (t, q, _e, out) => {
  if (q >= 1 && t.charCodeAt(q - 1) === 60) out.push(q - 1);
  if (q >= 2 && t.charCodeAt(q - 1) === 47 && t.charCodeAt(q - 2) === 60) out.push(q - 2);
};

/** After one punctuation character: `.ssh`, `/etc/`, `<img`. */
function after(ch: string): Gen {
  const code = ch.charCodeAt(0);
  return (t, q, _e, out) => {
    if (q >= 1 && t.charCodeAt(q - 1) === code) out.push(q - 1);
  };
}

/** Role tokens: `<|w|>`, `[w]`, `[/w]`, `<<w>>`, `<</w>>`, `<w>`, `</w>`, and line-start forms. */
const roleToken: Gen = (t, q, e, out, scanned) => {
  const before = q >= 1 ? t.charCodeAt(q - 1) : 0;
  // < | [ /
  if (before === 60 || before === 124 || before === 91 || before === 47) {
    for (let k = Math.max(0, q - 3); k < q; k++) out.push(k);
  }
  lineStartHeading(t, q, e, out, scanned);
};

const spaced = (words: string): string[] => words.split(' ');

/** Index into RULES of each pattern the fast scanner runs from trigger words. */
const ROLE = PHRASES.length;
const IMG = ROLE + 1;
const DESTROY = IMG + 1;
const SEND = DESTROY + 1;
const SOURCE = SEND + 1;

/** For each pattern, its trigger words and where a match can start relative to them. */
const TRIGGERS: readonly (readonly [string, Gen])[][] = [
  // override: verb … previous … instructions
  [['ignore disregard forget override bypass neglect abandon', atWord]],
  // override: "new instructions:", "from now on, you", "you are now", …
  [
    ['instruction instructions task system directive directives orders', wordStartsBefore(8, 4, 'nurat')],
    ['now', wordStartsBefore(12, 5, 'fyd')],
    ['longer', wordStartsBefore(11, 11, 'y')],
    ['pretend act roleplay developer jailbreak jailbreaked', atWord],
  ],
  // prompt-leak: verb, up to 30 characters, "your|the" + what is leaked
  [['system instructions initial hidden guidelines', wordStartsBefore(45, 8, 'rpsoldt')]],
  // concealment: "do not … tell … user", "the user must not know"
  [['user', wordStartsBefore(70, 4, 'dnwt')]],
  // addressed-to-model
  [['ai ais assistant assistants llm llms language chatbot chatbots model models agent agents', wordStartsBefore(21, 0, 'danmhil')]],
  // output-directive: verb, up to 120 characters, "your response"
  [['your', gated(/your (?:response|reply|answer|message|output|summary|explanation|elucidation|next message|final answer)/iy, wordStartsBefore(135, 2, 'abcdefghijklmnopqrstuvwxyz'))]],
  // output-directive: "your response should", "in your reply, "
  [['your', gated(/your (?:response|reply|answer|output)/iy, wordStartsBefore(3, 0, 'yi'))]],
  // code-directive: "into the core of your codebase", "your solution could flourish"
  [['your', gated(/your (?:code|codebase|solution|implementation|algorithm|program|script)/iy, wordStartsBefore(30, 0, 'itwoy'))]],
  // code-injection: "the following code snippet"
  [['code', gated(/code (?:block|snippet|excerpt|section|segment|fragment)/iy, wordStartsBefore(16, 5, 'tfsbg'))]],
  // task-request: a whole line that is a request
  [['what who how why which can could would explain describe draft compose translate summarise summarize outline break tell give write provide', lineStartBlanks]],
  // exfiltration
  [['send post upload forward transmit exfiltrate leak email submit', atWord]],
  // urgency
  [
    ['important urgent attention warning critical', lineStartSpaces],
    ['important', angleTag],
  ],
  // ROLE
  [['im_start im_end system user assistant endoftext begin_of_text end_of_text start_header_id end_header_id eot_id eom_id inst sys start_of_turn end_of_turn instruction instructions human system_prompt admin', roleToken]],
  // IMG
  [['img', after('<')]],
  // DESTROY
  [['rm dd os systemctl rc exec miner chmod mkfs', atWord]],
  // SEND
  [['requests urllib urlopen http httpx socket smtplib ftplib paramiko publish aiohttp urlretrieve fetch curl wget yagmail bluetooth', atWord]],
  // SOURCE (plus `cookie…` and `…process.env`, which need not be whole words: see sourceCandidates)
  [
    ['os psutil getpass subprocess usb driverquery sounddevice shutil contacts csv document localstorage', atWord],
    ['ssh', after('.')],
    ['etc', after('/')],
  ],
];

const words: string[] = [];
/** Per dictionary word: the [pattern index, generator] pairs it triggers. */
const uses: [number, Gen][][] = [];
TRIGGERS.forEach((list, rule) => {
  for (const [ws, gen] of list) {
    for (const w of spaced(ws)) {
      let id = words.indexOf(w);
      if (id < 0) {
        id = words.push(w) - 1;
        uses.push([]);
      }
      uses[id]!.push([rule, gen]);
    }
  }
});
const DICT = new WordDictionary(words);

const sticky = (re: RegExp, extra = ''): RegExp => new RegExp(re.source, re.flags.replace('g', '') + extra + 'y');
/** Phrase and code patterns, case-insensitive on the text instead of run on its lower-case copy. */
const PHRASES_I = PHRASES.map((p) => sticky(p.re, 'i'));
/** The exfiltration rule's candidates are narrowed to where it matches first (injection-exfil.ts). */
const EXFILTRATION = PHRASES.findIndex((p) => p.type === 'exfiltration');
const [DESTROY_I, SEND_I, SOURCE_I] = [CODE_DESTROY, CODE_SEND, CODE_SOURCE].map((re) => sticky(re, 'i'));
const ROLE_Y = sticky(ROLE_TOKENS);
const HTML_IMG_Y = sticky(HTML_IMG);
/** CODE_SOURCE's `\bcookie` and `process\.env` need not start a word: searched for directly. */
const SOURCE_FRAGMENTS = /cookie|process\.env/gi;

/**
 * Runs sticky `re` on `s` at each candidate in increasing order, resuming after each match, as
 * a global `exec` loop would. `onMatch` returns false to stop.
 */
function runAt(cands: number[], re: RegExp, s: string, onMatch: (m: RegExpExecArray) => boolean): void {
  if (cands.length > 1) cands.sort((x, y) => x - y);
  let resume = 0;
  for (const p of cands) {
    if (p < resume) continue;
    re.lastIndex = p;
    const m = re.exec(s);
    if (m === null) {
      resume = p + 1;
      continue;
    }
    resume = p + m[0].length;
    if (!onMatch(m)) return;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Returns undefined when the reference scanner must run instead. */
export function fastScanner(t: string): InjectionScanner | undefined {
  // The word pass reads UTF-16 code units through a Uint16Array (host byte order): on a
  // big-endian host it would find no trigger word, so the reference scanner runs there instead.
  if (!LITTLE_ENDIAN || t.includes('\u212a')) return undefined;
  const cands: number[][] = TRIGGERS.map(() => []);
  const scanned = new Int32Array(scanSlots).fill(-1);
  const { ids, starts, ends } = findWords(t, DICT);
  for (let h = 0; h < ids.length; h++) {
    for (const [rule, gen] of uses[ids[h]!]!) gen(t, starts[h]!, ends[h]!, cands[rule]!, scanned);
  }
  return {
    phrasesAndRoles(add) {
      PHRASES.forEach((p, r) => {
        if (r === EXFILTRATION) {
          for (const [s, e] of exfiltrationMatches(t, cands[r]!)) add(p.type, s, e, p.weight);
          return;
        }
        runAt(cands[r]!, PHRASES_I[r]!, t, (m) => {
          add(p.type, m.index, m.index + m[0].length, p.weight);
          return true;
        });
      });
      runAt(cands[ROLE]!, ROLE_Y, t, (m) => {
        addRoleToken(add, m.index, m[0]);
        return true;
      });
    },
    links(add) {
      markdownLinks(t, add);
      runAt(cands[IMG]!, HTML_IMG_Y, t, (m) => {
        addHtmlImage(add, m.index, m[0].length, m[1]!);
        return true;
      });
    },
    dangerousCode(add) {
      runAt(cands[DESTROY]!, DESTROY_I!, t, (m) => {
        add('dangerous-code', m.index, m.index + m[0].length, 0.55);
        return false;
      });
      const sends: number[] = [];
      runAt(cands[SEND]!, SEND_I!, t, (m) => sends.push(m.index) < 256);
      if (sends.length === 0) return;
      const sources = cands[SOURCE]!;
      SOURCE_FRAGMENTS.lastIndex = 0;
      for (let m = SOURCE_FRAGMENTS.exec(t); m !== null; m = SOURCE_FRAGMENTS.exec(t)) sources.push(m.index);
      runAt(sources, SOURCE_I!, t, (m) => !addSourceNearSend(add, sends, m.index, m[0].length));
    },
    encodedPayloads: (add: AddSignal) => encodedPayloads(t, longStretches(t), add),
  };
}
