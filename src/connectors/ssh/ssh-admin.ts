/**
 * The admin side of SSH targets: the Breakglass certificate authority. Its private key is the
 * target's admin secret (made here, sealed by Breakglass); it is written only into a private
 * temporary directory for the one ssh-keygen run that needs it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors/index.js';
import { deadlineIn, sshKeygen, type Deadline } from './ssh-keygen.js';

/** Key generation is local and quick; this only bounds a wedged ssh-keygen. */
const GENERATE_TIMEOUT_MS = 10_000;
const CA_COMMENT = 'breakglass-ca';

export function checkAdminSecret(adminSecret: string | undefined): string {
  if (typeof adminSecret !== 'string' || !adminSecret.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
    throw new AppError('validation', 'ssh target has no CA key (an OpenSSH private key) as its admin secret', { path: 'adminSecret' });
  }
  return adminSecret;
}

/**
 * Writes the CA key into `dir` and checks it with `ssh-keygen -y -P ''`, which also makes sure
 * it has no passphrase (signing would otherwise wait for a prompt). Returns the public key line.
 */
export async function writeCaKey(dir: string, adminSecret: string, deadline: Deadline, what: string): Promise<{ keyPath: string; publicKey: string }> {
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

/** A new CA key: Ed25519, OpenSSH format, no passphrase (it is sealed by Breakglass instead). */
export async function generateAdminSecret(): Promise<string> {
  const deadline = deadlineIn(GENERATE_TIMEOUT_MS);
  return sshKeygen.withPrivateDir(async (dir) => {
    const keyPath = join(dir, 'ca');
    await sshKeygen.runOk(['-q', '-t', 'ed25519', '-N', '', '-C', CA_COMMENT, '-f', keyPath], deadline, 'CA key generation');
    return readFile(keyPath, 'utf8');
  });
}

/** `{caPublicKey}`: the line operators put in the file sshd's `TrustedUserCAKeys` names. */
export async function publicInfo(adminSecret: string): Promise<Readonly<Record<string, string>>> {
  const caKey = checkAdminSecret(adminSecret);
  const deadline = deadlineIn(GENERATE_TIMEOUT_MS);
  const { publicKey } = await sshKeygen.withPrivateDir((dir) => writeCaKey(dir, caKey, deadline, 'CA public key'));
  return { caPublicKey: publicKey };
}
