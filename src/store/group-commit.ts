import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** What a group's outcome was, for metrics and tests: how many transactions one commit made durable. */
export interface GroupCommitted {
  readonly members: number;
  readonly failed: number;
}

export interface GroupCommitOptions {
  /** The connection's own view: false once SQLite rolled the whole transaction back itself. */
  readonly inTransaction: () => boolean;
  /** Most transactions in one durable commit (default 64): a bound on how long a group holds the writer. */
  readonly maxMembers?: number;
  /** Called after each group's commit (tests, metrics). */
  readonly onCommit?: (group: GroupCommitted) => void;
}

interface Member {
  readonly work: (trx: Transaction<Database>) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for the SQLite store (issue 13): transactions that arrive while others run share
 * one durable commit, each in a savepoint of its own.
 *
 * Why: on this store a transaction's statements cost tens of microseconds but its commit (an
 * fsync of the WAL, `synchronous = FULL`) almost a millisecond, and there is one writer. A burst
 * of expiries is thousands of small transactions queued behind each other; grouping them divides
 * the fsyncs by the size of the queue, and a lone transaction still commits at once.
 *
 * What each caller keeps: its work is atomic on its own (a savepoint: when it throws, only its
 * writes are undone and only it sees the error) and serialized with every other (one after the
 * other on the one connection, as before, so the audit head and compare-and-sets read what the
 * previous member wrote); its promise settles only after the commit that made it durable. When
 * SQLite itself rolls the whole transaction back (disk full, I/O error) or the commit fails,
 * every member of the group fails with that error: none of them was written.
 */
export function groupCommit(db: Kysely<Database>, options: GroupCommitOptions): <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T> {
  const maxMembers = options.maxMembers ?? 64;
  const queue: Member[] = [];
  let draining = false;

  async function runGroup(): Promise<void> {
    let trx: Awaited<ReturnType<ReturnType<typeof db.startTransaction>['execute']>>;
    try {
      trx = await db.startTransaction().execute();
    } catch (error) {
      // BEGIN failed (busy past the timeout, file gone): the members that waited for it fail.
      for (const member of queue.splice(0, maxMembers)) member.reject(error);
      return;
    }
    const done: { member: Member; value: unknown }[] = [];
    let failed = 0;
    let lost: unknown;
    while (queue.length > 0 && done.length + failed < maxMembers) {
      const member = queue.shift() as Member;
      try {
        await sql`savepoint member`.execute(trx);
        const value = await member.work(trx);
        await sql`release member`.execute(trx);
        done.push({ member, value });
      } catch (error) {
        failed++;
        member.reject(error);
        if (!options.inTransaction()) {
          lost = error; // SQLite rolled back the whole group: nobody's work is left
          break;
        }
        try {
          await sql`rollback to member`.execute(trx);
          await sql`release member`.execute(trx);
        } catch (undo) {
          lost = undo;
          break;
        }
      }
    }
    if (lost !== undefined) {
      // Also when SQLite already rolled back: the rollback is what hands the connection back.
      await trx.rollback().execute().catch(() => undefined);
      for (const { member } of done) member.reject(lost);
      return;
    }
    try {
      await trx.commit().execute();
    } catch (error) {
      await trx.rollback().execute().catch(() => undefined);
      for (const { member } of done) member.reject(error);
      return;
    }
    options.onCommit?.({ members: done.length + failed, failed });
    for (const { member, value } of done) member.resolve(value);
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (queue.length > 0) {
        await runGroup();
        // Why wait a turn of the event loop: the commit blocked it (better-sqlite3 is
        // synchronous), and the work that resumes after it (the members' callers, target answers
        // that arrived meanwhile) is about to queue its next transactions. Starting the next
        // group at once would take them one by one; a lone transaction never waits for this.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      draining = false;
    }
  }

  return <T>(work: (trx: Transaction<Database>) => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!draining) void drain();
    });
}
