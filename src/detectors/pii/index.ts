/**
 * Personal data: e-mail, phone numbers, payment cards, IBAN, national identifiers (US SSN, UK
 * NINO, Canadian SIN, German tax id, French NIR, Spanish DNI/NIE, Italian codice fiscale, Dutch
 * BSN, Indian Aadhaar) and IP addresses.
 *
 * Digit-shaped identifiers share one candidate pattern ("a digit, then digits and separators,
 * then a digit") and are told apart by length, grouping, checksum and context words, so a 9-digit
 * group is tried as SSN, SIN and BSN once instead of by three overlapping regexes. Every pattern
 * has bounded quantifiers (linear; see `linear.ts`), and e-mail is found from each `@` with
 * bounded scans left and right.
 */
import { assertLinear } from '../linear.ts';
import { unrollForSearch } from '../unroll.ts';
import type { RawMatch } from '../engine.ts';
import type { Severity } from '../types.ts';
import type { Positions, TrigramTrigger } from '../prefilter.ts';
import { contextOf, score, type PiiType } from './context.ts';
import {
  aadhaarValid, bsnValid, cardValid, codiceFiscaleValid, dniValid, ibanLength, ibanValid, ipv4Octets, ipv6Valid,
  nieValid, ninoValid, nirValid, sinValid, ssnValid, steuerIdValid,
} from './validators.ts';
import { digitWindows, IBAN_SPAN } from './digits.ts';
import { any, each, isAlnum, type Windows } from './windows.ts';
import { codeAt } from '../code-at.ts';

export const PII_SEVERITY: Record<PiiType, Severity> = {
  'email': 'medium', 'phone-number': 'medium', 'credit-card': 'high', 'iban': 'high', 'us-ssn': 'high',
  'uk-nino': 'high', 'ca-sin': 'high', 'de-tax-id': 'high', 'fr-nir': 'high', 'es-dni': 'high', 'es-nie': 'high',
  'it-fiscal-code': 'high', 'nl-bsn': 'high', 'in-aadhaar': 'high', 'ipv4': 'low', 'ipv6': 'low',
};
export const PII_TYPES = Object.keys(PII_SEVERITY) as PiiType[];

interface Candidate {
  type: PiiType;
  start: number;
  end: number;
  confidence: number;
}

/**
 * The PII patterns, named for the ReDoS test. The digit-shaped ones and IBAN run only where
 * `digitWindows` (./digits.ts) says they can match: a change to their shape must keep its
 * reasoning true (pii.test.ts compares with the whole-text scan).
 */
export const PII_PATTERNS = {
  number: String.raw`\+?\(?[0-9][0-9 ().\-]{5,24}[0-9]`,
  ipv4: String.raw`[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`,
  // Starts at the first ':' (rarer than hex letters, so the engine skips ahead natively); the up
  // to 4 hex digits before it are added by hand. The same matches as `:[0-9A-Fa-f:]{2,38}`
  // except those without a second ':' within 5 characters, which can never be a valid address
  // (one colon, or a group of 5+ hex digits): JSON and times (`"id":7`, `12:04`) are full of
  // those, and each cost a validation (~3 ms per 4 MB of the bench text).
  ipv6: String.raw`:(?:[0-9A-Fa-f]:[0-9A-Fa-f:]{0,36}|[0-9A-Fa-f]{2}:[0-9A-Fa-f:]{0,35}|[0-9A-Fa-f]{3}:[0-9A-Fa-f:]{0,34}|[0-9A-Fa-f]{4}:[0-9A-Fa-f:]{0,33}|:[0-9A-Fa-f:]{1,37})`,
  iban: String.raw`[A-Za-z]{2}[0-9]{2}[A-Za-z0-9 ]{11,45}`,
  nino: String.raw`[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]`,
  dni: String.raw`[0-9]{8}-?[A-Z]`,
  nie: String.raw`[XYZ]-?[0-9]{7}-?[A-Z]`,
  fiscal: String.raw`[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]`,
  nirCorsica: String.raw`[12] ?[0-9]{2} ?[0-9]{2} ?2[AB] ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}`,
} as const;

const SHAPES = Object.fromEntries(Object.entries(PII_PATTERNS).map(([k, p]) => [k, assertLinear(p, '', `pii-${k}`)]));
const RE = Object.fromEntries(Object.entries(PII_PATTERNS).map(([k, p]) => [k, new RegExp(unrollForSearch(p), 'g')])) as Record<keyof typeof PII_PATTERNS, RegExp>;

if (SHAPES['iban']!.maxLength > IBAN_SPAN) throw new Error('pii: IBAN windows (digits.ts) are shorter than the IBAN pattern');

/** Longest PII match (an e-mail address: 64 + 1 + 253). */
export const PII_MAX_LENGTH = Math.max(318, ...Object.values(SHAPES).map((s) => s.maxLength));
/**
 * Shortest PII finding (a shorter text holds none: ../index.ts skips it): the patterns', an
 * e-mail's (`a@b.cd`, see `emails`) and an IPv6 address's (checked in `ipv6`: its pattern alone
 * matches `::1`).
 */
const EMAIL_MIN_LENGTH = 6;
const IPV6_MIN_LENGTH = 6;
export const PII_MIN_LENGTH = Math.min(EMAIL_MIN_LENGTH, IPV6_MIN_LENGTH, ...Object.entries(SHAPES).filter(([k]) => k !== 'ipv6').map(([, s]) => s.minLength));

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

// ---------- e-mail ----------

const LOCAL = new Uint8Array(128);
const DOMAIN = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alnum = isAlnum(c);
  LOCAL[c] = alnum || '._%+-\''.includes(String.fromCharCode(c)) ? 1 : 0;
  DOMAIN[c] = alnum || c === 46 || c === 45 ? 1 : 0;
}
/** `table[c] === 1` for a 128-entry table, false for non-ASCII (no read past the table). */
function inTable(table: Uint8Array, c: number): boolean {
  return c < 128 && table[c] === 1;
}

const FILE_EXT = /^(?:png|jpe?g|gif|svg|webp|ico|js|mjs|cjs|ts|tsx|jsx|css|scss|json|map|md|html?|txt|lock|ya?ml|xml|zip|gz|tgz)$/;

function emails(text: string, out: Candidate[]): void {
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let s = at;
    while (s > 0 && at - s < 64 && inTable(LOCAL, text.charCodeAt(s - 1))) s--;
    while (s < at && text[s] === '.') s++;
    let e = at + 1;
    while (e < text.length && e - at <= 253 && inTable(DOMAIN, text.charCodeAt(e))) e++;
    while (e > at + 1 && (text[e - 1] === '.' || text[e - 1] === '-')) e--;
    if (s === at || e <= at + 1) continue;
    const domain = text.slice(at + 1, e);
    const labels = domain.split('.');
    const tld = labels[labels.length - 1]!;
    if (labels.length < 2 || labels.some((l) => l.length === 0 || l.length > 63 || l.startsWith('-'))) continue;
    if (!/^[A-Za-z]{2,24}$/.test(tld) || FILE_EXT.test(tld.toLowerCase())) continue;
    const ctx = contextOf(text, s, e, 'email');
    const docs = /^(?:example\.(?:com|org|net)|test|invalid|localhost)$/i.test(domain) || /\.(?:example|test|invalid)$/i.test(domain);
    out.push({ type: 'email', start: s, end: e, confidence: score(docs ? 0.45 : 0.9, 0.95, ctx) });
  }
}

// ---------- digit-shaped identifiers ----------

interface Shape {
  digits: string;
  groups: number[];
  seps: string;
  plus: boolean;
  parens: boolean;
}

function shapeOf(s: string): Shape | undefined {
  const plus = s.startsWith('+');
  const body = plus ? s.slice(1) : s;
  let digits = '';
  const groups: number[] = [];
  let seps = '';
  let run = 0;
  let open = 0;
  let parens = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c >= '0' && c <= '9') {
      digits += c;
      run++;
      continue;
    }
    if (run > 0) groups.push(run);
    run = 0;
    if (c === '(') { open++; parens = true; } else if (c === ')') { if (--open < 0) return undefined; }
    const prev = body[i - 1];
    // Two separators in a row only as ") " / ")-" (after an area code in parentheses).
    if (prev !== undefined && !(prev >= '0' && prev <= '9') && !(prev === ')' && c !== ')') && !(c === '(' && prev === ' ')) return undefined;
    if (c !== '(' && c !== ')') seps += c;
  }
  if (run > 0) groups.push(run);
  if (open !== 0) return undefined;
  return { digits, groups, seps, plus, parens };
}

const same = (g: number[], want: number[]): boolean => g.length === want.length && g.every((x, i) => x === want[i]);
const oneSep = (s: string): boolean => s.length > 0 && [...s].every((c) => c === s[0]);

function classifyNumber(text: string, start: number, end: number): Candidate | undefined {
  const raw = text.slice(start, end);
  const sh = shapeOf(raw);
  if (!sh) return undefined;
  const { digits: d, groups: g, seps } = sh;
  const bare = g.length === 1;
  const uniform = bare || (oneSep(seps) && (seps[0] === ' ' || seps[0] === '-'));
  const best: Candidate[] = [];
  const add = (type: PiiType, base: number, withCtx: number): void => {
    best.push({ type, start, end, confidence: score(base, withCtx, contextOf(text, start, end, type)) });
  };
  // Dates, times, decimals and dotted versions are not identifiers.
  if (/^[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}$|^[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4}$/.test(raw)) return undefined;
  if (seps.includes('.') && seps.replace(/\./g, '').length === 0 && g.length === 4 && g.every((x) => x <= 3)) return undefined;
  if (!sh.plus && !sh.parens && uniform && d.length >= 12 && d.length <= 19 && cardValid(d)) {
    // Groups of four with a shorter last group (4-4-4-4, 4-4-4-1, 4-4-4-4-3), or Amex 4-6-5.
    const fours = g.slice(0, -1).every((x) => x === 4) && g[g.length - 1]! <= 4;
    const grouped = bare || fours || same(g, [4, 6, 5]) || same(g, [4, 6, 4]);
    if (grouped) add('credit-card', 0.85, 0.95);
  }
  if (!sh.plus && !sh.parens && uniform) {
    if (d.length === 9) {
      if ((same(g, [3, 2, 4]) || bare) && ssnValid(d)) add('us-ssn', bare ? 0.3 : 0.75, 0.95);
      if ((same(g, [3, 3, 3]) || bare) && sinValid(d)) add('ca-sin', 0.35, 0.9);
      if ((bare || same(g, [4, 2, 3])) && bsnValid(d)) add('nl-bsn', 0.3, 0.9);
    }
    if (d.length === 12 && (bare || same(g, [4, 4, 4])) && aadhaarValid(d)) add('in-aadhaar', bare ? 0.35 : 0.6, 0.92);
    if (d.length === 11 && (bare || same(g, [2, 3, 3, 3])) && steuerIdValid(d)) add('de-tax-id', 0.45, 0.92);
    if (d.length === 15 && (bare || same(g, [1, 2, 2, 2, 3, 3, 2])) && nirValid(d)) add('fr-nir', 0.8, 0.95);
  }
  const phone = phoneConfidence(sh, raw);
  if (phone > 0) add('phone-number', phone, Math.max(phone, 0.85));
  if (best.length === 0) return undefined;
  return best.reduce((a, b) => (b.confidence > a.confidence ? b : a));
}

/**
 * Phone numbers (ITU-T E.164 max 15 digits). International `+cc …` and North American
 * `(NPA) NXX-XXXX` layouts are distinctive; other grouped national layouts need context words;
 * a bare digit run is not reported without them.
 */
function phoneConfidence(sh: Shape, raw: string): number {
  const n = sh.digits.length;
  if (n < 7 || n > 15) return 0;
  if (sh.plus) return n >= 8 ? 0.85 : 0;
  if (/^\(?[2-9][0-9]{2}\)?[ .-]?[2-9][0-9]{2}[ .-][0-9]{4}$/.test(raw) || /^1[ .-]\(?[2-9][0-9]{2}\)?[ .-][2-9][0-9]{2}[ .-][0-9]{4}$/.test(raw)) return 0.8;
  if (sh.groups.length === 1) return 0.25;
  if (sh.parens || sh.groups.every((x) => x >= 2)) return sh.groups.length >= 2 && sh.groups[0]! <= 5 ? 0.45 : 0.3;
  return 0.3;
}

// ---------- scan ----------

const HEX_COLON = '0123456789abcdefABCDEF:';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** `[0-9LMNPQRSTUV]`: a digit of a codice fiscale, or the letter that replaces it (omocodia). */
const FISCAL_DIGIT = '0123456789LMNPQRSTUV';
const isUpper = (ch: string): boolean => UPPER.includes(ch);
const isFiscalDigit = (ch: string): boolean => FISCAL_DIGIT.includes(ch);
function* trigrams(alphabet: string, keep: (t: string) => boolean): Generator<string> {
  for (const a of alphabet) for (const b of alphabet) for (const c of alphabet) if (keep(a + b + c)) yield a + b + c;
}

/**
 * Shapes the keyword prefilter's pass reports for PII (`KeywordScanner` triggers) when it runs
 * anyway for secrets or markers, so these two patterns need no whole-text pass of their own
 * (~2 ms each per 4 MB of the bench text):
 * 0. Trigrams of hex digits and colons with a colon. A reportable address has 4 such characters
 *    around its first colon (the hex digit before it, or the `::` it starts with), so one of them
 *    is reported at an even offset within 1 of that colon.
 * 1. Where a codice fiscale's 6 letters meet its first digits (characters 4–6 `[A-Z]{2}D` or
 *    5–7 `[A-Z]DD`, D = `[0-9LMNPQRSTUV]`): one of them is at an even offset, so one is reported
 *    at its start + 4 or + 5. Fewer offsets than any trigram of its 6 letters (upper-case
 *    trigrams are common in code: 14.3 K on the real text of eval/benign.ts, these 7.8 K).
 */
export const PII_TRIGGERS: readonly TrigramTrigger[] = [
  { trigrams: [...trigrams(HEX_COLON, (t) => t.includes(':'))] },
  {
    trigrams: [...trigrams(UPPER + '0123456789', (t) => isUpper(t[0]!) && isFiscalDigit(t[2]!) && (isUpper(t[1]!) || isFiscalDigit(t[1]!)))],
  },
];

/**
 * `triggered`: the positions of `PII_TRIGGERS` found in this same text (from `RuleSet.scan`);
 * without them, the IPv6 and fiscal-code patterns scan the whole text. `wholeText` runs every
 * pattern over the whole text (the reference the windowed scans are tested against).
 */
export function scanPii(text: string, out: RawMatch[] = [], triggered?: readonly Positions[], wholeText = false): RawMatch[] {
  const found: Candidate[] = [];
  emails(text, found);
  // Cheap gate: nothing below runs on text without digits.
  if (/[0-9]/.test(text)) {
    const dw = wholeText ? undefined : digitWindows(text);
    if (any(dw?.number)) each(RE.number, text, (s, v) => {
      const c = classifyNumber(text, s, s + v.length);
      if (c) found.push(c);
    }, isAlnum, dw?.number);
    if (any(dw?.ipv4)) each(RE.ipv4, text, (s, v) => {
      const o = ipv4Octets(v);
      if (!o || o.every((x) => x === 0) || o.every((x) => x === 255)) return;
      const priv = o[0] === 10 || o[0] === 127 || (o[0] === 192 && o[1] === 168) || (o[0] === 172 && o[1]! >= 16 && o[1]! <= 31);
      found.push({ type: 'ipv4', start: s, end: s + v.length, confidence: score(priv ? 0.5 : 0.75, 0.9, contextOf(text, s, s + v.length, 'ipv4')) });
    }, (c) => isAlnum(c) || c === 46, dw?.ipv4);
    if (any(dw?.iban)) each(RE.iban, text, (s, v) => {
      const c = classifyIban(text, s, v);
      if (c) found.push(c);
      return c ? c.end : s + 1;
    }, () => false, dw?.iban);
    if (any(dw?.nino)) each(RE.nino, text, (s, v) => push(found, text, s, v, 'uk-nino', ninoValid(v.replace(/ /g, '')), 0.65, 0.92), isAlnum, dw?.nino);
    if (any(dw?.dni)) each(RE.dni, text, (s, v) => push(found, text, s, v, 'es-dni', dniValid(v.replace('-', '')), 0.7, 0.93), isAlnum, dw?.dni);
    if (any(dw?.nie)) each(RE.nie, text, (s, v) => push(found, text, s, v, 'es-nie', nieValid(v.replace(/-/g, '')), 0.75, 0.93), isAlnum, dw?.nie);
    const fiscal = wholeText || triggered?.[1] === undefined ? undefined : fiscalWindows(text, triggered[1]);
    if (any(fiscal)) each(RE.fiscal, text, (s, v) => push(found, text, s, v, 'it-fiscal-code', codiceFiscaleValid(v), 0.85, 0.95), isAlnum, fiscal);
    // A Corsican NIR has `2A` or `2B` (department code): without windows, indexOf rules most
    // texts out natively. Its digits before and after the letter are two runs of the digit
    // windows, merged (see digits.ts), and the windows cost less than the two indexOf passes.
    if (dw !== undefined || text.includes('2A') || text.includes('2B')) {
      if (any(dw?.digits)) each(RE.nirCorsica, text, (s, v) => push(found, text, s, v, 'fr-nir', nirValid(v.replace(/ /g, '')), 0.8, 0.95), isAlnum, dw?.digits);
    }
  }
  if (text.includes(':')) ipv6(text, found, wholeText ? undefined : triggered?.[0] && ipv6Windows(text, triggered[0]));
  for (const c of found) out.push({ detector: 'pii', type: c.type, start: c.start, end: c.end, confidence: c.confidence, severity: PII_SEVERITY[c.type] });
  return out;
}

/** Per character of `PII_PATTERNS.fiscal`: 1 = [A-Z], 2 = [0-9LMNPQRSTUV], 4 = [ABCDEHLMPRST]. */
const FISCAL_SHAPE = [1, 1, 1, 1, 1, 1, 2, 2, 4, 2, 2, 1, 2, 2, 2, 1];
const FISCAL_CLASS = new Uint8Array(128);
for (let c = 65; c <= 90; c++) FISCAL_CLASS[c] = 1;
for (const ch of '0123456789LMNPQRSTUV') FISCAL_CLASS[ch.charCodeAt(0)]! |= 2;
for (const ch of 'ABCDEHLMPRST') FISCAL_CLASS[ch.charCodeAt(0)]! |= 4;

/** FISCAL_CLASS of the character at `i`; 0 outside the text or for non-ASCII. */
function fiscalClass(text: string, i: number): number {
  const c = codeAt(text, i);
  return c >= 0 && c < 128 ? FISCAL_CLASS[c]! : 0;
}

/**
 * Windows `[p, p + 16)` exactly where the fiscal-code pattern matches: a match at `p` is reported
 * (trigger 1 of `PII_TRIGGERS`) at `p + 4` or `p + 5`, so `p` is 4 or 5 before a trigger.
 */
function fiscalWindows(text: string, up: Positions): number[] {
  const out: number[] = [];
  let last = -1;
  for (let i = 0; i < up.count; i++) {
    const e = up.at[i]!;
    for (let p = Math.max(e - 5, last + 1); p <= e - 4; p++) {
      // Most upper-case runs (constants, acronyms) fail at the 7th or the 16th character: test
      // those first (the PII scan of the 3.2 MB of eval/benign.ts: 5.7 → 5.0 ms).
      if ((fiscalClass(text, p + 6) & 2) === 0 || (fiscalClass(text, p + 15) & 1) === 0) continue;
      let k = 0;
      while (k < 16 && (fiscalClass(text, p + k) & FISCAL_SHAPE[k]!) !== 0) k++;
      if (k === 16) addWindow(out, p, p + 16);
    }
    last = e - 4;
  }
  return out;
}

/**
 * Windows `[c, c + 39)` from each colon `c` followed by up to 4 hex digits and another colon,
 * which the IPv6 pattern needs. An address that can be reported has its first colon within 1 of
 * a trigger (see `PII_TRIGGERS`); most triggers are times (`12:04`) and fail this check.
 */
function ipv6Windows(text: string, pos: Positions): number[] {
  const out: number[] = [];
  let last = -1;
  for (let i = 0; i < pos.count; i++) {
    const e = pos.at[i]!;
    for (let c = Math.max(e - 1, last + 1); c <= e + 1; c++) {
      if (text.charCodeAt(c) !== 58) continue;
      let j = c + 1;
      while (j <= c + 5 && isHex(codeAt(text, j))) j++;
      if (j <= c + 5 && codeAt(text, j) === 58) addWindow(out, c, Math.min(text.length, c + 39));
    }
    last = e + 1;
  }
  return out;
}

function addWindow(out: number[], s: number, e: number): void {
  if (out.length > 0 && s <= out[out.length - 1]!) out[out.length - 1] = Math.max(out[out.length - 1]!, e);
  else out.push(s, e);
}

/**
 * IPv6 over the whole text, or over `windows` (see `ipv6Windows`). Only matches that could be
 * reported need to be inside windows: one is reported only from the first colon of its run of hex
 * digits and colons, so no earlier match (skipped or not) can overlap it, and every scan reaches it
 * the same way.
 */
function ipv6(text: string, found: Candidate[], windows: Windows | undefined): void {
  const re = RE.ipv6;
  const count = windows === undefined ? 1 : windows.length / 2;
  let next = 0;
  for (let w = 0; w < count; w++) {
    const ws = windows === undefined ? 0 : windows[2 * w]!;
    const slice = windows === undefined ? text : text.slice(ws, windows[2 * w + 1]);
    if (next - ws >= slice.length) continue;
    re.lastIndex = Math.max(0, next - ws);
    for (let m = re.exec(slice); m !== null; m = re.exec(slice)) {
      next = ws + re.lastIndex;
      let s = ws + m.index;
      const e = s + m[0].length;
      const colon = s;
      while (s > colon - 4 && isHex(text.charCodeAt(s - 1))) s--;
      const before = codeAt(text, s - 1);
      if (isAlnum(before) || before === 58 || isAlnum(codeAt(text, e))) continue;
      const v = text.slice(s, e);
      if (!ipv6Valid(v) || v.length < IPV6_MIN_LENGTH || v.replace(/:/g, '').length < 4) continue;
      found.push({ type: 'ipv6', start: s, end: e, confidence: score(0.7, 0.9, contextOf(text, s, e, 'ipv6')) });
    }
  }
}

function push(found: Candidate[], text: string, s: number, v: string, type: PiiType, ok: boolean, base: number, withCtx: number): void {
  if (!ok) return;
  const e = s + v.length;
  found.push({ type, start: s, end: e, confidence: score(base, withCtx, contextOf(text, s, e, type)) });
}

/**
 * The IBAN pattern runs on past the number (it allows spaces, so it swallows following words):
 * take exactly the country's length of alphanumerics, single spaces allowed between them.
 */
function classifyIban(text: string, start: number, raw: string): Candidate | undefined {
  if (isAlnum(codeAt(text, start - 1))) return undefined;
  const country = raw.slice(0, 2).toUpperCase();
  const len = ibanLength(country);
  if (len === undefined) return undefined;
  let compact = '';
  let i = 0;
  for (; i < raw.length && compact.length < len; i++) {
    const c = raw[i]!;
    if (c === ' ') {
      if (raw[i + 1] === ' ' || raw[i - 1] === ' ') return undefined;
      continue;
    }
    compact += c.toUpperCase();
  }
  if (compact.length !== len) return undefined;
  const end = start + i;
  if (isAlnum(codeAt(text, end))) return undefined;
  if (!ibanValid(compact)) return undefined;
  const lower = /[a-z]/.test(raw.slice(0, i));
  return { type: 'iban', start, end, confidence: score(lower ? 0.8 : 0.9, 0.97, contextOf(text, start, end, 'iban')) };
}
