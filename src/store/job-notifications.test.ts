/**
 * LISTEN/NOTIFY wake-ups between two instances on one PostgreSQL store: a job one instance
 * schedules is run by the other long before that one's poll would have found it.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStoreDatabase, eventually } from '../../test/support/harness.js';
import { probeTcp, requireService } from '../../test/support/integration.js';
import { asGrantId } from '../domain/index.js';
import { silentLogger } from '../modules/context.js';
import { systemClock, type Store } from '../ports/index.js';
import { createScheduler, type Scheduler } from '../scheduler/scheduler.js';
import { createPostgresStore } from './create-store.js';
import { jobsChannel } from './job-notifications.js';

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));
/** Instance B looks at the jobs table on its own only once a minute. */
const slowPollMs = 60_000;

describe.skipIf(postgres.skip)('job wake-ups over LISTEN/NOTIFY', () => {
  let database: Awaited<ReturnType<typeof createStoreDatabase>>;
  let a: Store;
  let b: Store;
  let scheduler: Scheduler;
  let unlisten: () => void;
  const ran: { grantId: string; at: number }[] = [];
  const woken: (Date | undefined)[] = [];

  const sql = async <T extends pg.QueryResultRow>(text: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  };
  const listening = async () => (await sql<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and query = 'LISTEN ${jobsChannel}'`))[0]?.n === 1;

  beforeAll(async () => {
    database = await createStoreDatabase();
    a = await createPostgresStore(database.url, { poolSize: 2 });
    b = await createPostgresStore(database.url, { poolSize: 2 });
    const record = async (grantId: string) => void ran.push({ grantId, at: Date.now() });
    scheduler = createScheduler({
      store: b,
      clock: systemClock,
      handlers: { expire: record, revoke: record, rotate: record, stage: async () => {}, drill: async () => {}, 'certification-deadline': record },
      retry: { baseMs: 1_000, maxMs: 1_000 },
      log: silentLogger,
      pollMs: slowPollMs,
      heartbeatMs: 0,
    });
    unlisten = b.onJobsChanged!((dueAt) => {
      woken.push(dueAt);
      scheduler.wake();
    });
    await eventually(listening, 10_000, 'instance B listening');
    scheduler.start();
  });
  afterEach(() => {
    ran.length = 0;
    woken.length = 0;
  });
  afterAll(async () => {
    unlisten?.();
    await scheduler?.stop();
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  const schedule = (grantId: string, inMs: number) =>
    a.transaction((tx) => tx.jobs.schedule({ kind: 'expire', grantId: asGrantId(grantId), dueAt: new Date(Date.now() + inMs) }));

  it('a job scheduled by instance A runs on instance B at once, not at B\'s next poll', async () => {
    const started = Date.now();
    await schedule('gr_now', 0);
    const run = await eventually(async () => ran.find((r) => r.grantId === 'gr_now'), 10_000, 'B to run the job');
    expect(run.at - started).toBeLessThan(slowPollMs / 10);
    expect(woken.some((dueAt) => dueAt !== undefined)).toBe(true);
  });

  it('a job due later re-plans B\'s sleep: it runs at its due time', async () => {
    const started = Date.now();
    await schedule('gr_later', 1_500);
    const run = await eventually(async () => ran.find((r) => r.grantId === 'gr_later'), 10_000, 'B to run the later job');
    expect(run.at - started).toBeGreaterThanOrEqual(1_500);
    expect(run.at - started).toBeLessThan(slowPollMs / 10);
  });

  it('a rolled-back schedule wakes nobody: the notification is sent at commit only', async () => {
    await a.transaction(async (tx) => {
      await tx.jobs.schedule({ kind: 'expire', grantId: asGrantId('gr_never'), dueAt: new Date() });
      throw new Error('roll back');
    }).catch(() => undefined);
    await schedule('gr_after', 0);
    await eventually(async () => ran.find((r) => r.grantId === 'gr_after'), 10_000, 'B to run the committed job');
    expect(ran.map((r) => r.grantId)).not.toContain('gr_never');
  });

  it('the listening connection comes back after it is cut, and B hears the next job', async () => {
    await sql(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = 'LISTEN ${jobsChannel}'`);
    // Back, and told that it may have missed something.
    await eventually(async () => woken.includes(undefined) && (await listening()), 15_000, 'B listening again');
    const started = Date.now();
    await schedule('gr_back', 0);
    const run = await eventually(async () => ran.find((r) => r.grantId === 'gr_back'), 10_000, 'B to run the job after the reconnect');
    expect(run.at - started).toBeLessThan(slowPollMs / 10);
  });
});
