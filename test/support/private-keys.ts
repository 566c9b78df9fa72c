/**
 * Private keys of every kind DLP must mask, generated at run time (no key material in the
 * source): PKCS#8, PKCS#1 RSA, SEC1 EC, and the OpenSSH format (which node cannot write: its
 * armour and magic around random bytes).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const wrap = (label: string, b64: string) => [`-----BEGIN ${label}-----`, ...(b64.match(/.{1,70}/g) ?? []), `-----END ${label}-----`, ''].join('\n');

export function generatePrivateKeys(): Record<'pkcs8' | 'rsa' | 'ec' | 'openssh', string> {
  const { privateKey: rsaKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pkcs8: rsaKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    rsa: rsaKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    ec: ecKey.export({ type: 'sec1', format: 'pem' }) as string,
    openssh: wrap('OPENSSH ' + 'PRIVATE KEY', Buffer.concat([Buffer.from('openssh-key-v1\0'), randomBytes(380)]).toString('base64')),
  };
}
