/**
 * I1: a grant that expires while Breakglass is dead (kill -9) is revoked within seconds of the
 * restart, including the session that was opened during the grant.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { catalogFor, enrol, eventually, tryLogin } from '../support/harness.js';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

describe.skipIf(binaries.skip)('I1 crash and restart', () => {
  let cluster: PgCluster;
  let server: ServeProcess | undefined;
  beforeAll(async () => {
    cluster = await startPgCluster();
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it('I1: after kill -9 and restart, an overdue grant is revoked within seconds', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bg-crash-'));
    const init = runCliProcess(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    const admin = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    const port = await freePort();
    server = await serveProcess(dataDir, port);
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const r = await fetch(`${server!.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await r.json()) as any;
    };
    await call(admin, 'POST', '/v1/apply', catalogFor(cluster, { role: 'bg_crash' }));
    const alice = await enrol(server.url, admin, 'alice');
    const grant = await call(alice, 'POST', '/v1/grants', { account: 'pg-breakglass', condition: 'outage', reason: 'crash test', incident: 'INC-7', ttl: '3s' });
    expect(grant.state, JSON.stringify(grant)).toBe('active');
    const revealed = await call(alice, 'POST', `/v1/grants/${grant.id}/reveal`);
    expect(revealed.password, JSON.stringify(revealed)).toBeTypeOf('string');
    const password: string = revealed.password;
    const session = (await tryLogin(cluster, 'bg_crash', password)) as pg.Client;
    expect(session).toBeInstanceOf(pg.Client);

    await server.kill9();
    server = undefined;
    const expiresAt = new Date(grant.expiresAt).getTime();
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 1_500));

    // While Breakglass is dead: VALID UNTIL stops new logins natively (belt and braces), but the
    // session opened during the grant is still alive — only Breakglass can end it.
    expect(await tryLogin(cluster, 'bg_crash', password)).toBe('28P01');
    expect((await session.query('select 1 as one')).rows[0].one).toBe(1);

    const restartedAt = Date.now();
    server = await serveProcess(dataDir, port);
    await eventually(async () => {
      const inspect = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
      await inspect.connect();
      try {
        const role = await inspect.query('select rolcanlogin from pg_roles where rolname = $1', ['bg_crash']);
        const sessions = await inspect.query('select count(*)::int as n from pg_stat_activity where usename = $1', ['bg_crash']);
        return role.rows[0].rolcanlogin === false && sessions.rows[0].n === 0;
      } finally {
        await inspect.end();
      }
    }, 15_000, 'revocation after restart');
    const revokedWithinMs = Date.now() - restartedAt;
    expect(revokedWithinMs).toBeLessThan(15_000);
    await expect(session.query('select 1')).rejects.toThrow();
    await eventually(async () => (await call(alice, 'GET', `/v1/grants/${grant.id}`)).state === 'awaiting-certification', 15_000, 'rotation');
  });
});
