/**
 * The exec (script) connector: the conformance suite against examples/exec-mariadb.sh on the
 * real MariaDB at 127.0.0.1:3306 (root, no password), plus what that script must get right
 * beyond it (hostile secrets and specs, grants, the admin secret). Accounts made here are
 * `name`@`127.0.0.1` (the mysql connector's suite uses host `%`) and are dropped in afterAll.
 * The protocol itself (timeouts, malformed answers, caps, redaction, environment) is tested
 * with tiny scripts in src/connectors/exec/exec-connector.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { inspect as utilInspect } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createExecConnector, execDriver } from '../../src/connectors/exec/exec-connector.js';
import { AppError } from '../../src/errors/index.js';
import type { Connector } from '../../src/ports/index.js';
import { connectorConformance, type LoginResult } from '../conformance/connector-conformance.js';
import { probeTcp, requireService } from '../support/integration.js';

// The example script starts bash, jq and the MariaDB client for every call: the hostile-name
// conformance test alone makes hundreds of them, about 45 s on an idle 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const HOST = '127.0.0.1';
const PORT = 3306;
const EXAMPLE = resolve(import.meta.dirname, '../../examples/exec-mariadb.sh');
const onPath = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const check = await requireService(`MariaDB on ${HOST}:${PORT} with jq, openssl and the mariadb client (examples/exec-mariadb.sh)`, async () =>
  ['jq', 'openssl', 'mariadb', 'od'].every(onPath) && (await probeTcp(HOST, PORT)),
);

const run = Date.now().toString(36);
let counter = 0;
const created = new Set<string>();
const track = (user: string) => (created.add(user), user);
const capabilities = { supportsSessionKill: true, supportsNativeExpiry: false, supportsPrestaged: true, supportsEphemeral: true };
const exampleArgs = (port: number) => ['--host', HOST, '--port', String(port), '--user', 'root', '--account-host', HOST];
const example = (options: { port?: number; timeoutMs?: number; adminSecret?: string } = {}): Connector =>
  createExecConnector({
    type: 'exec',
    name: 'mariadb-example',
    settings: { command: EXAMPLE, args: exampleArgs(options.port ?? PORT), capabilities },
    adminSecret: options.adminSecret,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });

async function login(user: string, password: string): Promise<LoginResult> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({ host: HOST, port: PORT, user, password, connectTimeout: 3000 });
  } catch (err) {
    const errno = (err as { errno?: number }).errno ?? 0;
    // 1045 wrong password, 1698 no such user (MariaDB answers either), 4151 account locked.
    if (errno === 1045 || errno === 1698 || errno === 4151) return 'rejected';
    throw err;
  }
  conn.on('error', () => undefined);
  return {
    alive: () => conn.query('SELECT 1').then(() => true, () => false),
    close: () => conn.end().catch(() => conn.destroy()),
  };
}

async function adminQuery<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await mysql.createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
  try {
    return (await conn.query(sql, params))[0] as T[];
  } finally {
    await conn.end();
  }
}

async function dropTestUsers(): Promise<void> {
  const leftovers = await adminQuery<{ User: string }>(
    "SELECT User FROM mysql.global_priv WHERE Host = '127.0.0.1' AND (User LIKE 'bgx\\_%' OR User LIKE 'bg\\_conf%')",
  );
  for (const user of new Set([...created, ...leftovers.map((r) => r.User)])) {
    await adminQuery('DROP USER IF EXISTS ?@?', [user, HOST]).catch(() => undefined);
  }
}

async function closedPort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, HOST, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

const spec = { privileges: ['SELECT ON bgx_conf.*'] };

connectorConformance(
  'exec (examples/exec-mariadb.sh)',
  async () => {
    const downPort = await closedPort();
    return {
      create: (options) => example(options ?? {}),
      unreachable: () => example({ port: downPort, timeoutMs: 1000 }),
      prestaged: {
        newPrincipal: () => track(`bgx_${run}_${++counter}`),
        spec: () => spec,
        login,
        hostileNames: [
          'bgx_a"b',
          "bgx_x'; DROP USER 'root'@'localhost'; --",
          'bgx_back\\slash\\',
          'bgx_`tick`@`%`',
          'bgx with space',
          'bgx_\u0430dmin', // Cyrillic "а": looks like admin, is not
          'BGX_UPPER',
          'bgx_$(touch /tmp/bgx-pwned)',
          'bgx_\\! id', // a mariadb client command, if it were ever parsed as one
          'bgx_%_wild',
          'bgx_at@host',
          'bgx_日本語',
          `bgx_${'x'.repeat(124)}`, // exactly 128 characters
        ].map(track),
        rejectedNames: [
          '',
          'bgx_nul\0byte',
          'bgx_new\nline',
          'bgx_\uD800lone',
          `bgx_${'x'.repeat(125)}`, // 129 characters
          'bgx_emoji🔑', // utf8mb3 would store "?", aliasing another name
          'bgx_trailing ', // PAD SPACE: would alias bgx_trailing
          'root', // the script's admin user
          'mariadb.sys', // exists for another host
        ],
      },
      ephemeral: { spec: () => spec, login: (c) => login(c.username, c['password'] ?? '') },
      teardown: dropTestUsers,
    };
  },
  { skip: check.skip },
);

describe.skipIf(check.skip)('exec connector with examples/exec-mariadb.sh', () => {
  afterAll(dropTestUsers);

  it('is the exec driver, with the capabilities its settings declare', () => {
    const c = example();
    expect(execDriver.create).toBe(createExecConnector);
    expect(c.capabilities).toEqual(capabilities);
  });

  it('injection: hostile secrets and spec values are data, never SQL or shell', async () => {
    const ops = example().prestaged!;
    const user = track(`bgx_${run}_secret`);
    const secret = `it's a \\ back'slash $$ "quote" ; -- \`id\` $(id) #hash\ttab\n`;
    await ops.stage(user, secret, spec);
    expect(await ops.verify({ username: user, password: secret })).toBe('accepted');
    expect(await ops.verify({ username: user, password: secret.trimEnd() })).toBe('rejected');
    await ops.enable(user, new Date(Date.now() + 60_000));
    const session = await login(user, secret);
    expect(session).not.toBe('rejected');
    await (session as Exclude<LoginResult, 'rejected'>).close();
    await ops.disable(user);
    for (const privileges of [
      ["SELECT ON x.*; DROP USER 'root'@'localhost'"],
      ['SELECT ON `x`.*'],
      ['SELECT ON x.* TO root'],
      ['FILE ON *.*'],
      'SELECT ON x.*',
    ]) {
      const error = await thrown(ops.stage(user, secret, { privileges }));
      expect(error.code, JSON.stringify(privileges)).toBe('validation');
    }
    expect(existsSync('/tmp/bgx-pwned')).toBe(false);
    const [root] = await adminQuery<{ n: number }>("SELECT COUNT(*) AS n FROM mysql.global_priv WHERE User = 'root'");
    expect(Number(root?.n)).toBeGreaterThan(0);
  });

  it('a database grant escapes `_`, so bgx_conf.* does not cover bgxXconf', async () => {
    const ops = example().prestaged!;
    const user = track(`bgx_${run}_grant`);
    await ops.stage(user, 'grant-secret', spec);
    const grants = await adminQuery<Record<string, string>>(`SHOW GRANTS FOR ?@?`, [user, HOST]);
    expect(grants.map((g) => Object.values(g)[0]).join('\n')).toContain('ON `bgx\\_conf`.*');
  });

  it('secret-in-logs: a wrong admin secret is a target_error that never carries the secret', async () => {
    const adminSecret = 'Wr0ng-admin-"secret"\\';
    const error = await thrown(example({ adminSecret }).prestaged!.inspect('bgx_any'));
    expect(error.code).toBe('target_error');
    expect(error.message).toContain('1045');
    expect(utilInspect(error, { depth: 10 })).not.toContain(adminSecret);
  });
});
