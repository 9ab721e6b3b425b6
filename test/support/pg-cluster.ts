/**
 * A private, throw-away PostgreSQL cluster for integration tests: scram-sha-256 over TCP on
 * 127.0.0.1 and a free port, fsync off, removed on stop (and on process exit, so a crashed
 * suite leaves no postmaster behind).
 *
 * @example
 *   const pgCheck = await requireService('PostgreSQL binaries', pgBinariesAvailable);
 *   let cluster: PgCluster;
 *   beforeAll(async () => { cluster = await startPgCluster(); });
 *   afterAll(async () => { await cluster?.stop(); });
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { probeTcp } from './integration.js';
import { makeTestCertificates, type TestCertificates } from './test-certs.js';

export interface PgCluster {
  readonly host: string;
  readonly port: number;
  readonly adminUser: string;
  readonly adminPassword: string;
  /** The server log: tests can assert a secret never reached it. */
  readonly logFile: string;
  /** Stops the server at once and deletes everything. */
  stop(): Promise<void>;
  /** Stops the server (fast shutdown), keeping its data: the "target is down" state. */
  pause(): Promise<void>;
  /** Starts a paused or killed server again on the same port. */
  resume(): Promise<void>;
  /** SIGKILLs the postmaster, as a crash would; `resume()` brings it back (with recovery). */
  kill9(): Promise<void>;
  /** The CA and server certificate when started with `tls: true`. */
  readonly certs?: TestCertificates;
}

export interface PgClusterOptions {
  /** pg_hba.conf method for TCP logins (initdb --auth-host); default scram-sha-256. */
  readonly authHost?: 'scram-sha-256' | 'md5' | 'password';
  /** Serve TLS too (ssl = on) with a certificate from a test CA for 127.0.0.1. */
  readonly tls?: boolean;
}

const ADMIN_USER = 'admin';
const asRoot = process.getuid?.() === 0;

/** Directory of the newest installed PostgreSQL's binaries, if any. */
function binDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] === undefined ? undefined : join(base, versions[0], 'bin');
}

/** Can this machine start a private cluster? (initdb refuses root, so root needs `postgres`.) */
export function pgBinariesAvailable(): boolean {
  if (binDir() === undefined) return false;
  if (!asRoot) return true;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    execFileSync('sh', ['-c', 'command -v runuser'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
function pgCommand(bin: string, args: readonly string[]): [string, string[]] {
  const dir = binDir();
  if (dir === undefined) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql');
  const path = join(dir, bin);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, [...args]];
}

function runPg(bin: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const [file, argv] = pgCommand(bin, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args[0] ?? ''} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
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

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Starts a private cluster; see the module comment. */
export async function startPgCluster(clusterOptions: PgClusterOptions = {}): Promise<PgCluster> {
  const root = mkdtempSync(join(tmpdir(), 'bg-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  const logFile = join(root, 'server.log');
  const pwFile = join(root, 'pwfile');
  const adminPassword = randomBytes(18).toString('base64url');
  let port = await freePort();

  writeFileSync(pwFile, `${adminPassword}\n`, { mode: 0o600 });
  mkdirSync(socketDir, { mode: 0o700 });
  const tlsDir = join(root, 'tls');
  mkdirSync(tlsDir, { mode: 0o700 });
  const certs = clusterOptions.tls ? makeTestCertificates(tlsDir) : undefined;
  if (asRoot) {
    // The postgres user must own the tree; mkdtemp made it 0700 and root-owned.
    const { uid, gid } = postgresIds();
    for (const path of [root, socketDir, pwFile, tlsDir, ...readdirSync(tlsDir).map((f) => join(tlsDir, f))]) chownSync(path, uid, gid);
  }
  chmodSync(root, 0o700);

  let exitHook: (() => void) | undefined;
  const cleanup = () => {
    try {
      const [file, argv] = pgCommand('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
      if (existsSync(join(dataDir, 'postmaster.pid'))) execFileSync(file, argv, { stdio: 'ignore' });
    } catch {
      // Already down.
    }
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await runPg('initdb', [
      '-D', dataDir, '--username', ADMIN_USER, `--pwfile=${pwFile}`,
      `--auth-host=${clusterOptions.authHost ?? 'scram-sha-256'}`, '--auth-local=trust', '--encoding=UTF8', '--locale=C', '--no-sync',
    ]);
    rmSync(pwFile, { force: true });
    exitHook = cleanup;
    process.once('exit', exitHook);

    const start = async () => {
      // fsync=off survives a process crash (the OS still has the pages); synchronous_commit=off
      // would not: kill9() would silently lose commits that the tests rely on.
      const options = [
        `-p ${port}`, `-k ${socketDir}`, '-c listen_addresses=127.0.0.1', '-c fsync=off',
        '-c full_page_writes=off', '-c shared_buffers=16MB', '-c max_connections=60',
        '-c password_encryption=scram-sha-256', '-c lc_messages=C',
        ...(certs ? ['-c ssl=on', `-c ssl_cert_file=${certs.serverCert}`, `-c ssl_key_file=${certs.serverKey}`] : []),
      ].join(' ');
      await runPg('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', options]);
    };
    // The free port can be taken between probing and binding; try a fresh one a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        port = await freePort();
      }
    }

    const startAgain = async () => {
      // After kill -9 the old backends may still hold shared memory for a moment.
      for (let attempt = 1; ; attempt++) {
        try {
          await start();
          return;
        } catch (err) {
          if (attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    };

    return {
      host: '127.0.0.1',
      port,
      adminUser: ADMIN_USER,
      adminPassword,
      logFile,
      ...(certs ? { certs } : {}),
      async stop() {
        if (exitHook) process.removeListener('exit', exitHook);
        await runPg('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => undefined);
        rmSync(root, { recursive: true, force: true });
      },
      async pause() {
        await runPg('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w']);
      },
      resume: startAgain,
      async kill9() {
        const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(pid, 'SIGKILL');
        await waitUntil(async () => !(await probeTcp('127.0.0.1', port, 200)), 10_000);
      },
    };
  } catch (err) {
    if (exitHook) process.removeListener('exit', exitHook);
    cleanup();
    throw err;
  }
}

/** Takes the target down, keeping its data (for "target down, then up" tests). */
export function pauseCluster(cluster: PgCluster): Promise<void> {
  return cluster.pause();
}

/** Brings a paused cluster back on the same port. */
export function resumeCluster(cluster: PgCluster): Promise<void> {
  return cluster.resume();
}
