import { Migrator } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { AppError } from '../errors/index.js';
import type { ProbedStore, Store, StoreHealthProbe, StoreTx } from '../ports/index.js';
import { alertCatalogRepository, outboxRepository } from './alert-repositories.js';
import { driftRepository } from './drift-repository.js';
import { alertAckRepository } from './alert-ack-repository.js';
import { alertMarkRepository } from './alert-mark-repository.js';
import { auditRepository } from './audit-repository.js';
import { catalogRepository } from './catalog-repository.js';
import { grantRepository } from './grant-repository.js';
import { jobRepository } from './job-repository.js';
import { migrationProvider } from './migrations/migration-provider.js';
import { pendingShareRepository } from './pending-share-repository.js';
import type { Database } from './schema.js';
import { sealedValueRepository } from './sealed-value-repository.js';
import { settingsRepository } from './settings-repository.js';
import { tokenRepository } from './token-repository.js';
import { userRepository } from './user-repository.js';
// issue 11 (H2)
import { coResponderRepository } from './co-responder-repository.js';
// issue 13 (store reads)
import { storeReadTx } from './read-tx.js';
import { lazyRepositories } from './lazy-repositories.js';
// issue 14 (enroll)
import { localCredentialRepository } from './local-credential-repository.js';

/** A connection `Store.read` runs on, and how the store lets go of it when it closes. */
export interface StoreReader {
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}

/**
 * The `Store` over an open Kysely instance, after bringing its schema up to date. Every
 * repository is built from the transaction handle only, so no write can escape the
 * transaction it belongs to (invariant I2).
 *
 * @param options.beforeTransaction runs before each transaction and throws to refuse it (the
 *   SQLite store checks that its file is still the one it opened)
 * @param options.write how a write transaction runs (SQLite: `groupCommit`); default one
 *   Kysely transaction each
 * @param options.reader where `read` runs when not on `db` (SQLite: a read-only connection to
 *   the same file, opened after the migration; the store closes it)
 */
export async function kyselyStore(
  db: Kysely<Database>,
  dialect: Store['dialect'],
  options: {
    health: StoreHealthProbe;
    beforeTransaction?: () => void;
    reader?: () => StoreReader;
    // issue 13 (group commit)
    write?: <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>;
  },
): Promise<ProbedStore> {
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const before = options.beforeTransaction ?? (() => undefined);
  // issue 13 (store reads)
  let reader: StoreReader;
  try {
    reader = options.reader?.() ?? { db, close: () => Promise.resolve() };
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const write = options.write ?? (<T>(work: (trx: Transaction<Database>) => Promise<T>) => db.transaction().execute(work));
  // PostgreSQL: one snapshot for the whole read, never serializable, and refused if it writes.
  const readTransaction = dialect === 'postgres' ? () => reader.db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only') : () => reader.db.transaction();
  return {
    dialect,
    health: options.health,
    transaction: async (work) =>
      write((trx) => {
        // issue 13 (group commit): checked when the work runs (perhaps later in a group), not when it queues.
        before();
        return work(storeTx(trx, dialect));
      }),
    // issue 13 (store reads)
    read: async (work) => {
      before();
      return readTransaction().execute((trx) => work(storeReadTx(trx, dialect)));
    },
    close: async () => {
      await reader.close();
      await db.destroy();
    },
  };
}

function storeTx(trx: Transaction<Database>, dialect: Store['dialect']): StoreTx {
  return lazyRepositories<StoreTx>({
    users: () => userRepository(trx),
    tokens: () => tokenRepository(trx),
    catalog: () => catalogRepository(trx, dialect),
    grants: () => grantRepository(trx),
    jobs: () => jobRepository(trx, dialect),
    pendingShares: () => pendingShareRepository(trx, dialect),
    alerts: () => alertCatalogRepository(trx),
    outbox: () => outboxRepository(trx, dialect),
    alertMarks: () => alertMarkRepository(trx),
    alertAcks: () => alertAckRepository(trx),
    drift: () => driftRepository(trx),
    audit: () => auditRepository(trx, dialect),
    settings: () => settingsRepository(trx),
    sealedValues: () => sealedValueRepository(trx, dialect),
    // issue 11 (H2)
    coResponders: () => coResponderRepository(trx),
    // issue 14 (enroll)
    localCredentials: () => localCredentialRepository(trx),
  });
}

/**
 * Runs the pending migrations. Kysely's Migrator takes a lock (PostgreSQL: an advisory lock;
 * SQLite: the write transaction), so instances that start together migrate once.
 */
async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
  throw new AppError('internal', `database migration ${failed} failed`, { cause: error });
}
