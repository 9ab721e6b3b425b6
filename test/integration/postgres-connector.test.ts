/**
 * The PostgreSQL connector against private scram-sha-256 clusters (real servers): the shared
 * conformance suite first, then what only PostgreSQL has (28000 vs 28P01, native VALID UNTIL,
 * SCRAM verifiers in the server log, ownership on revoke, superuser-like memberships).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { inspect as utilInspect } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector } from '../../src/connectors/postgres/postgres-connector.js';
import { loadConnectorDrivers } from '../../src/connectors/index.js';
import { AppError } from '../../src/errors/index.js';
import type { AccountSpec, Connector, EphemeralOperations, PrestagedOperations } from '../../src/ports/index.js';
import { connectorConformance, type LoginResult } from '../conformance/connector-conformance.js';
import { eventually } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

const check = await requireService('PostgreSQL binaries (/usr/lib/postgresql/*/bin)', pgBinariesAvailable);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q = pg.escapeIdentifier;
const inAnHour = () => new Date(Date.now() + 3_600_000);

/** Rejects with whatever the call throws, so tests can look at the AppError itself. */
async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

const settingsOf = (cluster: PgCluster) => ({ host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser });

function connectorOn(cluster: PgCluster, extra: { port?: number; timeoutMs?: number; adminSecret?: string; settings?: Record<string, unknown> } = {}): Connector {
  const { port, timeoutMs, adminSecret } = extra;
  return createPostgresConnector({
    type: 'postgres',
    settings: { ...settingsOf(cluster), ...(port === undefined ? {} : { port }), ...extra.settings },
    adminSecret: adminSecret ?? cluster.adminPassword,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/** A plain client logging in as the account, the way a human would. */
async function login(cluster: PgCluster, user: string, password: string, database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({ ...settingsOf(cluster), database, user, password, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** Conformance login: 28P01 (bad password, expired, no such role) and 28000 (NOLOGIN) are refusals. */
async function conformanceLogin(cluster: PgCluster, user: string, password: string): Promise<LoginResult> {
  let client: pg.Client;
  try {
    client = await login(cluster, user, password);
  } catch (err) {
    if (err instanceof pg.DatabaseError && (err.code === '28P01' || err.code === '28000')) return 'rejected';
    throw err;
  }
  return {
    alive: () => client.query('select 1').then(() => true, () => false),
    close: () => client.end().catch(() => undefined),
  };
}

/** Admin SQL on a short-lived client, so a test that takes the cluster down breaks nothing. */
async function adminQuery<R extends pg.QueryResultRow>(cluster: PgCluster, sql: string, params: unknown[] = [], database = 'postgres') {
  const client = await login(cluster, cluster.adminUser, cluster.adminPassword, database);
  try {
    return await client.query<R>(sql, params);
  } finally {
    await client.end();
  }
}

async function loginError(cluster: PgCluster, user: string, password: string): Promise<pg.DatabaseError> {
  try {
    await (await login(cluster, user, password)).end();
  } catch (err) {
    expect(err).toBeInstanceOf(pg.DatabaseError);
    return err as pg.DatabaseError;
  }
  throw new Error(`login as ${user} unexpectedly succeeded`);
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const HOSTILE_NAMES = [
  'a"b',
  'x"; DROP ROLE admin; --',
  "o'brien'); DROP ROLE admin; --",
  'back\\slash\\',
  '\u0430dmin', // Cyrillic "а": looks like admin, is not
  'ADMIN',
  'with space',
  '$$dollar$$',
  'r'.repeat(63),
  `${'é'.repeat(31)}x`, // 63 bytes in UTF-8
];
/** Empty, NUL, too long for NAMEDATALEN (bytes, not characters), lone surrogate. */
const REJECTED_NAMES = ['', 'nul\0byte', 'r'.repeat(64), 'é'.repeat(32), '\uD800lone'];

connectorConformance(
  'postgres',
  async () => {
    const cluster = await startPgCluster();
    await adminQuery(cluster, 'create role bg_conf_reader nologin');
    const downPort = await closedPort();
    let n = 0;
    return {
      create: (options) => connectorOn(cluster, options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      unreachable: () => connectorOn(cluster, { port: downPort, timeoutMs: 1000 }),
      prestaged: {
        newPrincipal: () => `bg_conf_${++n}`,
        login: (principal, secret) => conformanceLogin(cluster, principal, secret),
        hostileNames: HOSTILE_NAMES,
        rejectedNames: [...REJECTED_NAMES, cluster.adminUser],
        plantLogin: async (principal, password) => {
          await adminQuery(cluster, `create role ${q(principal)} login password ${pg.escapeLiteral(password)}`);
        },
        reservedNames: ['pg_monitor', 'pg_read_all_data', cluster.adminUser],
      },
      ephemeral: {
        spec: () => ({ grantedRoles: ['bg_conf_reader'] }),
        login: (credential) => conformanceLogin(cluster, credential.username, credential['password'] ?? ''),
      },
      teardown: () => cluster.stop(),
    };
  },
  { skip: check.skip },
);

describe.skipIf(check.skip)('postgres connector specifics (private scram cluster)', () => {
  let cluster: PgCluster;
  let connector: Connector;
  let prestaged: PrestagedOperations;
  let ephemeral: EphemeralOperations;
  let counter = 0;
  const nextRole = (prefix = 'bg_acct') => `${prefix}_${++counter}`;
  const nextGrant = () => `gr_pg${Date.now().toString(36)}x${++counter}`;
  const admin = <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres') =>
    adminQuery<R>(cluster, sql, params, database);
  const memberships = async (role: string) =>
    (await admin<{ rolname: string }>(
      `select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid
        where m.member = (select oid from pg_roles where rolname = $1) order by 1`,
      [role],
    )).rows.map((r) => r.rolname);
  const issue = (grantId: string, spec: AccountSpec) => ephemeral.issue({ grantId, spec, validUntil: inAnHour() });

  beforeAll(async () => {
    cluster = await startPgCluster();
    connector = connectorOn(cluster);
    prestaged = connector.prestaged!;
    ephemeral = connector.ephemeral!;
    await admin(`create role bg_reader nologin; create role bg_writer nologin;
                 create table secrets_t (x int); create table open_t (x int); grant select on open_t to bg_reader;
                 grant create on schema public to bg_writer`);
    await admin('create database bg_other');
    await admin('grant create on schema public to bg_writer', [], 'bg_other');
  });

  afterAll(async () => {
    await connector?.close();
    await cluster?.stop();
  });

  it('is registered under "postgres" with both modes', async () => {
    expect((await loadConnectorDrivers())['postgres']?.create).toBe(createPostgresConnector);
    expect(connector.capabilities).toEqual({
      supportsSessionKill: true,
      supportsNativeExpiry: true,
      supportsPrestaged: true,
      supportsEphemeral: true,
    });
  });

  it('stage: 28000 "not permitted to log in" means the secret was right, so verify works while disabled', async () => {
    const role = nextRole();
    expect(await prestaged.inspect(role)).toEqual({ exists: false, canLogin: false, validUntil: undefined, sessions: 0 });
    await prestaged.stage(role, 'first-secret');
    await prestaged.stage(role, 'staged-secret');

    const err = await loginError(cluster, role, 'staged-secret');
    expect(err.code).toBe('28000');
    expect(err.message).toMatch(/not permitted to log in/);
    expect((await loginError(cluster, role, 'first-secret')).code).toBe('28P01');
    expect(await prestaged.verify({ username: role, password: 'staged-secret' })).toBe('accepted');
    expect(await prestaged.verify({ username: role, password: 'first-secret' })).toBe('rejected');
    expect(await prestaged.inspect(role)).toEqual({ exists: true, canLogin: false, validUntil: undefined, sessions: 0 });
  });

  it('rotate replaces the secret, keeps the role disabled, and survives an expired VALID UNTIL', async () => {
    const role = nextRole();
    await prestaged.stage(role, 'old-secret');
    // A grant that already ran out: VALID UNTIL in the past makes even a right password fail.
    await prestaged.enable(role, new Date(Date.now() - 60_000));
    await prestaged.disable(role);
    expect(await prestaged.verify({ username: role, password: 'old-secret' })).toBe('rejected');

    await prestaged.rotate(role, 'new-secret');

    expect(await prestaged.verify({ username: role, password: 'old-secret' })).toBe('rejected');
    expect(await prestaged.verify({ username: role, password: 'new-secret' })).toBe('accepted');
    expect(await prestaged.inspect(role)).toMatchObject({ exists: true, canLogin: false, validUntil: undefined });
    expect((await loginError(cluster, role, 'new-secret')).code).toBe('28000');
    expect(await prestaged.verify({ username: role, password: '' })).toBe('rejected');
    expect(await prestaged.verify({ username: nextRole('no_such_role'), password: 'x' })).toBe('rejected');
  });

  it('non-ASCII secrets verify, whether hashed locally or (SASLprep-rewritten) by the server', async () => {
    for (const secret of ['pässwörd-日本語-🔑', 'ｗｉｄｅ\u00A0space\u00ADsoft']) {
      const role = nextRole();
      await prestaged.stage(role, secret);
      expect(await prestaged.verify({ username: role, password: secret })).toBe('accepted');
      expect(await prestaged.verify({ username: role, password: `${secret}x` })).toBe('rejected');
      await prestaged.enable(role, new Date(Date.now() + 60_000));
      await (await login(cluster, role, secret)).end();
      await prestaged.disable(role);
    }
  });

  it('VALID UNTIL is enforced natively: the login dies with Breakglass down (belt and braces)', async () => {
    const role = nextRole();
    await prestaged.stage(role, 'short-lived');
    await prestaged.enable(role, new Date(Date.now() + 2000));
    const early = await login(cluster, role, 'short-lived');
    expect((await prestaged.inspect(role)).sessions).toBe(1);

    await sleep(3000);

    // The server itself refuses the expired credential: nobody called disable.
    expect((await loginError(cluster, role, 'short-lived')).code).toBe('28P01');
    // VALID UNTIL only gates authentication: a session opened before expiry lives on, which is
    // why disable and revoke must terminate sessions.
    await expect(early.query('select 1')).resolves.toBeDefined();
    await early.end();
  });

  it('sql-injection: hostile role names are quoted in every pre-staged operation', async () => {
    const password = `it's a \\ back'slash $$ and $tag$ "quote" ; --`;
    for (const role of HOSTILE_NAMES) {
      await prestaged.stage(role, password);
      await prestaged.enable(role, new Date(Date.now() + 600_000));
      await (await login(cluster, role, password)).end();
      expect(await prestaged.verify({ username: role, password })).toBe('accepted');
      await prestaged.disable(role);
      await prestaged.rotate(role, `${password}2`);
      expect(await prestaged.verify({ username: role, password: `${password}2` })).toBe('accepted');
      expect(await prestaged.inspect(role)).toMatchObject({ exists: true, canLogin: false });
    }
    const names = await admin<{ rolname: string; rolcanlogin: boolean; rolsuper: boolean }>(
      'select rolname, rolcanlogin, rolsuper from pg_roles where rolname = any($1)',
      [[...HOSTILE_NAMES, 'admin']],
    );
    expect(names.rows.map((r) => r.rolname).sort()).toEqual([...HOSTILE_NAMES, 'admin'].sort());
    expect(names.rows.find((r) => r.rolname === 'admin')).toMatchObject({ rolcanlogin: true, rolsuper: true });

    for (const role of [...REJECTED_NAMES, cluster.adminUser]) {
      for (const call of [() => prestaged.stage(role, 'x'), () => prestaged.enable(role, new Date()), () => prestaged.disable(role), () => prestaged.rotate(role, 'x')]) {
        expect((await thrown(call())).code).toBe('validation');
      }
    }
    // Nothing truncated to 63 bytes was created behind our back.
    expect((await admin("select 1 from pg_roles where rolname like 'nul%'")).rowCount).toBe(0);
  });

  it('ephemeral issue: a plain LOGIN role, member of exactly the granted roles, natively bounded', async () => {
    const grantId = nextGrant();
    const until = inAnHour();
    const credential = await ephemeral.issue({ grantId, spec: { grantedRoles: ['bg_reader', 'bg_reader'] }, validUntil: until });
    expect(credential.username).toMatch(/^bg_pg/);
    const attrs = await admin('select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin from pg_roles where rolname = $1', [credential.username]);
    expect(attrs.rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolbypassrls: false, rolcanlogin: true });
    expect(await memberships(credential.username)).toEqual(['bg_reader']);
    const seen = await ephemeral.inspectIssued({ grantId, spec: {} });
    expect(Math.abs((seen.validUntil?.getTime() ?? 0) - until.getTime())).toBeLessThan(1000);

    const client = await login(cluster, credential.username, credential['password']!);
    await expect(client.query('select * from open_t')).resolves.toBeDefined();
    await expect(client.query('select * from secrets_t')).rejects.toMatchObject({ code: '42501' });
    await client.end();
    await ephemeral.revoke({ grantId, spec: {} });
  });

  // issue 11 (H2): an extension moves the native expiry, and inspecting shows it moved.
  it('extension: re-enabling a pre-staged role and extendIssued on an ephemeral one move VALID UNTIL, as inspect confirms', async () => {
    const role = nextRole();
    await prestaged.stage(role, 'Stage-Secret-1');
    await prestaged.enable(role, inAnHour());
    const later = new Date(Date.now() + 2 * 3_600_000);
    await prestaged.enable(role, later);
    const seen = await prestaged.inspect(role);
    expect(seen.canLogin).toBe(true);
    expect(Math.abs((seen.validUntil?.getTime() ?? 0) - later.getTime())).toBeLessThan(1000);
    await prestaged.disable(role);

    const grantId = nextGrant();
    await issue(grantId, {});
    await ephemeral.extendIssued!({ grantId, spec: {}, validUntil: later });
    const issued = await ephemeral.inspectIssued({ grantId, spec: {} });
    expect(issued.canLogin).toBe(true);
    expect(Math.abs((issued.validUntil?.getTime() ?? 0) - later.getTime())).toBeLessThan(1000);
    await ephemeral.revoke({ grantId, spec: {} });
  });

  it('ephemeral issue retried: new password, memberships follow the spec, old sessions end', async () => {
    const grantId = nextGrant();
    const first = await issue(grantId, { grantedRoles: ['bg_reader', 'bg_writer'] });
    const early = await login(cluster, first.username, first['password']!);
    const second = await issue(grantId, { grantedRoles: ['bg_writer'] });
    expect(second.username).toBe(first.username);
    expect(second['password']).not.toBe(first['password']);
    expect((await loginError(cluster, first.username, first['password']!)).code).toBe('28P01');
    await expect(early.query('select 1')).rejects.toThrow();
    await early.end().catch(() => undefined);
    expect(await memberships(second.username)).toEqual(['bg_writer']);
    await (await login(cluster, second.username, second['password']!)).end();
    await ephemeral.revoke({ grantId, spec: {} });
  });

  it('ephemeral issue raced by itself converges on one role that one of the passwords opens', async () => {
    const grantId = nextGrant();
    const results = await Promise.all([issue(grantId, { grantedRoles: ['bg_reader'] }), issue(grantId, { grantedRoles: ['bg_reader'] })]);
    const verdicts = await Promise.all(results.map((c) => login(cluster, c.username, c['password']!).then((cl) => cl.end().then(() => 'ok'), () => 'no')));
    expect(verdicts).toContain('ok');
    expect(await memberships(results[0].username)).toEqual(['bg_reader']);
    await ephemeral.revoke({ grantId, spec: {} });
  });

  it('ephemeral revoke: DROP OWNED by default removes what the credential created, in every database', async () => {
    const grantId = nextGrant();
    const { username, password } = await issue(grantId, { grantedRoles: ['bg_writer'] });
    for (const db of ['postgres', 'bg_other']) {
      const client = await login(cluster, username, password!, db);
      await client.query(`create table ${q(`made_by_${username}`)} (x int)`);
      await client.end();
    }
    const open = await login(cluster, username, password!);
    await ephemeral.revoke({ grantId, spec: { grantedRoles: ['bg_writer'] } });
    await expect(open.query('select 1')).rejects.toThrow();
    await open.end().catch(() => undefined);
    expect(await ephemeral.inspectIssued({ grantId, spec: {} })).toEqual({ exists: false, canLogin: false, validUntil: undefined, sessions: 0 });
    for (const db of ['postgres', 'bg_other']) {
      expect((await admin('select 1 from pg_class where relname = $1', [`made_by_${username}`], db)).rowCount).toBe(0);
    }
  });

  it('ephemeral revoke: reassignOwnedTo keeps the objects; dropOwned false refuses to drop an owner but kills access', async () => {
    const keep = nextGrant();
    const kept = await issue(keep, { grantedRoles: ['bg_writer'] });
    await admin('create role bg_heir nologin');
    const c1 = await login(cluster, kept.username, kept['password']!);
    await c1.query('create table kept_t (x int)');
    await c1.end();
    await ephemeral.revoke({ grantId: keep, spec: { reassignOwnedTo: 'bg_heir' } });
    expect((await ephemeral.inspectIssued({ grantId: keep, spec: {} })).exists).toBe(false);
    expect((await admin("select tableowner from pg_tables where tablename = 'kept_t'")).rows).toEqual([{ tableowner: 'bg_heir' }]);

    const stuck = nextGrant();
    const owner = await issue(stuck, { grantedRoles: ['bg_writer'] });
    const c2 = await login(cluster, owner.username, owner['password']!);
    await c2.query('create table stuck_t (x int)');
    const err = await thrown(ephemeral.revoke({ grantId: stuck, spec: { dropOwned: false } }));
    expect(err.code).toBe('target_error');
    expect(err.message).toMatch(/can no longer log in/);
    expect(await c2.query('select 1').then(() => 'alive', () => 'dead')).toBe('dead');
    await c2.end().catch(() => undefined);
    expect(await ephemeral.inspectIssued({ grantId: stuck, spec: {} })).toMatchObject({ exists: true, canLogin: false, sessions: 0 });
    // PASSWORD NULL as well as NOLOGIN: the secret itself is dead.
    expect((await loginError(cluster, owner.username, owner['password']!)).code).toBe('28P01');
    await ephemeral.revoke({ grantId: stuck, spec: {} }); // converges once configured to drop
    expect((await ephemeral.inspectIssued({ grantId: stuck, spec: {} })).exists).toBe(false);
  });

  it('ephemeral refuses the admin role, superuser-like roles, unknown roles and malformed specs', async () => {
    await admin(`create role bg_su superuser nologin; create role bg_via_su nologin in role bg_su;
                 create role bg_cr createrole nologin; create role bg_via_admin nologin in role admin`);
    const refused: [AccountSpec, string][] = [
      [{ grantedRoles: ['bg_reader', cluster.adminUser] }, 'validation'],
      [{ grantedRoles: ['bg_su'] }, 'validation'],
      [{ grantedRoles: ['bg_via_su'] }, 'validation'],
      [{ grantedRoles: ['bg_cr'] }, 'validation'],
      [{ grantedRoles: ['bg_via_admin'] }, 'validation'],
      [{ grantedRoles: ['pg_execute_server_program'] }, 'validation'],
      [{ grantedRoles: ['pg_write_server_files'] }, 'validation'],
      [{ grantedRoles: 'bg_reader' }, 'validation'],
      [{ grantedRole: ['bg_reader'] }, 'validation'],
      [{ dropOwned: 'yes' }, 'validation'],
      [{ grantedRoles: ['bg_no_such_role'] }, 'target_error'],
    ];
    for (const [spec, code] of refused) {
      const grantId = nextGrant();
      expect((await thrown(issue(grantId, spec))).code, JSON.stringify(spec)).toBe(code);
      expect((await ephemeral.inspectIssued({ grantId, spec: {} })).exists, JSON.stringify(spec)).toBe(false);
    }
    expect((await thrown(issue('gr_!!!', {}))).code).toBe('validation');
    expect((await thrown(ephemeral.issue({ grantId: nextGrant(), spec: {}, validUntil: new Date('nope') }))).code).toBe('validation');
  });

  it('injection: hostile granted role names and reassign targets are quoted, never executed', async () => {
    const groups = HOSTILE_NAMES.slice(0, 8).map((name) => `${name}_g`);
    for (const name of groups) await admin(`create role ${q(name)} nologin; grant create on schema public to ${q(name)}`);
    const heir = 'heir"; ALTER ROLE admin NOLOGIN; --';
    await admin(`create role ${q(heir)} nologin`);

    const grantId = nextGrant();
    const { username, password } = await issue(grantId, { grantedRoles: groups });
    expect(await memberships(username)).toEqual([...groups].sort());
    const client = await login(cluster, username, password!);
    await client.query('create table hostile_t (x int)');
    await client.end();
    await ephemeral.revoke({ grantId, spec: { grantedRoles: groups, reassignOwnedTo: heir } });
    expect((await admin("select tableowner from pg_tables where tablename = 'hostile_t'")).rows).toEqual([{ tableowner: heir }]);
    expect((await admin('select rolcanlogin, rolsuper from pg_roles where rolname = $1', ['admin'])).rows).toEqual([{ rolcanlogin: true, rolsuper: true }]);

    for (const bad of REJECTED_NAMES) {
      const id = nextGrant();
      expect((await thrown(issue(id, { grantedRoles: ['bg_reader', bad] }))).code, JSON.stringify(bad)).toBe('validation');
      expect((await thrown(issue(id, { reassignOwnedTo: bad }))).code, JSON.stringify(bad)).toBe('validation');
      expect((await ephemeral.inspectIssued({ grantId: id, spec: {} })).exists).toBe(false);
    }
    // A bad spec at revoke time still ends access first: the role stays, but dead.
    const late = nextGrant();
    const alive = await issue(late, {});
    const session = await login(cluster, alive.username, alive['password']!);
    expect((await thrown(ephemeral.revoke({ grantId: late, spec: { reassignOwnedTo: 'x\0y' } }))).code).toBe('validation');
    expect(await session.query('select 1').then(() => 'alive', () => 'dead')).toBe('dead');
    await session.end().catch(() => undefined);
    expect(await ephemeral.inspectIssued({ grantId: late, spec: {} })).toMatchObject({ exists: true, canLogin: false, sessions: 0 });
    await ephemeral.revoke({ grantId: late, spec: {} });
  });

  it('secret-in-logs: secrets never appear in errors, causes, or the server log (even with log_statement=all)', async () => {
    const secret = 'Sup3r-secret-never-logged';
    const unicodeSecret = 'ｓｅｃｒｅｔ\u00A0wide'; // rewritten by SASLprep: hashed by the server
    const missing = nextRole('missing');
    for (const s of [secret, unicodeSecret]) {
      const err = await thrown(prestaged.rotate(missing, s));
      expect(err.code).toBe('target_error');
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('42704');
      expect(err.message).toContain(missing);
      expect(utilInspect(err, { depth: 10 })).not.toContain(s);
      expect(JSON.stringify(err)).not.toContain(s);
    }
    // A name the server reserves fails inside CREATE ROLE, the statement carrying the password
    // (pg_ names Breakglass refuses itself, before any statement).
    const reserved = await thrown(prestaged.stage('public', secret));
    expect(reserved.code).toBe('target_error');
    expect(utilInspect(reserved, { depth: 10 })).not.toContain(secret);

    // Every statement logged: a fresh pool (so its sessions pick the setting up) issues a credential.
    await admin(`alter role ${q(cluster.adminUser)} set log_statement = 'all'`);
    const logged = connectorOn(cluster);
    const grantId = nextGrant();
    const issued = await logged.ephemeral!.issue({ grantId, spec: { grantedRoles: ['bg_reader'] }, validUntil: inAnHour() });
    await logged.ephemeral!.issue({ grantId, spec: {}, validUntil: inAnHour() }); // the ALTER path
    await logged.ephemeral!.revoke({ grantId, spec: {} });
    await logged.close();
    await admin(`alter role ${q(cluster.adminUser)} reset log_statement`);

    const log = readFileSync(cluster.logFile, 'utf8');
    expect(log).toMatch(/CREATE ROLE "bg_pg\w+" WITH .* PASSWORD 'SCRAM-SHA-256\$/);
    expect(log).toMatch(/ALTER ROLE "bg_pg\w+" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$/);
    expect(log).not.toContain(secret);
    expect(log).not.toContain(issued['password']);

    // With the target down the error is retryable and still carries no secret.
    const role = nextRole();
    await prestaged.stage(role, 'before-outage');
    await cluster.pause();
    try {
      const down = await thrown(prestaged.rotate(role, secret));
      expect(down.code).toBe('target_unavailable');
      expect(down.retryable).toBe(true);
      expect(utilInspect(down, { depth: 10 })).not.toContain(secret);
      const verifyDown = await thrown(prestaged.verify({ username: role, password: secret }));
      expect(verifyDown.code).toBe('target_unavailable');
      expect(utilInspect(verifyDown, { depth: 10 })).not.toContain(secret);
    } finally {
      await cluster.resume();
    }
    // The pool recovers by itself once the target is back.
    await prestaged.rotate(role, secret);
    expect(await prestaged.verify({ username: role, password: secret })).toBe('accepted');
  });

  it('a crashed target (kill -9) is retryable and the connector recovers after restart', async () => {
    const role = nextRole();
    await prestaged.stage(role, 'crash-secret');
    const grantId = nextGrant();
    await issue(grantId, {});
    await cluster.kill9();
    // Orphaned backends notice the dead postmaster a moment later; until then a pooled
    // connection can still answer, truthfully.
    await sleep(500);
    try {
      for (const call of [() => prestaged.inspect(role), () => ephemeral.revoke({ grantId, spec: {} })]) {
        const err = await thrown(call());
        expect(err.code).toBe('target_unavailable');
        expect(err.retryable).toBe(true);
      }
    } finally {
      await cluster.resume();
    }
    expect(await prestaged.inspect(role)).toMatchObject({ exists: true, canLogin: false });
    await ephemeral.revoke({ grantId, spec: {} });
    expect((await ephemeral.inspectIssued({ grantId, spec: {} })).exists).toBe(false);
  });

  it('a stopped or silent target gives a retryable target_unavailable within the timeout', async () => {
    // A server that accepts and never answers: only the timeout can end the wait.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      for (const port of [await closedPort(), silentPort]) {
        const down = connectorOn(cluster, { port, timeoutMs: 1000 });
        for (const call of [
          () => down.prestaged!.disable('bg_x'),
          () => down.prestaged!.verify({ username: 'bg_x', password: 'pw' }),
          () => down.ephemeral!.issue({ grantId: 'gr_down', spec: {}, validUntil: inAnHour() }),
          () => down.ephemeral!.revoke({ grantId: 'gr_down', spec: {} }),
        ]) {
          const started = Date.now();
          const err = await thrown(call());
          expect(err.code).toBe('target_unavailable');
          expect(err.retryable).toBe(true);
          expect(Date.now() - started).toBeLessThan(2500);
        }
        await down.close();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a wrong admin password is a target_error (28P01), not retryable', async () => {
    const wrong = connectorOn(cluster, { adminSecret: 'not-the-password' });
    for (const call of [() => wrong.prestaged!.inspect('bg_any'), () => wrong.ephemeral!.issue({ grantId: nextGrant(), spec: {}, validUntil: inAnHour() })]) {
      const err = await thrown(call());
      expect(err.code).toBe('target_error');
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('28P01');
      expect(utilInspect(err, { depth: 10 })).not.toContain('not-the-password');
    }
    await wrong.close();
  });

  it('rejects bad settings at construction', () => {
    const make = (s: Record<string, unknown>, adminSecret: string | undefined) => () =>
      createPostgresConnector({ type: 'postgres', settings: s, adminSecret });
    expect(make({ ...settingsOf(cluster), port: 'x' }, 'pw')).toThrow(AppError);
    expect(make({ ...settingsOf(cluster), host: '' }, 'pw')).toThrow(AppError);
    expect(make({ host: 'h', port: 5432, database: 'd' }, 'pw')).toThrow(/settings/);
    expect(make(settingsOf(cluster), undefined)).toThrow(/admin secret/);
  });
});

describe.skipIf(check.skip)('postgres connector: passwords travel only over SCRAM or TLS', () => {
  let tlsCluster: PgCluster;
  let md5Cluster: PgCluster;
  const opened: Connector[] = [];
  const on = (cluster: PgCluster, settings: Record<string, unknown>, adminSecret?: string) => {
    const connector = connectorOn(cluster, { settings, timeoutMs: 10_000, ...(adminSecret === undefined ? {} : { adminSecret }) });
    opened.push(connector);
    return connector.prestaged!;
  };
  const authFailuresLogged = (cluster: PgCluster) => (readFileSync(cluster.logFile, 'utf8').match(/password authentication failed/g) ?? []).length;

  beforeAll(async () => {
    // TCP logins are asked for a cleartext password ("password" method); TLS is offered.
    tlsCluster = await startPgCluster({ tls: true, authHost: 'password' });
    md5Cluster = await startPgCluster({ authHost: 'md5' });
    await adminQuery(md5Cluster, `set password_encryption = 'md5'; create role md5_admin superuser login password 'md5-admin-pw';
                                  set password_encryption = 'scram-sha-256'; create role scram_admin superuser login password 'scram-admin-pw'`);
  });
  afterAll(async () => {
    for (const connector of opened) await connector.close();
    await tlsCluster?.stop();
    await md5Cluster?.stop();
  });

  it('cleartext: a target that asks for a cleartext password is refused before the password leaves, naming the method', async () => {
    const before = authFailuresLogged(tlsCluster);
    const error = await thrown(on(tlsCluster, {}).inspect('bg_nobody'));
    expect(error.code).toBe('target_error');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/cleartext password \(pg_hba.conf method "password"\).*without TLS.*scram-sha-256.*allowCleartext: true/);
    // The server never got a password to check: no failed authentication in its log.
    expect(authFailuresLogged(tlsCluster)).toBe(before);
  });

  it('cleartext: allowCleartext: true accepts the risk, and the target works', async () => {
    expect((await on(tlsCluster, { allowCleartext: true }).inspect('bg_nobody')).exists).toBe(false);
  });

  it('cleartext: MD5 is refused too without TLS, while SCRAM under the md5 method is fine', async () => {
    const error = await thrown(on(md5Cluster, { user: 'md5_admin' }, 'md5-admin-pw').inspect('bg_nobody'));
    expect(error.message).toMatch(/MD5 password authentication.*password_encryption = scram-sha-256/);
    // A role with a SCRAM verifier: under the md5 method the server asks for SCRAM instead.
    expect((await on(md5Cluster, { user: 'scram_admin' }, 'scram-admin-pw').inspect('bg_nobody')).exists).toBe(false);
  });

  it('cleartext: verifying an account goes through the same guard', async () => {
    const ops = on(tlsCluster, { tls: { caFile: tlsCluster.certs!.caFile } });
    await ops.stage('bg_tls_verify', 'tls-staged-secret-1');
    expect(await ops.verify({ username: 'bg_tls_verify', password: 'tls-staged-secret-1' })).toBe('accepted');
    const plain = on(tlsCluster, { allowCleartext: false, tls: false }, tlsCluster.adminPassword);
    expect((await thrown(plain.verify({ username: 'bg_tls_verify', password: 'tls-staged-secret-1' }))).message).toMatch(/cleartext password/);
  });

  it('tls: with the CA file the connection is verified, and the password may then be asked for in clear', async () => {
    // Only this test's connector may hold Breakglass sessions, so every one seen is its own.
    for (const earlier of opened.splice(0)) await earlier.close();
    const breakglassSessions = () =>
      adminQuery<{ ssl: boolean }>(tlsCluster, "select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.application_name = 'breakglass'");
    await eventually(async () => (await breakglassSessions()).rows.length === 0, 20_000, 'earlier pools to disconnect');
    const ops = on(tlsCluster, { tls: { caFile: tlsCluster.certs!.caFile } });
    await ops.stage('bg_tls_ca', 'tls-ca-secret-1');
    expect((await ops.inspect('bg_tls_ca')).exists).toBe(true);
    const sessions = await breakglassSessions();
    expect(sessions.rows.length).toBeGreaterThan(0);
    expect(sessions.rows.every((r) => r.ssl)).toBe(true);
  });

  it('tls: a certificate from another CA is refused as such, not retried as "unavailable"', async () => {
    const error = await thrown(on(tlsCluster, { tls: { caFile: tlsCluster.certs!.otherCaFile } }).inspect('bg_nobody'));
    expect(error.code).toBe('target_error');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/certificate did not verify.*tls.caFile/);
    // tls: true trusts the system's CAs only, which did not sign the test certificate either.
    expect((await thrown(on(tlsCluster, { tls: true }).inspect('bg_nobody'))).message).toMatch(/certificate did not verify/);
  });

  it('tls: verify: false connects to a certificate nobody can check (encrypted, not authenticated)', async () => {
    expect((await on(tlsCluster, { tls: { caFile: tlsCluster.certs!.otherCaFile, verify: false } }).inspect('bg_nobody')).exists).toBe(false);
  });

  it('tls: a server without TLS is refused when the target asks for it', async () => {
    const error = await thrown(on(md5Cluster, { tls: true }).inspect('bg_nobody'));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/does not offer TLS/);
  });

  it('tls: an unreadable CA file is refused when the connector is made, naming the setting', () => {
    expect(() => on(tlsCluster, { tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(/tls.caFile cannot be read \(ENOENT\)/);
  });
});

describe.skipIf(check.skip)('postgres connector: adopting an existing role', () => {
  let cluster: PgCluster;
  let ops: PrestagedOperations;
  let connector: Connector;
  beforeAll(async () => {
    cluster = await startPgCluster();
    connector = connectorOn(cluster);
    ops = connector.prestaged!;
  });
  afterAll(async () => {
    await connector?.close();
    await cluster?.stop();
  });

  it('adopt: a superuser that cannot log in is still power, and is refused unless adopted', async () => {
    await adminQuery(cluster, 'create role bg_super_nologin superuser nologin');
    const error = await thrown(ops.stage('bg_super_nologin', 'adopt-secret-1'));
    expect(error.code).toBe('conflict');
    expect(error.message).toMatch(/"bg_super_nologin" already exists on the target with SUPERUSER; .*adopt: true/);
    await ops.stage('bg_super_nologin', 'adopt-secret-1', {}, { adopt: true });
    expect(await ops.verify({ username: 'bg_super_nologin', password: 'adopt-secret-1' })).toBe('accepted');
  });

  it('adopt: a group role with members is refused, naming how many', async () => {
    await adminQuery(cluster, 'create role bg_group nologin; create role bg_group_member nologin in role bg_group');
    expect((await thrown(ops.stage('bg_group', 'group-secret-1'))).message).toMatch(/with 1 member;/);
  });

  it('adopt: an inert role (no login, no attributes, no members) is staged without adopt', async () => {
    await adminQuery(cluster, 'create role bg_inert nologin');
    await ops.stage('bg_inert', 'inert-secret-1');
    expect(await ops.verify({ username: 'bg_inert', password: 'inert-secret-1' })).toBe('accepted');
  });

  it('reserved: pg_ roles are refused even when adopting, and left as they were', async () => {
    const error = await thrown(ops.stage('pg_monitor', 'reserved-secret-1', {}, { adopt: true }));
    expect(error.code).toBe('validation');
    expect(error.message).toMatch(/reserved \(PostgreSQL reserves the pg_ prefix/);
    const row = await adminQuery<{ rolpassword: string | null }>(cluster, "select rolpassword from pg_authid where rolname = 'pg_monitor'");
    expect(row.rows[0]?.rolpassword).toBeNull();
  });
});
