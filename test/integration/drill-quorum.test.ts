/**
 * A dual-control account drilled without its custodians (issue 10), through the HTTP API,
 * against a private scram-sha-256 PostgreSQL cluster: the drill sets a secret of its own, logs
 * in, ends, verifies, rotates, and leaves a secret sealed to the custodians' key that the
 * ceremony's shares still open (offline, as the kit is opened) and the target accepts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KitDocument } from '../../src/api/index.js';
import { openKit } from '../../src/cli/kit/kit-open.js';
import { catalogFor, eventually, startHarness, tryLogin, type Harness } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

describe.skipIf(binaries.skip)('drills of a dual-control account on a real PostgreSQL target', () => {
  let cluster: PgCluster;
  let h: Harness;
  let shares: Record<string, string>;
  const role = 'bg_vault_drill';

  beforeAll(async () => {
    cluster = await startPgCluster();
    h = await startHarness({ dialect: 'sqlite' });
    const base = catalogFor(cluster);
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', {
      ...base,
      accounts: [{ name: 'pg-vault', target: 'prod-pg', mode: 'prestaged', role, policy: 'p0', approval: { mode: 'custodians', threshold: 2, window: '30m' }, custodians: ['carol', 'dave', 'erin'] }],
      users: [...base.users, ...['carol', 'dave', 'erin'].map((name) => ({ name, roles: ['custodian'] }))],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const ceremony = await h.call(h.adminToken, 'POST', '/v1/accounts/pg-vault/ceremony');
    expect(ceremony.status, JSON.stringify(ceremony.body)).toBe(200);
    shares = ceremony.body.shares as Record<string, string>;
    await eventually(async () => (await h.call(h.adminToken, 'GET', '/v1/accounts')).body.accounts.find((a: { name: string }) => a.name === 'pg-vault')?.staging === 'staged', 60_000, 'pg-vault staged');
  });
  afterAll(async () => {
    await h?.stop();
    await cluster?.stop();
  });

  const kit = async () => (await h.call(h.adminToken, 'GET', '/v1/accounts/pg-vault/kit')).body as KitDocument;

  it('dual control, default: POST /v1/accounts/pg-vault/drill passes every step without custodians; the quorum is "not drilled"', async () => {
    const before = await kit();
    const run = await h.call(h.adminToken, 'POST', '/v1/accounts/pg-vault/drill', {});
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body, JSON.stringify(run.body)).toMatchObject({ account: 'pg-vault', result: 'passed', quorum: 'not drilled' });
    const steps = run.body.steps as { name: string; result: string; detail?: string }[];
    expect(steps.map((s) => [s.name, s.result])).toEqual(['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated'].map((n) => [n, 'passed']));
    expect(steps[1]!.detail).toMatch(/dual control: the stored secret is checked only with --with-quorum/);
    const grant = await h.call(h.adminToken, 'GET', `/v1/grants/${run.body.grant}`);
    expect(grant.body).toMatchObject({ drill: true, state: 'closed' });

    // Two secrets later (the drill's own, then the rotation's), sealed to the same custodian key.
    const after = await kit();
    expect(after.kid).toBe(before.kid);
    expect(after.secretVersion).toBe(before.secretVersion + 2);
    // The ceremony's shares still open it, offline; the target accepts it (the role is NOLOGIN
    // again, so PostgreSQL checks the password and then refuses the login: 28000, not 28P01).
    const opened = await openKit(after, [
      { source: 'dave', text: shares['dave']! },
      { source: 'erin', text: shares['erin']! },
    ]);
    expect(opened.username).toBe(role);
    expect(await tryLogin(cluster, role, opened.password)).toBe('28000');
    expect(await tryLogin(cluster, role, `${opened.password}x`)).toBe('28P01');

    const audit = String((await h.call(h.adminToken, 'GET', '/v1/audit/export')).body);
    expect(audit).toContain('account.drill-secret-staged');
    expect(audit).toContain('"quorum":"not drilled"');
    expect(audit).not.toContain(opened.password);
    expect(h.logs.join('\n')).not.toContain(opened.password);
  });
});
