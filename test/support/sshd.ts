/**
 * A private, throw-away sshd for integration tests: its own host key and config on a free
 * 127.0.0.1 port, trusting one user CA (`TrustedUserCAKeys`) and reading one KRL
 * (`RevokedKeys`). Never a system service; stopped (with every session it spawned) on stop()
 * and on process exit. Logins use the real `ssh` client with a ControlMaster, so a session stays
 * open and `alive()` can run a command on it.
 *
 * @example
 *   const check = await requireService('OpenSSH server (/usr/sbin/sshd)', sshdAvailable);
 *   const sshd = await startSshd({ caPublicKey, krlPath });
 *   const session = await sshd.login({ username: sshd.user, certificate, privateKey });
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { RevealedCredential } from '../../src/ports/index.js';
import type { LoginResult, Session } from '../conformance/connector-conformance.js';
import { hasExecutable, probeTcp } from './integration.js';

const SSHD = '/usr/sbin/sshd';
/** The dedicated local account the tests log in as when running as root. */
const TEST_USER = 'bgssh';

export interface Sshd {
  readonly port: number;
  /** The account certificates must name as a principal to log in. */
  readonly user: string;
  readonly krlPath: string;
  /** Everything sshd logged so far (`-e`: to stderr). */
  log(): string;
  /** Logs in with the certificate as `user` (default: the credential's username). */
  login(credential: RevealedCredential, user?: string): Promise<LoginResult>;
  stop(): Promise<void>;
}

/** Is everything here to run a private sshd and log in to it? */
export function sshdAvailable(): boolean {
  return hasExecutable(SSHD) && hasExecutable('/usr/bin/ssh') && hasExecutable('/usr/bin/ssh-keygen');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function run(file: string, args: readonly string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 255, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/**
 * The account to log in as. As root: a dedicated local user (created once, no password: `*` is
 * not "locked", which sshd without PAM would refuse), else root itself. Otherwise: ourselves.
 */
function loginUser(): { user: string; rootLogin: boolean } {
  if (process.getuid?.() !== 0) return { user: userInfo().username, rootLogin: false };
  try {
    execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
    return { user: TEST_USER, rootLogin: false };
  } catch {
    // Not there yet.
  }
  try {
    execFileSync('useradd', ['--no-create-home', '--home-dir', '/', '--shell', '/bin/sh', '--password', '*', TEST_USER], { stdio: 'ignore' });
    return { user: TEST_USER, rootLogin: false };
  } catch {
    return { user: 'root', rootLogin: true };
  }
}

function sshdConfig(root: string, port: number, krlPath: string, user: string, rootLogin: boolean): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(root, 'host_ed25519')}`,
    `PidFile ${join(root, 'sshd.pid')}`,
    `TrustedUserCAKeys ${join(root, 'ca.pub')}`,
    `RevokedKeys ${krlPath}`,
    // Principals must match the user name; no authorized_keys can let anything else in.
    'AuthorizedPrincipalsFile none',
    'AuthorizedKeysFile none',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    `PermitRootLogin ${rootLogin ? 'prohibit-password' : 'no'}`,
    `AllowUsers ${user}`,
    'LogLevel VERBOSE',
    'MaxStartups 100',
    '',
  ].join('\n');
}

/** Pids of all descendants of `pid` (per-connection sshd processes and their shells). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Starts sshd -D on a free port (retrying a port taken meanwhile). */
async function launch(root: string, configFor: (port: number) => string, logs: string[]): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const configPath = join(root, 'sshd_config');
    writeFileSync(configPath, configFor(port), { mode: 0o600 });
    const test = await run(SSHD, ['-t', '-f', configPath]);
    if (test.code !== 0) throw new Error(`sshd -t rejected the test config: ${test.stderr}`);
    const child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    let exited = false;
    child.once('exit', () => (exited = true));
    if (await waitFor(async () => exited || (await probeTcp('127.0.0.1', port, 200)), 10_000) && !exited) return { child, port };
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`sshd did not start: ${logs.join('')}`);
  }
}

/** Starts a private sshd; see the module comment. */
export async function startSshd(options: { caPublicKey: string; krlPath: string; createKrl?: boolean }): Promise<Sshd> {
  const root = mkdtempSync(join(tmpdir(), 'bg-sshd-'));
  const logs: string[] = [];
  const clients = new Set<ChildProcess>();
  // Privilege separation directory; a system without a running sshd may not have it.
  if (!existsSync('/run/sshd') && process.getuid?.() === 0) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  const { user, rootLogin } = loginUser();
  writeFileSync(join(root, 'ca.pub'), `${options.caPublicKey}\n`);
  const keygen = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(root, 'host_ed25519')]);
  if (keygen.code !== 0) throw new Error(`host key generation failed: ${keygen.stderr}`);
  // Without a readable RevokedKeys file sshd refuses every key: start from an empty KRL.
  if (options.createKrl !== false && !existsSync(options.krlPath)) {
    const krl = await run('ssh-keygen', ['-k', '-f', options.krlPath]);
    if (krl.code !== 0) throw new Error(`empty KRL creation failed: ${krl.stderr}`);
  }

  let stopped = false;
  let child: ChildProcess | undefined;
  const cleanup = () => {
    for (const c of clients) c.kill('SIGKILL');
    if (child?.pid !== undefined) {
      for (const pid of descendants(child.pid)) kill(pid, 'SIGKILL');
      kill(child.pid, 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  let port: number;
  try {
    ({ child, port } = await launch(root, (p) => sshdConfig(root, p, options.krlPath, user, rootLogin), logs));
  } catch (err) {
    process.removeListener('exit', cleanup);
    cleanup();
    throw err;
  }

  return {
    port,
    user,
    krlPath: options.krlPath,
    log: () => logs.join(''),
    login: (credential, as) => login(credential, as ?? credential.username, port, clients),
    stop() {
      if (!stopped) {
        stopped = true;
        process.removeListener('exit', cleanup);
        cleanup();
      }
      return Promise.resolve();
    },
  };
}

/** ssh options shared by the master and the commands run through it. */
function sshOptions(dir: string, port: number): string[] {
  return [
    '-F', '/dev/null', '-p', String(port),
    '-o', `ControlPath=${join(dir, 'cm')}`,
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR',
    '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
  ];
}

/**
 * Logs in for real: a ControlMaster connection kept open, or 'rejected' when sshd refused the
 * certificate (ssh exits 255 with "Permission denied").
 */
async function login(credential: RevealedCredential, user: string, port: number, clients: Set<ChildProcess>): Promise<LoginResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-sshlogin-'));
  const keyPath = join(dir, 'id');
  writeFileSync(keyPath, credential['privateKey'] ?? '', { mode: 0o600 });
  writeFileSync(`${keyPath}-cert.pub`, `${credential['certificate'] ?? ''}\n`);
  const options = sshOptions(dir, port);
  const target = `${user}@127.0.0.1`;
  const master = spawn('ssh', [...options, '-o', 'ControlMaster=yes', '-i', keyPath, '-o', `CertificateFile=${keyPath}-cert.pub`, '-N', target], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  clients.add(master);
  let stderr = '';
  let exitCode: number | null | undefined;
  master.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  master.once('exit', (code) => (exitCode = code));
  const check = async () => exitCode !== undefined || (await run('ssh', [...options, '-O', 'check', target], 3000)).code === 0;
  const up = await waitFor(check, 10_000);
  const cleanup = () => {
    master.kill('SIGKILL');
    clients.delete(master);
    rmSync(dir, { recursive: true, force: true });
  };
  if (!up || exitCode !== undefined) {
    cleanup();
    if (exitCode === 255 && /Permission denied/.test(stderr)) return 'rejected';
    throw new Error(`ssh login failed unexpectedly (exit ${String(exitCode)}): ${stderr}`);
  }
  const session: Session = {
    // Runs a command over the open connection only: no fallback to a fresh login.
    alive: async () =>
      exitCode === undefined && (await run('ssh', [...options, '-o', 'ControlMaster=no', '-O', 'check', target], 3000)).code === 0 &&
      (await run('ssh', [...options, '-o', 'ControlMaster=no', '-o', 'PubkeyAuthentication=no', target, 'true'], 5000)).code === 0,
    async close() {
      await run('ssh', [...options, '-O', 'exit', target], 3000);
      cleanup();
    },
  };
  return session;
}
