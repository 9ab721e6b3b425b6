/**
 * Drills against a real target (issue 10): the built CLI runs `breakglass drill run --json`
 * against a server whose target is a private scram-sha-256 PostgreSQL cluster. The contract:
 * the JSON shape, exit code 0 only when passed, the grant marked `"drill": true`; and a secret
 * changed by hand on the target fails the drill and says so. Then MariaDB (a real login: a
 * locked account is rejected) and Redis (no real login in its connector: verify, then the
 * target's inspection) through the HTTP API, pre-staged and ephemeral.
 */
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliPath } from '../support/cli-process.js';
import { catalogFor, eventually, startHarness, type Harness } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const maria = await requireService('MariaDB on 127.0.0.1:3306', () => probeTcp('127.0.0.1', 3306));
const redis = await requireService('Redis on 127.0.0.1:6379', () => probeTcp('127.0.0.1', 6379));

/** The CLI as a child process, without blocking the in-process server. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(binaries.skip)('drills on a real PostgreSQL target', () => {
  let cluster: PgCluster;
  let h: Harness;
  let env: Record<string, string>;
  const role = 'bg_drill';

  beforeAll(async () => {
    cluster = await startPgCluster();
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role }));
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    env = { BREAKGLASS_ADDR: h.server.url, BREAKGLASS_TOKEN: h.adminToken, NO_COLOR: '1' };
  });
  afterAll(async () => {
    await h?.stop();
    await cluster?.stop();
  });

  it('contract: drill run --json passes, exits 0, and the grant is marked "drill": true', async () => {
    const run = await cli(['drill', 'run', 'pg-breakglass', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const body = JSON.parse(run.stdout) as { account: string; result: string; grant: string; steps: { name: string; result: string; ms: number }[] };
    expect(body).toMatchObject({ account: 'pg-breakglass', result: 'passed' });
    expect(body.steps.map((s) => s.name)).toEqual(['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated']);
    for (const step of body.steps) {
      expect(step.result).toBe('passed');
      expect(typeof step.ms).toBe('number');
    }
    const grants = await h.call(h.adminToken, 'GET', '/v1/grants');
    const grant = (grants.body.grants as { id: string; drill?: boolean; state: string; account: string }[]).find((g) => g.id === body.grant);
    expect(grant).toMatchObject({ account: 'pg-breakglass', drill: true, state: 'closed' });
    // The role is NOLOGIN again, with no session left.
    const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ rolcanlogin: boolean }>('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [role]);
      expect(rows[0]?.rolcanlogin).toBe(false);
    } finally {
      await admin.end();
    }
    const audit = await h.call(h.adminToken, 'GET', '/v1/audit/export');
    expect(JSON.stringify(audit.body)).toContain('drill.passed');
  });

  it('a secret changed outside Breakglass fails the drill and says so (exit code 1)', async () => {
    const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`ALTER ROLE ${role} PASSWORD 'changed-by-hand-0a9b8c7d'`);
    } finally {
      await admin.end();
    }
    const run = await cli(['drill', 'run', 'pg-breakglass', '--json'], env);
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as { result: string; grant: string; steps: { name: string; result: string; detail?: string }[] };
    expect(body.result).toBe('failed');
    expect(body.steps.find((s) => s.name === 'login')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/changed outside Breakglass/) });
    // The failed drill's grant goes the normal way: revoked, rotated to a secret Breakglass knows, left for a person to certify.
    await eventually(async () => (await h.call(h.adminToken, 'GET', `/v1/grants/${body.grant}`)).body.state === 'awaiting-certification', 60_000, 'the failed drill rotated');
    const human = await cli(['drill', 'run', 'pg-breakglass'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/drill of pg-breakglass .*passed/);
    expect(human.stderr).toMatch(/drilling pg-breakglass/);
    // Live progress from the real server: every step on its own line as it ended.
    for (const name of ['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated']) expect(human.stderr).toMatch(new RegExp(`✓ ${name}\\s+\\d+ ms`));
  });
});

describe.skipIf(maria.skip || redis.skip)('drills on MariaDB and Redis', () => {
  let h: Harness;
  const tag = `drill_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', {
      targets: [
        { name: 'maria', type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root' },
        { name: 'cache', type: 'redis', host: '127.0.0.1', port: 6379 },
      ],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [
        { name: 'maria-bg', target: 'maria', mode: 'prestaged', user: `bg${tag}`, policy: 'p0' },
        { name: 'redis-bg', target: 'cache', mode: 'prestaged', user: `bg${tag}`, policy: 'p0' },
        { name: 'maria-jit', target: 'maria', mode: 'ephemeral', privileges: ['SELECT ON mysql.*'], policy: 'p0' },
        { name: 'redis-jit', target: 'cache', mode: 'ephemeral', rules: 'on ~* &* +@all', policy: 'p0' },
      ],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });
  afterAll(async () => {
    await h?.stop();
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await conn.query(`DROP USER IF EXISTS 'bg${tag}'@'%'`);
    await conn.end();
    const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await r.connect();
    await r.call('ACL', 'DELUSER', `bg${tag}`);
    r.disconnect();
  });

  it.each(['maria-bg', 'redis-bg', 'maria-jit', 'redis-jit'])('%s: a drill passes and its grant is marked drill', async (account) => {
    const run = await h.call(h.adminToken, 'POST', `/v1/accounts/${account}/drill`, {});
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body, JSON.stringify(run.body)).toMatchObject({ account, result: 'passed' });
    const results = (run.body.steps as { result: string }[]).map((s) => s.result);
    expect(results).toEqual(account.endsWith('-jit') ? ['passed', 'passed', 'passed', 'passed', 'skipped', 'skipped'] : Array(6).fill('passed'));
    const grant = await h.call(h.adminToken, 'GET', `/v1/grants/${run.body.grant}`);
    expect(grant.body).toMatchObject({ drill: true, state: 'closed' });
  });
});
