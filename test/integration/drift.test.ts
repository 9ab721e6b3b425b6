/**
 * Drift detection against real targets (issue 10, point 2). PostgreSQL: the contract — after
 * `ALTER ROLE <staged role> LOGIN` by hand outside a case, `breakglass drift scan --json`
 * reports `enabled-outside-case` for the account — then a changed secret and autoRemediate.
 * MariaDB and Redis (the shared servers of this machine): an account unlocked / switched on by
 * hand is found and resolved once locked again; a Redis ACL user of an ended case put back by
 * hand is an `ephemeral-leftover`, dropped by autoRemediate. SSH: a certificate of an ended
 * case, still valid, missing from a KRL someone replaced, is `certificate-not-in-krl`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ephemeralPrincipal } from '../../src/ports/index.js';
import { cliPath } from '../support/cli-process.js';
import { catalogFor, eventually, startHarness, type Harness } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { sshdAvailable } from '../support/sshd.js';

const binaries = await requireService('PostgreSQL binaries (/usr/lib/postgresql/*/bin)', pgBinariesAvailable);
const maria = await requireService('MariaDB on 127.0.0.1:3306', () => probeTcp('127.0.0.1', 3306));
const redis = await requireService('Redis on 127.0.0.1:6379', () => probeTcp('127.0.0.1', 6379));
const ssh = await requireService('sshd, ssh and ssh-keygen', () => sshdAvailable());

const tag = Math.random().toString(36).slice(2, 8);

interface Finding {
  id: string;
  account: string;
  kind: string;
  detail: string;
  firstSeen: string;
}

/** The built CLI as a child process, asynchronously: the server under test runs in this process. */
async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Admin commands on the shared Redis. */
async function redisAdmin(...args: string[]): Promise<unknown> {
  const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await r.connect();
  try {
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

async function scanOver(h: Harness): Promise<Finding[]> {
  const scanned = await h.call(h.adminToken, 'POST', '/v1/drift/scan', {});
  expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
  expect(scanned.body.errors).toEqual([]);
  return scanned.body.findings as Finding[];
}

describe.skipIf(binaries.skip)('drift on PostgreSQL (the contract)', () => {
  let cluster: PgCluster;
  let h: Harness;
  const role = `bg_drift_${tag}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
    await client.connect();
    try {
      return await client.query<{ rolcanlogin: boolean }>(sql);
    } finally {
      await client.end();
    }
  };
  const canLogin = async () => (await admin(`SELECT rolcanlogin FROM pg_roles WHERE rolname = '${role}'`)).rows[0]?.rolcanlogin;

  beforeAll(async () => {
    cluster = await startPgCluster();
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role }));
    expect(applied.body.staging).toEqual([{ account: 'pg-breakglass', staging: 'staged' }]);
  });
  afterAll(async () => {
    await h?.stop();
    await cluster?.stop();
  });

  it('contract: after ALTER ROLE … LOGIN by hand, `breakglass drift scan --json` reports enabled-outside-case; NOLOGIN resolves it', async () => {
    const env = { BREAKGLASS_ADDR: h.server.url, BREAKGLASS_TOKEN: h.adminToken };
    const clean = await cli(['drift', 'scan', '--json'], env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ findings: [] });

    await admin(`ALTER ROLE ${role} LOGIN`);
    const found = await cli(['drift', 'scan', '--json'], env);
    expect(found.code, found.stderr).toBe(0);
    const { findings } = JSON.parse(found.stdout) as { findings: Finding[] };
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ account: 'pg-breakglass', kind: 'enabled-outside-case' });
    expect(Object.keys(findings[0]!)).toEqual(expect.arrayContaining(['id', 'account', 'kind', 'detail', 'firstSeen']));
    expect(findings[0]!.id).toMatch(/^drf_/);

    const human = await cli(['drift', 'list'], env);
    expect(human.stdout).toContain('enabled-outside-case');

    await admin(`ALTER ROLE ${role} NOLOGIN`);
    expect(await scanOver(h)).toEqual([]);
    const audit = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body as string;
    expect(audit).toContain('drift.detected');
    expect(audit).toContain('drift.resolved');
  });

  it('secret-changed: a password set by hand no longer matches the stored secret (the secret itself never shown)', async () => {
    await admin(`ALTER ROLE ${role} PASSWORD 'set-by-hand-${tag}'`);
    const findings = await scanOver(h);
    expect(findings).toMatchObject([{ account: 'pg-breakglass', kind: 'secret-changed' }]);
    expect(JSON.stringify(findings)).not.toContain('set-by-hand');
  });

  it('autoRemediate: the scan sets NOLOGIN again and verifies it', async () => {
    const catalog = catalogFor(cluster, { role });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', { ...catalog, accounts: catalog.accounts.map((a) => ({ ...a, autoRemediate: true })) });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    await admin(`ALTER ROLE ${role} LOGIN`);
    const findings = await scanOver(h);
    expect(findings.filter((f) => f.kind === 'enabled-outside-case')).toEqual([]);
    expect(await canLogin()).toBe(false);
  });
});

describe.skipIf(maria.skip || redis.skip)('drift on MariaDB and Redis', () => {
  let h: Harness;
  const user = `bgdrift_${tag}`;
  const mariaAdmin = async (sql: string) => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    try {
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  };

  beforeAll(async () => {
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', {
      targets: [
        { name: 'maria', type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root' },
        { name: 'cache', type: 'redis', host: '127.0.0.1', port: 6379 },
      ],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [
        { name: 'maria-bg', target: 'maria', mode: 'prestaged', user, policy: 'p0' },
        { name: 'redis-bg', target: 'cache', mode: 'prestaged', user, policy: 'p0' },
        { name: 'redis-jit', target: 'cache', mode: 'ephemeral', rules: '~drift:* +get', policy: 'p0', autoRemediate: true },
      ],
      users: [{ name: 'alice', roles: ['responder'] }],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });
  afterAll(async () => {
    await h?.stop();
    await mariaAdmin(`DROP USER IF EXISTS '${user}'@'%'`);
    await redisAdmin('ACL', 'DELUSER', user);
  });

  it('a clean scan has no findings', async () => {
    expect(await scanOver(h)).toEqual([]);
  });

  it('MariaDB: ACCOUNT UNLOCK by hand → enabled-outside-case; LOCK again → resolved', async () => {
    await mariaAdmin(`ALTER USER '${user}'@'%' ACCOUNT UNLOCK`);
    expect(await scanOver(h)).toMatchObject([{ account: 'maria-bg', kind: 'enabled-outside-case' }]);
    await mariaAdmin(`ALTER USER '${user}'@'%' ACCOUNT LOCK`);
    expect(await scanOver(h)).toEqual([]);
  });

  it('Redis: ACL SETUSER on by hand → enabled-outside-case; off again → resolved', async () => {
    await redisAdmin('ACL', 'SETUSER', user, 'on');
    expect(await scanOver(h)).toMatchObject([{ account: 'redis-bg', kind: 'enabled-outside-case' }]);
    await redisAdmin('ACL', 'SETUSER', user, 'off');
    expect(await scanOver(h)).toEqual([]);
  });

  it('Redis: the ACL user of an ended case put back by hand is an ephemeral-leftover; autoRemediate drops it', async () => {
    const alice = await h.enrol('alice');
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account: 'redis-jit', condition: 'outage', reason: 'drift', incident: 'INC-1', ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const id = invoked.body.id as string;
    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    await eventually(async () => (await h.call(alice, 'GET', `/v1/grants/${id}`)).body.state === 'awaiting-certification', 30_000, 'revocation');
    const leftover = ephemeralPrincipal(id);
    await redisAdmin('ACL', 'SETUSER', leftover, 'on', `>left-${tag}`);
    expect(await scanOver(h)).toEqual([]);
    expect(await redisAdmin('ACL', 'GETUSER', leftover)).toBeNull();
    const audit = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body as string;
    expect(audit).toContain('drift.remediated');
  });
});

describe.skipIf(ssh.skip)('drift on SSH certificates', () => {
  let h: Harness;
  let krlPath: string;
  const catalog = (autoRemediate: boolean) => ({
    targets: [{ name: 'hosts', type: 'ssh', krlPath }],
    policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
    accounts: [{ name: 'ssh-root', target: 'hosts', mode: 'ephemeral', principals: ['bgssh'], policy: 'p0', ...(autoRemediate ? { autoRemediate } : {}) }],
    users: [{ name: 'alice', roles: ['responder'] }],
  });

  beforeAll(async () => {
    h = await startHarness({ dialect: 'sqlite' });
    mkdirSync(join(h.dataDir, 'ssh'), { recursive: true, mode: 0o700 });
    krlPath = join(h.dataDir, 'ssh', 'hosts.krl');
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog(false));
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('an ended case whose still-valid certificate is missing from the KRL is found; autoRemediate publishes it again', async () => {
    const alice = await h.enrol('alice');
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account: 'ssh-root', condition: 'outage', reason: 'drift', incident: 'INC-3', ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const id = invoked.body.id as string;
    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    await eventually(async () => (await h.call(alice, 'GET', `/v1/grants/${id}`)).body.state === 'awaiting-certification', 30_000, 'revocation');
    expect(await scanOver(h)).toEqual([]);

    // Someone puts back an old KRL (here: none at all).
    rmSync(krlPath);
    expect(await scanOver(h)).toMatchObject([{ account: 'ssh-root', kind: 'certificate-not-in-krl', subject: id }]);

    expect((await h.call(h.adminToken, 'POST', '/v1/apply', catalog(true))).status).toBe(200);
    expect(await scanOver(h)).toEqual([]);
    const audit = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body as string;
    expect(audit).toContain('published the certificate in the KRL');
  });
});

describe.skipIf(redis.skip)('the periodic drift scan', () => {
  let h: Harness;
  const user = `bgdrifttick_${tag}`;
  beforeAll(async () => {
    h = await startHarness({ dialect: 'sqlite', driftIntervalMs: 300 });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', {
      targets: [{ name: 'cache', type: 'redis', host: '127.0.0.1', port: 6379 }],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [{ name: 'redis-bg', target: 'cache', mode: 'prestaged', user, policy: 'p0' }],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });
  afterAll(async () => {
    await h?.stop();
    await redisAdmin('ACL', 'DELUSER', user);
  });

  it('finds an account switched on by hand without anyone asking for a scan, and resolves it the same way', async () => {
    await redisAdmin('ACL', 'SETUSER', user, 'on');
    const listed = async () => ((await h.call(h.adminToken, 'GET', '/v1/drift/findings')).body.findings as (Finding & { resolvedAt?: string })[]);
    const found = await eventually(async () => (await listed()).find((f) => f.kind === 'enabled-outside-case' && f.resolvedAt === undefined), 10_000, 'the periodic scan');
    expect(found.account).toBe('redis-bg');
    await redisAdmin('ACL', 'SETUSER', user, 'off');
    await eventually(async () => (await listed()).find((f) => f.id === found.id)?.resolvedAt !== undefined, 10_000, 'the resolution');
  });
});
