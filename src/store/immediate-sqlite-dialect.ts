import { CompiledQuery, SqliteDialect, SqliteDriver } from 'kysely';
import type { DatabaseConnection, Driver, SqliteDialectConfig } from 'kysely';

/**
 * Kysely's SQLite dialect, except that transactions start with `BEGIN IMMEDIATE`.
 *
 * Why: Kysely's driver starts with a plain (deferred) `BEGIN`. Within one process its
 * single-connection mutex already serializes transactions, but a second process on the same
 * file (the CLI, a worker) could then read the audit head, try to upgrade to a write lock and
 * fail with SQLITE_BUSY mid-transaction. `BEGIN IMMEDIATE` takes the write lock up front, so
 * the transaction either waits (busy_timeout) before doing anything or does not start at all,
 * and everything that reads the head then writes after it is serialized across processes too.
 */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #begin: string;

  /**
   * @param begin issue 13 (store reads): `deferred` for the store's read-only connection, whose
   *   transactions only read and must not wait for any writer (WAL gives them a snapshot)
   */
  constructor(config: SqliteDialectConfig, begin: 'immediate' | 'deferred' = 'immediate') {
    super(config);
    this.#config = config;
    this.#begin = begin === 'immediate' ? 'begin immediate' : 'begin deferred';
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#begin);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #database: SqliteDialectConfig['database'];
  readonly #begin: string;

  constructor(config: SqliteDialectConfig, begin: string) {
    super(config);
    this.#database = config.database;
    this.#begin = begin;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(this.#begin));
  }

  /**
   * Why: on SQLITE_FULL, SQLITE_IOERR and the like SQLite may already have rolled the
   * transaction back itself (a failed COMMIT, a failed statement). Kysely then calls ROLLBACK
   * anyway, which fails with "cannot rollback - no transaction is active" — and that error
   * replaces the real one (disk full, read-only) in what the caller sees and logs.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // better-sqlite3 says whether a transaction is open; Kysely's structural type omits it.
    if ((this.#database as { inTransaction?: boolean }).inTransaction === false) return;
    await super.rollbackTransaction(connection);
  }
}
