/**
 * A real login with an issued certificate (drills, issue 10): the OpenSSH client, in batch mode,
 * against the one host of the fleet the target names as `drillHost`, whose host key is pinned in
 * the catalog (no trust on first use: a drill must not hand a certificate to whoever answers).
 * The key, certificate and known_hosts file live only in a private 0700 directory (ssh-keygen.ts),
 * removed when the login ends.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { RevealedCredential, VerifyResult } from '../../ports/index.js';
import { deadlineIn, sshKeygen, timedOut } from './ssh-keygen.js';
import { drillHostSchema } from './ssh-spec.js';

const CERTIFICATE = /^[a-z0-9-]+-cert-v01@openssh\.com [A-Za-z0-9+/]+={0,3}(?: [^\n\r\0]*)?$/;
const PRIVATE_KEY = /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$/;

/** The host a drill logs in to, as the catalog gives it (`drillHost` of the target's settings). */
export type DrillHost = z.output<typeof drillHostSchema>;

/** Reads `drillHost` from the target's settings; undefined when the target has none. */
export function parseDrillHost(settings: Readonly<Record<string, unknown>>): DrillHost | undefined {
  if (settings['drillHost'] === undefined) return undefined;
  const parsed = drillHostSchema.safeParse(settings['drillHost']);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AppError('validation', `ssh target settings are invalid: drillHost.${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(), {
    path: `settings.drillHost.${issue?.path.join('.') ?? ''}`,
  });
}

const invalidCredential = () => new AppError('validation', 'ssh login: the credential is not an issued certificate with its private key', { path: 'credential' });

/**
 * Logs in as `credential.username` with the certificate, runs `true`, and leaves. `rejected`
 * when sshd refuses the certificate (expired, revoked in its KRL, wrong principal); a host that
 * cannot be reached is `target_unavailable`, a host key that does not match `target_error`.
 */
export async function loginWithCertificate(host: DrillHost, principals: readonly string[], credential: RevealedCredential, timeoutMs: number, what: string): Promise<VerifyResult> {
  const { username } = credential;
  const certificate = credential['certificate'];
  const privateKey = credential['privateKey'];
  // The user must be one the certificate was issued for (checked names only reach the argv).
  if (!principals.includes(username)) throw new AppError('validation', `ssh ${what}: the login name is not a principal of the account`, { path: 'credential.username' });
  if (typeof certificate !== 'string' || !CERTIFICATE.test(certificate.trim())) throw invalidCredential();
  if (typeof privateKey !== 'string' || !PRIVATE_KEY.test(privateKey)) throw invalidCredential();
  const deadline = deadlineIn(timeoutMs);
  const [keyType, keyBlob] = host.hostKey.split(' ');
  const port = host.port ?? 22;
  return sshKeygen.withPrivateDir(async (dir) => {
    const keyPath = join(dir, 'id');
    const knownHosts = join(dir, 'known_hosts');
    await sshKeygen.writePrivate(keyPath, privateKey);
    await sshKeygen.writePrivate(`${keyPath}-cert.pub`, certificate.trim());
    await sshKeygen.writePrivate(knownHosts, `${port === 22 ? host.host : `[${host.host}]:${port}`} ${keyType} ${keyBlob}`);
    const args = [
      '-F', '/dev/null', '-n', '-T', '-p', String(port), '-l', username,
      '-i', keyPath, '-o', `CertificateFile=${keyPath}-cert.pub`,
      '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
      '-o', 'PreferredAuthentications=publickey', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'CheckHostIP=no', '-o', 'UpdateHostKeys=no', '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
      '-o', 'ForwardAgent=no', '-o', 'ClearAllForwardings=yes', '-o', `ConnectTimeout=${Math.max(1, Math.ceil(timeoutMs / 1000))}`,
      '-o', 'LogLevel=ERROR', '--', host.host, 'true',
    ];
    const result = await runSsh(args, deadline, what);
    // ssh exits 255 for its own failures; anything else is the status of `true` on the host.
    if (result.code !== 255) return 'accepted';
    if (/Permission denied/.test(result.stderr)) return 'rejected';
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(result.stderr)) {
      throw new AppError('target_error', `ssh ${what}: the host key of ${host.host}:${port} does not match drillHost.hostKey`);
    }
    throw new AppError('target_unavailable', `ssh ${what}: cannot reach ${host.host}:${port}`, { retryable: true });
  });
}

/** Runs the ssh client: no shell, a minimal environment, killed at the deadline. Output stays here. */
function runSsh(args: readonly string[], deadline: number, what: string): Promise<{ code: number; stderr: string }> {
  const timeout = deadline - Date.now();
  if (timeout <= 0) return Promise.reject(timedOut(what));
  return new Promise((resolve, reject) => {
    const child = execFile(
      'ssh',
      [...args],
      { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (error, _stdout, stderr) => {
        if (error === null) return resolve({ code: 0, stderr });
        if (error.killed || error.signal !== null) return reject(timedOut(what));
        if (typeof error.code === 'string') {
          const why = error.code === 'ENOENT' ? 'the ssh client is not installed (openssh-client)' : `cannot run ssh (${error.code})`;
          return reject(new AppError('target_error', `ssh ${what}: ${why}`, { cause: { errno: error.code } }));
        }
        resolve({ code: typeof error.code === 'number' ? error.code : 255, stderr });
      },
    );
    child.stdin?.end();
  });
}
