/**
 * A PostgreSQL store connection that the server ends while a transaction holds it between two
 * statements (an admin's pg_terminate_backend, a fast shutdown, a failover): the transaction
 * fails with an error, the process does not crash, and the next transaction works. pg-pool
 * listens for errors only on idle clients, so a checked-out client's 'error' had no listener
 * and killed the process (seen as an uncaught 57P01 in a full run).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreDatabase } from '../../test/support/harness.js';
import { probeTcp, requireService } from '../../test/support/integration.js';
import { createPostgresStore } from './create-store.js';

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));
const applicationName = `bg-conn-loss-${process.pid}`;

describe.skipIf(postgres.skip)('a store connection lost in the middle of a transaction', () => {
  let database: Awaited<ReturnType<typeof createStoreDatabase>>;
  beforeAll(async () => {
    database = await createStoreDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('fails that transaction, never the process; the next transaction works', async () => {
    const store = await createPostgresStore(database.url, { poolSize: 2, applicationName });
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    const uncaught: unknown[] = [];
    const record = (error: unknown) => void uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const lost = store.transaction(async (tx) => {
        await tx.users.list();
        // Between two statements: the connection is checked out and idle when the server ends it.
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()', [applicationName]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return tx.users.list();
      });
      await expect(lost).rejects.toThrow();
      expect(uncaught).toEqual([]);
      expect(await store.transaction((tx) => tx.users.list())).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
      await admin.end();
      await store.close();
    }
  });
});
