/**
 * The scheduler with several jobs in flight (issue 13), on the test bed's store and fake clock.
 * Handlers block on promises the test controls, so the bound, the claim order and the
 * hand-over are observed as states, never as time windows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { eventually } from '../../test/support/harness.js';
import { asGrantId, type GrantId } from '../domain/index.js';
import { isAppError } from '../errors/index.js';
import { silentLogger } from '../modules/context.js';
import type { JobHandlers, JobLease } from '../modules/jobs/job-handlers.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';

const retry = { baseMs: 1_000, maxMs: 60_000 };
const deadline = 10_000;

const allGates: { releaseAll(): void }[] = [];

/** Expire handlers that hold each job until the test releases it, and count what ran. */
function gates() {
  const releases = new Map<string, (() => void)[]>();
  const started: string[] = [];
  const runs = new Map<string, number>();
  const leases = new Map<string, JobLease>();
  let inFlight = 0;
  let maxInFlight = 0;
  const made = {
    started,
    runs,
    leases,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    handler: async (grantId: GrantId, lease: JobLease) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      started.push(grantId);
      runs.set(grantId, (runs.get(grantId) ?? 0) + 1);
      leases.set(grantId, lease);
      try {
        await new Promise<void>((resolve) => releases.set(grantId, [...(releases.get(grantId) ?? []), resolve]));
      } finally {
        inFlight -= 1;
      }
    },
    release(grantId: string) {
      const held = releases.get(grantId);
      if (!held) throw new Error(`${grantId} is not held`);
      releases.delete(grantId);
      for (const release of held) release();
    },
    releaseAll() {
      for (const grantId of [...releases.keys()]) made.release(grantId);
    },
  };
  allGates.push(made);
  return made;
}

describe('scheduler: jobs in flight at once', () => {
  let bed: TestBed;
  const running: Scheduler[] = [];
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    // stop() waits for the jobs in hand: let whatever a failed test left held go.
    const stopping = Promise.all(running.splice(0).map((scheduler) => scheduler.stop()));
    let done = false;
    void stopping.finally(() => (done = true));
    while (!done) {
      for (const g of allGates) g.releaseAll();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    allGates.splice(0);
    await bed.close();
  });

  function schedulerWith(handler: (grantId: GrantId, lease: JobLease) => Promise<void>, extra: Partial<SchedulerOptions> = {}) {
    const unexpected = (kind: string) => () => Promise.reject(new Error(`unexpected ${kind} job`));
    const handlers: JobHandlers = { expire: handler, revoke: unexpected('revoke'), rotate: unexpected('rotate'), stage: unexpected('stage'), drill: unexpected('drill'), 'certification-deadline': unexpected('certification-deadline') };
    return createScheduler({ store: bed.store, clock: bed.clock, handlers, retry, log: silentLogger, heartbeatMs: 0, pollMs: 20, ...extra });
  }
  const started = (scheduler: Scheduler) => {
    running.push(scheduler);
    scheduler.start();
    return scheduler;
  };
  const schedule = (subject: string, inMs: number) =>
    bed.store.transaction((tx) => tx.jobs.schedule({ kind: 'expire', grantId: asGrantId(subject), dueAt: new Date(bed.clock.now().getTime() + inMs) }));
  const jobOf = async (subject: string) => (await bed.jobs(subject))[0];
  const remaining = async (subjects: readonly string[]) => (await Promise.all(subjects.map(jobOf))).filter((job) => job !== undefined).length;

  it('concurrency: at most `limit` jobs run at once, claimed oldest due first as slots free up', async () => {
    const g = gates();
    // Scheduled out of order; due order is j1…j8 (j4 and j5 share a due time: the id decides).
    const due: Record<string, number> = { j6: -3_000, j2: -7_000, j8: -1_000, j1: -8_000, j3: -6_000, j7: -2_000 };
    for (const [subject, inMs] of Object.entries(due)) await schedule(subject, inMs);
    const [a, b] = [await schedule('j4', -5_000), await schedule('j5', -5_000)];
    const [first, second] = a.id < b.id ? ['j4', 'j5'] : ['j5', 'j4'];
    const order = ['j1', 'j2', 'j3', first, second, 'j6', 'j7', 'j8'];

    started(schedulerWith(g.handler, { concurrency: 3 }));
    await eventually(async () => g.started.length === 3, deadline, 'three jobs in flight');
    expect(g.started).toEqual(order.slice(0, 3));
    for (let next = 3; next < order.length; next++) {
      // Each finished job frees exactly one slot, taken by the oldest due job left.
      g.release(g.started[next - 3]!);
      await eventually(async () => g.started.length === next + 1, deadline, `job ${next + 1} to start`);
      expect(g.started).toEqual(order.slice(0, next + 1));
      expect(g.inFlight()).toBeLessThanOrEqual(3);
    }
    g.releaseAll();
    await eventually(async () => (await remaining(order)) === 0, deadline, 'every job done');
    expect(g.maxInFlight()).toBe(3);
    expect([...g.runs.values()]).toEqual(order.map(() => 1));
  });

  it('concurrency: a slow job does not hold up the jobs behind it, nor one that becomes due later', async () => {
    const g = gates();
    await schedule('slow', -1_000);
    for (const [i, subject] of ['f1', 'f2', 'f3'].entries()) await schedule(subject, -900 + i * 100);
    await schedule('later', 5_000);
    const scheduler = started(schedulerWith(g.handler, { concurrency: 2, leaseMs: 60_000 }));
    await eventually(async () => g.started.includes('slow') && g.started.includes('f1'), deadline, 'slow and f1 in flight');
    // The fast ones go through the one free slot while `slow` keeps its own.
    for (const subject of ['f1', 'f2', 'f3']) {
      await eventually(async () => g.started.includes(subject), deadline, `${subject} to start`);
      g.release(subject);
    }
    bed.clock.advance(5_000);
    scheduler.wake();
    await eventually(async () => g.started.includes('later'), deadline, 'the job due later to start');
    g.release('later');
    await eventually(async () => (await remaining(['f1', 'f2', 'f3', 'later'])) === 0, deadline, 'the fast jobs done');
    expect(await jobOf('slow')).toMatchObject({ leaseOwner: scheduler.owner });
    g.release('slow');
    await eventually(async () => (await jobOf('slow')) === undefined, deadline, 'slow done');
  });

  it('stop: waits for every job in hand, claims nothing more, and leaves the rest free for a successor at once', async () => {
    const g = gates();
    for (const [i, subject] of ['s1', 's2', 's3', 's4'].entries()) await schedule(subject, -1_000 + i * 100);
    const scheduler = schedulerWith(g.handler, { concurrency: 2, leaseMs: 60_000 });
    running.push(scheduler);
    scheduler.start();
    await eventually(async () => g.started.length === 2, deadline, 'two jobs in flight');
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    g.release('s1');
    // A few turns of the event loop: s2 is still running, so stop() has not returned.
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    expect(g.started).toEqual(['s1', 's2']); // s1's slot did not claim s3
    g.release('s2');
    await stopping;
    expect(await remaining(['s1', 's2'])).toBe(0);
    expect(await jobOf('s3')).toMatchObject({ fence: 0, leaseOwner: undefined });
    // A successor (another instance, same instant: no lease had to lapse) takes the rest.
    const successor = gates();
    const next = schedulerWith(successor.handler, { concurrency: 2, instanceId: 'inst-next' });
    const draining = next.runAllDue();
    await eventually(async () => successor.started.length === 2, deadline, 'the successor to take s3 and s4');
    successor.releaseAll();
    expect(await draining).toBe(2);
    expect([...g.runs.keys(), ...successor.runs.keys()].sort()).toEqual(['s1', 's2', 's3', 's4']);
  });

  it('leases: two schedulers on one store run jobs side by side, never the same job twice', async () => {
    const g = gates();
    const subjects = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const subject of subjects) await schedule(subject, 0);
    const a = started(schedulerWith(g.handler, { concurrency: 4, instanceId: 'inst-a' }));
    const b = started(schedulerWith(g.handler, { concurrency: 4, instanceId: 'inst-b' }));
    await eventually(async () => g.started.length === 8, deadline, 'eight jobs in flight across two schedulers');
    const owners = await Promise.all(g.started.map(async (subject) => (await jobOf(subject))!.leaseOwner));
    expect(owners.filter((owner) => owner === a.owner)).toHaveLength(4);
    expect(owners.filter((owner) => owner === b.owner)).toHaveLength(4);
    while (g.started.length < subjects.length || g.inFlight() > 0) {
      g.releaseAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(async () => (await remaining(subjects)) === 0, deadline, 'every job done');
    expect(g.maxInFlight()).toBe(8);
    expect(subjects.map((subject) => g.runs.get(subject))).toEqual(subjects.map(() => 1));
  });

  it('fencing: jobs whose leases lapsed while in flight are taken over together; the stale worker records nothing', async () => {
    const stale = gates();
    const workerA = schedulerWith(stale.handler, { concurrency: 3, leaseMs: 4_000, instanceId: 'inst-a' });
    const ran: string[] = [];
    const workerB = schedulerWith(async (grantId) => void ran.push(grantId), { concurrency: 3, leaseMs: 4_000, instanceId: 'inst-b' });
    for (const subject of ['x1', 'x2', 'x3']) await schedule(subject, 0);
    const runningA = workerA.runAllDue();
    await eventually(async () => stale.started.length === 3, deadline, 'A holding three jobs');
    bed.clock.advance(4_000); // A looks dead: no heartbeat here
    expect(await workerB.runAllDue()).toBe(3);
    expect(ran.sort()).toEqual(['x1', 'x2', 'x3']);
    for (const subject of ['x1', 'x2', 'x3']) {
      await expect(stale.leases.get(subject)!.assertHeld()).rejects.toThrow(/passed to another worker/);
    }
    // B's successors of the same jobs, scheduled again: A's late completions must not remove them.
    for (const subject of ['x1', 'x2', 'x3']) await schedule(subject, 60_000);
    stale.releaseAll();
    expect(await runningA).toBe(3);
    expect(await remaining(['x1', 'x2', 'x3'])).toBe(3);
  });

  it('heartbeat: every job in flight renews its own lease, so a peer starts none of them', async () => {
    const g = gates();
    for (const subject of ['h1', 'h2']) await schedule(subject, 0);
    const holder = schedulerWith(g.handler, { concurrency: 2, leaseMs: 4_000, heartbeatMs: 10 });
    const peer = schedulerWith(async () => {
      throw new Error('the peer must not run a job still held');
    }, { leaseMs: 4_000, instanceId: 'inst-peer' });
    const holding = holder.runAllDue();
    await eventually(async () => g.started.length === 2, deadline, 'two jobs in flight');
    for (let i = 0; i < 3; i++) {
      bed.clock.advance(3_000);
      const until = bed.clock.now().getTime();
      await eventually(async () => (await Promise.all(['h1', 'h2'].map(jobOf))).every((job) => job!.leaseUntil!.getTime() > until), deadline, 'both leases renewed');
      expect(await peer.runDue()).toBe(0);
    }
    g.releaseAll();
    expect(await holding).toBe(2);
  });

  it('runAllDue: drains every due job and the follow-ups they schedule, `limit` at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const ran: string[] = [];
    const scheduler = schedulerWith(
      async (grantId) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        if (grantId === 'parent') await schedule('child', 0);
        ran.push(grantId);
        inFlight -= 1;
      },
      { concurrency: 2 },
    );
    for (const subject of ['parent', 'r1', 'r2', 'r3', 'r4', 'r5']) await schedule(subject, 0);
    await schedule('future', 1_000);
    expect(await scheduler.runAllDue()).toBe(7);
    expect(maxInFlight).toBe(2);
    expect(ran.sort()).toEqual(['child', 'parent', 'r1', 'r2', 'r3', 'r4', 'r5']);
    expect(await jobOf('future')).toMatchObject({ attempts: 0 });
  });

  it('concurrency: a limit that is not a whole number from 1 to 256 is refused, saying which setting', () => {
    for (const concurrency of [0, -1, 1.5, 257, Number.NaN]) {
      let error: unknown;
      try {
        schedulerWith(async () => {}, { concurrency });
      } catch (caught) {
        error = caught;
      }
      expect(isAppError(error) && error.code === 'validation').toBe(true);
      expect((error as Error).message).toContain('BREAKGLASS_JOB_CONCURRENCY');
    }
  });
});
