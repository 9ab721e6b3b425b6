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

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate. */
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** PEM of a CA that signed nothing here. */
  readonly otherCaFile: string;
}

const openssl = (args: readonly string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Writes the files into `dir` (which must exist) and returns their paths. */
export function makeTestCertificates(dir: string): TestCertificates {
  const path = (name: string) => join(dir, name);
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', ...ecKey, '-keyout', path(`${ca}.key`), '-out', path(`${ca}.pem`), '-days', '2', '-subj', `/CN=Breakglass test ${ca}`]);
  }
  openssl(['req', ...ecKey, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(path('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl([
    'x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial',
    '-out', path('server.pem'), '-days', '2', '-extfile', path('server.ext'),
  ]);
  return { caFile: path('ca.pem'), serverCert: path('server.pem'), serverKey: path('server.key'), otherCaFile: path('other-ca.pem') };
}
