/**
 * Fail closed on the store itself (issue 8, point 3): a server whose SQLite file is removed or
 * replaced, whose disk runs full, or whose PostgreSQL store stops answering issues nothing,
 * says why on /readyz, and — except for a lost file — recovers by itself.
 */
import { copyFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { catalogFor, eventually, removeDir, startHarness, type Harness } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { canMountTmpfs, clusterDatabase, mountSmallDisk, type SmallDisk } from '../support/store-faults.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const tmpfs = await requireService('mounting a tmpfs (root) for a real full disk', () => canMountTmpfs());

const readyz = async (h: Harness) => {
  const response = await fetch(`${h.server.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; reason?: string; detail?: string } };
};
const invoke = (h: Harness, token: string, role = 'pg-breakglass') =>
  h.call(token, 'POST', '/v1/grants', { account: role, condition: 'outage', reason: 'primary down', incident: 'INC-8', ttl: '5m' });

/** Is the target's role still unable to log in (nothing issued on the target)? */
async function canLogin(cluster: PgCluster, role: string): Promise<boolean> {
  const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
  await admin.connect();
  try {
    const row = await admin.query<{ rolcanlogin: boolean }>('select rolcanlogin from pg_roles where rolname = $1', [role]);
    return row.rows[0]?.rolcanlogin === true;
  } finally {
    await admin.end();
  }
}

describe.skipIf(binaries.skip)('store health', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describe.each([
    ['removed', (file: string) => unlinkSync(file)],
    [
      'replaced',
      (file: string) => {
        copyFileSync(file, `${file}.copy`);
        renameSync(`${file}.copy`, file);
      },
    ],
  ] as const)('store-lost: the SQLite file %s under a running server', (how, damage) => {
    let h: Harness | undefined;
    afterAll(async () => {
      await h?.stop();
      if (h) removeDir(h.dataDir);
    });

    it(`store-lost: ${how} → invoke refused with store_unavailable at once, /readyz 503 store-lost for good, nothing issued on the target`, async () => {
      const role = `bg_lost_${how}`;
      h = await startHarness({ dialect: 'sqlite' });
      const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role }));
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      const alice = await h.enrol('alice');
      expect((await readyz(h)).status).toBe(200);

      damage(join(h.dataDir, 'breakglass.db'));
      // Every transaction checks the file first: refused before the probe has even run.
      const refused = await invoke(h, alice);
      expect(refused.status, JSON.stringify(refused.body)).toBe(503);
      expect(refused.body.error.code).toBe('store_unavailable');
      expect(refused.body.error.message).toContain('restore the data directory from a backup and restart');

      const ready = await eventually(async () => {
        const answer = await readyz(h!);
        return answer.body.reason === 'store-lost' && answer;
      }, 20_000, '/readyz store-lost');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'unavailable', reason: 'store-lost' });
      expect(ready.body.detail).toContain('breakglass.db');
      expect(ready.body.detail).not.toContain(h.dataDir);
      expect(h.logs.join('')).toContain('THE STORE IS LOST');

      // Refused up front at the edge now, reads included; and it stays so.
      expect((await invoke(h, alice)).body.error.code).toBe('store_unavailable');
      expect((await h.call(alice, 'GET', '/v1/grants')).body.error.code).toBe('store_unavailable');
      expect(await canLogin(cluster, role)).toBe(false);
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await readyz(h)).body.reason).toBe('store-lost');
      expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200);
    });
  });

  describe.skipIf(tmpfs.skip)('store-unwritable: the disk under the SQLite store runs full', () => {
    let disk: SmallDisk | undefined;
    let h: Harness | undefined;
    afterAll(async () => {
      await h?.stop();
      disk?.unmount();
    });

    it('store-unwritable: a full disk → /readyz 503 store-unwritable and invoke refused; room again → ready and invoke works, by itself', async () => {
      const role = 'bg_full';
      disk = mountSmallDisk(24);
      h = await startHarness({ dialect: 'sqlite', dataDir: disk.dataDir });
      const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role }));
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      const alice = await h.enrol('alice');

      // Empty the WAL first, so the next write must take new space (a WAL reuses what it has).
      const side = new Database(join(disk.dataDir, 'breakglass.db'));
      side.pragma('wal_checkpoint(TRUNCATE)');
      side.close();
      disk.fill();

      const unwritable = await eventually(async () => {
        const answer = await readyz(h!);
        return answer.body.reason === 'store-unwritable' && answer;
      }, 20_000, '/readyz store-unwritable');
      expect(unwritable.status).toBe(503);
      expect(unwritable.body.detail).toContain('SQLITE_FULL');
      const refused = await invoke(h, alice);
      expect(refused.status, JSON.stringify(refused.body)).toBe(503);
      expect(refused.body.error.code).toBe('store_unavailable');
      expect(refused.body.error.message).toContain('free disk space');
      expect(await canLogin(cluster, role)).toBe(false);

      disk.free();
      await eventually(async () => (await readyz(h!)).status === 200, 20_000, '/readyz ready again');
      const invoked = await invoke(h, alice);
      expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
      expect(h.logs.join('')).toContain('the store is usable again');
    });
  });

  describe('store-unreachable: the PostgreSQL store stops answering', () => {
    let storeCluster: PgCluster | undefined;
    let h: Harness | undefined;
    afterAll(async () => {
      await h?.stop();
      await storeCluster?.stop();
    });

    it('store-unreachable: paused → /readyz 503 store-unreachable and invoke refused; resumed → ready again by itself', async () => {
      storeCluster = await startPgCluster();
      const databaseUrl = await clusterDatabase(storeCluster);
      h = await startHarness({ dialect: 'postgres', databaseUrl });
      const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role: 'bg_unreachable' }));
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      const alice = await h.enrol('alice');

      await storeCluster.pause();
      const down = await eventually(async () => {
        const answer = await readyz(h!);
        return answer.body.reason === 'store-unreachable' && answer;
      }, 30_000, '/readyz store-unreachable');
      expect(down.status).toBe(503);
      expect(down.body.detail).not.toContain(storeCluster.adminPassword);
      const refused = await invoke(h, alice);
      expect(refused.status, JSON.stringify(refused.body)).toBe(503);
      expect(refused.body.error.code).toBe('store_unavailable');
      expect(await canLogin(cluster, 'bg_unreachable')).toBe(false);

      await storeCluster.resume();
      await eventually(async () => (await readyz(h!)).status === 200, 30_000, '/readyz ready again');
      const invoked = await invoke(h, alice);
      expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    });
  });
});

