/**
 * A target that cannot prove rotation is named at apply time (issue 7, point 12): the shared
 * PostgreSQL on 127.0.0.1:5432 trusts everyone (`trust` in pg_hba.conf), so it accepts any
 * password, and a rotation on it could never show the old secret rejected. Staging reports the
 * account `unverifiable` with what to change, and `target check` runs the same probe on demand.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir } from '../../src/app/init.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { probeTcp, requireService } from '../support/integration.js';

const shared = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

describe.skipIf(shared.skip)('a target that accepts any password', () => {
  const role = `bgv_${randomBytes(4).toString('hex')}`;
  let dir: string;
  let server: RunningServer;
  let token: string;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bg-unverifiable-'));
    token = (await initDataDir({ dataDir: dir })).adminToken;
    server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', logger: false, schedulerPollMs: 60_000 });
  });
  afterAll(async () => {
    await server?.close();
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await admin.connect();
    await admin.query(`drop role if exists ${role}`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a target that cannot prove rotation is named at apply time, and by target check', async () => {
    const applied = await call('POST', '/v1/apply', {
      targets: [{ name: 'trusting-pg', type: 'postgres', host: '127.0.0.1', port: 5432, database: 'postgres', user: 'postgres', password: 'any-will-do' }],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [{ name: 'pg-bg', target: 'trusting-pg', mode: 'prestaged', role, policy: 'p0' }],
      users: [],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.staging).toEqual([{ account: 'pg-bg', staging: 'unverifiable', error: expect.stringMatching(/accepts a wrong password.*pg_hba\.conf/) }]);
    // Never staged, so it cannot be invoked into a case that would hang in `rotating`.
    const accounts = await call('GET', '/v1/accounts');
    expect(accounts.body.accounts).toEqual([expect.objectContaining({ name: 'pg-bg', staging: 'pending' })]);

    const check = await call('POST', '/v1/targets/trusting-pg/check');
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ target: 'trusting-pg', reachable: true, accounts: [{ account: 'pg-bg', principal: role, verifiable: false }] });
    expect((await call('POST', '/v1/targets/no-such-target/check')).status).toBe(404);
  });
});
