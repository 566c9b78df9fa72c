/**
 * Context words around a candidate. A 9-digit number is a Social Security number when the text
 * says "SSN" next to it and an order id when it says "order"; most identifiers are only reported
 * without context when their format is distinctive enough (a check digit plus a fixed layout).
 */

/** Characters looked at before / after the candidate. */
export const CONTEXT_BEFORE = 48;
export const CONTEXT_AFTER = 24;

export type PiiType =
  | 'email' | 'phone-number' | 'credit-card' | 'iban' | 'us-ssn' | 'uk-nino' | 'ca-sin' | 'de-tax-id'
  | 'fr-nir' | 'es-dni' | 'es-nie' | 'it-fiscal-code' | 'nl-bsn' | 'in-aadhaar' | 'ipv4' | 'ipv6';

const POSITIVE: Record<PiiType, RegExp> = {
  'email': /e-?mail|contact|mailto|reach/,
  'phone-number': /phone|\btel\b|tel[:.]|mobile|\bcell|\bcall|\bfax|\bsms\b|whats ?app|contact|\bdial/,
  'credit-card': /card|visa|master ?card|amex|american express|credit|debit|payment|\bcc\b|\bpan\b|discover|jcb|maestro/,
  'iban': /iban|bank|account|transfer|wire|sepa|beneficiary/,
  'us-ssn': /ssn|social security|soc\.? ?sec/,
  'uk-nino': /national insurance|\bnino\b|\bni\b|ni number|nin\b/,
  'ca-sin': /\bsin\b|social insurance|numéro d'assurance sociale|nas\b/,
  'de-tax-id': /steuer|idnr|identifikationsnummer|tax ?id|\btin\b|tax identification/,
  'fr-nir': /\bnir\b|s[ée]curit[ée] sociale|insee|num[ée]ro de s[ée]cu|carte vitale/,
  'es-dni': /\bdni\b|\bnif\b|documento nacional|identidad/,
  'es-nie': /\bnie\b|\bnif\b|extranjero|foreigner/,
  'it-fiscal-code': /codice fiscale|\bcf\b|fiscal code|tax code/,
  'nl-bsn': /\bbsn\b|burgerservicenummer|sofi/,
  'in-aadhaar': /aadhaa?r|uidai|\buid\b/,
  'ipv4': /\bip\b|address|host|server|client|remote|addr/,
  'ipv6': /\bip\b|ipv6|address|host|server|client|remote|addr/,
};

/** Words saying the number is something else (ids, versions) or not real (test data). */
const NEGATIVE = /\b(?:order|invoice|tracking|version|build|serial|sku|isbn|ref|reference|uuid|hash|checksum|timestamp|example|sample|dummy|fake|test|placeholder|lorem)\b|\bv\d/;

export interface ContextScore {
  readonly positive: boolean;
  readonly negative: boolean;
}

export function contextOf(text: string, start: number, end: number, type: PiiType): ContextScore {
  const before = text.slice(Math.max(0, start - CONTEXT_BEFORE), start).toLowerCase();
  const after = text.slice(end, end + CONTEXT_AFTER).toLowerCase();
  const around = before + ' ' + after;
  return { positive: POSITIVE[type].test(around), negative: NEGATIVE.test(before) };
}

/**
 * Final confidence: `base` for a bare match; context words raise it (to at least `withContext`),
 * negative words lower it.
 */
export function score(base: number, withContext: number, ctx: ContextScore): number {
  let c = ctx.positive ? Math.max(base + 0.15, withContext) : base;
  if (ctx.negative) c -= 0.3;
  return Math.max(0, Math.min(0.99, c));
}
