/**
 * Structural and checksum validation of personal identifiers. Each function takes the compact
 * value (separators removed, upper-cased where letters occur) and says whether it can be a real
 * identifier of that kind.
 */
import { luhn, mod97, verhoeff } from '../checks.ts';

/** IBAN length per country (ISO 13616 registry, SWIFT IBAN Registry release 2024). */
const IBAN_LENGTH: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18,
  FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24,
  ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23,
  ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

export function ibanLength(country: string): number | undefined {
  return IBAN_LENGTH[country];
}

/** ISO 13616: country length, then mod 97 of the rearranged string equals 1. */
export function ibanValid(iban: string): boolean {
  const len = IBAN_LENGTH[iban.slice(0, 2)];
  if (len === undefined || iban.length !== len || !/^[A-Z]{2}[0-9]{2}[A-Z0-9]+$/.test(iban)) return false;
  return mod97(iban.slice(4) + iban.slice(0, 4)) === 1;
}

/** Card scheme by IIN prefix and length (ISO/IEC 7812; scheme ranges as published by the networks). */
export function cardBrand(d: string): string | undefined {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === '4' && (n === 13 || n === 16 || n === 19)) return 'visa';
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return 'mastercard';
  if ((p2 === 34 || p2 === 37) && n === 15) return 'amex';
  if ((p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) && n >= 16 && n <= 19) return 'discover';
  if (((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) && n >= 14 && n <= 19) return 'diners';
  if (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19) return 'jcb';
  if ((p4 === 2131 || p4 === 1800) && n === 15) return 'jcb';
  if (p4 >= 2200 && p4 <= 2204 && n >= 16 && n <= 19) return 'mir';
  if ((p2 === 62 || p2 === 81) && n >= 16 && n <= 19) return 'unionpay';
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && n >= 12 && n <= 19) return 'maestro';
  if ((p2 === 60 || p2 === 82 || p3 === 508) && n === 16) return 'rupay';
  if (p4 === 9792 && n === 16) return 'troy';
  return undefined;
}

export function cardValid(d: string): boolean {
  return cardBrand(d) !== undefined && luhn(d) && !/^(\d)\1+$/.test(d);
}

/**
 * US SSN (SSA rules since 2011 randomization): area not 000, 666 or 9xx; group not 00; serial not
 * 0000; plus numbers the SSA voided after they were published (Woolworth's wallet card etc.).
 */
export function ssnValid(d: string): boolean {
  if (!/^[0-9]{9}$/.test(d)) return false;
  const area = d.slice(0, 3);
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (d.slice(3, 5) === '00' || d.slice(5) === '0000') return false;
  return !['078051120', '219099999', '123456789', '111111111', '333333333'].includes(d);
}

/** UK National Insurance number (HMRC NIM39110): prefix letter rules and suffix A–D. */
export function ninoValid(v: string): boolean {
  const m = /^([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])[0-9]{6}[A-D]$/.exec(v);
  if (!m) return false;
  return !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(m[1]! + m[2]!);
}

/** Canadian Social Insurance Number: Luhn; 0 and 8 are not issued as first digits. */
export function sinValid(d: string): boolean {
  return /^[1-79][0-9]{8}$/.test(d) && luhn(d);
}

/**
 * German tax id (Steuerliche Identifikationsnummer, §139b AO): 11 digits, no leading 0, in the
 * first ten exactly one digit repeats (2 or 3 times), check digit ISO 7064 MOD 11,10.
 */
export function steuerIdValid(d: string): boolean {
  if (!/^[1-9][0-9]{10}$/.test(d)) return false;
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 10; i++) counts[d.charCodeAt(i) - 48]!++;
  const repeated = counts.filter((c) => c > 1);
  if (repeated.length !== 1 || repeated[0]! > 3) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (d.charCodeAt(i) - 48 + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  let check = 11 - product;
  if (check === 10) check = 0;
  return check === d.charCodeAt(10) - 48;
}

/**
 * French NIR (numéro de sécurité sociale): 13 characters + 2-digit key = 97 − (number mod 97);
 * Corsican departments 2A/2B count as 19/18 in the number.
 */
export function nirValid(v: string): boolean {
  const m = /^([12378])([0-9]{2})(0[1-9]|1[0-2]|[2-9][0-9])([0-9]{2}|2A|2B)([0-9]{3})([0-9]{3})([0-9]{2})$/.exec(v);
  if (!m) return false;
  const dept = m[4] === '2A' ? '19' : m[4] === '2B' ? '18' : m[4]!;
  const num = Number(m[1]! + m[2]! + m[3]! + dept + m[5]! + m[6]!);
  return 97 - (num % 97) === Number(m[7]);
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI: 8 digits + letter = table[number mod 23]. */
export function dniValid(v: string): boolean {
  const m = /^([0-9]{8})([A-Z])$/.exec(v);
  return m !== null && DNI_LETTERS[Number(m[1]) % 23] === m[2];
}

/** Spanish NIE: X/Y/Z (0/1/2) + 7 digits + the DNI letter of the resulting number. */
export function nieValid(v: string): boolean {
  const m = /^([XYZ])([0-9]{7})([A-Z])$/.exec(v);
  if (!m) return false;
  const n = Number(String('XYZ'.indexOf(m[1]!)) + m[2]!);
  return DNI_LETTERS[n % 23] === m[3];
}

// Italian codice fiscale check character (DM 23/12/1976): odd positions use this table.
const CF_ODD: Record<string, number> = {
  0: 1, 1: 0, 2: 5, 3: 7, 4: 9, 5: 13, 6: 15, 7: 17, 8: 19, 9: 21, A: 1, B: 0, C: 5, D: 7, E: 9, F: 13, G: 15,
  H: 17, I: 19, J: 21, K: 2, L: 4, M: 18, N: 20, O: 11, P: 3, Q: 6, R: 8, S: 12, T: 14, U: 16, V: 10, W: 22,
  X: 25, Y: 24, Z: 23,
};

export function codiceFiscaleValid(v: string): boolean {
  if (!/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/.test(v)) return false;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = v[i]!;
    if (i % 2 === 0) sum += CF_ODD[c]!;
    else sum += c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : c.charCodeAt(0) - 65;
  }
  return String.fromCharCode(65 + (sum % 26)) === v[15];
}

/** Dutch BSN: the "11-proef" (weights 9..2, last digit −1). */
export function bsnValid(d: string): boolean {
  if (!/^[0-9]{9}$/.test(d) || d === '000000000') return false;
  let s = 0;
  for (let i = 0; i < 8; i++) s += (9 - i) * (d.charCodeAt(i) - 48);
  s -= d.charCodeAt(8) - 48;
  return s % 11 === 0;
}

/** Indian Aadhaar: 12 digits, first 2–9, Verhoeff check digit (UIDAI). */
export function aadhaarValid(d: string): boolean {
  return /^[2-9][0-9]{11}$/.test(d) && verhoeff(d);
}

/** Dotted-quad IPv4, no leading zeros; returns the octets or undefined. */
export function ipv4Octets(v: string): number[] | undefined {
  const parts = v.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** RFC 4291 §2.2 text form (hex groups, one `::`), without zone or embedded IPv4. */
export function ipv6Valid(v: string): boolean {
  if (v.length < 3 || v.length > 39 || /:::/.test(v)) return false;
  const dbl = v.indexOf('::');
  if (dbl !== v.lastIndexOf('::')) return false;
  const groups = v.split(':');
  const nonEmpty = groups.filter((g) => g.length > 0);
  if (!nonEmpty.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  if (dbl < 0) return groups.length === 8;
  // Leading or trailing single ':' (not part of '::') is malformed.
  if ((v.startsWith(':') && !v.startsWith('::')) || (v.endsWith(':') && !v.endsWith('::'))) return false;
  return nonEmpty.length <= 7;
}
