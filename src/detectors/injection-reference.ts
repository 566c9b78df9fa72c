/**
 * The reference scanner: every pattern run over the whole text with a global `exec` loop. This is
 * the definition of what the injection scorer reports; the fast scanner (injection-fast.ts) must
 * report exactly the same, with one deliberate exception: a text holding U+0130 (İ), which this
 * scanner reads in its original case (lower-casing would change its length) and the fast one
 * case-insensitively, as it reads every other text. The scorer falls back to this one only for a
 * text with U+212A, which NFKC (normalize.ts) removes before any scanner runs.
 */
import {
  type AddSignal,
  BASE64_RUN,
  CODE_DESTROY,
  CODE_SEND,
  CODE_SOURCE,
  decodeBase64Run,
  HEX_RUN,
  HTML_IMG,
  type InjectionScanner,
  MAX_DECODED_CHARS,
  MD_LINK,
  payloadWeight,
  PHRASES,
  ROLE_TOKENS,
  urlCarriesData,
} from './injection-patterns.ts';
import { exfiltrationMatches, verbsIn } from './injection-exfil.ts';

export function referenceScanner(t: string): InjectionScanner {
  const lower = t.toLowerCase();
  // toLowerCase keeps lengths for the scripts that matter here; if it doesn't, match on `t`.
  const hay = lower.length === t.length ? lower : t;
  return {
    phrasesAndRoles(add) {
      for (const p of PHRASES) {
        if (p.type === 'exfiltration') {
          // Decided without the regex's search (injection-exfil.ts), from every verb.
          for (const [s, e] of exfiltrationMatches(t, verbsIn(t))) add(p.type, s, e, p.weight);
          continue;
        }
        p.re.lastIndex = 0;
        for (let m = p.re.exec(hay); m !== null; m = p.re.exec(hay)) add(p.type, m.index, m.index + m[0].length, p.weight);
      }
      ROLE_TOKENS.lastIndex = 0;
      for (let m = ROLE_TOKENS.exec(t); m !== null; m = ROLE_TOKENS.exec(t)) addRoleToken(add, m.index, m[0]);
    },
    links(add) {
      MD_LINK.lastIndex = 0;
      for (let m = MD_LINK.exec(t); m !== null; m = MD_LINK.exec(t)) addLink(add, m.index, m[0].length, m[1]!, m[2]!);
      htmlImages(t, add);
    },
    dangerousCode: (add) => dangerousCode(hay, add),
    encodedPayloads: (add) => encodedPayloads(t, add),
  };
}

/** HTML_IMG's global loop (bounded: a 300-character gap per `<img`). */
export function htmlImages(t: string, add: AddSignal): void {
  HTML_IMG.lastIndex = 0;
  for (let m = HTML_IMG.exec(t); m !== null; m = HTML_IMG.exec(t)) addHtmlImage(add, m.index, m[0].length, m[1]!);
}

export function addRoleToken(add: AddSignal, at: number, token: string): void {
  const chatml = token.startsWith('<|') || token.includes('INST') || token.includes('SYS>>');
  add('role-token', at, at + token.length, chatml ? 0.9 : 0.7);
}

export function addLink(add: AddSignal, at: number, length: number, bang: string, url: string): void {
  const w = urlCarriesData(url);
  if (w > 0) add(bang === '!' ? 'image-exfiltration' : 'link-exfiltration', at, at + length, bang === '!' ? w : w * 0.7);
}

export function addHtmlImage(add: AddSignal, at: number, length: number, url: string): void {
  const w = urlCarriesData(url);
  if (w > 0) add('image-exfiltration', at, at + length, w);
}

/** Code that collects something sensitive and sends it out, or destroys / hijacks the host. */
function dangerousCode(t: string, add: AddSignal): void {
  CODE_DESTROY.lastIndex = 0;
  const d = CODE_DESTROY.exec(t);
  if (d) add('dangerous-code', d.index, d.index + d[0].length, 0.55);
  // Collect-then-send within one code-sized window.
  CODE_SEND.lastIndex = 0;
  const sends: number[] = [];
  for (let m = CODE_SEND.exec(t); m !== null && sends.length < 256; m = CODE_SEND.exec(t)) sends.push(m.index);
  if (sends.length === 0) return;
  CODE_SOURCE.lastIndex = 0;
  for (let m = CODE_SOURCE.exec(t); m !== null; m = CODE_SOURCE.exec(t)) {
    if (addSourceNearSend(add, sends, m.index, m[0].length)) return;
  }
}

/** Reports a sensitive source within 600 characters of a send; true when it did. */
export function addSourceNearSend(add: AddSignal, sends: readonly number[], at: number, length: number): boolean {
  const near = sends.find((x) => Math.abs(x - at) <= 600);
  if (near === undefined) return false;
  add('dangerous-code', Math.min(near, at), Math.max(near, at) + length, 0.55);
  return true;
}

function encodedPayloads(t: string, add: AddSignal): void {
  // Decoding is linear in what is decoded, so the budget counts characters, not runs: a count
  // let a text padded with harmless base64 runs push a payload past it.
  let budget = MAX_DECODED_CHARS;
  BASE64_RUN.lastIndex = 0;
  for (let m = BASE64_RUN.exec(t); m !== null && budget > 0; m = BASE64_RUN.exec(t)) {
    budget -= m[0].length;
    const w = payloadWeight(decodeBase64Run(m[0]));
    if (w > 0) add('encoded-payload', m.index, m.index + m[0].length, w);
  }
  HEX_RUN.lastIndex = 0;
  for (let m = HEX_RUN.exec(t); m !== null && budget > 0; m = HEX_RUN.exec(t)) {
    budget -= m[0].length;
    const w = payloadWeight(Buffer.from(m[0], 'hex'));
    if (w > 0) add('encoded-payload', m.index, m.index + m[0].length, w);
  }
}
