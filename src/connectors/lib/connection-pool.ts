/**
 * A small bounded pool of admin connections to one target, shared by every operation of its
 * connector (issue 13): opening a connection costs far more than the statement (PostgreSQL
 * connect + SCRAM ≈ 41 ms against 3.7 ms), and a burst of expiries would pay it for each grant.
 *
 * - At most `max` connections are open; that is also the target's concurrency limit: a caller
 *   waits for one, in order, up to the operation's timeout, then fails retryably.
 * - A connection idle for `idleMs` is closed.
 * - Before reuse a connection is checked without a round trip (`alive`: the driver saw no close
 *   or error on it); a dead one is dropped and the next one tried.
 * - A connection whose work failed is discarded, whatever the failure: the next caller gets a
 *   fresh one rather than a session in an unknown state.
 * - A reused connection that turns out to have died under the work (killed on the server, the
 *   server restarted; `lost`) is replaced and the work run once more on a fresh connection.
 *   Connector operations are idempotent (ports/connector.ts), so running one again is safe.
 *
 * Never use a pooled connection to log in as an account: those checks need a connection of
 * their own with the account's secret.
 */

/** Connections per target when the catalog does not say. */
export const DEFAULT_POOL_MAX = 4;
/** How long an unused connection stays open. */
export const DEFAULT_POOL_IDLE_MS = 30_000;

export interface PoolOptions<C> {
  readonly max: number;
  readonly idleMs: number;
  /** Opens and logs in one connection. */
  open(): Promise<C>;
  /** Closes a connection; must not throw and should not wait long for a dead server. */
  close(conn: C): Promise<void>;
  /** A cheap check (no round trip) that the connection has not been closed or broken. */
  alive(conn: C): boolean;
  /** Whether `err`, thrown by work on `conn`, means the connection itself had died. */
  lost(err: unknown, conn: C): boolean;
  /** The error for a caller that waited `waitedMs` without getting a connection. */
  busy(waitedMs: number): Error;
  /** The error for a caller of a closed pool. */
  closed(): Error;
}

export interface PoolStats {
  /** Connections open or being opened. */
  readonly open: number;
  readonly idle: number;
  readonly waiting: number;
}

export interface ConnectionPool<C> {
  /**
   * Runs `work` on a pooled connection, waiting up to `waitMs` for one. The connection goes back
   * to the pool when `work` succeeds and is discarded when it fails.
   *
   * @example await pool.use((client) => client.query('select 1'), 5000)
   */
  use<T>(work: (conn: C) => Promise<T>, waitMs: number): Promise<T>;
  stats(): PoolStats;
  /** Closes the idle connections now and every other one when its work ends; later calls fail. */
  close(): Promise<void>;
}

interface Slot<C> {
  readonly conn: C;
  /** It has served work before: a failure on it may be a connection that died while idle. */
  used: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** A queued caller: handed a connection, or the right to open one. */
interface Waiter<C> {
  grant(slot: Slot<C> | 'open'): void;
  refuse(err: Error): void;
}

export function createConnectionPool<C>(options: PoolOptions<C>): ConnectionPool<C> {
  if (!Number.isInteger(options.max) || options.max < 1) throw new RangeError('pool max must be a positive integer');
  const idle: Slot<C>[] = [];
  const waiters: Waiter<C>[] = [];
  let open = 0;
  let closed = false;

  const discard = (slot: Slot<C>) => {
    clearTimeout(slot.idleTimer);
    open -= 1;
    void options.close(slot.conn);
    handOnCapacity();
  };

  /** A place freed up: the first waiter may open a connection. */
  function handOnCapacity() {
    if (closed || open >= options.max) return;
    const next = waiters.shift();
    if (next === undefined) return;
    open += 1;
    next.grant('open');
  }

  async function opened(): Promise<Slot<C>> {
    try {
      return { conn: await options.open(), used: false };
    } catch (err) {
      open -= 1;
      handOnCapacity();
      throw err;
    }
  }

  function toIdle(slot: Slot<C>) {
    slot.idleTimer = setTimeout(() => {
      const at = idle.indexOf(slot);
      if (at < 0) return;
      idle.splice(at, 1);
      discard(slot);
    }, options.idleMs);
    slot.idleTimer.unref();
    idle.push(slot);
  }

  function release(slot: Slot<C>, ok: boolean) {
    if (!ok || closed || !options.alive(slot.conn)) {
      discard(slot);
      return;
    }
    slot.used = true;
    const next = waiters.shift();
    if (next !== undefined) next.grant(slot);
    else toIdle(slot);
  }

  /** The most recently used live idle connection (its server state is the freshest), if any. */
  function takeIdle(): Slot<C> | undefined {
    for (let slot = idle.pop(); slot !== undefined; slot = idle.pop()) {
      clearTimeout(slot.idleTimer);
      if (options.alive(slot.conn)) return slot;
      discard(slot);
    }
    return undefined;
  }

  async function acquire(waitMs: number, fresh: boolean): Promise<Slot<C>> {
    if (closed) throw options.closed();
    if (fresh && open >= options.max) {
      // Room for a new connection: the oldest idle one goes first (it may be dead too).
      const oldest = idle.shift();
      if (oldest !== undefined) discard(oldest);
    }
    const reused = fresh ? undefined : takeIdle();
    if (reused !== undefined) return reused;
    if (open < options.max && waiters.length === 0) {
      open += 1;
      return opened();
    }
    const granted = await new Promise<Slot<C> | 'open'>((resolve, reject) => {
      const waiter: Waiter<C> = {
        grant(slot) {
          clearTimeout(timer);
          resolve(slot);
        },
        refuse(err) {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
        reject(options.busy(waitMs));
      }, waitMs);
      timer.unref();
      waiters.push(waiter);
    });
    return granted === 'open' ? opened() : granted;
  }

  async function attempt<T>(slot: Slot<C>, work: (conn: C) => Promise<T>): Promise<{ result: T } | { failed: unknown }> {
    try {
      const result = await work(slot.conn);
      release(slot, true);
      return { result };
    } catch (failed) {
      release(slot, false);
      return { failed };
    }
  }

  return {
    async use(work, waitMs) {
      const slot = await acquire(waitMs, false);
      const first = await attempt(slot, work);
      if ('result' in first) return first.result;
      if (!slot.used || !options.lost(first.failed, slot.conn)) throw first.failed;
      const again = await attempt(await acquire(waitMs, true), work);
      if ('failed' in again) throw again.failed;
      return again.result;
    },

    stats: () => ({ open, idle: idle.length, waiting: waiters.length }),

    async close() {
      closed = true;
      for (const waiter of waiters.splice(0)) waiter.refuse(options.closed());
      const closing = idle.splice(0).map((slot) => {
        clearTimeout(slot.idleTimer);
        open -= 1;
        return options.close(slot.conn);
      });
      await Promise.all(closing);
    },
  };
}
