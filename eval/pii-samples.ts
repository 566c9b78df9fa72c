/**
 * Labeled PII: for each type, values with a valid checksum / structure (positives, half of them
 * with a context word) and the same values with one digit changed or a broken rule (negatives).
 * The check-digit algorithms are re-implemented here from their specifications rather than
 * imported from src/, so a shared bug cannot make the scores look right.
 */
import { ALPHA, type Rng } from './rng.ts';

export interface PiiSample {
  readonly type: string;
  /** The sentence names the kind of value ("SSN:", "IBAN"). */
  readonly context?: boolean;
  readonly text: string;
  readonly span?: readonly [number, number];
  readonly valid: boolean;
}

const digits = (r: Rng, n: number): string => r.chars(ALPHA.digits, n);

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}
function card(r: Rng): string {
  const [prefix, len] = r.pick([['4', 16], ['51', 16], ['55', 16], ['2221', 16], ['34', 15], ['37', 15], ['6011', 16], ['3530', 16], ['4', 13]] as const);
  const body = prefix + digits(r, len - prefix.length - 1);
  const n = body + luhnDigit(body);
  return len === 15 ? `${n.slice(0, 4)} ${n.slice(4, 10)} ${n.slice(10)}` : r.next() < 0.5 ? n : n.replace(/(\d{4})(?=\d)/g, '$1 ');
}
function mod97(s: string): number {
  let r = 0;
  for (const c of s) r = /\d/.test(c) ? (r * 10 + Number(c)) % 97 : (r * 100 + c.charCodeAt(0) - 55) % 97;
  return r;
}
function iban(r: Rng): string {
  const [cc, bban] = r.pick([['DE', () => digits(r, 18)], ['GB', () => r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4) + digits(r, 14)], ['FR', () => digits(r, 23)], ['NL', () => r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4) + digits(r, 10)], ['ES', () => digits(r, 20)], ['IT', () => 'X' + digits(r, 22)]] as const);
  const b = bban();
  const check = String(98 - mod97(b + cc + '00')).padStart(2, '0');
  const full = cc + check + b;
  return r.next() < 0.5 ? full : full.replace(/(.{4})(?=.)/g, '$1 ');
}
function ssn(r: Rng): string {
  let area: number;
  do area = r.int(1, 899); while (area === 666);
  return `${String(area).padStart(3, '0')}-${String(r.int(1, 99)).padStart(2, '0')}-${String(r.int(1, 9999)).padStart(4, '0')}`;
}
function sin(r: Rng): string {
  const body = String(r.int(1, 7)) + digits(r, 7);
  const n = body + luhnDigit(body);
  return `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;
}
function steuerId(r: Rng): string {
  // Ten digits, one of them twice, first not 0; then the ISO 7064 MOD 11,10 check digit.
  for (;;) {
    const pool = r.shuffle([...'0123456789']);
    const ten = pool.slice(0, 9);
    ten.splice(r.int(0, 8), 0, ten[r.int(0, 8)]!);
    if (ten[0] === '0') continue;
    let p = 10;
    for (const c of ten) {
      let s = (Number(c) + p) % 10;
      if (s === 0) s = 10;
      p = (2 * s) % 11;
    }
    const check = (11 - p) % 10;
    return ten.join('') + String(check);
  }
}
function nir(r: Rng): string {
  const base = `${r.int(1, 2)}${String(r.int(40, 99))}${String(r.int(1, 12)).padStart(2, '0')}${String(r.int(1, 95)).padStart(2, '0')}${digits(r, 3)}${digits(r, 3)}`;
  const key = String(97 - (Number(base) % 97)).padStart(2, '0');
  const v = base + key;
  return `${v[0]} ${v.slice(1, 3)} ${v.slice(3, 5)} ${v.slice(5, 7)} ${v.slice(7, 10)} ${v.slice(10, 13)} ${v.slice(13)}`;
}
const DNI = 'TRWAGMYFPDXBNJZSQVHLCKE';
function dni(r: Rng): string {
  const n = digits(r, 8);
  return n + DNI[Number(n) % 23];
}
function nie(r: Rng): string {
  const x = r.int(0, 2);
  const n = digits(r, 7);
  return 'XYZ'[x]! + n + DNI[Number(String(x) + n) % 23];
}
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
function codiceFiscale(r: Rng): string {
  const L = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const body = r.chars(L, 6) + digits(r, 2) + r.pick([...'ABCDEHLMPRST']) + String(r.int(1, 28)).padStart(2, '0') + r.chars(L, 1) + digits(r, 3);
  let sum = 0;
  [...body].forEach((c, i) => {
    const v = /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 65;
    sum += i % 2 === 0 ? CF_ODD[v]! : v;
  });
  return body + L[sum % 26];
}
function bsn(r: Rng): string {
  for (;;) {
    const d = digits(r, 8);
    let s = 0;
    for (let i = 0; i < 8; i++) s += (9 - i) * Number(d[i]);
    const last = s % 11;
    if (last <= 9) return d + String(last);
  }
}
const VD = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]];
const VP = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],[9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,8,5]];
const VINV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];
function aadhaar(r: Rng): string {
  const body = String(r.int(2, 9)) + digits(r, 10);
  let c = 0;
  for (let i = 0; i < body.length; i++) c = VD[c]![VP[(i + 1) % 8]![Number(body[body.length - 1 - i])]!]!;
  const n = body + String(VINV[c]);
  return `${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8)}`;
}
function nino(r: Rng): string {
  return r.pick(['AB', 'CE', 'JG', 'PR', 'SW', 'ZA']) + ` ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)} ` + r.pick(['A', 'B', 'C', 'D']);
}
function email(r: Rng): string {
  return `${r.chars('abcdefghijklmnopqrstuvwxyz', r.int(3, 8))}.${r.chars('abcdefghijklmnopqrstuvwxyz', r.int(3, 8))}@${r.pick(['acme-corp.com', 'mail.example-bank.de', 'uni-lab.ac.uk', 'startup.io'])}`;
}
function phone(r: Rng): string {
  return r.pick([
    () => `+1 ${r.int(200, 989)} ${r.int(200, 999)} ${digits(r, 4)}`,
    () => `(${r.int(200, 989)}) ${r.int(200, 999)}-${digits(r, 4)}`,
    () => `+44 20 ${digits(r, 4)} ${digits(r, 4)}`,
    () => `+49 30 ${digits(r, 8)}`,
    () => `${r.int(200, 989)}-${r.int(200, 999)}-${digits(r, 4)}`,
    () => `+33 6 ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)}`,
  ])();
}
function ipv4(r: Rng): string {
  return `${r.int(11, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
}
function ipv6(r: Rng): string {
  const g = (): string => r.chars(ALPHA.hex, r.int(1, 4));
  return r.next() < 0.5 ? `2001:db8:${g()}:${g()}::${g()}` : Array.from({ length: 8 }, g).join(':');
}

/** type → [generator, context sentence with `%`, a word that raises confidence]. */
const TYPES: Record<string, { gen: (r: Rng) => string; ctx: string; plain: string }> = {
  'credit-card': { gen: card, ctx: 'Please charge my Visa card % for the renewal.', plain: 'Value % attached.' },
  'iban': { gen: iban, ctx: 'Wire the refund to IBAN % today.', plain: 'Use % for the transfer.' },
  'us-ssn': { gen: ssn, ctx: 'Employee SSN: % (confidential)', plain: 'Entry % updated.' },
  'ca-sin': { gen: sin, ctx: 'Social insurance number (SIN) %', plain: 'Value % stored.' },
  'de-tax-id': { gen: steuerId, ctx: 'Steuer-ID: %', plain: 'Value % on file.' },
  'fr-nir': { gen: nir, ctx: 'Numéro de sécurité sociale (NIR) : %', plain: 'Dossier % reçu.' },
  'es-dni': { gen: dni, ctx: 'DNI del titular: %', plain: 'Código % registrado.' },
  'es-nie': { gen: nie, ctx: 'NIE: %', plain: 'Código % registrado.' },
  'it-fiscal-code': { gen: codiceFiscale, ctx: 'Codice fiscale: %', plain: 'Utente % attivo.' },
  'nl-bsn': { gen: bsn, ctx: 'BSN (burgerservicenummer): %', plain: 'Nummer % gewijzigd.' },
  'in-aadhaar': { gen: aadhaar, ctx: 'Aadhaar number %', plain: 'Number % linked.' },
  'uk-nino': { gen: nino, ctx: 'National Insurance number: %', plain: 'Entry % noted.' },
  'email': { gen: email, ctx: 'Contact email: %', plain: 'cc % on the thread' },
  'phone-number': { gen: phone, ctx: 'Call me on my mobile %', plain: 'Dial % after six.' },
  'ipv4': { gen: ipv4, ctx: 'Client IP address %', plain: 'Seen from % twice.' },
  'ipv6': { gen: ipv6, ctx: 'Server IPv6 address %', plain: 'Route via % now.' },
};

/** Breaks a valid value: change one digit (checksums catch any single-digit change). */
function corrupt(v: string, r: Rng): string {
  const idx = [...v].map((c, i) => (/\d/.test(c) ? i : -1)).filter((i) => i >= 0);
  const i = idx[idx.length - 1 - r.int(0, Math.min(2, idx.length - 1))]!;
  const d = (Number(v[i]) + r.int(1, 9)) % 10;
  return v.slice(0, i) + String(d) + v.slice(i + 1);
}

/** Types whose negatives are checksum failures (phone, e-mail and IP have no checksum). */
const CHECKSUMMED = new Set(['credit-card', 'iban', 'ca-sin', 'de-tax-id', 'fr-nir', 'es-dni', 'es-nie', 'nl-bsn', 'in-aadhaar', 'it-fiscal-code']);

export function buildPiiSamples(r: Rng, perType = 30): PiiSample[] {
  const out: PiiSample[] = [];
  for (const [type, t] of Object.entries(TYPES)) {
    for (let k = 0; k < perType; k++) {
      const v = t.gen(r);
      const tpl = k % 2 === 0 ? t.ctx : t.plain;
      const at = tpl.indexOf('%');
      out.push({ type, text: tpl.replace('%', v), span: [at, at + v.length], valid: true, context: k % 2 === 0 });
      if (CHECKSUMMED.has(type)) {
        let bad = corrupt(v, r);
        if (type === 'it-fiscal-code') bad = v.slice(0, 15) + (v[15] === 'A' ? 'B' : 'A');
        if (type === 'es-dni' || type === 'es-nie') bad = v.slice(0, -1) + (v.endsWith('T') ? 'R' : 'T');
        out.push({ type, text: tpl.replace('%', bad), valid: false });
      }
    }
  }
  // Look-alikes with no personal data: versions, dates, order numbers, hashes.
  const decoys = ['version 1.22.3.4 released', 'Order #123456789012 shipped', 'build 2024-05-01 12:30:45', 'sha 3f786850e387550fdab836ed7e6dc881de23001b', 'Invoice INV-000123 total 1,234.56', 'ISBN 978-3-16-148410-0', 'port 8080 on 0.0.0.0', 'uuid 123e4567-e89b-12d3-a456-426614174000'];
  for (const d of decoys) out.push({ type: 'decoy', text: d, valid: false });
  return out;
}
