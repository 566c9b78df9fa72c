/**
 * Sender-constrained tokens: the `cnf` (confirmation) claim (RFC 7800 §3.1), in a JWT access
 * token or an introspection answer (RFC 7662 §2.2 allows any claim; RFC 8705 §3.2 and
 * RFC 9449 §6.2 put `cnf` there for introspected tokens).
 *
 * A token with `cnf` is only valid together with proof of possession of the key `cnf` names. The
 * gateway can verify exactly one method: `x5t#S256`, a certificate-bound token (RFC 8705 §3),
 * checked per request against the TLS connection by `checkCertificateBinding` (mtls.ts). It does
 * not implement DPoP (RFC 9449): it neither reads a `DPoP` proof header nor checks `ath`/`htm`/
 * `htu`/`jti`. So a token bound to a DPoP key (`cnf.jkt`, RFC 9449 §6.1) — or by any other
 * confirmation method — must be refused outright: accepting it as a plain bearer token would let
 * whoever stole it use it, which is exactly what the binding exists to prevent (RFC 9449 §1,
 * "sender-constrained"; RFC 7800 §3.1: the recipient must verify the proof). Unbound tokens
 * (no `cnf`) are bearer tokens and pass untouched.
 */
import { GatewayError } from '../core/errors.ts';

/** Confirmation methods the gateway can verify (per request, in mtls.ts). */
export const SUPPORTED_CONFIRMATION_METHODS: ReadonlySet<string> = new Set(['x5t#S256']);

/**
 * Throws invalid_token when `claims.cnf` is present and names anything but a verifiable method.
 * Called once per token at verification time, so a refused token is never cached as valid.
 */
export function requireVerifiableConfirmation(claims: Readonly<Record<string, unknown>>): void {
  if (!Object.hasOwn(claims, 'cnf')) return;
  const cnf = claims.cnf;
  // RFC 7800 §3.1: `cnf` is a JSON object whose members name the method. Anything else (null, a
  // string, an array, an object naming no method) still says "this token is bound", but to
  // something we cannot identify: fail closed rather than treat it as a bearer token.
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) {
    throw new GatewayError('invalid_token', 'token confirmation (cnf) is malformed');
  }
  const methods = Object.keys(cnf);
  if (methods.length === 0) throw new GatewayError('invalid_token', 'token confirmation (cnf) names no method');
  if (Object.hasOwn(cnf, 'jkt')) {
    throw new GatewayError('invalid_token', 'token is bound to a DPoP key (cnf jkt, RFC 9449) and DPoP is not supported by this resource');
  }
  // Several members are several constraints (e.g. x5t#S256 and jkt): every one must be verified.
  if (methods.some((m) => !SUPPORTED_CONFIRMATION_METHODS.has(m))) {
    throw new GatewayError('invalid_token', 'token is bound by a confirmation method (cnf) this resource cannot verify');
  }
}
