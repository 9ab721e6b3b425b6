import { randomUUID } from 'node:crypto';
import { backoffDelay, type Logger, type RetryPolicy } from '../modules/context.js';
import { jobSubject, LeaseLost, lostLease, runJob, type JobHandlers, type JobLease } from '../modules/jobs/job-handlers.js';
import { AppError, isAppError } from '../errors/index.js';
import type { Clock, JobRecord, Store } from '../ports/index.js';

export interface Scheduler {
  /** Starts the loop; overdue jobs (after a crash or restart) run at once. */
  start(): void;
  /** Stops claiming, waits for every job in hand, and frees this instance's leases for a successor. */
  stop(): Promise<void>;
  /** Re-plans the next wake-up: a job became due earlier than planned. */
  wake(): void;
  /**
   * Claims the oldest due job and runs it; returns how many ran (0 or 1). Tests drive this with a
   * fake clock, one step at a time.
   */
  runDue(): Promise<number>;
  /**
   * Runs every job due now, and the follow-ups that become due meanwhile, with up to
   * `concurrency` in flight, claimed in due order as slots free up; returns how many ran.
   *
   * @example
   *   clock.advance(15 * 60_000);
   *   await scheduler.runAllDue(); // every expiry of the burst, 16 at a time
   */
  runAllDue(): Promise<number>;
  /** The lease owner this scheduler claims as (`<instance>/<life>`). */
  readonly owner: string;
}

export interface SchedulerOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly handlers: JobHandlers;
  readonly retry: RetryPolicy;
  readonly log: Logger;
  /** Longest sleep between looks at the jobs table (other instances may add jobs). */
  readonly pollMs?: number;
  /**
   * How long a claim lasts without renewal. Short, because a dead owner's jobs wait this long
   * for another instance; the heartbeat renews it while the job runs.
   */
  readonly leaseMs?: number;
  /** How often a running job's lease is renewed (real time); 0 turns the heartbeat off (tests). */
  readonly heartbeatMs?: number;
  /**
   * Who this instance is across restarts (persisted in the data directory). Leases held by an
   * earlier life of the same instance died with it, and are taken back at once, not waited out.
   */
  readonly instanceId?: string;
  /**
   * How many jobs run at once in this instance (BREAKGLASS_JOB_CONCURRENCY). Each has its own
   * lease, heartbeat and fence; a slow target holds only the slots of its own jobs.
   */
  readonly concurrency?: number;
  /** Backoff when the jobs table cannot be read or claimed (store down, unwritable). */
  readonly claimRetry?: RetryPolicy;
  readonly random?: () => number;
}

export const DEFAULT_LEASE_MS = 4_000;
/** Jobs in flight at once per instance, unless configured. */
export const DEFAULT_JOB_CONCURRENCY = 16;
export const MAX_JOB_CONCURRENCY = 256;
/** A target that is down is retried at least this often while revocation waits on it. */
export const REVOCATION_RETRY_CAP_MS = 10_000;
const defaultClaimRetry: RetryPolicy = { baseMs: 200, maxMs: 5_000 };

/**
 * Durable due-jobs: the jobs table is the schedule, so nothing is lost on a crash. Several
 * instances share one PostgreSQL (claims use FOR UPDATE SKIP LOCKED there). Up to
 * `concurrency` jobs run at once, claimed oldest due first in batches as slots free up, so a
 * burst of expiries is worked through in parallel and a slow target does not hold up the
 * others. Each claimed job is leased for a few seconds, renewed while it runs, and carries a
 * fencing token: a worker that lost its lease can neither complete, retry nor record what the
 * job did (see JobLease).
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, clock, handlers, retry, log } = options;
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(leaseMs / 4));
  const claimRetry = options.claimRetry ?? defaultClaimRetry;
  const concurrency = options.concurrency ?? DEFAULT_JOB_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_JOB_CONCURRENCY) {
    throw new AppError('validation', `job concurrency must be a whole number from 1 to ${MAX_JOB_CONCURRENCY} (BREAKGLASS_JOB_CONCURRENCY); got ${String(concurrency)}`);
  }
  const random = options.random ?? Math.random;
  const instance = options.instanceId ?? `inst-${randomUUID()}`;
  const owner = `${instance}/${randomUUID()}`;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();
  /** The jobs the loop started and that have not finished. */
  const inHand = new Set<Promise<void>>();
  let wakeRequested = false;
  let recovered = false;
  /** Consecutive failures to read or claim jobs, and when the burst began. */
  let failures = 0;
  let failingSince: Date | undefined;

  const leaseUntil = () => new Date(clock.now().getTime() + leaseMs);

  function leaseOf(job: JobRecord): JobLease & { stopHeartbeat(): void } {
    let lost = false;
    const renew = async () => {
      if (lost) return false;
      const held = await store.transaction((tx) => tx.jobs.renew(job, leaseUntil()));
      if (!held) lost = true;
      return held;
    };
    const heartbeat =
      heartbeatMs > 0
        ? setInterval(() => {
            renew().catch(() => undefined); // a store hiccup: the next beat, or the lease, decides
          }, heartbeatMs)
        : undefined;
    heartbeat?.unref();
    return {
      fence: job.fence,
      async assertHeld() {
        if (!(await renew())) throw lostLease(job);
      },
      async checkIn(tx) {
        if (lost || !(await tx.jobs.renew(job, leaseUntil()))) throw lostLease(job);
      },
      stopHeartbeat: () => clearInterval(heartbeat),
    };
  }

  /** Leases an earlier life of this instance held died with it: free them now. */
  async function recoverEarlierLives(): Promise<void> {
    if (recovered) return;
    const freed = await store.transaction((tx) => tx.jobs.release(owner, { otherLivesOf: `${instance}/` }));
    recovered = true;
    if (freed > 0) log.info({ jobs: freed }, 'took back the jobs an earlier run of this instance held when it stopped');
  }

  async function runOne(job: JobRecord): Promise<void> {
    const lease = leaseOf(job);
    let outcome: { ok: true } | { ok: false; error: unknown };
    try {
      await runJob(handlers, job, lease);
      outcome = { ok: true };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      lease.stopHeartbeat();
    }
    const subject = jobSubject(job);
    if (outcome.ok) {
      if (!(await store.transaction((tx) => tx.jobs.complete(job)))) {
        log.info({ job: job.kind, subject, fence: job.fence }, 'job finished after its lease passed to another worker; that worker owns it now');
      }
      return;
    }
    const { error } = outcome;
    if (error instanceof LeaseLost) {
      log.info({ job: job.kind, subject, fence: job.fence }, 'job stopped: its lease passed to another worker');
      return;
    }
    const delay = backoffDelay(retryFor(job), job.attempts, random);
    const message = isAppError(error) ? error.message : 'unexpected error';
    log.warn({ job: job.kind, subject, attempts: job.attempts + 1, retryInMs: delay, err: message }, 'job failed; will retry');
    if (!isAppError(error)) log.error({ job: job.kind, subject, err: error instanceof Error ? error.name : 'unknown' }, 'unexpected job error');
    await store.transaction((tx) => tx.jobs.retry(job, new Date(clock.now().getTime() + delay), message));
  }

  /** Revocation never waits long for a target that came back: its retries are capped low. */
  function retryFor(job: JobRecord): RetryPolicy {
    return job.kind === 'expire' || job.kind === 'revoke' ? { ...retry, maxMs: Math.min(retry.maxMs, REVOCATION_RETRY_CAP_MS) } : retry;
  }

  const claim = (count: number) => store.transaction((tx) => tx.jobs.claimDue(clock.now(), owner, leaseUntil(), count));

  /** Runs a claimed job in `slots`, which it leaves when done (whatever the outcome). */
  function launch(job: JobRecord, slots: Set<Promise<void>>, onDone: () => void): void {
    const run: Promise<void> = runOne(job)
      .catch((error: unknown) => {
        // Completing or retrying it failed (the store): the job runs again once its lease lapses.
        log.warn({ job: job.kind, subject: jobSubject(job), err: error instanceof Error ? error.message : 'unknown' }, 'could not record the outcome of a job; it runs again when its lease lapses');
      })
      .finally(() => {
        slots.delete(run);
        onDone();
      });
    slots.add(run);
  }

  async function runDue(): Promise<number> {
    await recoverEarlierLives();
    const jobs = await claim(1);
    for (const job of jobs) await runOne(job);
    return jobs.length;
  }

  async function runAllDue(): Promise<number> {
    await recoverEarlierLives();
    const slots = new Set<Promise<void>>();
    let ran = 0;
    for (;;) {
      const free = concurrency - slots.size;
      const jobs = free > 0 ? await claim(free) : [];
      for (const job of jobs) launch(job, slots, () => undefined);
      ran += jobs.length;
      if (slots.size === 0) return ran;
      // Every slot is busy, or nothing else is due yet: a finishing job may have left follow-ups.
      await Promise.race(slots);
    }
  }

  /** Claims into the free slots, oldest due first, until they are full or nothing else is due. */
  async function fill(): Promise<void> {
    await recoverEarlierLives();
    while (running && inHand.size < concurrency) {
      const free = concurrency - inHand.size;
      const jobs = await claim(free);
      // Claimed jobs are leased to us: they run even if stop() came meanwhile (it waits for them).
      for (const job of jobs) launch(job, inHand, slotFreed);
      if (jobs.length < free) return;
    }
  }

  /** A job finished: its slot may take the next due job (or one the finished job scheduled) now. */
  function slotFreed(): void {
    if (!running || failures > 0) return; // while the store fails, the backoff timer decides
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    schedule(0);
  }

  /** Logs the cause of a burst of failures once, and the recovery once. */
  function noteFailure(error: unknown): number {
    failures += 1;
    if (failures === 1) {
      failingSince = clock.now();
      log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'scheduler cannot read or claim its jobs; backing off until the store answers');
    }
    return backoffDelay(claimRetry, failures - 1, random);
  }

  function noteSuccess(): void {
    if (failures === 0) return;
    log.info({ failures, since: failingSince?.toISOString() }, 'scheduler reaches its jobs again');
    failures = 0;
    failingSince = undefined;
  }

  async function tick(): Promise<void> {
    timer = undefined;
    if (!running) return;
    wakeRequested = false;
    let delay: number | undefined;
    try {
      await fill();
      noteSuccess();
      // Every slot busy: the next job to finish claims again (slotFreed).
      if (inHand.size < concurrency) delay = wakeRequested ? 0 : await plannedDelay();
    } catch (error) {
      delay = noteFailure(error);
    }
    if (!running || delay === undefined) return;
    schedule(delay);
  }

  async function plannedDelay(): Promise<number> {
    const next = await store.transaction((tx) => tx.jobs.nextDueAt());
    return next ? Math.min(pollMs, Math.max(0, next.getTime() - clock.now().getTime())) : pollMs;
  }

  function schedule(delay: number): void {
    if (!running || timer) return;
    timer = setTimeout(() => {
      loop = loop.then(tick);
    }, delay);
  }

  return {
    owner,
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await loop;
      while (inHand.size > 0) await Promise.all([...inHand]);
      // A successor (this instance restarted, or a peer) takes the jobs over at once.
      await store.transaction((tx) => tx.jobs.release(owner)).catch(() => 0);
    },
    wake() {
      wakeRequested = true;
      // While the store fails, a wake-up does not cut the backoff short.
      if (failures > 0) return;
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      schedule(0);
    },
    runDue,
    runAllDue,
  };
}
