import { randomUUID } from 'node:crypto';
import { backoffDelay, type Logger, type RetryPolicy } from '../modules/context.js';
import { jobSubject, runJob, type JobHandlers } from '../modules/jobs/job-handlers.js';
import { isAppError } from '../errors/index.js';
import type { Clock, Store } from '../ports/index.js';

export interface Scheduler {
  /** Starts the loop; overdue jobs (after a crash or restart) run at once. */
  start(): void;
  stop(): Promise<void>;
  /** Re-plans the next wake-up: a job became due earlier than planned. */
  wake(): void;
  /** Runs every job due now once; returns how many ran. Tests drive this with a fake clock. */
  runDue(): Promise<number>;
}

export interface SchedulerOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly handlers: JobHandlers;
  readonly retry: RetryPolicy;
  readonly log: Logger;
  /** Longest sleep between looks at the jobs table (other instances may add jobs). */
  readonly pollMs?: number;
  /** How long a claimed job is ours before another instance may take it over. */
  readonly leaseMs?: number;
}

/**
 * Durable due-jobs: the jobs table is the schedule, so nothing is lost on a crash; leases let
 * several instances share one PostgreSQL (claims use FOR UPDATE SKIP LOCKED there).
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, clock, handlers, retry, log } = options;
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const owner = `worker-${randomUUID()}`;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();
  let wakeRequested = false;

  async function runDue(): Promise<number> {
    const now = clock.now();
    // One job per claim: the lease covers one job's work (bounded by connector timeouts), not a
    // batch that could outlive it and let another instance run the same job.
    const jobs = await store.transaction((tx) => tx.jobs.claimDue(now, owner, new Date(now.getTime() + leaseMs), 1));
    for (const job of jobs) {
      try {
        await runJob(handlers, job);
        await store.transaction((tx) => tx.jobs.complete(job.id));
      } catch (error) {
        const delay = backoffDelay(retry, job.attempts);
        const message = isAppError(error) ? error.message : 'unexpected error';
        log.warn({ job: job.kind, subject: jobSubject(job), attempts: job.attempts + 1, retryInMs: delay, err: message }, 'job failed; will retry');
        if (!isAppError(error)) log.error({ job: job.kind, subject: jobSubject(job), err: error instanceof Error ? error.name : 'unknown' }, 'unexpected job error');
        await store.transaction((tx) => tx.jobs.retry(job.id, new Date(clock.now().getTime() + delay), message));
      }
    }
    return jobs.length;
  }

  async function tick(): Promise<void> {
    timer = undefined;
    if (!running) return;
    wakeRequested = false;
    let ran = 0;
    try {
      ran = await runDue();
    } catch (error) {
      log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'scheduler could not read its jobs; retrying');
    }
    if (!running) return;
    let delay = pollMs;
    if (ran > 0 || wakeRequested) delay = 0;
    else {
      const next = await store.transaction((tx) => tx.jobs.nextDueAt()).catch(() => undefined);
      if (next) delay = Math.min(pollMs, Math.max(0, next.getTime() - clock.now().getTime()));
    }
    schedule(delay);
  }

  function schedule(delay: number): void {
    if (!running || timer) return;
    timer = setTimeout(() => {
      loop = loop.then(tick);
    }, delay);
  }

  return {
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
    },
    wake() {
      wakeRequested = true;
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      schedule(0);
    },
    runDue,
  };
}
