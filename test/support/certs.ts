/**
 * Test PKI made on the fly with the system's openssl: a CA, a server certificate for 127.0.0.1
 * and client certificates (a SPIFFE-style URI SAN), plus a second, untrusted CA. Nothing is
 * committed: every run mints fresh keys in a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  /** Client certificate signed by the CA, SAN URI `spiffe://example.test/agent`. */
  client: { cert: Buffer; key: Buffer };
  /** A client certificate from a CA the gateway does not trust. */
  rogue: { cert: Buffer; key: Buffer };
  ca: Buffer;
  cleanup(): void;
}

function ossl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function issue(dir: string, name: string, subject: string, ext: string, ca: string): void {
  ossl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  ossl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
}

function makeCa(dir: string, name: string): void {
  ossl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  issue(dir, 'server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n', 'ca');
  issue(dir, 'client', '/CN=agent', 'subjectAltName=URI:spiffe://example.test/agent\nextendedKeyUsage=clientAuth\n', 'ca');
  issue(dir, 'rogue', '/CN=agent', 'subjectAltName=URI:spiffe://example.test/agent\nextendedKeyUsage=clientAuth\n', 'rogue-ca');
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    client: { cert: read('client.crt'), key: read('client.key') },
    rogue: { cert: read('rogue.crt'), key: read('rogue.key') },
    ca: read('ca.crt'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
