/**
 * Base64 content in MCP messages, for DLP: embedded resources and `resources/read` contents carry
 * `blob` (base64) beside a `mimeType`; image and audio content carry `data` (base64) beside
 * `type`. A secret in a text file served as a blob would pass a scan of the base64 characters,
 * and masking part of the base64 would corrupt the content. So:
 *
 * - a blob whose MIME type is text (text/*, JSON, XML, YAML, JavaScript, +json/+xml) is decoded
 *   (UTF-8), scanned as text, and on redaction re-encoded whole with the masks in place;
 * - other blobs, image and audio data are binary: not scanned (the base64 alphabet would only
 *   yield false "high-entropy" findings), and never patched.
 */
import { pointerSegments } from '../codec/json-pointer.ts';

const TEXT_MIME = /^(?:text\/[\w.+-]+|application\/(?:json|xml|yaml|x-yaml|javascript|x-sh|x-www-form-urlencoded|toml|x-toml|sql)|application\/[\w.-]+\+(?:json|xml|yaml))\s*(?:;|$)/i;

/** The object holding the leaf at `pointer`, in `root`. */
function parentOf(root: unknown, pointer: string): Record<string, unknown> | undefined {
  const segs = pointerSegments(pointer);
  let node: unknown = root;
  for (let i = 0; i < segs.length - 1; i++) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segs[i]!];
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>) : undefined;
}

/** Is the leaf at `pointer` base64 content: a text blob, or binary data? (No decoding.) */
export function base64Kind(root: unknown, pointer: string): 'text-blob' | 'binary' | undefined {
  const last = pointer.slice(pointer.lastIndexOf('/') + 1);
  if (last !== 'blob' && last !== 'data') return undefined;
  const parent = parentOf(root, pointer);
  if (!parent) return undefined;
  if (last === 'data') return parent['type'] === 'image' || parent['type'] === 'audio' ? 'binary' : undefined;
  const mime = parent['mimeType'];
  return typeof mime === 'string' && TEXT_MIME.test(mime) ? 'text-blob' : 'binary';
}

/** A text blob's text, or undefined when it does not decode as UTF-8 (a mislabelled binary). */
export function decodeTextBlob(value: string): string | undefined {
  const text = Buffer.from(value, 'base64').toString('utf8');
  return text.includes('\uFFFD') ? undefined : text;
}

/** `text` with each span replaced by its mask, base64-encoded again (the whole leaf's new value). */
export function maskedBlob(text: string, spans: ReadonlyArray<{ start: number; end: number; mask: string }>): string {
  let out = '';
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    if (s.start < at) continue;
    out += text.slice(at, s.start) + s.mask;
    at = s.end;
  }
  return Buffer.from(out + text.slice(at), 'utf8').toString('base64');
}
