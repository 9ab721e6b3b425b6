/**
 * Governance of the whole case, end to end (issue 11), on a real scram-sha-256 PostgreSQL
 * target through the built CLI and the HTTP API: a policy with a second approver → the
 * requester cannot approve their own grant (CLI non-zero, API 403) → the approver approves
 * (active: the role logs in) → the requester extends (the native VALID UNTIL moves) → the
 * incident system closes the incident (the grant ends, is revoked and rotated: the old
 * password is rejected) → a new invocation is refused while the case is uncertified
 * (requireCertifiedPrevious) → the incident owner certifies → closed.
 */
import { execFile } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliPath } from '../support/cli-process.js';
import { catalogFor, eventually, startHarness, tryLogin, type Harness } from '../support/harness.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { requireService } from '../support/integration.js';

vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(binaries.skip)('governance end to end on a real PostgreSQL target', () => {
  let cluster: PgCluster;
  let h: Harness;
  const tokens: Record<string, string> = {};
  const as = (user: string) => ({ BREAKGLASS_ADDR: h.server.url, BREAKGLASS_TOKEN: tokens[user]! });
  const role = 'bg_gov';

  beforeAll(async () => {
    cluster = await startPgCluster();
    h = await startHarness({ dialect: 'sqlite' });
    const base = catalogFor(cluster, { role });
    const catalog = {
      ...base,
      policies: [
        {
          name: 'p1',
          conditions: ['outage', 'security-incident'],
          incidentPattern: '^INC-[0-9]+$',
          reasonMinLength: 10,
          approval: { mode: 'approvers', threshold: 1, approvers: ['carol'], timeout: '30m' },
          escalate: { after: '1m' },
          defaultTtl: '15m',
          maxTtl: '1h',
          maxExtensions: 2,
          maxTotal: '2h',
          cooldown: '1m',
          requireCertifiedPrevious: true,
          certifyWithin: '72h',
        },
      ],
      accounts: base.accounts.map((a) => ({ ...a, policy: 'p1' })),
      users: [...base.users, { name: 'carol', roles: ['approver'] }, { name: 'pager', roles: ['incident-system'] }],
    };
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    for (const user of ['alice', 'bob', 'carol', 'pager']) tokens[user] = await h.enrol(user);
  });
  afterAll(async () => {
    await h?.stop();
    await cluster?.stop();
  });

  const validUntil = async (): Promise<Date | undefined> => {
    const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ rolvaliduntil: Date | null }>('select rolvaliduntil from pg_roles where rolname = $1', [role]);
      return rows[0]?.rolvaliduntil ?? undefined;
    } finally {
      await admin.end();
    }
  };

  it('approve → active → extend → incident close → revoked and rotated → certify', async () => {
    const invoked = await cli(['invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'primary down, SSO unreachable', '--incident', 'INC-7', '--ttl', '15m', '--json'], as('alice'));
    expect(invoked.code, invoked.stderr).toBe(0);
    const grant = JSON.parse(invoked.stdout) as { id: string; state: string };
    expect(grant.state).toBe('awaiting-approval');
    expect(await tryLogin(cluster, role, 'anything')).toBe('28P01');

    // Segregation of duties: the requester never approves their own grant.
    const own = await cli(['approve', grant.id, '--note', 'looks fine to me'], as('alice'));
    expect(own.code).not.toBe(0);
    expect((await h.call(tokens['alice']!, 'POST', `/v1/grants/${grant.id}/approve`, { note: 'self' })).status).toBe(403);

    const approved = await cli(['approve', grant.id, '--note', 'confirmed with the on-call lead', '--json'], as('carol'));
    expect(approved.code, approved.stderr).toBe(0);
    const active = await eventually(async () => {
      const body = (await h.call(tokens['alice']!, 'GET', `/v1/grants/${grant.id}`)).body as { state: string; expiresAt: string };
      return body.state === 'active' && body;
    }, 30_000, 'the grant active');
    const { password } = (await h.call(tokens['alice']!, 'POST', `/v1/grants/${grant.id}/reveal`)).body as { password: string };
    const session = await tryLogin(cluster, role, password);
    expect(session).toBeInstanceOf(pg.Client);
    await (session as pg.Client).end();

    const extended = await cli(['extend', grant.id, '--by', '10m', '--reason', 'the restore takes longer', '--json'], as('alice'));
    expect(extended.code, extended.stderr).toBe(0);
    const { expiresAt } = JSON.parse(extended.stdout) as { expiresAt: string };
    expect(new Date(expiresAt).getTime() - new Date(active.expiresAt).getTime()).toBe(10 * 60_000);
    // The native expiry on the target moved with it (PostgreSQL keeps it to the second).
    expect(Math.abs((await validUntil())!.getTime() - new Date(expiresAt).getTime())).toBeLessThan(1_000);

    const closed = await fetch(`${h.server.url}/v1/incidents/INC-7/close`, { method: 'POST', headers: { authorization: `Bearer ${tokens['pager']!}` } });
    expect(closed.status).toBe(200);
    await eventually(async () => (await h.call(tokens['bob']!, 'GET', `/v1/grants/${grant.id}`)).body.state === 'awaiting-certification', 60_000, 'revoked and rotated');
    expect(await tryLogin(cluster, role, password)).toBe('28P01');

    const again = await cli(['invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'primary down again, SSO out', '--incident', 'INC-8', '--json'], as('alice'));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/requireCertifiedPrevious/);

    const certified = await cli(['certify', grant.id, '--necessary', 'yes', '--scoped', 'yes', '--removed', 'yes', '--note', 'INC-7 postmortem', '--json'], as('bob'));
    expect(certified.code, certified.stderr).toBe(0);
    expect((await h.call(tokens['bob']!, 'GET', `/v1/grants/${grant.id}`)).body.state).toBe('closed');
  });
});
