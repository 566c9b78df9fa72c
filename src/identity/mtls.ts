/**
 * Client certificates (mutual TLS) as credentials.
 *
 * Two uses:
 * - mTLS *authentication*: the TLS listener verified the client certificate against its CA
 *   (`socket.authorized`), and a configured certificate field becomes the principal's subject.
 *   An unverified certificate authenticates no one.
 * - Certificate-bound tokens (RFC 8705 §3): a token with `cnf.x5t#S256` is only valid over a TLS
 *   connection whose client certificate has that thumbprint, verified or not — possession of the
 *   private key was proven by the handshake, which is what the binding needs (§3.1).
 *
 * The socket is typed `unknown` so plain-HTTP listeners and tests can pass anything; only a
 * value with `getPeerCertificate()` counts.
 */
import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { GatewayError } from '../core/errors.ts';
import type { Principal } from '../pipeline/types.ts';
import type { MtlsConfig } from './config.ts';
import { credentialIdOf } from './digest.ts';

export interface ClientCertificate {
  /** SHA-256 of the DER certificate, lowercase hex without colons. */
  fingerprint: string;
  /** RFC 8705 §3.1 `x5t#S256`: base64url SHA-256 of the DER certificate. */
  thumbprint: string;
  cn: string | string[] | undefined;
  issuerCn: string | undefined;
  san: { type: string; value: string }[];
  /** `notAfter`, ms since epoch (NaN when unparseable). */
  validTo: number;
}

interface PeerSocketLike {
  authorized?: unknown;
  getPeerCertificate?: (detailed?: boolean) => PeerCertificate | Record<string, never> | null;
}

/**
 * Node's `subjectaltname`: `TYPE:value` entries joined by ", ". Since Node 17.3.1 a value with
 * special characters is a JSON string (CVE-2021-44532), so a crafted SAN cannot smuggle in a
 * fake ", URI:…" entry. Parsing stops at anything malformed.
 */
export function parseSubjectAltName(text: string): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let j = colon + 1;
    let value: string;
    if (text[j] === '"') {
      let k = j + 1;
      while (k < text.length && text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(j, k + 1)) as string;
      } catch {
        break;
      }
      j = k + 1;
    } else {
      const end = text.indexOf(', ', j);
      j = end < 0 ? text.length : end;
      value = text.slice(colon + 1, j);
    }
    out.push({ type, value });
    if (j < text.length && !text.startsWith(', ', j)) break;
    i = j + 2;
  }
  return out;
}

function certificateOf(socket: unknown, requireVerified: boolean): ClientCertificate | undefined {
  if (socket === null || typeof socket !== 'object') return undefined;
  const s = socket as PeerSocketLike;
  if (typeof s.getPeerCertificate !== 'function') return undefined;
  if (requireVerified && s.authorized !== true) return undefined;
  const c = s.getPeerCertificate(false);
  // No certificate: Node returns an empty object (or null once the socket is destroyed).
  if (!c || !('raw' in c) || !Buffer.isBuffer(c.raw)) return undefined;
  const digest = createHash('sha256').update(c.raw).digest();
  const issuerCn = c.issuer?.CN;
  return {
    fingerprint: digest.toString('hex'),
    thumbprint: digest.toString('base64url'),
    cn: c.subject?.CN,
    issuerCn: typeof issuerCn === 'string' ? issuerCn : undefined,
    san: typeof c.subjectaltname === 'string' ? parseSubjectAltName(c.subjectaltname) : [],
    validTo: Date.parse(c.valid_to),
  };
}

/** The client certificate the TLS layer verified against its CAs, if any. */
export function verifiedCertificate(socket: unknown): ClientCertificate | undefined {
  return certificateOf(socket, true);
}

/** The client certificate presented on the connection, verified or not (for RFC 8705 binding). */
export function presentedCertificate(socket: unknown): ClientCertificate | undefined {
  return certificateOf(socket, false);
}

const SAN_TYPE = { 'san-uri': 'URI', 'san-email': 'email', 'san-dns': 'DNS' } as const;

function subjectOf(cert: ClientCertificate, from: MtlsConfig['subjectFrom']): string | undefined {
  if (from === 'cn') {
    // Several CNs make "the" subject ambiguous: refuse rather than pick one.
    return typeof cert.cn === 'string' && cert.cn !== '' ? cert.cn : undefined;
  }
  return cert.san.find((e) => e.type === SAN_TYPE[from] && e.value !== '')?.value;
}

/** Whether a verified certificate is acceptable under `cfg` (pinning, subject allow-list). */
export function certificateAllowed(cfg: MtlsConfig, fingerprint: string, subject: string): boolean {
  if (cfg.allowedFingerprints !== undefined && !cfg.allowedFingerprints.includes(fingerprint)) return false;
  if (cfg.allowedSubjects !== undefined && !cfg.allowedSubjects.includes(subject)) return false;
  return true;
}

/** The Principal for a verified client certificate; invalid_token when it maps to no allowed subject. */
export function mtlsPrincipal(cert: ClientCertificate, cfg: MtlsConfig, credentialIdSecret: Uint8Array | undefined): Principal {
  const subject = subjectOf(cert, cfg.subjectFrom);
  if (subject === undefined) throw new GatewayError('invalid_token', `client certificate has no usable ${cfg.subjectFrom}`);
  if (!certificateAllowed(cfg, cert.fingerprint, subject)) throw new GatewayError('invalid_token', 'client certificate not allowed');
  return Object.freeze({
    subject,
    method: 'mtls',
    scopes: Object.freeze([...cfg.scopes]),
    claims: Object.freeze({
      sub: subject,
      fingerprint: cert.fingerprint,
      'x5t#S256': cert.thumbprint,
      ...(cert.issuerCn !== undefined ? { cert_issuer: cert.issuerCn } : {}),
    }),
    expiresAt: Number.isFinite(cert.validTo) ? cert.validTo : undefined,
    credentialId: credentialIdOf(cert.fingerprint, credentialIdSecret),
  });
}

/**
 * RFC 8705 §3: a token bound to a certificate (`cnf.x5t#S256`) is refused unless this
 * connection presented that certificate. Unbound tokens pass untouched. Tokens bound by any
 * other `cnf` method (DPoP `jkt`, …) never get here: verification refuses them (confirmation.ts).
 */
export function checkCertificateBinding(principal: Principal, socket: unknown): void {
  const cnf = principal.claims?.cnf;
  if (cnf === null || typeof cnf !== 'object') return;
  const bound = (cnf as Record<string, unknown>)['x5t#S256'];
  if (bound === undefined) return;
  const cert = presentedCertificate(socket);
  if (cert === undefined || typeof bound !== 'string' || bound !== cert.thumbprint) {
    throw new GatewayError('invalid_token', 'token is bound to a different client certificate');
  }
}
