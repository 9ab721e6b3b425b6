/**
 * The durable scheduler on the test bed's store and fake clock: `runDue()` is driven by hand,
 * so due times, backoff and leases are checked to the millisecond without sleeping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { AppError } from '../errors/index.js';
import type { JobHandlers, JobLease } from '../modules/jobs/job-handlers.js';
import { silentLogger } from '../modules/context.js';
import { asGrantId, type GrantId } from '../domain/index.js';
import { createScheduler, REVOCATION_RETRY_CAP_MS, type SchedulerOptions } from './scheduler.js';
import { eventually } from '../../test/support/harness.js';
import type { LogLine } from '../../test/support/test-bed.js';

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
  function schedulerWith(handler: (grantId: GrantId, lease: JobLease) => Promise<void>, leaseMs?: number, extra: Partial<SchedulerOptions> = {}) {
    const unexpected = (kind: string) => () => Promise.reject(new Error(`unexpected ${kind} job`));
    const handlers: JobHandlers = { expire: handler, revoke: unexpected('revoke'), rotate: unexpected('rotate'), stage: unexpected('stage'), drill: unexpected('drill'), 'certification-deadline': unexpected('certification-deadline') };
    return createScheduler({ store: bed.store, clock: bed.clock, handlers, retry, log: silentLogger, heartbeatMs: 0, ...(leaseMs === undefined ? {} : { leaseMs }), ...extra });
  }

  /** A handler that holds until released, and says when it started. */
  function heldHandler() {
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const leases: JobLease[] = [];
    return {
      handler: async (_grantId: GrantId, lease: JobLease) => {
        leases.push(lease);
        started();
        await held;
      },
      running,
      release,
      leases,
    };
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

  it('fencing: a worker that lost its lease cannot complete, retry or renew the job its successor holds', async () => {
    const a = heldHandler();
    const b = heldHandler();
    const workerA = schedulerWith(a.handler, 4_000);
    const workerB = schedulerWith(b.handler, 4_000);
    await schedule('fenced', 0);
    const runningA = workerA.runDue();
    await a.running;
    bed.clock.advance(4_000); // A looks dead: no heartbeat here
    const runningB = workerB.runDue();
    await b.running;
    const held = (await jobOf('fenced'))!;
    expect(held.fence).toBe(2);
    expect(held.leaseOwner).toBe(workerB.owner);

    // A wakes up: its renewals fail, and finishing the job changes nothing.
    await expect(a.leases[0]!.assertHeld()).rejects.toThrow(/passed to another worker/);
    a.release();
    expect(await runningA).toBe(1);
    expect(await jobOf('fenced')).toMatchObject({ fence: 2, leaseOwner: workerB.owner, attempts: 0 });

    await b.leases[0]!.assertHeld();
    b.release();
    expect(await runningB).toBe(1);
    expect(await jobOf('fenced')).toBeUndefined();
  });

  it('fencing: a stale worker\'s failure does not reschedule the job under its successor', async () => {
    const a = heldHandler();
    let failB = true;
    const workerA = schedulerWith(async (grantId, lease) => {
      await a.handler(grantId, lease);
      throw new AppError('target_unavailable', 'A saw the target down');
    }, 4_000);
    const workerB = schedulerWith(async () => {
      if (failB) throw new AppError('target_unavailable', 'B saw the target down');
    }, 4_000);
    await schedule('retried', 0);
    const runningA = workerA.runDue();
    await a.running;
    bed.clock.advance(4_000);
    expect(await workerB.runDue()).toBe(1); // B fails and reschedules, as it should
    const afterB = (await jobOf('retried'))!;
    expect(afterB).toMatchObject({ attempts: 1, lastError: 'B saw the target down' });
    a.release();
    await runningA;
    expect(await jobOf('retried')).toStrictEqual(afterB);
    failB = false;
    bed.clock.set(afterB.dueAt);
    expect(await workerB.runDue()).toBe(1);
    expect(await jobOf('retried')).toBeUndefined();
  });

  it('heartbeat: a job that runs longer than its lease keeps it, so no second worker starts it', async () => {
    const a = heldHandler();
    const workerA = schedulerWith(a.handler, 4_000, { heartbeatMs: 10 });
    const workerB = schedulerWith(async () => {
      throw new Error('B must not run a job A still holds');
    }, 4_000);
    await schedule('long', 0);
    const runningA = workerA.runDue();
    await a.running;
    for (let i = 0; i < 3; i++) {
      bed.clock.advance(3_000);
      const until = bed.clock.now().getTime();
      // The heartbeat (real time) renews on the fake clock's now: wait until it has.
      await eventually(async () => ((await jobOf('long'))!.leaseUntil!.getTime() > until ? true : undefined), 20_000, 'a renewed lease');
      expect(await workerB.runDue()).toBe(0);
    }
    a.release();
    expect(await runningA).toBe(1);
    expect(await jobOf('long')).toBeUndefined();
  });

  it('restart: an instance takes back the leases of its earlier life at once, not after they lapse', async () => {
    const dead = heldHandler();
    const ran: string[] = [];
    const firstLife = schedulerWith(dead.handler, 60_000, { instanceId: 'inst-a' });
    await schedule('orphan', 0);
    void firstLife.runDue(); // kill -9 mid-job: the handler never returns
    await dead.running;
    const peer = schedulerWith(async (g) => void ran.push(`peer:${g}`), 60_000, { instanceId: 'inst-b' });
    expect(await peer.runDue()).toBe(0); // another instance waits for the lease
    const secondLife = schedulerWith(async (g) => void ran.push(`restarted:${g}`), 60_000, { instanceId: 'inst-a' });
    expect(await secondLife.runDue()).toBe(1); // same fake instant: no lease lapsed
    expect(ran).toEqual(['restarted:orphan']);
  });

  it('stop: a stopped scheduler frees its leases, so a successor takes over at once', async () => {
    const a = heldHandler();
    const workerA = schedulerWith(a.handler, 60_000);
    await schedule('handover', 0);
    await schedule('queued', 0);
    const runningA = workerA.runDue();
    await a.running;
    a.release();
    await runningA;
    // A claims the second job and is stopped while holding it (its lease would run 60 s).
    const b = heldHandler();
    const workerB = schedulerWith(b.handler, 60_000);
    await bed.store.transaction((tx) => tx.jobs.claimDue(bed.clock.now(), workerA.owner, new Date(bed.clock.now().getTime() + 60_000), 1));
    await workerA.stop();
    const runningB = workerB.runDue();
    await b.running;
    b.release();
    expect(await runningB).toBe(1);
  });

  it('backoff: revocation retries are capped at 10 s, other jobs at the policy\'s cap', async () => {
    const scheduler = schedulerWith(async () => {
      throw new AppError('target_unavailable', 'down');
    });
    await schedule('capped', 0);
    for (let attempt = 0; attempt < 8; attempt++) {
      const job = (await jobOf('capped'))!;
      bed.clock.set(job.dueAt);
      await scheduler.runDue();
    }
    const job = (await jobOf('capped'))!;
    expect(job.attempts).toBe(8);
    expect(job.dueAt.getTime() - bed.clock.now().getTime()).toBeLessThanOrEqual(REVOCATION_RETRY_CAP_MS * 1.2);
    expect(job.dueAt.getTime() - bed.clock.now().getTime()).toBeGreaterThanOrEqual(REVOCATION_RETRY_CAP_MS);
  });

  it('backoff: a store that cannot be read makes the loop back off, logged once per burst with the real cause', async () => {
    const logs: LogLine[] = [];
    const log = {
      info: (fields: Record<string, unknown>, message: string) => void logs.push({ level: 'info', fields, message }),
      warn: (fields: Record<string, unknown>, message: string) => void logs.push({ level: 'warn', fields, message }),
      error: (fields: Record<string, unknown>, message: string) => void logs.push({ level: 'error', fields, message }),
    };
    let attempts = 0;
    let broken = true;
    const store = {
      ...bed.store,
      transaction: <T>(work: Parameters<typeof bed.store.transaction<T>>[0]) => {
        attempts += 1;
        return broken ? Promise.reject(new Error('SQLITE_FULL: database or disk is full')) : bed.store.transaction(work);
      },
    };
    const scheduler = createScheduler({
      store,
      clock: bed.clock,
      handlers: { expire: async () => {}, revoke: async () => {}, rotate: async () => {}, stage: async () => {}, drill: async () => {}, 'certification-deadline': async () => {} },
      retry,
      log,
      pollMs: 5,
      claimRetry: { baseMs: 100, maxMs: 400 },
      random: () => 0,
    });
    scheduler.start();
    const started = Date.now();
    // Requests keep waking it up: they must not cut the backoff short.
    const waker = setInterval(() => scheduler.wake(), 2);
    await eventually(async () => (Date.now() - started >= 1_000 ? true : undefined), 20_000, 'a second of failures');
    clearInterval(waker);
    // 100, 200, 400, 400 ms…: a handful of tries in a second, not hundreds.
    expect(attempts).toBeLessThanOrEqual(6);
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect((errors[0]!.fields as Record<string, unknown>)['err']).toBe('SQLITE_FULL: database or disk is full');
    broken = false;
    await eventually(async () => (logs.some((l) => l.message === 'scheduler reaches its jobs again') ? true : undefined), 20_000, 'recovery');
    await scheduler.stop();
  });
});
