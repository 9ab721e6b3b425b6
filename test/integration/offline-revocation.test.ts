/**
 * Revocation does not wait for bookkeeping (issue 8, point 4), for real: the disk under the
 * SQLite store runs full while a grant is live; at its expiry the server cannot write a thing,
 * yet the credential is disabled on the PostgreSQL target and the live session ends on time.
 * The evidence waits in the revocation journal (its space reserved before the disk filled) and
 * reaches the audit chain, in order, once there is room again.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { catalogFor, eventually, startHarness, tryLogin, type Harness } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { canMountTmpfs, mountSmallDisk, type SmallDisk } from '../support/store-faults.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const tmpfs = await requireService('mounting a tmpfs (root) for a real full disk', () => canMountTmpfs());

describe.skipIf(binaries.skip || tmpfs.skip)('offline revocation: the disk is full at expiry', () => {
  let cluster: PgCluster;
  let disk: SmallDisk | undefined;
  let h: Harness | undefined;
  beforeAll(async () => {
    cluster = await startPgCluster();
  });
  afterAll(async () => {
    await h?.stop();
    disk?.unmount();
    await cluster?.stop();
  });

  it('offline-revocation: on a full disk the expired grant\'s live session ends within 5 s, and the journal reaches the chain when there is room', async () => {
    disk = mountSmallDisk(24);
    h = await startHarness({ dialect: 'sqlite', dataDir: disk.dataDir });
    const harness = h;
    let people: { alice: string; bob: string } | undefined;
    const readyReason = async () => ((await (await fetch(`${harness.server.url}/readyz`)).json()) as { reason?: string }).reason;

    // The disk must be full before the grant expires. On a loaded machine the setup can take
    // longer than the TTL: then that round proves nothing, and it runs again with a longer one.
    for (const ttlSeconds of [15, 30, 45, 90]) {
      const role = `bg_offline_${ttlSeconds}`;
      // After a round the store is writable again, but the server says so only at its next
      // health check; until then it refuses writes (503), as it should.
      await eventually(async () => (await fetch(`${harness.server.url}/readyz`)).status === 200, 60_000, 'the server ready again');
      expect((await harness.call(harness.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role }))).status).toBe(200);
      people ??= { alice: await harness.enrol('alice'), bob: await harness.enrol('bob') };
      const { alice, bob } = people;
      const grant = (await harness.call(alice, 'POST', '/v1/grants', { account: 'pg-breakglass', condition: 'outage', reason: 'disk full drill', incident: 'INC-44', ttl: `${ttlSeconds}s` })).body;
      expect(grant.state, JSON.stringify(grant)).toBe('active');
      const expiresAt = new Date(grant.expiresAt as string).getTime();
      const { password } = (await harness.call(alice, 'POST', `/v1/grants/${grant.id}/reveal`)).body as { password: string };
      const session = await tryLogin(cluster, role, password);
      expect(session).toBeInstanceOf(pg.Client);

      // The disk fills up (the WAL emptied first, so the next write needs new space).
      const side = new Database(join(disk.dataDir, 'breakglass.db'));
      side.pragma('wal_checkpoint(TRUNCATE)');
      side.close();
      disk.fill();
      await eventually(async () => (await readyReason()) === 'store-unwritable', 60_000, 'the store to be unwritable');
      const fullInTime = Date.now() < expiresAt - 1_000;

      const ended = await eventually(
        async () => ((await (session as pg.Client).query('select 1').then(() => false, () => true)) ? Date.now() : undefined),
        60_000,
        'the live session to end',
      );
      if (fullInTime) {
        const lateness = ended - expiresAt;
        console.info(`offline revocation: session ended ${lateness} ms after expiry, with the store unwritable`);
        expect(lateness).toBeLessThan(5_000);
        expect(await tryLogin(cluster, role, password)).toBe('28P01');
        // Nothing was written meanwhile: the store still cannot be.
        expect(await readyReason()).toBe('store-unwritable');
      }

      disk.free();
      await eventually(async () => (await harness.call(bob, 'GET', `/v1/grants/${grant.id}`)).body.state === 'awaiting-certification', 60_000, 'the case to go on');
      if (!fullInTime) continue;
      const exported = await (await fetch(`${harness.server.url}/v1/audit/export`, { headers: { authorization: `Bearer ${harness.adminToken}` } })).text();
      const actions = exported
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { action?: string; subject?: string })
        .filter((event) => event.subject === grant.id)
        .map((event) => event.action);
      // SQLite can still squeeze a small transaction into WAL space an earlier failed write left
      // allocated: then the normal path recorded the revocation itself, on time, and this round
      // did not exercise the store-less path. Try again; rounds that never do fail the test.
      if (!actions.includes('grant.offline-disabled')) {
        console.info('offline revocation: the store took the revocation after all (WAL space reuse); another round');
        continue;
      }
      expect(actions.indexOf('grant.offline-disabled')).toBeLessThan(actions.indexOf('grant.revocation-verified'));
      const verified = await harness.call(harness.adminToken, 'GET', '/v1/audit/verify');
      expect(verified.body, JSON.stringify(verified.body)).toMatchObject({ ok: true });
      return;
    }
    throw new Error('no round had the disk full at expiry with the store refusing the revocation (see the log above)');
  });
});
