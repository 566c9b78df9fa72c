/**
 * Building blocks shared by the config schema files: bounded numbers, URLs, and the refinement
 * helpers cross-field rules use.
 */
import { z } from 'zod';

/** A positive duration or size; `Number.MAX_SAFE_INTEGER` keeps the JSON Schema honest. */
export const positiveInt = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const nonNegativeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const httpUrl = z.url({ protocol: /^https?$/, error: 'Invalid URL (expected http:// or https://)' });

/**
 * Cross-field rules run with `when: () => true` so they report alongside field errors instead of
 * only after every field is valid; they therefore read their input defensively.
 */
export const always = { when: () => true };

/** Was this value already rejected? Cross-field rules skip such entries. */
export function isString(v: unknown): v is string {
  return typeof v === 'string';
}

/** Report every entry whose `key` repeats an earlier one, at that entry. */
export function uniqueBy(items: unknown, key: string, ctx: z.RefinementCtx<unknown>): void {
  if (!Array.isArray(items)) return;
  const first = new Map<string, number>();
  items.forEach((item: unknown, i) => {
    const value = item !== null && typeof item === 'object' ? (item as Record<string, unknown>)[key] : undefined;
    if (!isString(value)) return;
    const prev = first.get(value);
    if (prev === undefined) first.set(value, i);
    else ctx.addIssue({ code: 'custom', path: [i, key], message: `duplicate ${key} "${value}" (also at [${prev}])` });
  });
}

/** RFC 9110 §5.6.2 token: a valid header field name. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A header value that cannot split or end the header block. */
export const HEADER_VALUE = /^[^\r\n\0]*$/;

/**
 * Headers the gateway owns on the upstream hop, which no configured header (static headers or a
 * credential) may set: connection-specific ones (RFC 9110 §7.6.1), framing, and the MCP headers
 * it computes per request (a static `Mcp-Session-Id` or protocol version would corrupt every
 * exchange on the route).
 */
export const GATEWAY_OWNED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'host',
  'content-length',
  'content-type',
  'accept',
  'mcp-session-id',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'last-event-id',
]);
