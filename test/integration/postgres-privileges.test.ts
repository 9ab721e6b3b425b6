/**
 * Issue 12 (P1): a pre-staged PostgreSQL account holds exactly the privileges its catalog entry
 * declares (`superuser`, `createrole`, `createdb`, `grantedRoles`), against a private scram
 * cluster (a real server): staging gives them and nothing else, `inspect` reads them back, the
 * apply result and the drift scan (`privileges-differ`) report a difference.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector } from '../../src/connectors/postgres/postgres-connector.js';
import { AppError } from '../../src/errors/index.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';
import { catalogFor, startHarness, tryLogin, type Harness } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

const check = await requireService('PostgreSQL binaries (/usr/lib/postgresql/*/bin)', pgBinariesAvailable);
const inAnHour = () => new Date(Date.now() + 3_600_000);

async function adminQuery<R extends pg.QueryResultRow>(cluster: PgCluster, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser, password: cluster.adminPassword });
  await client.connect();
  try {
    return await client.query<R>(sql, params);
  } finally {
    await client.end();
  }
}

async function asAccount<T>(cluster: PgCluster, user: string, password: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const session = await tryLogin(cluster, user, password);
  if (!(session instanceof pg.Client)) throw new Error(`login as ${user} failed: ${session}`);
  try {
    return await fn(session);
  } finally {
    await session.end();
  }
}

const sqlState = (err: unknown) => (err instanceof pg.DatabaseError ? err.code : String(err));

describe.skipIf(check.skip)('postgres declared privileges (connector, private scram cluster)', () => {
  let cluster: PgCluster;
  let connector: Connector;
  let prestaged: PrestagedOperations;
  let n = 0;
  const nextRole = () => `bg_priv_${++n}`;

  beforeAll(async () => {
    cluster = await startPgCluster();
    connector = createPostgresConnector({
      type: 'postgres',
      settings: { host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser },
      adminSecret: cluster.adminPassword,
    });
    prestaged = connector.prestaged!;
    await adminQuery(cluster, `create table payroll (id int, amount int); insert into payroll values (1, 100); create role bg_other_group nologin`);
  });
  afterAll(async () => {
    await connector?.close();
    await cluster?.stop();
  });

  it('superuser: true — during a grant the account logs in and rolsuper answers t; inspect reads it back', async () => {
    const role = nextRole();
    const spec = { role, superuser: true };
    await prestaged.stage(role, 'su-secret', spec);
    await prestaged.enable(role, inAnHour());
    const rolsuper = await asAccount(cluster, role, 'su-secret', async (c) => (await c.query('select rolsuper from pg_roles where rolname = current_user')).rows[0]?.rolsuper);
    expect(rolsuper).toBe(true);
    expect((await prestaged.inspect(role, spec)).privilegeDifferences).toEqual([]);
    // Declared otherwise: the same role now differs, and says how.
    expect((await prestaged.inspect(role, { role })).privilegeDifferences).toEqual(['superuser: declared false, actual true']);
  });

  it('grantedRoles: [pg_read_all_data] — reads every table, INSERT is permission denied', async () => {
    const role = nextRole();
    const spec = { role, grantedRoles: ['pg_read_all_data'] };
    await prestaged.stage(role, 'reader-secret', spec);
    await prestaged.enable(role, inAnHour());
    await asAccount(cluster, role, 'reader-secret', async (c) => {
      expect((await c.query('select amount from payroll')).rows).toEqual([{ amount: 100 }]);
      const denied = await c.query('insert into payroll values (2, 200)').then(() => 'inserted', sqlState);
      expect(denied).toBe('42501');
      expect((await c.query('select rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user')).rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    });
    expect((await prestaged.inspect(role, spec)).privilegeDifferences).toEqual([]);
  });

  it('staging gives exactly what is declared: attributes off and undeclared memberships revoked when restaged', async () => {
    const role = nextRole();
    await prestaged.stage(role, 's1', { role, superuser: true, createrole: true, createdb: true, grantedRoles: ['pg_read_all_data'] });
    await adminQuery(cluster, `grant bg_other_group to ${role}`);
    expect((await prestaged.inspect(role, { role, superuser: true, createrole: true, createdb: true, grantedRoles: ['pg_read_all_data'] })).privilegeDifferences).toEqual([
      'grantedRoles: undeclared membership of bg_other_group',
    ]);
    await prestaged.stage(role, 's2', { role, createdb: true, grantedRoles: ['pg_monitor'] }, { adopt: true });
    const row = (await adminQuery<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; member_of: string[] }>(
      cluster,
      `select rolsuper, rolcreaterole, rolcreatedb,
              array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid order by 1) as member_of
         from pg_roles r where rolname = $1`,
      [role],
    )).rows[0];
    expect(row).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: true, member_of: ['pg_monitor'] });
    expect((await prestaged.inspect(role, { role, createdb: true, grantedRoles: ['pg_monitor'] })).privilegeDifferences).toEqual([]);
  });

  it('a granted role missing on the target is a clear error naming it; malformed specs are refused with their path', async () => {
    const role = nextRole();
    const err = await prestaged.stage(role, 's', { role, grantedRoles: ['no_such_group'] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('target_error');
    expect((err as AppError).message).toContain('"no_such_group"');
    const bad = await prestaged.stage(nextRole(), 's', { superuser: 'yes' }).then(() => undefined, (e: unknown) => e);
    expect((bad as AppError).code).toBe('validation');
    expect((bad as AppError).message).toContain('spec.superuser');
    const admin = await prestaged.stage(nextRole(), 's', { grantedRoles: [cluster.adminUser] }).then(() => undefined, (e: unknown) => e);
    expect((admin as AppError).code).toBe('validation');
  });
});

describe.skipIf(check.skip)('postgres declared privileges through the server (apply, grant, drift scan)', () => {
  let cluster: PgCluster;
  let h: Harness;
  let alice: string;
  const tag = Math.random().toString(36).slice(2, 8);
  const roles = { su: `bg_su_${tag}`, reader: `bg_reader_${tag}`, plain: `bg_plain_${tag}` };

  beforeAll(async () => {
    cluster = await startPgCluster();
    await adminQuery(cluster, `create table ledger (x int); insert into ledger values (7)`);
    h = await startHarness({ dialect: 'sqlite' });
    const base = catalogFor(cluster, { role: roles.su });
    const catalog = {
      ...base,
      accounts: [
        { ...base.accounts[0]!, superuser: true },
        { name: 'pg-reader', target: 'prod-pg', mode: 'prestaged', role: roles.reader, grantedRoles: ['pg_read_all_data'], policy: 'p0' },
        { name: 'pg-plain', target: 'prod-pg', mode: 'prestaged', role: roles.plain, policy: 'p0' },
      ],
    };
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const byName = (a: { account: string }, b: { account: string }) => a.account.localeCompare(b.account);
    expect([...(applied.body.privileges as { account: string }[])].sort(byName)).toEqual([
      { account: 'pg-breakglass', differences: [] },
      { account: 'pg-plain', differences: [] },
      { account: 'pg-reader', differences: [] },
    ]);
    alice = await h.enrol('alice');
  });
  afterAll(async () => {
    await h?.stop();
    await cluster?.stop();
  });

  const useAccount = async (account: string) => {
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account, condition: 'outage', reason: 'primary down', incident: 'INC-12', ttl: '5m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const revealed = await h.call(alice, 'POST', `/v1/grants/${invoked.body.id as string}/reveal`);
    expect(revealed.status).toBe(200);
    return { username: revealed.body.username as string, password: revealed.body.password as string };
  };

  it('contract: the superuser: true account logs in during a grant and rolsuper answers t', async () => {
    const { username, password } = await useAccount('pg-breakglass');
    const rolsuper = await asAccount(cluster, username, password, async (c) => (await c.query('select rolsuper from pg_roles where rolname = current_user')).rows[0]?.rolsuper);
    expect(rolsuper).toBe(true);
  });

  it('contract: the grantedRoles: [pg_read_all_data] account reads every table and cannot write', async () => {
    const { username, password } = await useAccount('pg-reader');
    await asAccount(cluster, username, password, async (c) => {
      expect((await c.query('select x from ledger')).rows).toEqual([{ x: 7 }]);
      expect(await c.query('insert into ledger values (8)').then(() => 'inserted', sqlState)).toBe('42501');
    });
  });

  it('ALTER ROLE … SUPERUSER by hand on a non-superuser account is found by the drift scan as privileges-differ', async () => {
    const scan = async () => {
      const scanned = await h.call(h.adminToken, 'POST', '/v1/drift/scan', {});
      expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
      expect(scanned.body.errors).toEqual([]);
      return (scanned.body.findings as { account: string; kind: string; detail: string }[]).filter((f) => f.kind === 'privileges-differ');
    };
    expect(await scan()).toEqual([]);
    await adminQuery(cluster, `ALTER ROLE ${roles.plain} SUPERUSER`);
    const found = await scan();
    expect(found).toMatchObject([{ account: 'pg-plain', kind: 'privileges-differ' }]);
    expect(found[0]!.detail).toContain('superuser: declared false, actual true');
    await adminQuery(cluster, `ALTER ROLE ${roles.plain} NOSUPERUSER`);
    expect(await scan()).toEqual([]);
  });
});
