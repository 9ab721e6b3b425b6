/**
 * issue 12 (P4): two stages of one pre-staged account at once, against a real private
 * PostgreSQL cluster (and the shared MariaDB and Redis, where both stages must succeed too). The loser of the CREATE ROLE race must converge on the declared shape and
 * report success, whether the server answers 42710 (the winner had committed) or 23505 (both
 * CREATEs were in flight: pg_authid's unique index refuses the second).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector } from '../../src/connectors/postgres/postgres-connector.js';
import { createMysqlConnector } from '../../src/connectors/mysql/mysql-connector.js';
import { createRedisConnector } from '../../src/connectors/redis/redis-connector.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';
import { eventually } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { redisCommand } from '../support/redis-server.js';

const check = await requireService('PostgreSQL binaries (/usr/lib/postgresql/*/bin)', pgBinariesAvailable);
const mariadb = await requireService('MariaDB on 127.0.0.1:3306', () => probeTcp('127.0.0.1', 3306));
const redis = await requireService('Redis on 127.0.0.1:6379', () => probeTcp('127.0.0.1', 6379));
const runTag = Math.random().toString(36).slice(2, 8);

async function adminClient(cluster: PgCluster): Promise<pg.Client> {
  const client = new pg.Client({ host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser, password: cluster.adminPassword });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/**
 * Statements blocked on a lock. Asked on its own client: inside the lock holder's transaction
 * pg_stat_activity is a snapshot taken at its start and would never change.
 */
async function waitingOnLocks(watcher: pg.Client): Promise<number> {
  const res = await watcher.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock'");
  return res.rows[0]?.n ?? 0;
}

describe.skipIf(check.skip)('issue 12 (P4): concurrent stages of one PostgreSQL account', () => {
  let cluster: PgCluster;
  let connector: Connector;
  let prestaged: PrestagedOperations;
  let admin: pg.Client;
  let watcher: pg.Client;

  beforeAll(async () => {
    cluster = await startPgCluster();
    connector = createPostgresConnector({
      type: 'postgres',
      settings: { host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser },
      adminSecret: cluster.adminPassword,
      timeoutMs: 15_000,
    });
    prestaged = connector.prestaged!;
    admin = await adminClient(cluster);
    watcher = await adminClient(cluster);
  }, 120_000);

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await watcher?.end().catch(() => undefined);
    await connector?.close();
    await cluster?.stop();
  });

  const shapeOf = async (role: string) =>
    (await admin.query<{ rolcanlogin: boolean; rolvaliduntil: unknown }>('select rolcanlogin, rolvaliduntil from pg_roles where rolname = $1', [role])).rows;

  it('both stages succeed when their CREATE ROLEs run at the same time (the loser gets 23505 or 42710 and converges)', async () => {
    for (let round = 0; round < 3; round++) {
      const role = `bg_race_${round}`;
      // Hold both stages just before CREATE ROLE: SHARE on pg_authid lets them read (no role
      // yet) but not write; released together, both insert and one loses on the unique index.
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE pg_catalog.pg_authid IN SHARE MODE');
      const stages = [prestaged.stage(role, `first-secret-${round}`), prestaged.stage(role, `second-secret-${round}`)];
      const settled = Promise.allSettled(stages);
      await eventually(async () => (await waitingOnLocks(watcher)) === 2, 10_000, 'both stages waiting on pg_authid');
      await admin.query('COMMIT');
      const results = await settled;
      expect(results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok'))).toEqual(['ok', 'ok']);
      // The declared shape: one role, NOLOGIN, holding one of the two secrets.
      expect(await shapeOf(role)).toHaveLength(1);
      const inspection = await prestaged.inspect(role);
      expect(inspection).toMatchObject({ exists: true, canLogin: false, sessions: 0 });
      const verdicts = await Promise.all([
        prestaged.verify({ username: role, password: `first-secret-${round}` }),
        prestaged.verify({ username: role, password: `second-secret-${round}` }),
      ]);
      expect(verdicts.filter((v) => v === 'accepted')).toHaveLength(1);
    }
  }, 90_000);

  it('a stage whose CREATE ROLE waits on a concurrent, uncommitted CREATE of the same role (23505) converges on ALTER', async () => {
    const role = 'bg_race_uncommitted';
    const other = await adminClient(cluster);
    try {
      // The other stage's CREATE is in flight: invisible to our check, blocking our insert.
      await other.query('BEGIN');
      await other.query(`CREATE ROLE ${pg.escapeIdentifier(role)} NOLOGIN`);
      const stage = prestaged.stage(role, 'our-secret');
      const settled = stage.then(() => 'ok', (err: unknown) => String((err as Error).message));
      await eventually(async () => (await waitingOnLocks(watcher)) >= 1, 10_000, 'our CREATE ROLE waiting');
      await other.query('COMMIT');
      expect(await settled).toBe('ok');
    } finally {
      await other.end().catch(() => undefined);
    }
    expect(await prestaged.inspect(role)).toMatchObject({ exists: true, canLogin: false });
    expect(await prestaged.verify({ username: role, password: 'our-secret' })).toBe('accepted');
  }, 60_000);
});

/**
 * Stages the same account twice at once, `rounds` times, on a fresh principal each round: both
 * succeed, the account ends up disabled with exactly one of the two secrets.
 */
async function raceStages(prestaged: PrestagedOperations, principal: (round: number) => string, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const user = principal(round);
    const secrets = [`First-secret-${round}-Aa1!`, `Second-secret-${round}-Bb2!`];
    const results = await Promise.allSettled(secrets.map((secret) => prestaged.stage(user, secret)));
    expect(results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok')), user).toEqual(['ok', 'ok']);
    expect(await prestaged.inspect(user)).toMatchObject({ exists: true, canLogin: false, sessions: 0 });
    const verdicts = await Promise.all(secrets.map((password) => prestaged.verify({ username: user, password })));
    expect(verdicts.filter((v) => v === 'accepted'), user).toHaveLength(1);
  }
}

describe.skipIf(mariadb.skip)('issue 12 (P4): concurrent stages of one MariaDB account', () => {
  const connector = createMysqlConnector({ type: 'mysql', settings: { host: '127.0.0.1', port: 3306, user: 'root' }, adminSecret: undefined });
  const name = (round: number) => `bgt_race_${runTag}_${round}`;
  afterAll(async () => {
    const conn = await (await import('mysql2/promise')).createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    for (let round = 0; round < 5; round++) await conn.query(`DROP USER IF EXISTS '${name(round)}'@'%'`);
    await conn.end();
    await connector.close();
  });

  it('both stages succeed (CREATE USER IF NOT EXISTS answers the loser with a note, not ER_CANNOT_USER 1396)', async () => {
    await raceStages(connector.prestaged!, name, 5);
  }, 60_000);
});

describe.skipIf(redis.skip)('issue 12 (P4): concurrent stages of one Redis user', () => {
  const connector = createRedisConnector({ type: 'redis', settings: { host: '127.0.0.1', port: 6379 }, adminSecret: undefined });
  const name = (round: number) => `bgt_race_${runTag}_${round}`;
  afterAll(async () => {
    await redisCommand(6379, ['ACL', 'DELUSER', ...Array.from({ length: 5 }, (_, round) => name(round))]);
    await connector.close();
  });

  it('both stages succeed (ACL SETUSER reset … is atomic and idempotent)', async () => {
    await raceStages(connector.prestaged!, name, 5);
  }, 60_000);
});
