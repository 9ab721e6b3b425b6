/**
 * The MariaDB connector against the real server on 127.0.0.1:3306 (root, empty password).
 * Every account made here starts with `bgt_` (pre-staged) or `bg_conf`/`bg_mysqlt` (ephemeral,
 * named by ephemeralPrincipal) and is dropped in afterAll.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { inspect as utilInspect } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlConnector, mysqlDriver } from '../../src/connectors/mysql/mysql-connector.js';
import { AppError } from '../../src/errors/index.js';
import { ephemeralPrincipal, type Connector, type EphemeralOperations, type PrestagedOperations } from '../../src/ports/index.js';
import { connectorConformance, type LoginResult } from '../conformance/connector-conformance.js';
import { probeTcp, requireService } from '../support/integration.js';

const HOST = '127.0.0.1';
const PORT = 3306;
const check = await requireService(`MariaDB on ${HOST}:${PORT}`, () => probeTcp(HOST, PORT));
const settings = { host: HOST, port: PORT, user: 'root' };
const run = Date.now().toString(36);
let counter = 0;
const created = new Set<string>();
const track = (user: string) => (created.add(user), user);
const newUser = (tag = 'u') => track(`bgt_${run}_${tag}${++counter}`);

/** errno of the server's answer to a login as the account: MariaDB numbers, not mysql2 names. */
const LOCKED = 4151;
const DENIED = new Set([1045, 1698]);

async function connectAs(user: string, password: string): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({ host: HOST, port: PORT, user, password, connectTimeout: 3000 });
  conn.on('error', () => undefined);
  return conn;
}

async function loginErrno(user: string, password: string): Promise<number> {
  try {
    await (await connectAs(user, password)).end();
  } catch (err) {
    return (err as { errno: number }).errno;
  }
  throw new Error(`login as ${user} unexpectedly succeeded`);
}

/** A login the way a responder would do it; refused logins are 'rejected'. */
async function login(user: string, password: string): Promise<LoginResult> {
  let conn: mysql.Connection;
  try {
    conn = await connectAs(user, password);
  } catch (err) {
    const errno = (err as { errno?: number }).errno ?? 0;
    if (DENIED.has(errno) || errno === LOCKED) return 'rejected';
    throw err;
  }
  return {
    async alive() {
      try {
        await conn.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await conn.end().catch(() => conn.destroy());
    },
  };
}

async function adminQuery<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await connectAs('root', '');
  try {
    const [rows] = await conn.query(sql, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, HOST, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `'<user>'@'%'` for the test's own SQL (the connector quotes for itself). */
const quoted = (user: string) => `\`${user.replace(/`/g, '``')}\`@\`%\``;

/** Drops every account this file made, including ephemeral ones of failed tests. */
async function dropTestUsers(): Promise<void> {
  const leftovers = await adminQuery<{ User: string }>(
    "SELECT User FROM mysql.global_priv WHERE Host = '%' AND (User LIKE 'bgt\\_%' OR User LIKE 'bg\\_conf%' OR User LIKE 'bg\\_mysqlt%')",
  );
  for (const user of new Set([...created, ...leftovers.map((r) => r.User)])) {
    await adminQuery(`DROP USER IF EXISTS ${quoted(user)}`).catch(() => undefined);
  }
  await adminQuery('DROP DATABASE IF EXISTS bgt_conf_db');
  await adminQuery('DROP DATABASE IF EXISTS bgt_other_db');
  await adminQuery('DROP DATABASE IF EXISTS bgtxconf_db');
}

const conformanceSpec = { privileges: ['SELECT ON bgt_conf_db.*'] };

connectorConformance(
  'mysql',
  async () => {
    const downPort = await closedPort();
    return {
      create: (options) => createMysqlConnector({ type: 'mysql', settings, adminSecret: undefined, ...options }),
      unreachable: () => createMysqlConnector({ type: 'mysql', settings: { ...settings, port: downPort }, adminSecret: undefined, timeoutMs: 1000 }),
      prestaged: {
        newPrincipal: () => newUser('conf'),
        spec: (principal) => ({ user: principal, privileges: ['SELECT ON bgt_conf_db.*'] }),
        login,
        hostileNames: [
          'bgt_a`b',
          'bgt_x`@`%`; DROP USER root; --',
          "bgt_o'brien'); DROP USER `root`@`%`; --",
          'bgt_back\\slash\\',
          'bgt_"double" quotes',
          'bgt_\u0430dmin', // Cyrillic "а": looks like admin, is not
          'BGT_UPPER',
          'bgt_with space',
          ' bgt_leading_space',
          'bgt_%_wild',
          'bgt_at@host',
          'bgt_日本語',
          `bgt_${'x'.repeat(124)}`, // exactly 128 characters
        ].map(track),
        rejectedNames: [
          '',
          'bgt_nul\0byte',
          `bgt_${'x'.repeat(125)}`, // 129: the handshake would truncate it onto a 128-char account
          'bgt_emoji🔑', // 4 bytes in UTF-8: utf8mb3 cannot hold it
          'bgt_trailing ', // CHAR columns drop it: would alias bgt_trailing
          'bgt_\uD800lone',
          'bgt_new\nline',
          'root', // the admin user
          'mariadb.sys',
        ],
        // Someone's own login: it exists, unlocked, and logs in with the password now.
        plantLogin: async (principal, password) => {
          await adminQuery(`CREATE USER ${quoted(track(principal))} IDENTIFIED BY ?`, [password]);
        },
        reservedNames: ['root', 'mariadb.sys', 'mysql', 'PUBLIC', 'debian-sys-maint'],
      },
      ephemeral: {
        spec: () => conformanceSpec,
        login: (credential) => login(credential.username, credential['password'] ?? ''),
      },
      teardown: dropTestUsers,
    };
  },
  { skip: check.skip },
);

type Ops = PrestagedOperations & EphemeralOperations & Pick<Connector, 'close' | 'capabilities'>;
const opsOf = (c: Connector): Ops => ({ ...c.prestaged!, ...c.ephemeral!, capabilities: c.capabilities, close: () => c.close() });

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

describe.skipIf(check.skip)('mysql connector (MariaDB on 127.0.0.1:3306)', () => {
  let db: Ops;
  const far = () => new Date(Date.now() + 600_000);

  beforeAll(async () => {
    db = opsOf(createMysqlConnector({ type: 'mysql', settings, adminSecret: undefined }));
    await adminQuery('CREATE DATABASE IF NOT EXISTS bgt_conf_db');
    await adminQuery('CREATE TABLE IF NOT EXISTS bgt_conf_db.t (a INT)');
    await adminQuery('CREATE DATABASE IF NOT EXISTS bgtxconf_db'); // matches `bgt_conf_db` if `_` were a wildcard
    await adminQuery('CREATE TABLE IF NOT EXISTS bgtxconf_db.t (a INT)');
  });
  afterAll(async () => {
    await db?.close();
    await dropTestUsers();
  });

  it('is the mysql driver, with session kill and without native expiry', () => {
    expect(mysqlDriver.create).toBe(createMysqlConnector);
    expect(db.capabilities).toEqual({ supportsSessionKill: true, supportsNativeExpiry: false, supportsPrestaged: true, supportsEphemeral: true });
  });

  it('MariaDB authenticates before the lock: right secret 4151, wrong secret 1045', async () => {
    const user = newUser();
    await db.stage(user, 'right-secret');
    expect(await loginErrno(user, 'right-secret')).toBe(LOCKED);
    expect(await loginErrno(user, 'wrong-secret')).toBe(1045);
    expect(await db.verify({ username: user, password: 'right-secret' })).toBe('accepted');
    expect(await db.verify({ username: user, password: 'wrong-secret' })).toBe('rejected');
    expect(await db.verify({ username: user, password: '' })).toBe('rejected');
    expect(await db.verify({ username: newUser('missing'), password: 'x' })).toBe('rejected');
    const [row] = await adminQuery<{ auth: string; plugin: string }>(
      "SELECT JSON_VALUE(Priv, '$.authentication_string') AS auth, JSON_VALUE(Priv, '$.plugin') AS plugin FROM mysql.global_priv WHERE User = ? AND Host = '%'",
      [user],
    );
    // Only the mysql_native_password hash was ever sent: SHA1(SHA1('right-secret')).
    expect(row).toEqual({ plugin: 'mysql_native_password', auth: (await adminQuery<{ h: string }>("SELECT PASSWORD('right-secret') AS h"))[0]?.h });
  });

  it('verify of a wrong secret never reaches the server as a failed login (max_password_errors)', async () => {
    const user = newUser();
    await db.stage(user, 'the-secret');
    const denied = async () => Number((await adminQuery<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Access_denied_errors'"))[0]?.Value);
    const before = await denied();
    for (let i = 0; i < 10; i++) expect(await db.verify({ username: user, password: `wrong-${i}` })).toBe('rejected');
    // The counter is server-wide and others may share the server: login attempts would add 10.
    expect(await denied()).toBeLessThan(before + 10);
  });

  it('non-ASCII secrets hash like the client does and log in', async () => {
    const user = newUser();
    const secret = 'pässwörd-日本語-🔑 ;\'"`\\';
    await db.stage(user, secret);
    expect(await db.verify({ username: user, password: secret })).toBe('accepted');
    expect(await db.verify({ username: user, password: `${secret}x` })).toBe('rejected');
    await db.enable(user, far());
    const session = await connectAs(user, secret);
    await session.end();
    await db.disable(user);
  });

  it('disable kills connections by exact user name only: BGT_X is not bgt_x', async () => {
    const lower = newUser('case');
    const upper = track(lower.toUpperCase());
    for (const user of [lower, upper]) {
      await db.stage(user, 'pw-case');
      await db.enable(user, far());
    }
    const [a, b] = [await connectAs(lower, 'pw-case'), await connectAs(upper, 'pw-case')];
    await db.disable(lower);
    await expect(a.query('SELECT 1')).rejects.toThrow();
    await expect(b.query('SELECT 1')).resolves.toBeDefined();
    expect(await db.inspect(upper)).toMatchObject({ exists: true, canLogin: true, sessions: 1 });
    await b.end();
    a.destroy();
    await db.disable(upper);
  });

  it('stage grants the baseline privileges; enable/disable leave them alone', async () => {
    const user = newUser();
    await db.stage(user, 'pw-grants', { user, privileges: ['SELECT, INSERT ON bgt_conf_db.t'] });
    await db.enable(user, far());
    const conn = await connectAs(user, 'pw-grants');
    await conn.query('INSERT INTO bgt_conf_db.t VALUES (1)');
    await expect(conn.query('DELETE FROM bgt_conf_db.t')).rejects.toMatchObject({ errno: 1142 });
    await conn.end();
    await db.disable(user);
    const err = await thrown(db.stage(user, 'pw', { user: 'bgt_someone_else' }));
    expect(err).toMatchObject({ code: 'validation', path: 'spec.user' });
  });

  it('ephemeral grants are exactly the spec: `_` in a database name is not a wildcard', async () => {
    const grantId = `gr_mysqlt${run}${++counter}`;
    const credential = await db.issue({ grantId, spec: conformanceSpec, validUntil: far() });
    expect(credential.username).toBe(ephemeralPrincipal(grantId));
    expect(credential['password']).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const conn = await connectAs(credential.username, credential['password']!);
    await expect(conn.query('SELECT * FROM bgt_conf_db.t')).resolves.toBeDefined();
    await expect(conn.query('SELECT * FROM bgtxconf_db.t')).rejects.toMatchObject({ errno: 1142 });
    await expect(conn.query('CREATE USER bgt_escape@`%`')).rejects.toMatchObject({ errno: 1227 });
    expect(await db.inspectIssued({ grantId, spec: conformanceSpec })).toMatchObject({ exists: true, canLogin: true, sessions: 1 });
    await db.revoke({ grantId, spec: conformanceSpec });
    await expect(conn.query('SELECT 1')).rejects.toThrow();
    conn.destroy();
    expect(await db.inspectIssued({ grantId, spec: conformanceSpec })).toEqual({ exists: false, canLogin: false, validUntil: undefined, sessions: 0 });
  });

  it('a retried issue cuts off whoever held the first credential', async () => {
    const grantId = `gr_mysqlt${run}${++counter}`;
    const first = await db.issue({ grantId, spec: conformanceSpec, validUntil: far() });
    const early = await connectAs(first.username, first['password']!);
    const second = await db.issue({ grantId, spec: conformanceSpec, validUntil: far() });
    expect(second['password']).not.toBe(first['password']);
    await expect(early.query('SELECT 1')).rejects.toThrow();
    early.destroy();
    expect(DENIED.has(await loginErrno(first.username, first['password']!))).toBe(true);
    await (await connectAs(second.username, second['password']!)).end();
    await db.revoke({ grantId, spec: conformanceSpec });
  });

  it('injection: hostile privilege strings and specs are refused before anything reaches the server', async () => {
    const hostile: unknown[] = [
      "SELECT ON *.* TO root@'%'; DROP USER root; --",
      'SELECT ON app.*; DROP DATABASE mysql',
      'SELECT ON app.* WITH GRANT OPTION',
      'GRANT OPTION ON *.*',
      'SELECT ON `app`.*',
      'SELECT ON app`.*',
      "SELECT ON 'app'.*",
      'SELECT ON app%.*',
      'SELECT ON a.b.c',
      'SELECT ON *.t',
      'SELECT ON *',
      'SELECT (secret_col) ON app.t',
      'SUPER ON app.*',
      'EXECUTE ON app.t',
      'ALL, SELECT ON *.*',
      'SELECT, SELECT ON app.*',
      'SELECT,, INSERT ON app.*',
      'SELECT/*!50000 , SUPER*/ ON *.*',
      "PROXY ON ''@''",
      'SELECT ON app.*\0',
      'SELECT ON app.*\n; DROP USER root',
      'SELECT ON ａpp.*',
      `SELECT ON ${'a'.repeat(65)}.*`,
      'ON app.*',
      42,
    ];
    const specs: unknown[] = [
      ...hostile.map((p) => ({ privileges: [p] })),
      { privileges: [] },
      { privileges: 'SELECT ON app.*' },
      {},
      { privileges: ['SELECT ON app.*'], grantedRoles: ['admin'] },
    ];
    for (const spec of specs) {
      const grantId = `gr_mysqlt${run}${++counter}`;
      const err = await thrown(db.issue({ grantId, spec: spec as Record<string, unknown>, validUntil: far() }));
      expect(err.code, JSON.stringify(spec)).toBe('validation');
      expect((await db.inspectIssued({ grantId, spec: {} })).exists).toBe(false);
      // `{}` is a valid pre-staged spec (no baseline grant); everything else is refused there too.
      if (Object.keys(spec as object).length === 0) continue;
      const user = newUser('inj');
      expect((await thrown(db.stage(user, 'pw', spec as Record<string, unknown>))).code, JSON.stringify(spec)).toBe('validation');
      expect((await db.inspect(user)).exists).toBe(false);
    }
    // Root is untouched and still the only account of that name.
    expect(await adminQuery("SELECT User, Host FROM mysql.global_priv WHERE User = 'root' ORDER BY Host")).toEqual([
      { User: 'root', Host: '127.0.0.1' },
      { User: 'root', Host: 'localhost' },
    ]);
  });

  it('secret-in-logs: the plaintext never reaches the server, errors carry no secret', async () => {
    const secret = 'Sup3r-secret-never-logged';
    const [{ general_log: was = 'OFF', log_output: output = 'FILE' } = {}] = await adminQuery<{ general_log: string; log_output: string }>(
      'SELECT @@global.general_log AS general_log, @@global.log_output AS log_output',
    );
    await adminQuery('TRUNCATE TABLE mysql.general_log');
    await adminQuery("SET GLOBAL log_output = 'TABLE', general_log = 'ON'");
    try {
      const user = newUser();
      await db.stage(user, secret);
      await db.rotate(user, `${secret}-2`);
      expect(await db.verify({ username: user, password: `${secret}-2` })).toBe('accepted');
      // Off before looking, or the search itself (which holds the secret) would be logged.
      await adminQuery("SET GLOBAL general_log = 'OFF'");
      const statements = await adminQuery<{ argument: Buffer }>('SELECT argument FROM mysql.general_log WHERE thread_id <> CONNECTION_ID()');
      const text = statements.map((r) => r.argument.toString('utf8')).join('\n');
      expect(text).toContain('IDENTIFIED WITH mysql_native_password AS');
      expect(text).not.toContain(secret);
    } finally {
      await adminQuery(`SET GLOBAL general_log = '${['1', 'ON'].includes(String(was)) ? 'ON' : 'OFF'}', log_output = ?`, [output]);
      await adminQuery('TRUNCATE TABLE mysql.general_log');
    }
    const missing = newUser('missing');
    // Started one at a time: a rejection must never wait unobserved while another is awaited.
    for (const call of [() => db.rotate(missing, secret), () => db.enable(missing, far())]) {
      const err = await thrown(call());
      expect(err).toMatchObject({ code: 'target_error', retryable: false });
      expect(err.message).toContain('1396');
      expect(utilInspect(err, { depth: 10 })).not.toContain(secret);
      expect(utilInspect(err, { depth: 10 })).not.toMatch(/\*[0-9A-F]{40}/); // nor the hash
    }
  });

  it('a closed or silent target gives a retryable target_unavailable within the timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, HOST, resolve));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      for (const port of [await closedPort(), silentPort]) {
        const down = opsOf(createMysqlConnector({ type: 'mysql', settings: { ...settings, port }, adminSecret: 'pw', timeoutMs: 1000 }));
        for (const call of [() => down.disable('bgt_x'), () => down.verify({ username: 'bgt_x', password: 'pw' }), () => down.revoke({ grantId: 'gr_x', spec: {} })]) {
          const started = Date.now();
          const err = await thrown(call());
          expect(err).toMatchObject({ code: 'target_unavailable', retryable: true });
          expect(Date.now() - started).toBeLessThan(2500);
        }
        await down.close();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a wrong admin password is a target_error, not retryable', async () => {
    const wrong = opsOf(createMysqlConnector({ type: 'mysql', settings, adminSecret: 'not-the-password' }));
    const err = await thrown(wrong.inspect('bgt_any'));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toContain('1045');
    expect(utilInspect(err, { depth: 10 })).not.toContain('not-the-password');
  });

  it('rejects bad settings at construction', () => {
    const make = (s: Record<string, unknown>, timeoutMs?: number) => () =>
      createMysqlConnector({ type: 'mysql', settings: s, adminSecret: undefined, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    expect(make({ ...settings, port: '3306' })).toThrow(AppError);
    expect(make({ ...settings, host: '' })).toThrow(/settings/);
    expect(make({ host: HOST, port: PORT })).toThrow(/settings/);
    expect(make(settings, 0)).toThrow(/timeoutMs/);
    expect(make({ ...settings, timeoutMs: 2000 })).not.toThrow(); // the catalog keeps timeoutMs in settings
  });
});
