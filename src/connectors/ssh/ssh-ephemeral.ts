/**
 * Ephemeral OpenSSH user certificates: per grant, a new Ed25519 key pair and a certificate signed
 * by the Breakglass CA, bounded natively by its validity; revoked early by publishing its serial
 * in the Key Revocation List the hosts' sshd reads.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors/index.js';
import type { AccountInspection, EphemeralOperations, RevealedCredential, VerifyResult } from '../../ports/index.js';
import { revocationList } from './revocation-list.js';
import { writeCaKey } from './ssh-admin.js';
import { deadlineIn, sshKeygen, type Deadline } from './ssh-keygen.js';
import { loginWithCertificate, type DrillHost } from './ssh-login.js';
import { sshNames } from './ssh-names.js';

/** Certificates start a minute early: a host whose clock is a little behind still accepts them. */
const CLOCK_SKEW_S = 60;
/** A probe certificate is never usable: it expired in 1970 and names no real user. */
const PROBE_VALIDITY = '0x1:0x2';
const PROBE_PRINCIPAL = 'breakglass-krl-probe';

interface Certificate {
  readonly keyId: string;
  readonly serial: bigint;
  readonly principals: readonly string[];
  /** `-V` argument of ssh-keygen. */
  readonly validity: string;
}

/** Where the KRL is, the CA key and the bound of every operation. */
export interface SshTarget {
  readonly krlPath: string;
  readonly caKey: string;
  readonly timeoutMs: number;
  /** The host drills log in to (`drillHost`), if the target names one. */
  readonly drillHost?: DrillHost | undefined;
}

function hexSeconds(ms: number): string {
  return `0x${Math.floor(ms / 1000).toString(16)}`;
}

/** A new Ed25519 key pair in `dir` and its certificate; returns the file paths. */
async function certify(dir: string, caKeyPath: string, name: string, cert: Certificate, deadline: Deadline, what: string) {
  const keyPath = join(dir, name);
  await sshKeygen.runOk(['-q', '-t', 'ed25519', '-N', '', '-C', cert.keyId, '-f', keyPath], deadline, what);
  // -n takes a comma-separated list: principals were checked to hold no comma (ssh-names.ts).
  await sshKeygen.runOk(
    ['-q', '-s', caKeyPath, '-I', cert.keyId, '-n', cert.principals.join(','), '-V', cert.validity, '-z', cert.serial.toString(), `${keyPath}.pub`],
    deadline,
    what,
  );
  return { keyPath, certPath: `${keyPath}-cert.pub` };
}

/** A certificate carrying the grant's serial and key id, to ask the KRL about. */
async function probe(dir: string, caKeyPath: string, grantId: string, serial: bigint, deadline: Deadline, what: string) {
  const cert = { keyId: grantId, serial, principals: [PROBE_PRINCIPAL], validity: PROBE_VALIDITY };
  return (await certify(dir, caKeyPath, 'probe', cert, deadline, what)).certPath;
}

/** The validation every ephemeral operation shares, before anything is written anywhere. */
function checkRequest(request: { grantId: string; spec: Readonly<Record<string, unknown>> }) {
  const grantId = sshNames.checkGrantId(request.grantId);
  const { principals } = sshNames.parse(request.spec);
  return { grantId, principals, serial: sshNames.serialOf(grantId) };
}

export function sshEphemeral({ krlPath, caKey, timeoutMs, drillHost }: SshTarget): EphemeralOperations {
  return {
    async issue(request): Promise<RevealedCredential> {
      const { grantId, principals, serial } = checkRequest(request);
      const until = request.validUntil instanceof Date ? request.validUntil.getTime() : Number.NaN;
      const now = Date.now();
      if (Number.isNaN(until) || until <= now) {
        throw new AppError('validation', 'ssh issue needs a validUntil in the future', { path: 'validUntil' });
      }
      const what = `issue for grant ${grantId}`;
      const deadline = deadlineIn(timeoutMs);
      await revocationList.checkWritable(krlPath, what);
      return sshKeygen.withPrivateDir(async (dir) => {
        const ca = await writeCaKey(dir, caKey, deadline, what);
        const validity = `${hexSeconds(now - CLOCK_SKEW_S * 1000)}:${hexSeconds(until)}`;
        const { keyPath, certPath } = await certify(dir, ca.keyPath, 'user', { keyId: grantId, serial, principals, validity }, deadline, what);
        // A grant revoked before (a late retry) would hand out a certificate every host refuses.
        if (await revocationList.revokes(krlPath, certPath, deadline, what)) {
          throw new AppError('target_error', `ssh ${what}: the grant's certificate serial is already revoked in the KRL`);
        }
        const [privateKey, certificate] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
        return { username: principals[0] ?? '', certificate: certificate.trim(), privateKey };
      });
    },

    async revoke(request) {
      const { grantId, serial } = checkRequest(request);
      const what = `revoke for grant ${grantId}`;
      const deadline = deadlineIn(timeoutMs);
      await revocationList.checkWritable(krlPath, what);
      await sshKeygen.withPrivateDir(async (dir) => {
        const ca = await writeCaKey(dir, caKey, deadline, what);
        const caPublicKeyPath = join(dir, 'ca.pub');
        await sshKeygen.writePrivate(caPublicKeyPath, ca.publicKey);
        const probeCertPath = await probe(dir, ca.keyPath, grantId, serial, deadline, what);
        await revocationList.revoke(krlPath, { serial, keyId: grantId, caPublicKeyPath, workDir: dir, probeCertPath }, deadline, what);
      });
    },

    async tryLoginIssued(request, credential): Promise<VerifyResult> {
      const { grantId, principals } = checkRequest(request);
      const what = `login for grant ${grantId}`;
      if (drillHost === undefined) {
        throw new AppError('target_error', `ssh ${what}: the target names no drillHost (host, port, hostKey), the host a drill logs in to`);
      }
      return loginWithCertificate(drillHost, principals, credential, timeoutMs, what);
    },

    async inspectIssued(request): Promise<AccountInspection> {
      const { grantId, serial } = checkRequest(request);
      const what = `inspect of grant ${grantId}`;
      const deadline = deadlineIn(timeoutMs);
      const revoked = await sshKeygen.withPrivateDir(async (dir) => {
        const ca = await writeCaKey(dir, caKey, deadline, what);
        return revocationList.revokes(krlPath, await probe(dir, ca.keyPath, grantId, serial, deadline, what), deadline, what);
      });
      // Breakglass keeps no record of the certificates it issued, so "exists" means "would still be
      // accepted by a host that has this KRL"; its validity end is not known here.
      return { exists: !revoked, canLogin: !revoked, validUntil: undefined, sessions: 0 };
    },
  };
}
