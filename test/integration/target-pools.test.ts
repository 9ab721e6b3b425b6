/**
 * Issue 13 (pool): each connector keeps a small pool of admin connections to its target. Counted
 * on the server itself: N operations run at once on at most `max` (4) admin connections, the
 * same connections serve the next N, and a connection killed on the server is replaced without
 * the next operation failing. PostgreSQL and LDAP run private servers; MariaDB and Redis use the
 * shared ones with an admin user made for this run, so only our connections are counted.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POOL_MAX } from '../../src/connectors/lib/connection-pool.js';
import { createLdapConnector } from '../../src/connectors/ldap/ldap-connector.js';
import { createMysqlConnector } from '../../src/connectors/mysql/mysql-connector.js';
import { createPostgresConnector } from '../../src/connectors/postgres/postgres-connector.js';
import { createRedisConnector } from '../../src/connectors/redis/redis-connector.js';
import type { Connector } from '../../src/ports/index.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { slapdAvailable, startSlapd, type Slapd } from '../support/slapd.js';

const N = 12;
const run = randomBytes(3).toString('hex');

/** Runs `n` operations at once, then hands back the server's ids of our admin connections. */
async function burst(n: number, op: () => Promise<unknown>, serverIds: () => Promise<string[]>): Promise<string[]> {
  await Promise.all(Array.from({ length: n }, op));
  return (await serverIds()).sort();
}

/** The shared checks: at most max connections for N operations, reused by the next N, a killed one replaced. */
function poolChecks(name: string, get: () => { connector: Connector; op: () => Promise<unknown>; serverIds: () => Promise<string[]>; kill: () => Promise<void> }) {
  it(`${name}: ${N} operations at once use at most ${DEFAULT_POOL_MAX} admin connections, and the next ${N} reuse them`, async () => {
    const { op, serverIds } = get();
    const first = await burst(N, op, serverIds);
    expect(first.length).toBeGreaterThanOrEqual(1);
    expect(first.length).toBeLessThanOrEqual(DEFAULT_POOL_MAX);
    const second = await burst(N, op, serverIds);
    expect(second).toEqual(first);
  });

  it(`${name}: connections killed on the server are replaced, and the next operation succeeds`, async () => {
    const { op, serverIds, kill } = get();
    const before = await burst(N, op, serverIds);
    expect(before.length).toBeGreaterThanOrEqual(1);
    await kill();
    await op();
    const after = await serverIds();
    expect(after.length).toBeGreaterThanOrEqual(1);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
  });
}

const pgCheck = await requireService('PostgreSQL binaries', pgBinariesAvailable);
describe.skipIf(pgCheck.skip)('postgres connector pool (private cluster)', () => {
  let cluster: PgCluster;
  let connector: Connector;
  const query = async (sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres', application_name: 'pool-test' });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  const ours = `select pid::text as id from pg_stat_activity where application_name = 'breakglass' and usename = $1`;
  beforeAll(async () => {
    cluster = await startPgCluster();
    connector = createPostgresConnector({
      type: 'postgres',
      settings: { host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser },
      adminSecret: cluster.adminPassword,
    });
  });
  afterAll(async () => {
    await connector?.close();
    await cluster?.stop();
  });
  poolChecks('postgres', () => ({
    connector,
    op: () => connector.prestaged!.inspect('bgt_nobody'),
    serverIds: async () => (await query(ours, [cluster.adminUser])).map((row) => String(row['id'])),
    kill: async () => {
      const killed = await query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'breakglass' and usename = $1`, [cluster.adminUser]);
      expect(killed.length).toBeGreaterThan(0);
    },
  }));

  it('postgres: closing the connector ends its admin connections on the server', async () => {
    const own = createPostgresConnector({
      type: 'postgres',
      settings: { host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser },
      adminSecret: cluster.adminPassword,
    });
    await connector.close();
    await Promise.all(Array.from({ length: 4 }, () => own.prestaged!.inspect('bgt_nobody')));
    expect((await query(ours, [cluster.adminUser])).length).toBeGreaterThan(0);
    await own.close();
    const deadline = Date.now() + 10_000;
    while ((await query(ours, [cluster.adminUser])).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await query(ours, [cluster.adminUser])).toEqual([]);
  });
});

const mysqlCheck = await requireService('MariaDB on 127.0.0.1:3306', () => probeTcp('127.0.0.1', 3306));
describe.skipIf(mysqlCheck.skip)('mysql connector pool (shared MariaDB, an admin user of this run)', () => {
  const admin = `bgt_pool_${run}`;
  const password = randomBytes(12).toString('base64url');
  let root: mysql.Connection;
  let connector: Connector;
  const ids = async () =>
    ((await root.query('SELECT ID FROM information_schema.PROCESSLIST WHERE BINARY USER = ?', [admin]))[0] as { ID: number }[]).map((r) => String(r.ID));
  beforeAll(async () => {
    root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await root.query(`CREATE USER '${admin}'@'%' IDENTIFIED BY '${password}'`);
    await root.query(`GRANT ALL PRIVILEGES ON *.* TO '${admin}'@'%' WITH GRANT OPTION`);
    connector = createMysqlConnector({ type: 'mysql', settings: { host: '127.0.0.1', port: 3306, user: admin, allowCleartext: false }, adminSecret: password });
  });
  afterAll(async () => {
    await connector?.close();
    await root?.query(`DROP USER IF EXISTS '${admin}'@'%'`);
    await root?.end();
  });
  poolChecks('mysql', () => ({
    connector,
    op: () => connector.prestaged!.inspect(`bgt_nobody_${run}`),
    serverIds: ids,
    kill: async () => {
      for (const id of await ids()) await root.query(`KILL CONNECTION ${Number(id)}`);
    },
  }));
});

const redisCheck = await requireService('Redis on 127.0.0.1:6379', () => probeTcp('127.0.0.1', 6379));
describe.skipIf(redisCheck.skip)('redis connector pool (shared Redis, an admin user of this run)', () => {
  const admin = `bgt_pool_${run}`;
  const password = randomBytes(12).toString('base64url');
  let root: Redis;
  let connector: Connector;
  const ids = async () =>
    String(await root.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => line.split(' ').includes(`user=${admin}`))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1] ?? '');
  beforeAll(async () => {
    root = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await root.connect();
    await root.call('ACL', 'SETUSER', admin, 'reset', 'on', `>${password}`, '~*', '&*', '+@all');
    connector = createRedisConnector({ type: 'redis', settings: { host: '127.0.0.1', port: 6379, user: admin, allowCleartext: true }, adminSecret: password });
  });
  afterAll(async () => {
    await connector?.close();
    await root?.call('ACL', 'DELUSER', admin);
    root?.disconnect();
  });
  poolChecks('redis', () => ({
    connector,
    op: () => connector.prestaged!.inspect(`bgt_nobody_${run}`),
    serverIds: ids,
    kill: async () => {
      expect(Number(await root.call('CLIENT', 'KILL', 'USER', admin))).toBeGreaterThan(0);
    },
  }));

  // issue 13 (per-target limit): BREAKGLASS_TARGET_CONNECTIONS reaches the pool as the target's poolMax.
  it('redis: poolMax 1 runs every operation on one admin connection, one at a time', async () => {
    const single = createRedisConnector({ type: 'redis', settings: { host: '127.0.0.1', port: 6379, user: admin, allowCleartext: true }, adminSecret: password, poolMax: 1 });
    try {
      await connector.close(); // the shared connector's connections would be counted too
      connector = createRedisConnector({ type: 'redis', settings: { host: '127.0.0.1', port: 6379, user: admin, allowCleartext: true }, adminSecret: password });
      const used = await burst(N, () => single.prestaged!.inspect(`bgt_nobody_${run}`), ids);
      expect(used).toHaveLength(1);
    } finally {
      await single.close();
    }
  });
});

/**
 * A TCP forwarder in front of slapd that knows the connections it carries: slapd cannot list or
 * end another client's connection, so this is where they are counted and cut.
 */
async function countingForwarder(port: number): Promise<{ port: number; ids: () => string[]; cutAll: () => void; close: () => Promise<void> }> {
  const open = new Map<string, Socket[]>();
  let next = 0;
  const server: Server = createServer((client) => {
    const id = String(++next);
    const upstream = tcpConnect(port, '127.0.0.1');
    open.set(id, [client, upstream]);
    const drop = () => {
      open.delete(id);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    ids: () => [...open.keys()],
    cutAll: () => {
      for (const sockets of open.values()) for (const socket of sockets) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const ldapCheck = await requireService('OpenLDAP slapd', slapdAvailable);
describe.skipIf(ldapCheck.skip)('ldap connector pool (private slapd)', () => {
  let slapd: Slapd;
  let forwarder: Awaited<ReturnType<typeof countingForwarder>>;
  let connector: Connector;
  beforeAll(async () => {
    slapd = await startSlapd();
    forwarder = await countingForwarder(Number(new URL(slapd.url).port));
    connector = createLdapConnector({
      type: 'ldap',
      settings: { url: `ldap://127.0.0.1:${forwarder.port}`, bindDn: slapd.adminDn, baseDn: slapd.peopleDn, allowCleartext: true },
      adminSecret: slapd.adminPassword,
    });
  });
  afterAll(async () => {
    await connector?.close();
    forwarder?.cutAll();
    await forwarder?.close();
    await slapd?.stop();
  });
  poolChecks('ldap', () => ({
    connector,
    op: () => connector.prestaged!.inspect(`uid=nobody-${run},${slapd.peopleDn}`),
    serverIds: () => Promise.resolve(forwarder.ids()),
    kill: () => Promise.resolve(forwarder.cutAll()),
  }));
});
