/**
 * Ephemeral OpenSSH user certificates: per grant, a new Ed25519 key pair and a certificate signed
 * by the Breakglass CA, bounded natively by its validity; revoked early by publishing its serial
 * in the Key Revocation List the hosts' sshd reads. Invariants and import rules: ./README.md.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { AppError } from '../../errors/index.js';
import type {
  AccountInspection,
  Connector,
  ConnectorCapabilities,
  ConnectorDriver,
  EphemeralOperations,
  RevealedCredential,
  TargetConnection,
} from '../../ports/index.js';
import { revocationList } from './revocation-list.js';
import { deadlineIn, sshKeygen, type Deadline } from './ssh-keygen.js';
import { sshSpec } from './ssh-spec.js';

const DEFAULT_TIMEOUT_MS = 5000;
/** Key generation is local and quick; this only bounds a wedged ssh-keygen. */
const GENERATE_TIMEOUT_MS = 10_000;
/** Certificates start a minute early: a host whose clock is a little behind still accepts them. */
const CLOCK_SKEW_S = 60;
const CA_COMMENT = 'breakglass-ca';
/** A probe certificate is never usable: it expired in 1970 and names no real user. */
const PROBE_VALIDITY = '0x1:0x2';
const PROBE_PRINCIPAL = 'breakglass-krl-probe';

const capabilities: ConnectorCapabilities = Object.freeze({
  // sshd checks the KRL only when a key authenticates: an open session survives revocation.
  supportsSessionKill: false,
  supportsNativeExpiry: true,
  supportsPrestaged: false,
  supportsEphemeral: true,
});

interface Settings {
  readonly krlPath: string;
}

interface Certificate {
  readonly keyId: string;
  readonly serial: bigint;
  readonly principals: readonly string[];
  /** `-V` argument of ssh-keygen. */
  readonly validity: string;
}

function parseSettings(settings: Readonly<Record<string, unknown>>): Settings {
  const krlPath = settings['krlPath'];
  if (typeof krlPath !== 'string' || !isAbsolute(krlPath) || krlPath.includes('\0') || krlPath.endsWith('/')) {
    throw new AppError('validation', 'ssh target settings need krlPath: the absolute path of the KRL file', { path: 'settings.krlPath' });
  }
  return { krlPath };
}

function checkAdminSecret(adminSecret: string | undefined): string {
  if (typeof adminSecret !== 'string' || !adminSecret.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
    throw new AppError('validation', 'ssh target has no CA key (an OpenSSH private key) as its admin secret', { path: 'adminSecret' });
  }
  return adminSecret;
}

function hexSeconds(ms: number): string {
  return `0x${Math.floor(ms / 1000).toString(16)}`;
}

/**
 * Writes the CA key into `dir` and checks it with `ssh-keygen -y -P ''`, which also makes sure
 * it has no passphrase (signing would otherwise wait for a prompt). Returns the public key line.
 */
async function writeCaKey(dir: string, adminSecret: string, deadline: Deadline, what: string): Promise<{ keyPath: string; publicKey: string }> {
  const keyPath = join(dir, 'ca');
  await sshKeygen.writePrivate(keyPath, adminSecret);
  const output = await sshKeygen.run(['-y', '-P', '', '-f', keyPath], deadline, what);
  const [type, blob] = output.stdout.trim().split(/\s+/);
  if (output.code !== 0 || type === undefined || blob === undefined || !/^[A-Za-z0-9+/=]+$/.test(blob)) {
    // ssh-keygen's own words are not repeated: they are about a secret.
    throw new AppError('target_error', `ssh ${what}: the CA key is not an unencrypted OpenSSH private key`, { cause: { exitCode: output.code } });
  }
  return { keyPath, publicKey: `${type} ${blob} ${CA_COMMENT}` };
}

/** A new Ed25519 key pair in `dir` and its certificate; returns the file paths. */
async function certify(dir: string, caKeyPath: string, name: string, cert: Certificate, deadline: Deadline, what: string) {
  const keyPath = join(dir, name);
  await sshKeygen.runOk(['-q', '-t', 'ed25519', '-N', '', '-C', cert.keyId, '-f', keyPath], deadline, what);
  // -n takes a comma-separated list: principals were checked to hold no comma (ssh-spec.ts).
  await sshKeygen.runOk(
    ['-q', '-s', caKeyPath, '-I', cert.keyId, '-n', cert.principals.join(','), '-V', cert.validity, '-z', cert.serial.toString(), `${keyPath}.pub`],
    deadline,
    what,
  );
  return { keyPath, certPath: `${keyPath}-cert.pub` };
}

/** The validation every ephemeral operation shares, before anything is written anywhere. */
function checkRequest(request: { grantId: string; spec: Readonly<Record<string, unknown>> }) {
  const grantId = sshSpec.checkGrantId(request.grantId);
  const { principals } = sshSpec.parse(request.spec);
  return { grantId, principals, serial: sshSpec.serialOf(grantId) };
}

/**
 * Creates the connector for one SSH target (a fleet of hosts trusting the Breakglass CA and
 * reading the KRL). Nothing runs until the first call.
 *
 * @example
 *   const ssh = createSshConnector({ type: 'ssh', settings: { krlPath: '/var/lib/breakglass/ssh/revoked.krl' }, adminSecret: caKey });
 *   const cred = await ssh.ephemeral?.issue({ grantId: 'gr_k3q…', spec: { principals: ['oncall'] }, validUntil });
 */
export function createSshConnector(target: TargetConnection): Connector {
  const { krlPath } = parseSettings(target.settings);
  const caKey = checkAdminSecret(target.adminSecret);
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new AppError('validation', 'ssh target timeoutMs must be a positive integer', { path: 'timeoutMs' });
  }

  /** A certificate carrying the grant's serial and key id, to ask the KRL about. */
  async function probe(dir: string, caKeyPath: string, grantId: string, serial: bigint, deadline: Deadline, what: string) {
    const cert = { keyId: grantId, serial, principals: [PROBE_PRINCIPAL], validity: PROBE_VALIDITY };
    return (await certify(dir, caKeyPath, 'probe', cert, deadline, what)).certPath;
  }

  const ephemeral: EphemeralOperations = {
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

  return {
    capabilities,
    ephemeral,
    async close() {
      // Nothing pooled: every operation runs ssh-keygen and cleans up after itself.
    },
  };
}

/** A new CA key: Ed25519, OpenSSH format, no passphrase (it is sealed by Breakglass instead). */
async function generateAdminSecret(): Promise<string> {
  const deadline = deadlineIn(GENERATE_TIMEOUT_MS);
  return sshKeygen.withPrivateDir(async (dir) => {
    const keyPath = join(dir, 'ca');
    await sshKeygen.runOk(['-q', '-t', 'ed25519', '-N', '', '-C', CA_COMMENT, '-f', keyPath], deadline, 'CA key generation');
    return readFile(keyPath, 'utf8');
  });
}

/** `{caPublicKey}`: the line operators put in the file sshd's `TrustedUserCAKeys` names. */
async function publicInfo(adminSecret: string): Promise<Readonly<Record<string, string>>> {
  const caKey = checkAdminSecret(adminSecret);
  const deadline = deadlineIn(GENERATE_TIMEOUT_MS);
  const { publicKey } = await sshKeygen.withPrivateDir((dir) => writeCaKey(dir, caKey, deadline, 'CA public key'));
  return { caPublicKey: publicKey };
}

export const sshDriver: ConnectorDriver = { create: createSshConnector, generateAdminSecret, publicInfo };
