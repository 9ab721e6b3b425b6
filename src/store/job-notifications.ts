import pg from 'pg';

/** The channel a job change is announced on; the payload is the job's due time (epoch ms). */
export const jobsChannel = 'breakglass_jobs';

/** Told that a job was scheduled or put back (`dueAt`), or that some may have been missed (`undefined`). */
export type JobsChangedListener = (dueAt: Date | undefined) => void;

export interface JobNotifications {
  /** Starts listening with the first subscriber; returns the unsubscribe. */
  subscribe(listener: JobsChangedListener): () => void;
  /** Stops listening for good and closes the connection. */
  close(): Promise<void>;
}

const reconnectBaseMs = 200;
const reconnectMaxMs = 5_000;

/**
 * PostgreSQL `LISTEN breakglass_jobs` on one dedicated connection (a pool connection cannot
 * listen: it goes back to the pool). The job repository sends `pg_notify` in the transaction
 * that schedules or puts back a job, so every instance hears of it at commit and claims it at
 * once instead of at its next poll. The poll stays: a notification is a hint, never the
 * schedule. When the connection drops it is opened again with backoff, and the listeners are
 * told `undefined` once it is back, because what was announced meanwhile was lost.
 *
 * @example const notifications = jobNotifications({ connectionString: url }); notifications.subscribe(() => scheduler.wake());
 */
export function jobNotifications(config: pg.ClientConfig): JobNotifications {
  const listeners = new Set<JobsChangedListener>();
  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let started = false;
  let closed = false;

  const tell = (dueAt: Date | undefined) => {
    for (const listener of listeners) listener(dueAt);
  };

  function retryLater(): void {
    if (closed || retryTimer) return;
    const delay = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** Math.min(failures, 10));
    failures += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void listen();
    }, delay);
    retryTimer.unref();
  }

  async function listen(): Promise<void> {
    if (closed) return;
    const next = new pg.Client(config);
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (client === next) client = undefined;
      next.end().catch(() => undefined);
      retryLater();
    };
    // An error on an idle connection would otherwise kill the process.
    next.on('error', drop);
    next.on('end', drop);
    next.on('notification', (message) => {
      if (message.channel !== jobsChannel) return;
      const ms = Number(message.payload);
      tell(Number.isFinite(ms) && ms > 0 ? new Date(ms) : undefined);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${jobsChannel}`);
    } catch {
      drop();
      return;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    const reconnected = failures > 0;
    failures = 0;
    if (reconnected) tell(undefined);
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (!started) {
        started = true;
        void listen();
      }
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
      clearTimeout(retryTimer);
      retryTimer = undefined;
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
  };
}
