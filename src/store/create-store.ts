import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { ProbedStore } from '../ports/index.js';
import { storeApplicationName } from './application-name.js';
import { ImmediateSqliteDialect } from './immediate-sqlite-dialect.js';
import { jobNotifications } from './job-notifications.js';
import { groupCommit } from './group-commit.js';
import { kyselyStore, type StoreReader } from './kysely-store.js';
import type { Database } from './schema.js';
import { postgresHealth, sqliteHealth, sqliteIdentity } from './store-health.js';
// issue 13 (store reads)
import { statementCache } from './statement-cache.js';

/** How long a SQLite writer waits for another process's write lock before giving up. */
const sqliteBusyTimeoutMs = 5_000;

const int8Oid = 20;

/**
 * Opens (and migrates) the embedded SQLite store: WAL, `synchronous=FULL` so a committed audit
 * event survives a power cut, foreign keys on, immediate write transactions.
 *
 * @param file path of the database file, or `':memory:'` for tests
 * @example const store = await createSqliteStore(join(dataDir, 'breakglass.db'));
 */
export async function createSqliteStore(file: string): Promise<ProbedStore> {
  const database = new SqliteDatabase(file, { timeout: sqliteBusyTimeoutMs });
  let identity: ReturnType<typeof sqliteIdentity> | undefined;
  try {
    // Right after the open: the file at the path now is the one SQLite holds.
    if (file !== ':memory:') identity = sqliteIdentity(file);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
  } catch (error) {
    database.close();
    throw error;
  }
  // issue 13 (store reads): statements prepared once per SQL text (statement-cache.ts).
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: statementCache(database) }) });
  const present = identity ?? { check: () => undefined, assertPresent: () => undefined };
  // Every transaction first checks that the file is still there: nothing is written into a
  // deleted database (see store-health.ts).
  return kyselyStore(db, 'sqlite', {
    health: sqliteHealth(db, present),
    beforeTransaction: () => present.assertPresent(),
    // issue 13 (group commit): concurrent transactions share one fsync'd commit, each in its savepoint.
    write: groupCommit(db, { inTransaction: () => database.inTransaction }),
    // issue 13 (store reads): in memory there is one database per connection, and no other process.
    ...(file === ':memory:' ? {} : { reader: () => sqliteReader(file) }),
  });
}

// issue 13 (store reads)
/**
 * A second, read-only connection to the store's file, for `Store.read`. Why a connection of its
 * own: Kysely's SQLite driver serializes everything on one connection, so a read would wait
 * behind every write transaction of this process, and `BEGIN IMMEDIATE` would make it wait for
 * another process's writer too. In WAL mode a reader sees the last commit and never blocks on a
 * writer; opened read-only, it cannot write even by mistake.
 */
function sqliteReader(file: string): StoreReader {
  const database = new SqliteDatabase(file, { readonly: true, fileMustExist: true, timeout: sqliteBusyTimeoutMs });
  try {
    database.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
  } catch (error) {
    database.close();
    throw error;
  }
  const cached = statementCache(database);
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cached }, 'deferred') });
  return {
    db,
    // Why not only `db.destroy()`: Kysely closes a driver it has initialised, and it initialises
    // one at the first query. A store that never read (`breakglass init`, a migration) would keep
    // the file open read-only until the process exits (a loop disk could not be unmounted).
    close: async () => {
      await db.destroy();
      if (database.open) cached.close();
    },
  };
}

const parseInt8 = (value: string): number => Number(value);

/** pg's type parsers, except int8 (bigint) which becomes a JS number instead of a string. */
const int8AsNumber = ((oid: number, format?: 'text' | 'binary'): unknown =>
  oid === int8Oid && format !== 'binary'
    ? parseInt8
    : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser;

/**
 * Opens (and migrates) the PostgreSQL store over a connection pool. `int8` columns are parsed
 * as JS numbers for this pool only (timestamps are epoch ms, far below 2^53), never globally.
 * `onJobsChanged` listens on a dedicated connection for peers' job wake-ups (LISTEN/NOTIFY).
 *
 * @param url a libpq connection URL
 * @param options.poolSize maximum pool connections (default 10)
 * @param options.applicationName PostgreSQL `application_name` (default `breakglass-store`)
 * @example const store = await createPostgresStore('postgres://breakglass@db/breakglass', { poolSize: 20 });
 */
export async function createPostgresStore(url: string, options: { poolSize?: number; applicationName?: string } = {}): Promise<ProbedStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // Names the server's connections, so a root key rotation can tell that an instance is running.
    application_name: options.applicationName ?? storeApplicationName,
    types: { getTypeParser: int8AsNumber },
  });
  // A client that loses its connection emits 'error'; unhandled, that kills the process. The
  // pool listens only while a client is idle, so every client gets its own listener too (one
  // checked out by a transaction, between two statements, when the server ends it). The failure
  // reaches the caller through its next query; the pool discards the dead client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const store = await kyselyStore(db, 'postgres', { health: postgresHealth(db) });
  // One more connection, opened with the first subscriber only (operator commands never listen).
  const notifications = jobNotifications({ connectionString: url, application_name: options.applicationName ?? storeApplicationName });
  return {
    ...store,
    onJobsChanged: (listener) => notifications.subscribe(listener),
    async close() {
      await notifications.close();
      await store.close();
    },
  };
}
