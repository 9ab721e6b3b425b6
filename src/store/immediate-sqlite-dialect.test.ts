import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { ImmediateSqliteDialect } from './immediate-sqlite-dialect.js';

describe('immediate SQLite dialect', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function open() {
    const dir = mkdtempSync(join(tmpdir(), 'bg-dialect-'));
    dirs.push(dir);
    const database = new Database(join(dir, 'db.sqlite'));
    database.pragma('journal_mode = WAL');
    database.exec('create table t (v blob)');
    return { database, db: new Kysely<{ t: { v: unknown } }>({ dialect: new ImmediateSqliteDialect({ database }) }) };
  }

  it('store-unwritable: a real SQLITE_FULL reaches the caller, not a failed rollback', async () => {
    const { database, db } = open();
    // The smallest honest fake of a full disk: SQLite itself refuses to grow the file.
    database.pragma(`max_page_count = ${Number(database.pragma('page_count', { simple: true })) + 2}`);
    const error = await db
      .transaction()
      .execute((trx) => sql`insert into t values (zeroblob(1000000))`.execute(trx))
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'SQLITE_FULL' });
    expect(database.inTransaction).toBe(false);
    await db.destroy();
  });

  it('store-unwritable: when SQLite has already rolled the transaction back, the original error is the one thrown', async () => {
    const { database, db } = open();
    // What SQLite does by itself after some SQLITE_FULL / SQLITE_IOERR failures: the
    // transaction is gone when Kysely's ROLLBACK arrives ("cannot rollback - no transaction is active").
    const error = await db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into t values (1)`.execute(trx);
        await sql`rollback`.execute(trx);
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
      })
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'SQLITE_IOERR_WRITE', message: 'disk I/O error' });
    expect(database.inTransaction).toBe(false);
    await db.destroy();
  });
});
