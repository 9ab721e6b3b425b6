/**
 * How the unix connector talks to its host: the OpenSSH client, never a shell on this side.
 * - `runScript`: logs in as the target's admin `user` with its private key (BatchMode, public
 *   key only) and runs a POSIX sh script built by unix-scripts.ts from checked names only.
 * - `passwordLogin`: a real password login as a local account (ssh with SSH_ASKPASS), to
 *   prove which secret the host accepts now.
 * Both pin the host key: a known_hosts file holding only `hostKey`, StrictHostKeyChecking yes,
 * so a host answering in its place is never handed the admin key or a password. Key, password
 * and known_hosts exist only in a fresh 0700 directory (tmpfs /dev/shm when there is one),
 * files 0600, removed when the call ends. Nothing ssh or the host prints is repeated in errors.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../errors/index.js';
import type { VerifyResult } from '../../ports/index.js';

export interface UnixHost {
  readonly host: string;
  readonly port: number;
  /** The admin login Breakglass connects as. */
  readonly user: string;
  readonly hostKey: string;
  /** The admin private key (OpenSSH or PEM, no passphrase). */
  readonly privateKey: string;
  readonly timeoutMs: number;
}

/** The key Breakglass pins the host under (its own alias: no port formatting, no DNS name). */
const ALIAS = 'breakglass-unix-target';
const MAX_OUTPUT = 256 * 1024;

export const timedOut = (what: string) => new AppError('target_unavailable', `unix ${what}: timed out`, { retryable: true });

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A fresh 0700 directory (tmpfs first) for one call, removed afterwards, also on error. */
async function withPrivateDir<T>(base: 'shm' | 'tmp', fn: (dir: string) => Promise<T>): Promise<T> {
  const root = base === 'shm' && (await isDirectory('/dev/shm')) ? '/dev/shm' : tmpdir();
  let dir: string;
  try {
    dir = await mkdtemp(join(root, 'bg-unix-'));
  } catch (err) {
    throw new AppError('target_unavailable', 'unix: cannot create a private temporary directory', { cause: { errno: (err as { code?: unknown }).code }, retryable: true });
  }
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const writePrivate = (path: string, content: string) => writeFile(path, content.endsWith('\n') ? content : `${content}\n`, { mode: 0o600, flag: 'wx' });

function commonOptions(target: UnixHost, knownHosts: string): string[] {
  const [keyType] = target.hostKey.split(' ');
  return [
    '-F', '/dev/null', '-T', '-p', String(target.port),
    '-o', `HostKeyAlias=${ALIAS}`, '-o', `HostKeyAlgorithms=${keyType ?? 'ssh-ed25519'}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'CheckHostIP=no', '-o', 'UpdateHostKeys=no', '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
    '-o', 'IdentityAgent=none', '-o', 'ForwardAgent=no', '-o', 'ForwardX11=no', '-o', 'ClearAllForwardings=yes',
    '-o', `ConnectTimeout=${Math.max(1, Math.ceil(target.timeoutMs / 1000))}`, '-o', 'LogLevel=ERROR',
  ];
}

const knownHostsLine = (target: UnixHost) => {
  const [keyType, keyBlob] = target.hostKey.split(' ');
  return `${ALIAS} ${keyType ?? ''} ${keyBlob ?? ''}`;
};

interface SshOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runSsh(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, what: string, input = ''): Promise<SshOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile('ssh', [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, encoding: 'utf8', env }, (error, stdout, stderr) => {
      if (error === null) return resolve({ code: 0, stdout, stderr });
      if (error.killed || error.signal !== null) return reject(timedOut(what));
      if (typeof error.code === 'string') {
        const why = error.code === 'ENOENT' ? 'the ssh client is not installed (openssh-client)' : `cannot run ssh (${error.code})`;
        return reject(new AppError('target_error', `unix ${what}: ${why}`, { cause: { errno: error.code } }));
      }
      resolve({ code: typeof error.code === 'number' ? error.code : 255, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** ssh's own failure (exit 255) as an AppError: host key mismatch, refused key, unreachable host. */
function sshFailure(target: UnixHost, stderr: string, what: string, login: string): AppError {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) {
    return new AppError('target_error', `unix ${what}: the host key of ${target.host}:${target.port} does not match the target's hostKey; refusing to log in`);
  }
  if (/Permission denied/.test(stderr)) return new AppError('target_error', `unix ${what}: ${target.host}:${target.port} refused ${login}`);
  return new AppError('target_unavailable', `unix ${what}: cannot reach ${target.host}:${target.port}`, { retryable: true });
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' });

/**
 * Runs `script` on the host as the admin user: the remote command is only `sh -s`, the script
 * goes on its standard input, so what it carries (a password hash for chpasswd) is on no
 * command line, here or on the host. Resolves with the script's exit status and stdout; ssh's
 * own failures reject (see sshFailure).
 */
export async function runScript(target: UnixHost, script: string, what: string): Promise<{ code: number; stdout: string }> {
  return withPrivateDir('shm', async (dir) => {
    const keyPath = join(dir, 'id');
    const knownHosts = join(dir, 'known_hosts');
    await writePrivate(keyPath, target.privateKey);
    await writePrivate(knownHosts, knownHostsLine(target));
    const args = [
      ...commonOptions(target, knownHosts), '-l', target.user, '-i', keyPath,
      '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=publickey',
      '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
      '--', target.host, 'sh -s',
    ];
    const result = await runSsh(args, baseEnv(), target.timeoutMs, what, `${script}\n`);
    if (result.code === 255) throw sshFailure(target, result.stderr, what, 'the admin key (check the target\'s user and privateKeyEnv)');
    return { code: result.code, stdout: result.stdout };
  });
}

/**
 * A real password login as `username`, running `true`, closed at once: `accepted` when the host
 * let the account in now, `rejected` when sshd said "Permission denied" (wrong password, locked,
 * expired). The password reaches ssh through SSH_ASKPASS (a helper that prints a 0600 file), never
 * an argument or the environment.
 */
export async function passwordLogin(target: UnixHost, username: string, password: string, what: string): Promise<VerifyResult> {
  return withPrivateDir('shm', (secretDir) =>
    withPrivateDir('tmp', async (helperDir) => {
      const passwordFile = join(secretDir, 'pw');
      const knownHosts = join(secretDir, 'known_hosts');
      const askpass = join(helperDir, 'askpass');
      await writePrivate(passwordFile, password);
      await writePrivate(knownHosts, knownHostsLine(target));
      // /dev/shm is often noexec: the helper (no secret in it) lives in the temporary directory.
      await writeFile(askpass, `#!/bin/sh\nexec cat '${passwordFile}'\n`, { mode: 0o700, flag: 'wx' });
      await chmod(askpass, 0o700);
      const args = [
        ...commonOptions(target, knownHosts), '-n', '-l', username,
        '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive',
        '-o', 'NumberOfPasswordPrompts=1', '-o', 'IdentitiesOnly=yes',
        '--', target.host, 'true',
      ];
      const env = { ...baseEnv(), SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'none' };
      const result = await runSsh(args, env, target.timeoutMs, what);
      if (result.code !== 255) return 'accepted';
      if (/Permission denied/.test(result.stderr)) return 'rejected';
      throw sshFailure(target, result.stderr, what, 'the login');
    }),
  );
}
