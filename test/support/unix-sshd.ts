/**
 * A private sshd for the unix connector's tests: its own host key and config on a free
 * 127.0.0.1 port; root logs in with one admin key (the connector's), the test's local accounts
 * (`bgux*`, and `bg_*` for ephemeral users) with passwords, checked by sshd itself against
 * /etc/shadow (`UsePAM no`: a locked hash or an expired account is refused). Needs root (the
 * tests create and remove local users). Every user the tests made is removed by `stop()`.
 *
 * @example
 *   const sshd = await startUnixSshd();
 *   const session = await sshd.passwordLogin('bgux1', 'secret');
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoginResult, Session } from '../conformance/connector-conformance.js';
import { hasExecutable, probeTcp } from './integration.js';

const SSHD = '/usr/sbin/sshd';
/** Prefix of every pre-staged login the tests create; ephemeral ones are `bg_<grant>`. */
export const TEST_PREFIX = 'bgux';

export interface UnixSshd {
  readonly port: number;
  /** The host key line to pin (`ssh-ed25519 AAAA…`). */
  readonly hostKey: string;
  /** The admin private key root accepts. */
  readonly adminKey: string;
  log(): string;
  /** A real password login kept open (ControlMaster), or 'rejected'. */
  passwordLogin(user: string, password: string): Promise<LoginResult>;
  stop(): Promise<void>;
}

export function unixSshdAvailable(): boolean {
  return process.getuid?.() === 0 && hasExecutable(SSHD) && hasExecutable('/usr/bin/ssh') && hasExecutable('/usr/sbin/useradd') && hasExecutable('/usr/bin/openssl');
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

export function run(file: string, args: readonly string[], timeoutMs = 10_000, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8', env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 255, stdout, stderr });
    });
    child.stdin?.end();
  });
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Removes every local user the tests made (processes killed first). */
export function removeTestUsers(): void {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , , , gecos] = line.split(':');
    if (name === undefined || name === '') continue;
    const ours = name.startsWith(TEST_PREFIX) || (name.startsWith('bg_') && /^breakglass grant gr_(conf|ux)/.test(gecos ?? ''));
    if (!ours) continue;
    try {
      execFileSync('pkill', ['-KILL', '-u', name], { stdio: 'ignore' });
    } catch {
      // No process.
    }
    try {
      execFileSync('userdel', ['-r', name], { stdio: 'ignore' });
    } catch {
      // Mail spool warnings; checked by the next scan.
    }
  }
}

export async function startUnixSshd(): Promise<UnixSshd> {
  const root = mkdtempSync(join(tmpdir(), 'bg-unix-sshd-'));
  chmodSync(root, 0o755);
  const logs: string[] = [];
  const clients = new Set<ChildProcess>();
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  for (const [file, what] of [['host_ed25519', 'host'], ['admin', 'admin']] as const) {
    const made = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', what, '-f', join(root, file)]);
    if (made.code !== 0) throw new Error(`${what} key generation failed: ${made.stderr}`);
  }
  writeFileSync(join(root, 'admin_keys'), readFileSync(join(root, 'admin.pub')));
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(root, 'host_ed25519')}`,
    `PidFile ${join(root, 'sshd.pid')}`,
    'AuthorizedKeysFile none',
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    `AllowUsers root ${TEST_PREFIX}* bg_*`,
    'LogLevel VERBOSE',
    'MaxStartups 100',
    'Match User root',
    `  AuthorizedKeysFile ${join(root, 'admin_keys')}`,
    // issue 12 (evidence): the non-root admin of createSudoAdmin logs in with the same admin key.
    `Match User ${SUDO_ADMIN_PREFIX}*`,
    `  AuthorizedKeysFile ${join(root, 'admin_keys')}`,
    '',
  ].join('\n');
  const configPath = join(root, 'sshd_config');
  writeFileSync(configPath, config, { mode: 0o600 });
  const test = await run(SSHD, ['-t', '-f', configPath]);
  if (test.code !== 0) throw new Error(`sshd -t rejected the test config: ${test.stderr}`);
  const child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
  let exited = false;
  child.once('exit', () => (exited = true));
  let stopped = false;
  const cleanup = () => {
    for (const c of clients) c.kill('SIGKILL');
    child.kill('SIGKILL');
    removeTestUsers();
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  if (!(await waitFor(async () => exited || (await probeTcp('127.0.0.1', port, 200)), 10_000)) || exited) {
    cleanup();
    throw new Error(`sshd did not start: ${logs.join('')}`);
  }
  const hostKey = readFileSync(join(root, 'host_ed25519.pub'), 'utf8').trim();
  return {
    port,
    hostKey,
    adminKey: readFileSync(join(root, 'admin'), 'utf8'),
    log: () => logs.join(''),
    passwordLogin: (user, password) => passwordLogin(user, password, port, clients),
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

/** Logs in with a password through SSH_ASKPASS and keeps the connection open (ControlMaster). */
async function passwordLogin(user: string, password: string, port: number, clients: Set<ChildProcess>): Promise<LoginResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-unixlogin-'));
  writeFileSync(join(dir, 'pw'), `${password}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'askpass'), `#!/bin/sh\nexec cat '${join(dir, 'pw')}'\n`, { mode: 0o700 });
  const options = [
    '-F', '/dev/null', '-p', String(port), '-o', `ControlPath=${join(dir, 'cm')}`,
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR',
    '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1', '-o', 'IdentityAgent=none',
  ];
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SSH_ASKPASS: join(dir, 'askpass'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'none' };
  const target = `${user}@127.0.0.1`;
  const master = spawn('ssh', [...options, '-o', 'ControlMaster=yes', '-N', target], { stdio: ['ignore', 'ignore', 'pipe'], env });
  clients.add(master);
  let stderr = '';
  let exitCode: number | null | undefined;
  master.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  master.once('exit', (code) => (exitCode = code));
  const check = async () => exitCode !== undefined || (await run('ssh', [...options, '-O', 'check', target], 3000, env)).code === 0;
  const up = await waitFor(check, 10_000);
  const cleanup = () => {
    master.kill('SIGKILL');
    clients.delete(master);
    rmSync(dir, { recursive: true, force: true });
  };
  if (!up || exitCode !== undefined) {
    cleanup();
    if (exitCode === 255 && /Permission denied/.test(stderr)) return 'rejected';
    throw new Error(`ssh password login failed unexpectedly (exit ${String(exitCode)})`);
  }
  const session: Session = {
    alive: async () =>
      exitCode === undefined && (await run('ssh', [...options, '-o', 'ControlMaster=no', '-O', 'check', target], 3000, env)).code === 0 &&
      (await run('ssh', [...options, '-o', 'ControlMaster=no', target, 'true'], 5000, env)).code === 0,
    async close() {
      await run('ssh', [...options, '-O', 'exit', target], 3000, env);
      cleanup();
    },
  };
  return session;
}

// issue 12 (evidence): a non-root admin whose only power is the sudoers line the unix README documents.
/** Prefix of the non-root admin logins createSudoAdmin makes (the test sshd accepts the admin key for them). */
export const SUDO_ADMIN_PREFIX = `${TEST_PREFIX}sudo`;

export interface SudoAdmin {
  /** The admin login: a plain user, no group, no password, the admin key only. */
  readonly user: string;
  /** Its file in /etc/sudoers.d (mode 0440, checked by `visudo -cf`). */
  readonly sudoersFile: string;
  /** The sudoers line it holds: the README's, for this user. */
  readonly line: string;
  /** Takes the sudoers file away (the user stays): sudo must then refuse. */
  revokeSudo(): void;
  /** Removes the sudoers file and the user (idempotent; also run on process exit). */
  remove(): void;
}

/** The sudoers line of src/connectors/unix/README.md, for `user` instead of `breakglass`. */
export function documentedSudoersLine(user: string): string {
  const readme = readFileSync(new URL('../../src/connectors/unix/README.md', import.meta.url), 'utf8');
  const line = /^breakglass ALL=\(root\) NOPASSWD: .+$/m.exec(readme)?.[0];
  if (line === undefined) throw new Error('src/connectors/unix/README.md documents no sudoers line ("breakglass ALL=(root) NOPASSWD: ...")');
  return line.replace(/^breakglass /, `${user} `);
}

/**
 * Makes a non-root admin for the unix connector on this machine: a new local user that logs in
 * to the test sshd with its admin key and holds exactly the documented sudoers line, installed
 * under a unique name in /etc/sudoers.d after `visudo -cf` accepted it. Needs root and sudo.
 *
 * @example
 *   const admin = createSudoAdmin();
 *   const unix = createUnixConnector({ type: 'unix', settings: { ..., user: admin.user }, adminSecret: sshd.adminKey });
 *   admin.remove();
 */
export function createSudoAdmin(): SudoAdmin {
  const user = `${SUDO_ADMIN_PREFIX}${Date.now().toString(36).slice(-6)}${Math.random().toString(36).slice(2, 5)}`;
  const line = documentedSudoersLine(user);
  const sudoersFile = `/etc/sudoers.d/breakglass-test-${user}`;
  const staging = mkdtempSync(join(tmpdir(), 'bg-sudoers-'));
  let removed = false;
  const revokeSudo = () => rmSync(sudoersFile, { force: true });
  const remove = () => {
    if (removed) return;
    removed = true;
    process.removeListener('exit', remove);
    revokeSudo();
    rmSync(staging, { recursive: true, force: true });
    try {
      execFileSync('pkill', ['-KILL', '-u', user], { stdio: 'ignore' });
    } catch {
      // No process.
    }
    try {
      execFileSync('userdel', ['-r', user], { stdio: 'ignore' });
    } catch {
      // Never made.
    }
  };
  process.once('exit', remove);
  try {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', '-c', 'breakglass test sudo admin', user], { stdio: 'ignore' });
    // `*`: no password, yet not locked (`!`): with UsePAM no, sshd refuses a locked account even its key.
    execFileSync('usermod', ['-p', '*', user], { stdio: 'ignore' });
    const candidate = join(staging, 'sudoers');
    writeFileSync(candidate, `# breakglass test: the unix connector's documented sudoers line\n${line}\n`, { mode: 0o440 });
    execFileSync('visudo', ['-cf', candidate], { stdio: 'ignore' });
    writeFileSync(sudoersFile, readFileSync(candidate), { mode: 0o440, flag: 'wx' });
    chmodSync(sudoersFile, 0o440);
  } catch (err) {
    remove();
    throw err;
  }
  return { user, sudoersFile, line, revokeSudo, remove };
}
