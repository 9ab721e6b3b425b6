import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PgCluster } from '../test/support/pg-cluster.js';

/**
 * The irreducible target work of a case, done bare with `pg` against the same cluster the
 * server uses: what a grant and a revocation cost on the target with no Breakglass around it.
 */
export interface TargetBaselines {
  /** `ALTER ROLE … LOGIN VALID UNTIL …` on an already connected admin session. */
  alterLogin(): Promise<number>;
  /** The same on a fresh admin connection (SCRAM handshake, statement, close). */
  alterLoginCold(): Promise<number>;
  /** `ALTER ROLE … NOLOGIN` + `pg_terminate_backend` of the role's backends (none live). */
  nologinTerminate(): Promise<number>;
  /** The same with one live session of the role to terminate (opening it is not timed). */
  nologinTerminateSession(): Promise<number>;
  serverVersion(): Promise<string>;
  close(): Promise<void>;
}

const role = 'bg_bench_baseline';

export async function targetBaselines(cluster: PgCluster): Promise<TargetBaselines> {
  const adminConfig = {
    host: cluster.host,
    port: cluster.port,
    user: cluster.adminUser,
    password: cluster.adminPassword,
    database: 'postgres',
  };
  const admin = new pg.Client(adminConfig);
  admin.on('error', () => undefined);
  await admin.connect();
  const ident = pg.escapeIdentifier(role);
  const password = randomBytes(18).toString('base64url');
  await admin.query(`CREATE ROLE ${ident} NOLOGIN PASSWORD ${pg.escapeLiteral(password)}`);

  const validUntil = () => pg.escapeLiteral(new Date(Date.now() + 15 * 60_000).toISOString());
  const enableSql = () => `ALTER ROLE ${ident} LOGIN VALID UNTIL ${validUntil()}`;
  const terminateSql = `select count(*)::int as live from (select pg_terminate_backend(pid) from pg_stat_activity
                          where usename = $1 and pid <> pg_backend_pid()) signalled`;

  const nologinTerminate = async (expectedLive: number) => {
    const start = performance.now();
    await admin.query(`ALTER ROLE ${ident} NOLOGIN`);
    const result = await admin.query<{ live: number }>(terminateSql, [role]);
    const ms = performance.now() - start;
    const live = result.rows[0]?.live ?? 0;
    if (live !== expectedLive) throw new Error(`baseline expected ${expectedLive} live session(s), terminated ${live}`);
    return ms;
  };

  return {
    async alterLogin() {
      const sql = enableSql();
      const start = performance.now();
      await admin.query(sql);
      return performance.now() - start;
    },
    async alterLoginCold() {
      const sql = enableSql();
      const start = performance.now();
      const client = new pg.Client(adminConfig);
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
      return performance.now() - start;
    },
    nologinTerminate: () => nologinTerminate(0),
    async nologinTerminateSession() {
      await admin.query(enableSql());
      const session = new pg.Client({ ...adminConfig, user: role, password });
      session.on('error', () => undefined);
      await session.connect();
      await session.query('select 1');
      try {
        return await nologinTerminate(1);
      } finally {
        await session.end().catch(() => undefined);
      }
    },
    async serverVersion() {
      const result = await admin.query<{ server_version: string }>('show server_version');
      return result.rows[0]?.server_version ?? 'unknown';
    },
    async close() {
      await admin.end();
    },
  };
}
