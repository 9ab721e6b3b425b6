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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlapd, type Slapd, type SlapdOptions } from './slapd.js';
import { makeTestCertificates } from './test-certs.js';

export { opensslAvailable } from './test-certs.js';


export interface TlsSlapd extends Slapd {
  readonly ldapsUrl: string;
  /** The CA that signed the server certificate. */
  readonly caFile: string;
  /** A CA that signed nothing the server shows. */
  readonly wrongCaFile: string;
}

/** Starts a private slapd with TLS; see the module comment. */
export async function startTlsSlapd(options: Omit<SlapdOptions, 'tls'> = {}): Promise<TlsSlapd> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-slapd-tls-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let slapd: Slapd;
  try {
    makeTestCertificates(dir);
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
    wrongCaFile: join(dir, 'other-ca.pem'),
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
