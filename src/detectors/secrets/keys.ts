/**
 * Vendor-neutral credentials: private keys (PEM / OpenSSH / PGP / PuTTY), JWTs, URLs and
 * connection strings carrying passwords, auth headers.
 *
 * Private keys are detected on their HEADER LINE only (`-----BEGIN … PRIVATE KEY-----`, ≤ 50
 * characters): that keeps the longest match — and so the streaming hold-back window — small.
 * The finding is then extended over the body to the END line (or to the end of the text, in which
 * case it is "open" and a streaming scanner keeps redacting until the END line arrives).
 */
import { classCount, decodeBase64, entropy, isPlaceholder, printableRatio } from '../checks.ts';
import type { Extension, MatchContext, PatternRule } from '../types.ts';
import { assign, expand, findWithin, KW_TOKEN, looksLikeWords, secret } from './helpers.ts';

const raw = String.raw;

/** How far after a header we look for the key body (chars): enough for an encrypted-PEM preamble. */
const PEM_LOOKAHEAD = 200;

/**
 * A header followed by base64 is a key; a header followed by prose ("…looks like this: -----BEGIN
 * RSA PRIVATE KEY----- …") is documentation. At the end of the text we cannot tell yet (a stream
 * may deliver the body next) and assume a key.
 */
function pemBody(_v: string, ctx: MatchContext): number {
  const after = ctx.text.slice(ctx.end, ctx.end + PEM_LOOKAHEAD);
  // Drop line breaks (real or JSON-escaped) and RFC 1421 headers (Proc-Type, DEK-Info, Comment).
  const body = after.replace(/\\[rn]|[\r\n\t ]|(?:Proc-Type|DEK-Info|Comment|Version):[^\r\n\\]{0,120}/g, '');
  if (/^[A-Za-z0-9+/=]{40}/.test(body)) return 0.99;
  if (ctx.end + PEM_LOOKAHEAD >= ctx.text.length && /^[A-Za-z0-9+/=]*$/.test(body)) return 0.9;
  return 0.45;
}

/** Extends a PEM finding over its body to the END line, or to `limit`/end of text (open). */
function pemExtend(terminator: string) {
  return (text: string, _start: number, end: number, limit: number): Extension => {
    const stop = findWithin(text, terminator, end, limit);
    if (stop >= 0) {
      // Cover the rest of the END line (`… RSA PRIVATE KEY-----`, `… KEY ----`), ≤ 64 characters.
      let e = stop + terminator.length;
      const lineEnd = Math.min(limit, e + 64);
      while (e < lineEnd && END_LINE.test(text[e]!)) e++;
      return { end: e };
    }
    // No END within reach: cover the base64 run (line breaks and RFC 1421 headers included).
    let e = end;
    while (e < limit) {
      const c = text.charCodeAt(e);
      const b64 = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 || c === 61;
      const ws = c === 10 || c === 13 || c === 32 || c === 9 || c === 92; // 92: "\n" escapes
      if (!b64 && !ws && c !== 45 && c !== 58 && c !== 44) break;
      e++;
    }
    return e >= text.length ? { end: e, open: { until: terminator } } : { end: e };
  };
}

const B64_CHARS = /[A-Za-z0-9+/=]/;
const END_LINE = /[A-Za-z0-9 -]/;
const TOKEN_CHARS = /[A-Za-z0-9_.-]/;

/** Extends over the rest of a token (JWT signature, long base64) that the pattern only starts. */
export function runExtend(kind: 'base64' | 'token') {
  const re = kind === 'base64' ? B64_CHARS : TOKEN_CHARS;
  return (text: string, _start: number, end: number, limit: number): Extension => {
    let e = end;
    while (e < limit && re.test(text[e]!)) e++;
    return e >= text.length ? { end: e, open: { whileIn: kind } } : { end: e };
  };
}

function pem(id: string, description: string, label: string): PatternRule {
  return secret({
    id,
    description,
    keywords: ['private key'],
    pattern: `-----BEGIN ${label}-----`,
    boundary: 'none',
    lookahead: PEM_LOOKAHEAD,
    validate: pemBody,
    extend: pemExtend('-----END'),
    severity: 'critical',
  });
}

/**
 * JWT: the header must decode to a JSON object naming an algorithm, and the start of the payload
 * to printable text. The pattern covers the header and the first characters of the payload only
 * (so the longest match stays short); `runExtend` covers the rest of the token.
 */
function jwtValid(value: string): number | null {
  const dot = value.indexOf('.');
  const header = decodeBase64(value.slice(0, dot))?.toString('utf8');
  const p = value.slice(dot + 1);
  const payload = decodeBase64(p.slice(0, p.length - (p.length % 4)));
  if (header === undefined || payload === undefined) return null;
  if (!/^\s*\{[\s\S]*"(?:alg|typ|kid)"\s*:/.test(header)) return null;
  if (printableRatio(payload) < 0.95) return null;
  return 0.9;
}

/** Documentation passwords name themselves: `somepassword`, `my-top-secret`, `secret123`. */
const SELF_NAMED = /pass|secret|pwd|passwd/i;

const COMMON_PASSWORDS = new Set([
  'password', 'passwd', 'pass', 'secret', 'admin', 'root', 'postgres', 'mysql', 'redis', 'guest', 'user', 'test',
  'changeme', 'example', 'pwd', 'mongo', 'rabbitmq', 'sa', 'default', 'letmein', 'demo', 'toor', 'qwerty',
]);

/** The password of `scheme://user:password@host`: not a template hole, not a stock default. */
function urlPassword(value: string, ctx: MatchContext): number | null {
  if (/^[$%{<[*]|^x+$|\$\{|\{\{|%\(|process\.env/i.test(value) || /%s(?![A-Za-z0-9])/.test(value)) return null;
  if (isPlaceholder(value) || COMMON_PASSWORDS.has(value.toLowerCase()) || SELF_NAMED.test(value)) return 0.3;
  if (/^[0-9]{1,5}$/.test(value)) return null; // host:port mistaken for user:password
  const host = ctx.text.slice(ctx.end + 1, ctx.end + 40);
  const local = /^(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])/.test(host);
  return local ? 0.7 : 0.92;
}

function dbUrl(id: string, description: string, schemes: string, keywords: string[]): PatternRule {
  return secret({
    id,
    description,
    keywords,
    pattern: `(?:${schemes})://[^\\s:/@'"]{0,64}:([^\\s@/'"]{1,128})@`,
    flags: 'i',
    group: 1,
    boundary: 'none',
    anchored: true,
    validate: urlPassword,
    severity: 'critical',
  });
}

/** `Basic base64(user:password)` / docker `auth`: must decode to printable `user:password`. */
function basicCredentials(value: string): number | null {
  const d = decodeBase64(value);
  if (d === undefined || printableRatio(d) < 1) return null;
  const s = d.toString('latin1');
  const colon = s.indexOf(':');
  if (colon <= 0 || colon === s.length - 1) return null;
  return isPlaceholder(s.slice(colon + 1)) ? null : 0.9;
}

/** Values that are references or expressions, not literals. */
const REFERENCE = /^(?:process\.env|os\.environ|env\.|self\.|this\.|config\.|settings\.|props\.|params\.|args\.|vars\.|secrets\.)|\$\{|\{\{|^\$|%\(|^<|^\[/i;

/**
 * A generic `…key = "value"` assignment is a secret only if the value looks random: not a
 * reference or placeholder, not made of words (`getAccessToken`, `my-secret-name`), and with
 * Shannon entropy close to that of a random string over its apparent alphabet (hex or base64).
 */
function genericValue(value: string): number | null {
  if (REFERENCE.test(value) || isPlaceholder(value) || looksLikeWords(value)) return null;
  if (!/[0-9]/.test(value) && value.length < 40) return null; // words, identifiers
  if (/^[0-9.:-]+$/.test(value)) return null; // numbers, versions, dates
  const hex = /^[0-9a-fA-F]+$/.test(value);
  const alphabet = hex ? 16 : 64;
  const threshold = (hex ? 0.8 : 0.75) * Math.log2(Math.min(value.length, alphabet));
  if (entropy(value) < threshold) return null;
  if (!hex && classCount(value) < 3) return null;
  return 0.7;
}

/** A quoted password literal: not empty-ish, not a stock value, not a template. */
function passwordValue(value: string): number | null {
  if (REFERENCE.test(value) || isPlaceholder(value) || COMMON_PASSWORDS.has(value.toLowerCase()) || SELF_NAMED.test(value)) return null;
  if (/^(?:true|false|null|none|undefined|required|optional|string)$/i.test(value)) return null;
  if (classCount(value) < 2 && value.length < 12) return null;
  return 0.7;
}

export const KEY_RULES: readonly PatternRule[] = [
  pem('private-key-rsa', 'RSA private key (PKCS#1 PEM)', 'RSA PRIVATE KEY'),
  pem('private-key-ec', 'EC private key (SEC 1 PEM)', 'EC PRIVATE KEY'),
  pem('private-key-dsa', 'DSA private key (PEM)', 'DSA PRIVATE KEY'),
  pem('private-key-openssh', 'OpenSSH private key', 'OPENSSH PRIVATE KEY'),
  pem('private-key-pgp', 'PGP private key block', 'PGP PRIVATE KEY BLOCK'),
  pem('private-key-pkcs8', 'PKCS#8 private key (PEM)', 'PRIVATE KEY'),
  pem('private-key-encrypted', 'Encrypted PKCS#8 private key (PEM)', 'ENCRYPTED PRIVATE KEY'),
  secret({
    id: 'private-key-ssh2',
    description: 'SSH2 (RFC 4716 / ssh.com) encrypted private key',
    keywords: ['begin ssh2 encrypted private key'],
    pattern: raw`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`,
    boundary: 'none',
    lookahead: PEM_LOOKAHEAD,
    validate: pemBody,
    extend: pemExtend('---- END'),
    severity: 'critical',
  }),
  secret({
    id: 'putty-private-key',
    description: 'PuTTY private key file (PPK)',
    keywords: ['putty-user-key-file-'],
    pattern: raw`PuTTY-User-Key-File-[23]: [a-z0-9-]{7,32}`,
    boundary: 'none',
    confidence: 0.97,
    extend: pemExtend('Private-MAC:'),
    severity: 'critical',
  }),
  secret({
    id: 'jwt',
    description: 'JSON Web Token (signed; header and payload decode to JSON)',
    keywords: expand('eyj', KW_TOKEN),
    pattern: raw`eyJ[A-Za-z0-9_-]{10,1000}\.eyJ[A-Za-z0-9_-]{13,64}`,
    boundary: 'none',
    validate: jwtValid,
    extend: runExtend('token'),
    severity: 'high',
  }),
  dbUrl('db-url-mongodb', 'MongoDB connection URL with password', raw`mongodb(?:\+srv)?`, ['mongodb']),
  dbUrl('db-url-postgres', 'PostgreSQL connection URL with password', raw`postgres(?:ql)?|postgis|cockroachdb`, ['postgres', 'postgis', 'cockroachdb']),
  dbUrl('db-url-mysql', 'MySQL / MariaDB connection URL with password', raw`mysql(?:x)?|mariadb`, ['mysql', 'mariadb']),
  dbUrl('db-url-redis', 'Redis / Valkey connection URL with password', raw`rediss?|valkey`, ['redis', 'valkey']),
  dbUrl('db-url-amqp', 'AMQP (RabbitMQ) connection URL with password', raw`amqps?`, ['amqp']),
  dbUrl('db-url-mssql', 'SQL Server connection URL with password', raw`mssql|sqlserver`, ['mssql', 'sqlserver']),
  dbUrl('db-url-other', 'ClickHouse / Cassandra / Neo4j / CouchDB / Elasticsearch URL with password', raw`clickhouse|cassandra|neo4j(?:\+s)?|bolt|couchdbs?|elasticsearch|nats|kafka`, ['clickhouse', 'cassandra', 'neo4j', 'bolt://', 'couchdb', 'elasticsearch', 'nats://', 'kafka://']),
  {
    ...dbUrl('url-basic-auth', 'Password in an http(s) / ftp / ldap / smtp URL', raw`https?|s?ftp|ldaps?|smtps?|imaps?|git\+https|ssh|wss?`, ['http://', 'https://', 'ftp://', 'sftp://', 'ldap://', 'ldaps://', 'smtp://', 'smtps://', 'imap://', 'imaps://', 'ssh://', 'ws://', 'wss://']),
    generic: true,
    severity: 'high',
  },
  secret({
    id: 'jdbc-password',
    description: 'Password in a JDBC URL',
    keywords: ['jdbc:'],
    pattern: raw`jdbc:[a-z0-9]{2,16}:[^\s"']{1,300}[?;&:](?:password|pwd)=([^\s&;"']{1,128})`,
    flags: 'i',
    group: 1,
    boundary: 'none',
    validate: urlPassword,
    severity: 'critical',
  }),
  secret({
    id: 'connection-string-password',
    description: 'Password in an ADO.NET / ODBC connection string',
    keywords: ['password=', 'pwd='],
    pattern: raw`(?:server|data source|host|address|addr|uid|user id|username)=[^;"'\n]{1,200};[^"'\n]{0,200}(?:password|pwd)=([^;"'\s]{1,128})`,
    flags: 'i',
    group: 1,
    boundary: 'none',
    validate: urlPassword,
    generic: true,
    severity: 'critical',
  }),
  secret({
    id: 'bearer-token',
    description: 'Bearer token in an Authorization header',
    keywords: ['bearer'],
    pattern: raw`[Aa]uthorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?[Bb]earer[ \t]{1,4}([A-Za-z0-9_~+/.=-]{20,1000})`,
    group: 1,
    boundary: 'token',
    validate: (v) => (isPlaceholder(v) ? null : 0.85),
    extend: runExtend('token'),
    generic: true,
  }),
  secret({
    id: 'basic-auth-header',
    description: 'Basic credentials in an Authorization header',
    keywords: ['basic'],
    pattern: raw`[Aa]uthorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?[Bb]asic[ \t]{1,4}([A-Za-z0-9+/]{8,1000}={0,2})`,
    group: 1,
    boundary: 'none',
    validate: basicCredentials,
    generic: true,
  }),
  secret({
    id: 'docker-config-auth',
    description: 'Registry credentials in a Docker config.json (auths.*.auth)',
    keywords: ['"auth"'],
    pattern: raw`"auth"[ \t]{0,4}:[ \t]{0,4}"([A-Za-z0-9+/]{8,1000}={0,2})"`,
    group: 1,
    boundary: 'none',
    validate: basicCredentials,
  }),
  secret({
    id: 'generic-api-key',
    description: 'High-entropy value assigned to an api key / secret / token name',
    keywords: ['api_key', 'apikey', 'api-key', 'api_secret', 'access_key', 'secret_key', 'client_secret', 'auth_token', 'access_token', 'secret', 'token', 'credential'],
    pattern: assign(raw`api[_.-]?key|apikey|api[_.-]?secret|access[_.-]?key|secret[_.-]?key|client[_.-]?secret|app[_.-]?secret|auth[_.-]?token|access[_.-]?token|refresh[_.-]?token|private[_.-]?token|secret|token|credentials?`, raw`[A-Za-z0-9_+/=.~-]{16,128}`),
    flags: 'i',
    group: 1,
    boundary: 'token',
    validate: genericValue,
    generic: true,
  }),
  secret({
    id: 'generic-password',
    description: 'Quoted password literal assigned to a password-like name',
    keywords: ['pass', 'pwd=', 'pwd"', "pwd'", 'pwd:', 'pwd '],
    pattern: raw`(?:password|passwd|passphrase|pwd|pass)[A-Za-z0-9_.-]{0,32}["']?[ \t]{0,4}(?:=|:|:=|=>)[ \t]{0,4}["'\x60]([^"'\x60\s]{6,128})["'\x60]`,
    flags: 'i',
    group: 1,
    boundary: 'none',
    validate: passwordValue,
    generic: true,
    severity: 'critical',
  }),
  secret({
    id: 'env-password',
    description: 'Password in an environment-variable assignment (FOO_PASSWORD=…)',
    keywords: ['pass', 'pwd='],
    pattern: raw`[A-Z0-9_]{0,40}(?:PASSWORD|PASSWD|PASS|PWD)[A-Z0-9_]{0,20}=([^\s"'\x60$]{6,128})`,
    group: 1,
    boundary: 'none',
    validate: passwordValue,
    generic: true,
    severity: 'critical',
  }),
];
