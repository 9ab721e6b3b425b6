/**
 * A private slapd with TLS for integration tests (test/support/slapd.ts with certificates): a
 * throw-away CA made with `openssl` signs a server certificate for 127.0.0.1 and localhost, and a
 * second, unrelated CA stands for "the wrong CA". The server offers StartTLS on `url` and implicit
 * TLS on `ldapsUrl`; stop() kills it and deletes the certificates with its data.
 *
 * @example
 *   const check = await requireService('OpenLDAP slapd and openssl', () => slapdAvailable() && opensslAvailable());
 *   let slapd: TlsSlapd;
 *   beforeAll(async () => { slapd = await startTlsSlapd(); });
 *   afterAll(async () => { await slapd?.stop(); });
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasExecutable } from './integration.js';
import { startSlapd, type Slapd, type SlapdOptions } from './slapd.js';

const OPENSSL = '/usr/bin/openssl';

export interface TlsSlapd extends Slapd {
  readonly ldapsUrl: string;
  /** The CA that signed the server certificate. */
  readonly caFile: string;
  /** A CA that signed nothing the server shows. */
  readonly wrongCaFile: string;
}

export const opensslAvailable = (): boolean => hasExecutable(OPENSSL);

function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(OPENSSL, [...args], { cwd, timeout: 30_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0] ?? ''} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA: `<name>.pem` and `<name>.key` in `dir`. */
const makeCa = (dir: string, name: string) =>
  openssl(['req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=breakglass test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);

/** Certificates in a new temp dir: the server's (signed by ca.pem) and an unrelated wrong-ca.pem. */
async function makeCertificates(dir: string): Promise<void> {
  await makeCa(dir, 'ca');
  await makeCa(dir, 'wrong-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await openssl(['req', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
}

/** Starts a private slapd with TLS; see the module comment. */
export async function startTlsSlapd(options: Omit<SlapdOptions, 'tls'> = {}): Promise<TlsSlapd> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-slapd-tls-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let slapd: Slapd;
  try {
    await makeCertificates(dir);
    slapd = await startSlapd({ ...options, tls: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') } });
  } catch (err) {
    removeDir();
    throw err;
  }
  process.once('exit', removeDir);
  return {
    ...slapd,
    ldapsUrl: slapd.ldapsUrl ?? '',
    caFile: join(dir, 'ca.pem'),
    wrongCaFile: join(dir, 'wrong-ca.pem'),
    async stop() {
      process.removeListener('exit', removeDir);
      try {
        await slapd.stop();
      } finally {
        removeDir();
      }
    },
  };
}
