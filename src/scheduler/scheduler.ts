import { randomUUID } from 'node:crypto';
import { backoffDelay, type Logger, type RetryPolicy } from '../modules/context.js';
import { jobSubject, LeaseLost, lostLease, runJob, type JobHandlers, type JobLease } from '../modules/jobs/job-handlers.js';
import { isAppError } from '../errors/index.js';
import type { Clock, JobRecord, Store } from '../ports/index.js';

export interface Scheduler {
  /** Starts the loop; overdue jobs (after a crash or restart) run at once. */
  start(): void;
  /** Stops claiming, waits for the job in hand, and frees this instance's leases for a successor. */
  stop(): Promise<void>;
  /** Re-plans the next wake-up: a job became due earlier than planned. */
  wake(): void;
  /** Runs every job due now once; returns how many ran. Tests drive this with a fake clock. */
  runDue(): Promise<number>;
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
  /** Backoff when the jobs table cannot be read or claimed (store down, unwritable). */
  readonly claimRetry?: RetryPolicy;
  readonly random?: () => number;
}

export const DEFAULT_LEASE_MS = 4_000;
/** A target that is down is retried at least this often while revocation waits on it. */
export const REVOCATION_RETRY_CAP_MS = 10_000;
const defaultClaimRetry: RetryPolicy = { baseMs: 200, maxMs: 5_000 };

/**
 * Durable due-jobs: the jobs table is the schedule, so nothing is lost on a crash. Several
 * instances share one PostgreSQL (claims use FOR UPDATE SKIP LOCKED there). Each claim leases
 * one job for a few seconds, renewed while it runs, and carries a fencing token: a worker that
 * lost its lease can neither complete, retry nor record what the job did (see JobLease).
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, clock, handlers, retry, log } = options;
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(leaseMs / 4));
  const claimRetry = options.claimRetry ?? defaultClaimRetry;
  const random = options.random ?? Math.random;
  const instance = options.instanceId ?? `inst-${randomUUID()}`;
  const owner = `${instance}/${randomUUID()}`;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();
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

  async function runDue(): Promise<number> {
    await recoverEarlierLives();
    // One job per claim: the lease covers one job's work, renewed while it runs.
    const jobs = await store.transaction((tx) => tx.jobs.claimDue(clock.now(), owner, leaseUntil(), 1));
    for (const job of jobs) await runOne(job);
    return jobs.length;
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
    let ran = 0;
    let delay: number;
    try {
      ran = await runDue();
      noteSuccess();
      delay = ran > 0 || wakeRequested ? 0 : await plannedDelay();
    } catch (error) {
      delay = noteFailure(error);
    }
    if (!running) return;
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
  };
}
