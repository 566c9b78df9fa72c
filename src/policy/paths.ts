/**
 * Path and URI canonicalisation for argument-level rules.
 *
 * A rule such as "the `path` argument must stay under /srv/data" is only as good as the string it
 * compares: `/srv/data/../../etc/passwd` starts with `/srv/data` but names `/etc/passwd`. These
 * helpers resolve dot segments the way the upstream will, so prefix checks compare what the call
 * actually touches. They throw on input whose meaning servers disagree about (NUL bytes, encoded
 * separators); inside a rule a throw is an evaluation error, which fails closed.
 */

export class PathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathError';
  }
}

/** Anything normalizePath would change: an empty segment (`//`, trailing `/`), a `.` or `..` segment. */
const NOT_NORMAL = /\/\/|\/$|(?:^|\/)\.\.?(?:\/|$)/;

/**
 * Resolves `.`/`..` and repeated `/` with POSIX semantics (only `/` separates). `..` above the
 * root of an absolute path stays at the root (`/../etc` is `/etc`, as the kernel resolves it); a
 * relative path keeps its leading `..` segments. Trailing `/` is dropped except for the root.
 *
 * Backslashes are NOT separators: on a POSIX upstream `a\..\b` is one file name, and treating it
 * as a separator would let `/etc/x\..\..\tmp` (a file inside /etc) look like `/tmp`.
 */
export function normalizePath(path: string): string {
  // C APIs stop at NUL, so `/srv/data/ok\0/../../etc` means different things to us and to them.
  if (path.includes('\0')) throw new PathError('path contains a NUL byte');
  // Most paths are already normal; policies call this once per rule, so skip the split and join.
  if (path !== '' && !NOT_NORMAL.test(path)) return path;
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(segment);
  }
  const joined = out.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/**
 * True when `path`, once normalised, is `dir` itself or inside it. Compares whole segments, so
 * `/srv/data-evil` is not within `/srv/data`. A relative path is never within an absolute dir:
 * what it resolves against is the upstream's working directory, which policy cannot know.
 */
export function pathWithin(path: string, dir: string): boolean {
  const p = normalizePath(path);
  const d = normalizePath(dir);
  if (d === '/') return p.startsWith('/');
  if (d === '.') return !p.startsWith('/') && p !== '..' && !p.startsWith('../');
  return p === d || (p.startsWith(d) && p.charCodeAt(d.length) === 0x2f); // '/': whole segments only
}

/** Percent-encoded `/` or `\`: some servers decode them before splitting the path, some after. */
const ENCODED_SEPARATOR = /%(?:2f|5c)/i;

/**
 * Canonical form of a URI per the WHATWG URL parser: dot segments removed (including the
 * percent-encoded `%2e%2e` form), scheme and host lower-cased. Throws on a URI that does not
 * parse, and on one whose path holds an encoded separator, since `..%2F` becomes `../` on some
 * servers and not others.
 */
export function normalizeUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new PathError('not a valid absolute URI');
  }
  if (ENCODED_SEPARATOR.test(url.pathname)) throw new PathError('URI path contains an encoded "/" or "\\"');
  // A query or fragment is not part of the path to the parser, but a server that turns the URI
  // into a file name by cutting off `file://` reads `file:///srv/docs/#/../../etc/passwd` as
  // /etc/passwd: a prefix rule would allow what it meant to deny. A file has no query or
  // fragment, so one is refused; elsewhere a fragment (never sent to an HTTP server, so never
  // needed) that looks like a path is.
  if (url.protocol === 'file:' && (url.search !== '' || url.hash !== '' || uri.includes('?') || uri.includes('#'))) {
    throw new PathError('a file: URI with a query or fragment');
  }
  if (/[/\\]|\.\./.test(url.hash)) throw new PathError('URI fragment looks like a path');
  return url.href;
}
