/**
 * Base64 content in MCP messages, for DLP: embedded resources and `resources/read` contents carry
 * `blob` (base64) beside a `mimeType`; image and audio content carry `data` (base64) beside
 * `type`. A secret in a text file served as a blob would pass a scan of the base64 characters,
 * and masking part of the base64 would corrupt the content. So:
 *
 * - a blob is decoded and, when its bytes are text (valid UTF-8, no NUL, hardly any control
 *   characters), scanned as text and on redaction re-encoded whole with the masks in place. By
 *   content, not by label: a credentials file served as `application/octet-stream`, without a
 *   `mimeType`, or as `application/x-pem-file` is as much a leak as one labelled text/plain;
 * - blobs labelled image, audio, video, font or a binary archive, and image and audio `data`,
 *   are binary: not scanned (the base64 alphabet would only yield false "high-entropy"
 *   findings), and never patched. So is a blob whose bytes are not text.
 *
 * Known gap: text in another encoding (UTF-16) is not decoded, so it is not scanned.
 */
import { pointerSegments } from '../codec/json-pointer.ts';

/** Labels that are binary whatever the bytes look like (no scan, no patch). */
const BINARY_MIME = /^\s*(?:image|audio|video|font)\/|^\s*application\/(?:zip|gzip|x-gzip|x-tar|x-7z-compressed|x-bzip2|x-xz|zstd|pdf|wasm|vnd\.ms-cab-compressed|java-archive|x-rar-compressed)\s*(?:;|$)/i;

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
  return typeof mime === 'string' && BINARY_MIME.test(mime) ? 'binary' : 'text-blob';
}

/**
 * `base64Kind` of a string leaf, by its member name first: only a `blob` or `data` member can be
 * base64 content. Why: reading the pointer's last segment made V8 flatten every leaf's pointer
 * (a concatenation), though most are never needed (no finding, not an SSE stream's last string).
 */
export function base64KindOf(root: unknown, leaf: { pointer: string; key: string }): 'text-blob' | 'binary' | undefined {
  return leaf.key === 'blob' || leaf.key === 'data' ? base64Kind(root, leaf.pointer) : undefined;
}

/** Control characters other than tab, LF, FF and CR allowed per 100 characters of text. */
const MAX_CONTROL_PERCENT = 1;

/**
 * A blob's text when its bytes are text: valid UTF-8, no NUL, and at most 1% other control
 * characters. Else undefined (binary content: not scanned, never patched).
 */
export function decodeTextBlob(value: string): string | undefined {
  const bytes = Buffer.from(value, 'base64');
  let controls = 0;
  for (const b of bytes) {
    if (b === 0) return undefined;
    if (b < 0x20 && b !== 9 && b !== 10 && b !== 12 && b !== 13) controls++;
  }
  if (controls * 100 > bytes.length * MAX_CONTROL_PERCENT) return undefined;
  const text = bytes.toString('utf8');
  return text.includes('\uFFFD') ? undefined : text;
}

export type Base64Alphabet = 'base64' | 'base64url';

/**
 * The alphabet a blob is written in: RFC 4648 §5 (URL-safe) when it has `-` or `_` and neither
 * `+` nor `/`, else §4. MCP says base64, but Buffer decodes both, and so does the scan: a masked
 * blob goes back in the alphabet it came in, which is what its reader expects.
 */
export function base64AlphabetOf(blob: string): Base64Alphabet {
  return /[-_]/.test(blob) && !/[+/]/.test(blob) ? 'base64url' : 'base64';
}

/**
 * `text` with each span replaced by its mask, base64-encoded again (the whole leaf's new value),
 * in the alphabet of `original` (the blob as it came), padded if it was.
 */
export function maskedBlob(text: string, spans: ReadonlyArray<{ start: number; end: number; mask: string }>, original = ''): string {
  let out = '';
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    if (s.start < at) continue;
    out += text.slice(at, s.start) + s.mask;
    at = s.end;
  }
  const alphabet = base64AlphabetOf(original);
  const encoded = Buffer.from(out + text.slice(at), 'utf8').toString(alphabet);
  // Buffer writes base64url unpadded (§5 allows it); a padded original gets its `=` back.
  return alphabet === 'base64url' && /=\s*$/.test(original) && encoded.length % 4 !== 0 ? encoded + '='.repeat(4 - (encoded.length % 4)) : encoded;
}
