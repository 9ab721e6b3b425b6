/**
 * The MariaDB connector against the real server on 127.0.0.1:3306 (root, empty password), and
 * TLS and cleartext against a private server with TLS started here (test/support/mariadb-server.ts).
 * Every account made here starts with `bgt_` (pre-staged) or `bg_conf`/`bg_mysqlt` (ephemeral,
 * named by ephemeralPrincipal) and is dropped in afterAll.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { inspect as utilInspect } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlConnector, mysqlDriver } from '../../src/connectors/mysql/mysql-connector.js';
import { mysqlSpec } from '../../src/connectors/mysql/mysql-spec.js';
import { AppError } from '../../src/errors/index.js';
import { ephemeralPrincipal, type Connector, type EphemeralOperations, type PrestagedOperations } from '../../src/ports/index.js';
import { connectorConformance, type LoginResult } from '../conformance/connector-conformance.js';
import { probeTcp, requireService } from '../support/integration.js';
import { mariadbServerAvailable, startMariadbServer, type MariadbServer } from '../support/mariadb-server.js';

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

  it('adopt: a locked account with a superuser privilege is refused without adopt, named, and left as it was', async () => {
    for (const privilege of ['SUPER', 'GRANT OPTION', 'CREATE USER']) {
      const user = newUser('super');
      await adminQuery(`CREATE USER ${quoted(user)} IDENTIFIED BY 'theirs' ACCOUNT LOCK`);
      await adminQuery(`GRANT ${privilege} ON *.* TO ${quoted(user)}`);
      const err = await thrown(db.stage(user, 'ours', { user }));
      expect(err).toMatchObject({ code: 'conflict', path: 'adopt' });
      expect(err.message).toContain(privilege);
      expect(err.message).not.toContain('login (not ACCOUNT LOCK)');
      expect(err.message).toContain('adopt: true');
      expect(await db.verify({ username: user, password: 'theirs' })).toBe('accepted');
    }
  });

  it('adopt: roles it holds are a power too', async () => {
    const holder = newUser('holder');
    const role = `bgt_${run}_role`;
    await adminQuery(`CREATE USER ${quoted(holder)} IDENTIFIED BY 'theirs' ACCOUNT LOCK`);
    await adminQuery(`CREATE ROLE \`${role}\``);
    try {
      await adminQuery(`GRANT \`${role}\` TO ${quoted(holder)}`);
      expect((await thrown(db.stage(holder, 'ours'))).message).toContain('1 role');
    } finally {
      await adminQuery(`DROP ROLE IF EXISTS \`${role}\``);
    }
  });

  it('adopt: an account Breakglass left (locked, no superuser privilege) is restaged without adopt; adopt: true takes one with power', async () => {
    const ours = newUser('ours');
    await db.stage(ours, 'first', { user: ours, privileges: ['SELECT ON bgt_conf_db.*'] });
    await db.enable(ours, far());
    await db.disable(ours);
    await db.stage(ours, 'second', { user: ours, privileges: ['SELECT ON bgt_conf_db.*'] });
    expect(await db.verify({ username: ours, password: 'second' })).toBe('accepted');

    const theirs = newUser('theirs');
    await adminQuery(`CREATE USER ${quoted(theirs)} IDENTIFIED BY 'theirs'`);
    await adminQuery(`GRANT SUPER ON *.* TO ${quoted(theirs)}`);
    await db.stage(theirs, 'adopted', { user: theirs, privileges: ['SUPER ON *.*'] }, { adopt: true });
    expect(await db.verify({ username: theirs, password: 'theirs' })).toBe('rejected');
    expect(await db.verify({ username: theirs, password: 'adopted' })).toBe('accepted');
    expect(await db.inspect(theirs)).toMatchObject({ exists: true, canLogin: false });
    // Issue 12 (P1): adopted with exactly the declared privileges — SUPER stays because the catalog says so ...
    expect(JSON.stringify(await adminQuery(`SHOW GRANTS FOR ${quoted(theirs)}`))).toContain('GRANT SUPER ON *.*');
    // ... and goes when the catalog no longer declares it.
    await db.stage(theirs, 'adopted-2', { user: theirs }, { adopt: true });
    expect(JSON.stringify(await adminQuery(`SHOW GRANTS FOR ${quoted(theirs)}`))).not.toContain('SUPER');
  });

  it('adopt: reserved logins (the admin user, MariaDB system accounts) are refused at apply and at stage, even when adopting', async () => {
    const reserved = mysqlSpec.reservedPrincipal!;
    expect(reserved('breakglass_admin', { user: 'breakglass_admin' })).toMatch(/admin user/);
    for (const user of ['root', 'ROOT', 'mariadb.sys', 'mysql', 'PUBLIC', 'debian-sys-maint']) expect(reserved(user, { user: 'breakglass_admin' }), user).toMatch(/system account/);
    expect(reserved('bgt_someone', { user: 'breakglass_admin' })).toBeUndefined();
    const other = newUser('admin');
    await adminQuery(`CREATE USER ${quoted(other)} IDENTIFIED BY 'adminpw'`);
    await adminQuery(`GRANT ALL PRIVILEGES ON *.* TO ${quoted(other)} WITH GRANT OPTION`);
    const asOther = opsOf(createMysqlConnector({ type: 'mysql', settings: { ...settings, user: other }, adminSecret: 'adminpw' }));
    for (const user of [other, 'root', 'mariadb.sys']) {
      const err = await thrown(asOther.stage(user, 'pw', { user }, { adopt: true }));
      expect(err, user).toMatchObject({ code: 'validation', path: 'principal' });
      expect(err.message).toMatch(/reserved/);
    }
    expect(await db.verify({ username: other, password: 'adminpw' })).toBe('accepted');
  });

  it('tls: a server that does not offer TLS is a clear target_error, not "unavailable"', async () => {
    const tls = opsOf(createMysqlConnector({ type: 'mysql', settings: { ...settings, tls: true }, adminSecret: undefined }));
    const err = await thrown(tls.inspect('bgt_any'));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toMatch(/does not offer TLS/);
  });

  it('rejects bad settings at construction', () => {
    const make = (s: Record<string, unknown>, timeoutMs?: number) => () =>
      createMysqlConnector({ type: 'mysql', settings: s, adminSecret: undefined, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    expect(make({ ...settings, port: '3306' })).toThrow(AppError);
    expect(make({ ...settings, host: '' })).toThrow(/settings/);
    expect(make({ host: HOST, port: PORT })).toThrow(/settings/);
    expect(make(settings, 0)).toThrow(/timeoutMs/);
    expect(make({ ...settings, timeoutMs: 2000 })).not.toThrow(); // the catalog keeps timeoutMs in settings
    expect(make({ ...settings, tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(/tls\.caFile cannot be read/);
    expect(make({ ...settings, tls: { servername: 'db.internal' } })).toThrow(/tls\.servername is not supported/);
    expect(make({ ...settings, tls: 'yes' })).toThrow(/settings/);
    expect(make({ ...settings, allowCleartext: 'yes' })).toThrow(/settings/);
  });
});

const own = await requireService('MariaDB server binaries (/usr/sbin/mariadbd, mariadb-install-db, auth_pam_v1.so) and openssl', mariadbServerAvailable);

describe.skipIf(own.skip)('mysql connector over TLS and cleartext (a private MariaDB with TLS)', () => {
  let maria: MariadbServer;
  /** A connector to the private server; `bgtls` is REQUIRE SSL, so its every statement proves TLS. */
  const connect = (extra: Record<string, unknown>, user = 'bgtls') =>
    opsOf(createMysqlConnector({ type: 'mysql', settings: { host: maria.host, port: maria.port, user, ...extra }, adminSecret: maria.adminPassword, timeoutMs: 10_000 }));

  beforeAll(async () => {
    maria = await startMariadbServer();
    await maria.query("CREATE USER 'bgtls'@'%' IDENTIFIED BY ? REQUIRE SSL", [maria.adminPassword]);
    await maria.query("GRANT ALL PRIVILEGES ON *.* TO 'bgtls'@'%' WITH GRANT OPTION");
    // PAM asks for the password in clear (pam_use_cleartext_plugin); the PAM service does not exist, so it says no.
    await maria.query("CREATE USER 'bgt_pam'@'%' IDENTIFIED VIA pam USING 'bgt-no-such-service'");
  }, 120_000);
  afterAll(async () => {
    await maria?.stop();
  });

  it('tls: verified with the CA file; the admin and the login as an account both go over TLS', async () => {
    // Without TLS the REQUIRE SSL admin is refused: what works below went over TLS.
    await expect(mysql.createConnection({ host: maria.host, port: maria.port, user: 'bgtls', password: maria.adminPassword })).rejects.toMatchObject({ errno: 1045 });
    const db = connect({ tls: { caFile: maria.caFile } });
    await db.stage('bgt_tls', 'tls-secret', { user: 'bgt_tls' });
    await maria.query("ALTER USER 'bgt_tls'@'%' REQUIRE SSL");
    // A right secret is confirmed by a real login as the account: accepted only over TLS.
    expect(await db.verify({ username: 'bgt_tls', password: 'tls-secret' })).toBe('accepted');
    await db.enable('bgt_tls', new Date(Date.now() + 600_000));
    expect(await db.inspect('bgt_tls')).toMatchObject({ exists: true, canLogin: true });
    await db.disable('bgt_tls');
  });

  it('tls: a CA that did not sign the server certificate is refused with a clear, non-retryable error', async () => {
    for (const tls of [{ caFile: maria.otherCaFile }, true]) {
      const db = connect({ tls });
      const err = await thrown(db.inspect('bgt_any'));
      expect(err, JSON.stringify(tls)).toMatchObject({ code: 'target_error', retryable: false });
      expect(err.message).toMatch(/TLS certificate did not verify/);
      expect(err.message).toMatch(/tls\.caFile/);
      expect(err.message).toMatch(/verify: false/);
      expect(utilInspect(err, { depth: 10 })).not.toContain(maria.adminPassword);
    }
  });

  it('tls: verify: false connects to a certificate no configured CA vouches for', async () => {
    const db = connect({ tls: { verify: false } });
    expect(await db.inspect('bgt_missing')).toMatchObject({ exists: false });
  });

  it('adopt: an account others may log in as (PROXY) is a power; the proxy itself has none', async () => {
    // Only root@localhost (the socket) may grant PROXY: the shared server's TCP root may not.
    await maria.query("CREATE USER 'bgt_proxied'@'%' IDENTIFIED BY 'theirs' ACCOUNT LOCK");
    await maria.query("CREATE USER 'bgt_proxy'@'%' IDENTIFIED BY 'theirs' ACCOUNT LOCK");
    await maria.query("GRANT PROXY ON 'bgt_proxied'@'%' TO 'bgt_proxy'@'%'");
    const db = connect({ tls: { caFile: maria.caFile } });
    const err = await thrown(db.stage('bgt_proxied', 'ours'));
    expect(err).toMatchObject({ code: 'conflict' });
    expect(err.message).toContain('PROXY from 1 account');
    await db.stage('bgt_proxy', 'ours');
    expect(await db.verify({ username: 'bgt_proxy', password: 'ours' })).toBe('accepted');
  });

  it('cleartext: an account that asks for its password in clear is refused without TLS, naming the fix', async () => {
    const db = connect({}, maria.adminUser);
    const secret = 'Cleartext-never-sent';
    const err = await thrown(db.verify({ username: 'bgt_pam', password: secret }));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toMatch(/mysql_clear_password/);
    expect(err.message).toMatch(/allowCleartext: true/);
    expect(err.message).toMatch(/enable tls/);
    expect(utilInspect(err, { depth: 10 })).not.toContain(secret);
    // The admin's own login is held to the same rule.
    const asPam = opsOf(createMysqlConnector({ type: 'mysql', settings: { host: maria.host, port: maria.port, user: 'bgt_pam' }, adminSecret: secret }));
    expect((await thrown(asPam.inspect('bgt_any'))).message).toMatch(/mysql_clear_password/);
  });

  it('cleartext: sent with allowCleartext: true, or over TLS (the server answers: PAM says no)', async () => {
    for (const extra of [{ allowCleartext: true }, { tls: { caFile: maria.caFile } }]) {
      const db = connect(extra, 'tls' in extra ? 'bgtls' : maria.adminUser);
      expect(await db.verify({ username: 'bgt_pam', password: 'not-the-password' }), JSON.stringify(extra)).toBe('rejected');
    }
  });
});
