/**
 * Throw-away TLS material for integration tests, made with the openssl command: a CA, a server
 * certificate it signs for 127.0.0.1 and localhost, and a second, unrelated CA (the "wrong CA"
 * a client must refuse). Keys are P-256, so making them takes milliseconds.
 *
 * @example
 *   const certs = makeTestCertificates(dir);
 *   // server: certs.serverCert + certs.serverKey; client: { caFile: certs.caFile }
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasExecutable } from './integration.js';

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate. */
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** PEM of a CA that signed nothing here. */
  readonly otherCaFile: string;
}

const OPENSSL = '/usr/bin/openssl';
const openssl = (args: readonly string[]) => execFileSync(OPENSSL, args, { stdio: 'pipe', timeout: 30_000 });
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Can this machine make certificates (is openssl installed)? */
export const opensslAvailable = (): boolean => hasExecutable(OPENSSL);

/**
 * Writes the files into `dir` (which must exist) and returns their paths. The CA extensions and
 * the server's extended key usage are spelled out: GnuTLS (slapd) insists on them.
 */
export function makeTestCertificates(dir: string, extraIps: readonly string[] = []): TestCertificates {
  const path = (name: string) => join(dir, name);
  for (const ca of ['ca', 'other-ca']) {
    openssl([
      'req', '-x509', ...ecKey, '-keyout', path(`${ca}.key`), '-out', path(`${ca}.pem`), '-days', '2', '-subj', `/CN=Breakglass test ${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  openssl(['req', ...ecKey, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=127.0.0.1']);
  // issue 12 (P3): a server on another loopback address (the Samba DC) names it too.
  const sans = ['IP:127.0.0.1', 'DNS:localhost', ...extraIps.map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(path('server.ext'), `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl([
    'x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial',
    '-out', path('server.pem'), '-days', '2', '-extfile', path('server.ext'),
  ]);
  return { caFile: path('ca.pem'), serverCert: path('server.pem'), serverKey: path('server.key'), otherCaFile: path('other-ca.pem') };
}
