import { sql } from 'kysely';
import type { Selectable, Transaction } from 'kysely';
import { asAccountId, asGrantId, asJobId } from '../domain/index.js';
import type { JobKind, JobRecord, JobRepository, JobSpec, Store } from '../ports/index.js';
import { fromMs, fromNullable, member, newId } from './columns.js';
import type { Database, JobsTable } from './schema.js';
import { jobsChannel } from './job-notifications.js';

const jobKinds: readonly JobKind[] = ['expire', 'revoke', 'rotate', 'stage', 'drill', 'certification-deadline'];

/**
 * Durable due jobs with leases. A job is claimable when it is due and its lease is free or
 * over; a worker that dies mid-job loses nothing, the job is claimed again when its lease ends
 * (invariant I1). Must run inside `Store.transaction`.
 */
export function jobRepository(trx: Transaction<Database>, dialect: Store['dialect']): JobRepository {
  return {
    async schedule(job) {
      const row = await trx
        .insertInto('jobs')
        .values({ id: newId('job_'), kind: job.kind, subject: subjectOf(job), due_at: job.dueAt.getTime() })
        .returningAll()
        .executeTakeFirstOrThrow();
      await announce(trx, dialect, job.dueAt);
      return toJob(row);
    },

    async claimDue(now, owner, leaseUntil, limit) {
      const at = now.getTime();
      let due = trx
        .selectFrom('jobs')
        .select('id')
        .where('due_at', '<=', at)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', at)]))
        .orderBy('due_at')
        .orderBy('id')
        .limit(limit);
      // PostgreSQL: peers claiming at the same moment skip each other's rows instead of waiting.
      // SQLite: the immediate write transaction already excludes every other claimer.
      if (dialect === 'postgres') due = due.forUpdate().skipLocked();
      const ids = (await due.execute()).map((row) => row.id);
      if (ids.length === 0) return [];
      const rows = await trx
        .updateTable('jobs')
        .set((eb) => ({ lease_owner: owner, lease_until: leaseUntil.getTime(), fence: eb('fence', '+', 1) }))
        .where('id', 'in', ids)
        .returningAll()
        .execute();
      return rows.map(toJob).sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.id.localeCompare(b.id));
    },

    async renew(claim, leaseUntil) {
      const result = await trx.updateTable('jobs').set({ lease_until: leaseUntil.getTime() }).where('id', '=', claim.id).where('fence', '=', claim.fence).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** A job that is already gone, or claimed again since, is left alone. */
    async complete(claim) {
      const result = await trx.deleteFrom('jobs').where('id', '=', claim.id).where('fence', '=', claim.fence).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async retry(claim, dueAt, lastError) {
      const result = await trx
        .updateTable('jobs')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          due_at: dueAt.getTime(),
          last_error: lastError,
          lease_owner: null,
          lease_until: null,
        }))
        .where('id', '=', claim.id)
        .where('fence', '=', claim.fence)
        .executeTakeFirst();
      const retried = Number(result.numUpdatedRows) === 1;
      if (retried) await announce(trx, dialect, dueAt);
      return retried;
    },

    async release(owner, options = {}) {
      let query = trx.updateTable('jobs').set({ lease_owner: null, lease_until: null });
      query =
        options.otherLivesOf === undefined
          ? query.where('lease_owner', '=', owner)
          : query.where(sql<boolean>`substr(lease_owner, 1, ${options.otherLivesOf.length}) = ${options.otherLivesOf}`).where('lease_owner', '<>', owner);
      const freed = Number((await query.executeTakeFirst()).numUpdatedRows);
      // Freed leases are claimable now: peers take them over without waiting for their poll.
      if (freed > 0) await announce(trx, dialect, undefined);
      return freed;
    },

    /**
     * The earliest instant at which some job becomes claimable (due and its lease over). Two
     * index walks (migration 0024) rather than one scan: the table holds a job per active
     * grant, and the scheduler asks this after every claim that left a slot free.
     */
    async nextDueAt() {
      const free = await trx.selectFrom('jobs').select('due_at').where('lease_until', 'is', null).orderBy('due_at').orderBy('id').limit(1).executeTakeFirst();
      const leased = await trx
        .selectFrom('jobs')
        .select(sql<number | string | null>`min(case when lease_until > due_at then lease_until else due_at end)`.as('next'))
        .where('lease_until', 'is not', null)
        .executeTakeFirst();
      const times = [free?.due_at, leased?.next].filter((at): at is number | string => at !== undefined && at !== null).map((at) => fromMs(at).getTime());
      return times.length === 0 ? undefined : new Date(Math.min(...times));
    },

    async findFor(subject) {
      const rows = await trx.selectFrom('jobs').selectAll().where('subject', '=', subject).orderBy('due_at').orderBy('id').execute();
      return rows.map(toJob);
    },
  };
}

/**
 * PostgreSQL: tells every listening instance (job-notifications.ts) that a job is due at `dueAt`
 * (`undefined`: now). `pg_notify` is transactional: it is delivered at commit, never for a
 * rolled-back schedule, so a peer never wakes for a job it cannot see yet.
 */
async function announce(trx: Transaction<Database>, dialect: Store['dialect'], dueAt: Date | undefined): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`select pg_notify(${jobsChannel}, ${String(dueAt?.getTime() ?? 0)})`.execute(trx);
}

/** The row keeps one `subject` column: a grant id for grant jobs, an account id for staging. */
const subjectOf = (job: JobSpec): string => (job.kind === 'stage' || job.kind === 'drill' ? job.accountId : job.grantId);

function toJob(row: Selectable<JobsTable>): JobRecord {
  const kind = member(row.kind, jobKinds, 'jobs.kind');
  const common = {
    id: asJobId(row.id),
    dueAt: fromMs(row.due_at),
    attempts: Number(row.attempts),
    lastError: fromNullable(row.last_error),
    fence: Number(row.fence),
    leaseOwner: fromNullable(row.lease_owner),
    leaseUntil: row.lease_until === null ? undefined : fromMs(row.lease_until),
  };
  return kind === 'stage' || kind === 'drill' ? { ...common, kind, accountId: asAccountId(row.subject) } : { ...common, kind, grantId: asGrantId(row.subject) };
}
