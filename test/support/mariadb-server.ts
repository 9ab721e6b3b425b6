/**
 * A private, throw-away MariaDB server for integration tests: `/usr/sbin/mariadbd` in the
 * foreground on 127.0.0.1 and a free port, TLS with a certificate for 127.0.0.1 signed by a CA
 * made here with `openssl` (a second, unrelated CA too, for "wrong CA"), and the PAM plugin asking
 * for passwords in clear (`pam_use_cleartext_plugin`). Never a system service; removed on stop
 * (and on process exit, so a crashed suite leaves no mariadbd behind).
 *
 * @example
 *   const check = await requireService('MariaDB server binaries (mariadbd, openssl)', mariadbServerAvailable);
 *   let maria: MariadbServer;
 *   beforeAll(async () => { maria = await startMariadbServer(); });
 *   afterAll(async () => { await maria?.stop(); });
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { makeTestCertificates, opensslAvailable } from './test-certs.js';

export interface MariadbServer {
  readonly host: string;
  readonly port: number;
  /** An account with every privilege WITH GRANT OPTION, over TCP with a password. */
  readonly adminUser: string;
  readonly adminPassword: string;
  /** The CA that signed the server certificate (SAN IP:127.0.0.1, DNS:localhost). */
  readonly caFile: string;
  /** A CA that signed nothing the server has. */
  readonly otherCaFile: string;
  /** Runs SQL as root over the server's unix socket (never TCP, never TLS). */
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Kills the server and deletes everything. */
  stop(): Promise<void>;
}

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const PAM_PLUGIN = '/usr/lib/mysql/plugin/auth_pam_v1.so';
const asRoot = process.getuid?.() === 0;

/** Can this machine run a private mariadbd with TLS and the PAM plugin? */
export function mariadbServerAvailable(): boolean {
  if (![MARIADBD, INSTALL_DB, PAM_PLUGIN].every((path) => existsSync(path))) return false;
  return opensslAvailable();
}

function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 60_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args[0] ?? ''} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

/** A port nothing listens on right now (it can be taken before mariadbd binds it: we retry). */
function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Waits for a state with a generous deadline, never for a fixed time. */
async function waitFor(what: string, ready: () => Promise<boolean>, exited: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`mariadbd exited before ${what}`);
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mariadbd: no ${what} within ${timeoutMs} ms`);
}

/** Starts a private server; see the module comment. */
export async function startMariadbServer(): Promise<MariadbServer> {
  const root = mkdtempSync(join(tmpdir(), 'bg-maria-'));
  const dataDir = join(root, 'data');
  const socketPath = join(root, 'mysqld.sock');
  const logFile = join(root, 'server.log');
  const user = asRoot ? ['--user=root'] : [];
  let child: ChildProcess | undefined;
  const kill = () => {
    child?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', kill);

  const query = async <T>(sql: string, params: readonly unknown[] = []): Promise<T[]> => {
    const conn = await mysql.createConnection({ socketPath, user: 'root', password: '', connectTimeout: 5000 });
    conn.on('error', () => undefined);
    try {
      const [rows] = await conn.query(sql, [...params]);
      return rows as T[];
    } finally {
      await conn.end();
    }
  };

  try {
    makeTestCertificates(root);
    await run(INSTALL_DB, ['--no-defaults', `--datadir=${dataDir}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db']);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await unusedPort();
      const log = openSync(logFile, 'a');
      const started = spawn(MARIADBD, [
        '--no-defaults', `--datadir=${dataDir}`, ...user, `--port=${port}`, '--bind-address=127.0.0.1',
        `--socket=${socketPath}`, `--pid-file=${join(root, 'mysqld.pid')}`, `--log-error=${logFile}`, '--skip-log-bin',
        '--innodb-buffer-pool-size=16M', '--skip-name-resolve', `--ssl-cert=${join(root, 'server.pem')}`, `--ssl-key=${join(root, 'server.key')}`,
        '--plugin-load-add=auth_pam_v1', '--pam-use-cleartext-plugin=ON',
      ], { stdio: ['ignore', log, log] });
      closeSync(log);
      child = started;
      const exited = () => started.exitCode !== null || started.signalCode !== null;
      try {
        await waitFor('answer on its socket', async () => (await query('SELECT 1')).length === 1, exited);
        break;
      } catch (err) {
        started.kill('SIGKILL');
        // The free port was taken between probing and binding: a fresh one, a few times.
        if (attempt >= 3) throw new Error(`${(err as Error).message}; see ${logFile}`);
      }
    }
    const adminPassword = randomBytes(18).toString('base64url');
    await query("CREATE USER 'bgadmin'@'%' IDENTIFIED BY ?", [adminPassword]);
    await query("GRANT ALL PRIVILEGES ON *.* TO 'bgadmin'@'%' WITH GRANT OPTION");
    return {
      host: '127.0.0.1',
      port,
      adminUser: 'bgadmin',
      adminPassword,
      caFile: join(root, 'ca.pem'),
      otherCaFile: join(root, 'other-ca.pem'),
      query,
      async stop() {
        process.removeListener('exit', kill);
        const gone = child === undefined || child.exitCode !== null ? Promise.resolve() : new Promise((r) => child?.once('exit', r));
        kill();
        await gone;
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    process.removeListener('exit', kill);
    kill();
    throw err;
  }
}
