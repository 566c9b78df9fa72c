/**
 * The arguments of a call as the person approving it reads them.
 *
 * A preview cut at N characters of the client's JSON lets the client choose what the approver
 * does not see: pad the first argument and the dangerous one falls past the cut. So the preview
 * shows every argument by name, each value cut on its own (head and tail, with its length), and
 * says when anything was cut. The operator can read the whole arguments (up to FULL_LIMIT) in
 * `GET /approvals/:id` and `portcullis approvals show`; the digest tells two similar calls apart.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';
import { headOf, tailOf } from './display.ts';

/** Longest preview (the elicitation message, the queue's list view). */
export const PREVIEW_CHARS = 1600;
/** Per value at most (split between its start and its end); less when there are many arguments. */
const VALUE_CHARS = 90;
/** Per argument name at most. */
const NAME_CHARS = 40;
/** Length of a cut marker (`…[12345 more chars]…`), about. */
const MARKER_CHARS = 24;
/** Beyond this many arguments the rest are counted, not shown. */
const MAX_SHOWN_KEYS = 20;
/** The operator's full view of the arguments (canonical JSON) is kept up to this many characters. */
export const FULL_LIMIT = 64 * 1024;

export interface ArgumentsForReview {
  /** Every argument by name, values cut on their own; `''` when there are none. */
  preview: string;
  /** Whether anything was left out of `preview`. */
  previewCut: boolean;
  /** The canonical JSON (RFC 8785) of the arguments, up to FULL_LIMIT characters. */
  full: string;
  /** Whether `full` is cut (the call's arguments are longer than FULL_LIMIT). */
  fullCut: boolean;
  /** Length of the whole canonical JSON, in characters. */
  length: number;
  /** SHA-256 of the whole canonical JSON, hex, first 12 digits. */
  digest: string;
}

/** `json` whole when it fits `budget` (give or take the marker's length), else its head and tail. */
function cutValue(json: string, budget: number): { text: string; cut: boolean } {
  if (json.length <= budget + 20) return { text: json, cut: false };
  const head = Math.ceil(budget * 0.65);
  const tail = budget - head;
  return { text: `${headOf(json, head)}…[${json.length - head - tail} more chars]…${tailOf(json, json.length - tail)}`, cut: true };
}

export function argumentsForReview(args: unknown): ArgumentsForReview {
  if (args === undefined) return { preview: '', previewCut: false, full: '', fullCut: false, length: 0, digest: '' };
  let canonical: string;
  try {
    canonical = canonicalJson(args);
  } catch {
    canonical = JSON.stringify(String(args));
  }
  const digest = createHash('sha256').update(canonical).digest('hex').slice(0, 12);
  const full = canonical.length > FULL_LIMIT ? headOf(canonical, FULL_LIMIT) : canonical;
  let preview: string;
  let previewCut = false;
  if (typeof args === 'object' && args !== null && !Array.isArray(args)) {
    // Canonical key order: the client cannot decide which argument comes first.
    const keys = Object.keys(args).sort();
    const shown = keys.slice(0, MAX_SHOWN_KEYS);
    // Each argument gets its share of the preview (less its name, separators and a cut marker),
    // so every argument shown is shown in part at least, and the whole still fits.
    const slot = Math.floor((PREVIEW_CHARS - 120) / Math.max(1, shown.length));
    const parts: string[] = [];
    for (const key of shown) {
      const name = cutValue(JSON.stringify(key), NAME_CHARS / 2);
      const share = Math.max(16, Math.min(VALUE_CHARS, slot - name.text.length - 4 - MARKER_CHARS));
      const v = cutValue(canonicalJson((args as Record<string, unknown>)[key] ?? null), share);
      previewCut ||= v.cut || name.cut;
      parts.push(`${name.text}:${v.text}`);
    }
    if (keys.length > MAX_SHOWN_KEYS) {
      previewCut = true;
      parts.push(`…and ${keys.length - MAX_SHOWN_KEYS} more arguments`);
    }
    // Uncut, this is the canonical JSON itself.
    preview = `{${parts.join(',')}}`;
  } else {
    const v = cutValue(canonical, VALUE_CHARS * 4);
    preview = v.text;
    previewCut = v.cut;
  }
  if (preview.length > PREVIEW_CHARS) {
    preview = `${headOf(preview, PREVIEW_CHARS)}…`;
    previewCut = true;
  }
  if (previewCut) preview += ` (cut for display: ${canonical.length} chars in all, sha256:${digest})`;
  return { preview, previewCut, full, fullCut: full.length < canonical.length, length: canonical.length, digest };
}
