import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupCommit, type GroupCommitted } from './group-commit.js';
import { ImmediateSqliteDialect } from './immediate-sqlite-dialect.js';
import type { Database } from './schema.js';

describe('group commit (issue 13): one durable commit for the transactions that queue together', () => {
  let dir = '';
  let file = '';
  let database: SqliteDatabase.Database;
  let db: Kysely<Database>;
  let groups: GroupCommitted[];
  let write: ReturnType<typeof groupCommit>;
  /** Another connection: what it sees is on disk, committed. */
  let other: SqliteDatabase.Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-group-commit-'));
    file = join(dir, 'g.db');
    database = new SqliteDatabase(file);
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.exec('create table parent (id integer primary key); create table t (k text primary key, v integer not null, p integer references parent (id) deferrable initially deferred)');
    database.exec('insert into parent (id) values (1)');
    db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) });
    groups = [];
    write = groupCommit(db, { inTransaction: () => database.inTransaction, onCommit: (group) => groups.push(group) });
    other = new SqliteDatabase(file, { readonly: true });
  });

  afterEach(async () => {
    other.close();
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const put = (k: string, v: number, p = 1) => (trx: Kysely<Database>) => sql`insert into t (k, v, p) values (${k}, ${v}, ${p})`.execute(trx);
  const onDisk = () => other.prepare('select k, v from t order by k').all() as { k: string; v: number }[];

  it('transactions that arrive together share commits, each settles only once durable, and they stay serialized', async () => {
    await write(put('counter', 0));
    const seenAtSettle: number[] = [];
    // Twenty read-modify-writes at once: serialized, every increment counts.
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await write(async (trx) => {
          const row = await sql<{ v: number }>`select v from t where k = 'counter'`.execute(trx);
          await sql`update t set v = ${(row.rows[0]?.v ?? 0) + 1} where k = 'counter'`.execute(trx);
          await put(`k${String(i).padStart(2, '0')}`, i)(trx);
        });
        // Settled means committed: another connection already sees this member's row.
        seenAtSettle.push(onDisk().filter((row) => row.k === `k${String(i).padStart(2, '0')}`).length);
      }),
    );
    expect(seenAtSettle).toStrictEqual(Array.from({ length: 20 }, () => 1));
    expect(onDisk().find((row) => row.k === 'counter')?.v).toBe(20);
    const after = groups.slice(1);
    expect(after.reduce((sum, group) => sum + group.members, 0)).toBe(20);
    expect(after.length).toBeLessThan(20); // the point: fewer fsyncs than transactions
  });

  it('a member that fails is undone alone: the rest of its group commits, and only it sees the error', async () => {
    const outcomes = await Promise.allSettled([
      write(put('a', 1)),
      write(async (trx) => {
        await put('b', 2)(trx);
        throw new Error('refused after writing');
      }),
      write(put('c', 3)),
      // A constraint violation inside a member is the same case, raised by SQLite.
      write(put('a', 4)),
    ]);
    expect(outcomes.map((o) => o.status)).toStrictEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/refused after writing/);
    expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(onDisk()).toStrictEqual([
      { k: 'a', v: 1 },
      { k: 'c', v: 3 },
    ]);
    expect(groups).toStrictEqual([{ members: 4, failed: 2 }]);
  });

  it('when SQLite rolls the whole transaction back (disk full, I/O error), every member of the group fails and nothing is written', async () => {
    const outcomes = await Promise.allSettled([
      write(put('a', 1)),
      write(async (trx) => {
        await put('b', 2)(trx);
        // What SQLite does itself on SQLITE_FULL or SQLITE_IOERR: the transaction is gone.
        await sql`rollback`.execute(trx);
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      }),
      write(put('c', 3)),
    ]);
    expect(outcomes.map((o) => o.status)).toStrictEqual(['rejected', 'rejected', 'fulfilled']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/disk is full/);
    // The member after the failure ran in the next group, on a fresh transaction.
    expect(onDisk()).toStrictEqual([{ k: 'c', v: 3 }]);
    expect(database.inTransaction).toBe(false);
  });

  it('a commit that fails fails every member of its group, and the next group starts clean', async () => {
    // A deferred foreign key is checked at COMMIT: a real failing commit.
    const outcomes = await Promise.allSettled([write(put('a', 1)), write(put('b', 2, 99))]);
    expect(outcomes.map((o) => o.status)).toStrictEqual(['rejected', 'rejected']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(onDisk()).toStrictEqual([]);
    expect(database.inTransaction).toBe(false);
    await write(put('c', 3));
    expect(onDisk()).toStrictEqual([{ k: 'c', v: 3 }]);
  });

  it('a group is bounded: a long queue is split into several commits', async () => {
    const bounded = groupCommit(db, { inTransaction: () => database.inTransaction, maxMembers: 5, onCommit: (group) => groups.push(group) });
    await Promise.all(Array.from({ length: 12 }, (_, i) => bounded(put(`k${String(i).padStart(2, '0')}`, i))));
    expect(groups.map((group) => group.members)).toStrictEqual([5, 5, 2]);
    expect(onDisk()).toHaveLength(12);
  });
});
