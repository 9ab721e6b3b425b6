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

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}
