import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GatewayError } from '../core/errors.ts';
import type { Principal } from '../pipeline/types.ts';
import { MtlsSchema } from './config.ts';
import type { MtlsConfig } from './config.ts';
import {
  checkCertificateBinding,
  mtlsPrincipal,
  parseSubjectAltName,
  presentedCertificate,
  verifiedCertificate,
} from './mtls.ts';

const DER = Buffer.from('not really DER, but hashed like it');
const FP = createHash('sha256').update(DER).digest('hex');
const X5T = createHash('sha256').update(DER).digest('base64url');

/** The shape of a tls.TLSSocket as far as client certificates go. */
function socket(authorized: boolean, cert: Record<string, unknown> = {}): unknown {
  const peer = {
    raw: DER,
    subject: { CN: 'svc-a' },
    issuer: { CN: 'Test CA' },
    subjectaltname: 'DNS:svc-a.internal, URI:spiffe://example.org/ns/a/sa/svc-a, email:svc-a@example.org',
    valid_to: 'Jan  1 00:00:00 2099 GMT',
    ...cert,
  };
  return { authorized, getPeerCertificate: () => peer };
}

const cfg = (input: Partial<MtlsConfig> = {}) => MtlsSchema.parse(input);
const invalid = (err: unknown) => err instanceof GatewayError && err.code === 'invalid_token';

describe('subjectAltName parsing', () => {
  it('splits entries and decodes quoted values without letting them inject entries', () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.example, URI:"spiffe://x/y, URI:spiffe://evil", email:e@x'), [
      { type: 'DNS', value: 'a.example' },
      { type: 'URI', value: 'spiffe://x/y, URI:spiffe://evil' },
      { type: 'email', value: 'e@x' },
    ]);
    assert.deepEqual(parseSubjectAltName('IP Address:127.0.0.1'), [{ type: 'IP Address', value: '127.0.0.1' }]);
  });
});

describe('mTLS principals', () => {
  it('uses only certificates the TLS layer verified', () => {
    assert.equal(verifiedCertificate(socket(false)), undefined);
    assert.equal(verifiedCertificate({}), undefined);
    assert.equal(verifiedCertificate(undefined), undefined);
    assert.equal(verifiedCertificate({ authorized: true, getPeerCertificate: () => ({}) }), undefined);
    assert.equal(verifiedCertificate(socket(true))?.fingerprint, FP);
  });

  it('maps the configured field to the subject', () => {
    const cert = verifiedCertificate(socket(true))!;
    assert.equal(mtlsPrincipal(cert, cfg({ subjectFrom: 'cn' }), undefined).subject, 'svc-a');
    assert.equal(mtlsPrincipal(cert, cfg({ subjectFrom: 'san-uri' }), undefined).subject, 'spiffe://example.org/ns/a/sa/svc-a');
    assert.equal(mtlsPrincipal(cert, cfg({ subjectFrom: 'san-email' }), undefined).subject, 'svc-a@example.org');
    const p = mtlsPrincipal(cert, cfg({ subjectFrom: 'san-dns', scopes: ['s'] }), undefined);
    assert.deepEqual([p.subject, p.method, p.scopes, p.expiresAt], ['svc-a.internal', 'mtls', ['s'], Date.parse('2099-01-01T00:00:00Z')]);
  });

  it('refuses a certificate without the field, with several CNs, or outside the allow-lists', () => {
    const noSan = verifiedCertificate(socket(true, { subjectaltname: undefined }))!;
    assert.throws(() => mtlsPrincipal(noSan, cfg({ subjectFrom: 'san-uri' }), undefined), invalid);
    const twoCn = verifiedCertificate(socket(true, { subject: { CN: ['a', 'b'] } }))!;
    assert.throws(() => mtlsPrincipal(twoCn, cfg(), undefined), invalid);
    const cert = verifiedCertificate(socket(true))!;
    assert.throws(() => mtlsPrincipal(cert, cfg({ allowedFingerprints: ['00'.repeat(32)] }), undefined), invalid);
    assert.throws(() => mtlsPrincipal(cert, cfg({ allowedSubjects: ['svc-b'] }), undefined), invalid);
    assert.equal(mtlsPrincipal(cert, cfg({ allowedFingerprints: [FP], allowedSubjects: ['svc-a'] }), undefined).subject, 'svc-a');
  });
});

describe('certificate-bound tokens (RFC 8705 §3)', () => {
  const bound = (x5t: string): Principal => ({ subject: 'u', method: 'jwt', claims: { cnf: { 'x5t#S256': x5t } } });

  it('accepts a bound token over the matching certificate, verified or not', () => {
    assert.equal(presentedCertificate(socket(false))?.thumbprint, X5T);
    checkCertificateBinding(bound(X5T), socket(false));
    checkCertificateBinding({ subject: 'u', method: 'jwt', claims: {} }, undefined);
  });

  it('refuses a bound token without the certificate or with another one', () => {
    assert.throws(() => checkCertificateBinding(bound(X5T), undefined), invalid);
    assert.throws(() => checkCertificateBinding(bound('other'), socket(true)), invalid);
  });
});
