/**
 * The durable scheduler on the test bed's store and fake clock: `runDue()` is driven by hand,
 * so due times, backoff and leases are checked to the millisecond without sleeping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { AppError } from '../errors/index.js';
import type { JobHandlers } from '../modules/jobs/job-handlers.js';
import { silentLogger } from '../modules/context.js';
import { asGrantId, type GrantId } from '../domain/index.js';
import { createScheduler } from './scheduler.js';

const retry = { baseMs: 1_000, maxMs: 60_000 };

describe('scheduler', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  /** A scheduler on the bed's store whose `expire` handler is `handler`; other kinds must not run. */
  function schedulerWith(handler: (grantId: GrantId) => Promise<void>, leaseMs?: number) {
    const unexpected = (kind: string) => () => Promise.reject(new Error(`unexpected ${kind} job`));
    const handlers: JobHandlers = { expire: handler, revoke: unexpected('revoke'), rotate: unexpected('rotate'), stage: unexpected('stage') };
    return createScheduler({ store: bed.store, clock: bed.clock, handlers, retry, log: silentLogger, ...(leaseMs === undefined ? {} : { leaseMs }) });
  }

  const schedule = (subject: string, inMs: number) =>
    bed.store.transaction((tx) => tx.jobs.schedule({ kind: 'expire', grantId: asGrantId(subject), dueAt: new Date(bed.clock.now().getTime() + inMs) }));
  const jobOf = async (subject: string) => (await bed.jobs(subject))[0];

  it('runs a job only once the fake clock reaches its due time, and returns how many ran', async () => {
    const ran: string[] = [];
    const scheduler = schedulerWith(async (grantId) => void ran.push(grantId));
    await schedule('a', 10_000);
    await schedule('b', 20_000);

    expect(await scheduler.runDue()).toBe(0);
    bed.clock.advance(9_999);
    expect(await scheduler.runDue()).toBe(0);
    bed.clock.advance(1);
    expect(await scheduler.runDue()).toBe(1);
    expect(ran).toEqual(['a']);
    expect(await jobOf('a')).toBeUndefined(); // completed jobs are gone

    bed.clock.advance(10_000);
    expect(await scheduler.runDue()).toBe(1);
    expect(await scheduler.runDue()).toBe(0);
    expect(ran).toEqual(['a', 'b']);
  });

  it('runs overdue jobs one claim at a time, oldest first', async () => {
    const ran: string[] = [];
    const scheduler = schedulerWith(async (grantId) => void ran.push(grantId));
    await schedule('late', 2_000);
    await schedule('early', 1_000);
    bed.clock.advance(60_000);
    expect(await scheduler.runDue()).toBe(1);
    expect(await scheduler.runDue()).toBe(1);
    expect(ran).toEqual(['early', 'late']);
  });

  it('a failing job is retried with backoff on the fake clock, recording attempts and the last error', async () => {
    let failures = 2;
    let tries = 0;
    const scheduler = schedulerWith(async () => {
      tries += 1;
      if (failures-- > 0) throw new AppError('target_unavailable', `target down (try ${tries})`);
    });
    await schedule('g', 0);

    expect(await scheduler.runDue()).toBe(1);
    const first = (await jobOf('g'))!;
    expect(first).toMatchObject({ attempts: 1, lastError: 'target down (try 1)' });
    const firstDelay = first.dueAt.getTime() - bed.clock.now().getTime();
    // backoffDelay: base × 2^attempts, plus up to 20% jitter.
    expect(firstDelay).toBeGreaterThanOrEqual(1_000);
    expect(firstDelay).toBeLessThanOrEqual(1_200);

    bed.clock.set(new Date(first.dueAt.getTime() - 1));
    expect(await scheduler.runDue()).toBe(0);
    bed.clock.advance(1);
    expect(await scheduler.runDue()).toBe(1);
    const second = (await jobOf('g'))!;
    expect(second).toMatchObject({ attempts: 2, lastError: 'target down (try 2)' });
    const secondDelay = second.dueAt.getTime() - bed.clock.now().getTime();
    expect(secondDelay).toBeGreaterThanOrEqual(2_000);
    expect(secondDelay).toBeLessThanOrEqual(2_400);

    bed.clock.set(second.dueAt);
    expect(await scheduler.runDue()).toBe(1);
    expect(await jobOf('g')).toBeUndefined();
    expect(tries).toBe(3);
  });

  it('an unexpected (non-AppError) failure is retried too, without its message', async () => {
    let failed = false;
    const scheduler = schedulerWith(async () => {
      if (failed) return;
      failed = true;
      throw new Error('secret-bearing driver text');
    });
    await schedule('u', 0);
    expect(await scheduler.runDue()).toBe(1);
    expect(await jobOf('u')).toMatchObject({ attempts: 1, lastError: 'unexpected error' });
    bed.clock.advance(retry.baseMs * 1.2);
    expect(await scheduler.runDue()).toBe(1);
    expect(await jobOf('u')).toBeUndefined();
  });

  it('a job leased by one instance is not run by another on the same store until the lease expires', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let startedA = () => {};
    const claimedByA = new Promise<void>((resolve) => (startedA = resolve));
    const runsB: string[] = [];
    const a = schedulerWith(async () => {
      startedA();
      await held;
    }, 30_000);
    const b = schedulerWith(async (grantId) => void runsB.push(grantId), 30_000);
    await schedule('leased', 0);

    const runningA = a.runDue();
    await claimedByA;
    expect(await b.runDue()).toBe(0);
    bed.clock.advance(29_999);
    expect(await b.runDue()).toBe(0);
    // A seems dead: once its lease is over the job is taken over, not lost.
    bed.clock.advance(1);
    expect(await b.runDue()).toBe(1);
    expect(runsB).toEqual(['leased']);

    release();
    expect(await runningA).toBe(1);
    expect(await jobOf('leased')).toBeUndefined();
    expect(await a.runDue()).toBe(0);
  });

  it('the bed runs follow-up jobs that become due now, and stops when nothing is due', async () => {
    // The real handlers: an expire job for an unknown grant fails and waits for its backoff.
    await schedule('gr_doesnotexist1', 0);
    expect(await bed.runDue()).toBe(1);
    expect(await bed.runDue()).toBe(0);
    expect((await jobOf('gr_doesnotexist1'))?.attempts).toBe(1);
  });
});
