import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept prepared per connection (the store issues a few hundred at most). */
const defaultCapacity = 500;

/** The connection Kysely's SQLite driver sees, plus `inTransaction` for the dialect's rollback. */
export type CachedSqliteDatabase = SqliteDatabase & { readonly inTransaction: boolean };

/**
 * A better-sqlite3 connection whose `prepare` returns the statement already prepared for the
 * same SQL text, for Kysely's SQLite driver.
 *
 * Why: Kysely prepares every query again (`db.prepare(sql)` per execution), and preparing — the
 * parse and the plan — costs more than running the short lookups an authenticated read makes.
 * A better-sqlite3 statement may be run again with other parameters; only one that is still
 * iterating (a stream in progress) is `busy`, and then a fresh statement is prepared for the
 * call instead. The least recently used SQL text is dropped beyond `capacity`, so queries built
 * with a variable number of parameters cannot grow the cache without bound.
 */
export function statementCache(database: BetterSqlite3.Database, capacity = defaultCapacity): CachedSqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    get inTransaction() {
      return database.inTransaction;
    },
    close: () => {
      cache.clear();
      database.close();
    },
    prepare(sql: string): SqliteStatement {
      const cached = cache.get(sql);
      if (cached !== undefined) {
        if (cached.busy) return database.prepare(sql);
        // Most recently used last: the first key is the one to drop.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = database.prepare(sql);
      cache.set(sql, statement);
      const oldest = cache.keys().next();
      if (cache.size > capacity && oldest.done !== true) cache.delete(oldest.value);
      return statement;
    },
  };
}
