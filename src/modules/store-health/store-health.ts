import { AppError } from '../../errors/index.js';
import type { Clock, ProbedStore, Store, StoreCondition, StoreFault } from '../../ports/index.js';
import type { Logger } from '../context.js';

/** What the server knows about its store: usable, or why not and since when. */
export type StoreHealthStatus = { readonly state: 'ok' } | { readonly state: StoreFault; readonly detail: string; readonly since: Date };

const ok: StoreHealthStatus = Object.freeze({ state: 'ok' });

/**
 * The state machine, pure: a fault moves to that fault (the newest wins); a probe that succeeds
 * moves back to `ok` — the only way back, since a transaction that succeeds may have only read.
 * `lost` is terminal: the file the server opened is gone, and whatever it wrote since would
 * vanish with it; only a restart on a restored store ends it.
 */
export function nextStoreHealth(current: StoreHealthStatus, seen: StoreCondition | 'probe-ok', now: Date): StoreHealthStatus {
  if (current.state === 'lost') return current;
  if (seen === 'probe-ok') return ok;
  if (current.state === seen.fault && current.detail === seen.detail) return current;
  return { state: seen.fault, detail: seen.detail, since: current.state === seen.fault ? current.since : now };
}

/** The 503 every refused use case answers while the store is not `ok`. */
export function storeUnavailable(status: Exclude<StoreHealthStatus, { state: 'ok' }>): AppError {
  const next =
    status.state === 'lost'
      ? 'nothing is issued until it is back: restore the data directory from a backup and restart the server'
      : status.state === 'unreachable'
        ? 'nothing is issued or changed until it answers again; the server recovers by itself'
        : 'nothing is issued or changed until it can be written again (free disk space, make it writable); the server recovers by itself';
  return new AppError('store_unavailable', `the store is ${status.state}: ${status.detail}; ${next}`);
}

export interface StoreHealth {
  status(): StoreHealthStatus;
  /** Probes now (also what the timer does); overlapping calls share one probe. */
  check(): Promise<StoreHealthStatus>;
  /** Called with each failure of a real transaction: the store says whether it is about itself. */
  observe(error: unknown): void;
  /** The store as the use cases and the scheduler see it: see `guardedStore`. */
  readonly store: Store;
  /** Called once when the store is lost (stop the scheduler and the timers that write). */
  onLost(listener: () => void): void;
  /** Probes every `intervalMs` until `stop()`. */
  start(): void;
  stop(): void;
}

/**
 * The monitor the server owns: it learns the store's condition from the failures of real
 * transactions and from a cheap periodic probe (a stat of the SQLite file and a heartbeat
 * write), which is also how it notices recovery. Transitions are logged once each.
 */
export function createStoreHealth(options: { store: ProbedStore; clock: Clock; log: () => Logger; intervalMs?: number }): StoreHealth {
  const { store, clock } = options;
  let status = ok;
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<StoreHealthStatus> | undefined;
  const lostListeners: (() => void)[] = [];

  const move = (seen: StoreCondition | 'probe-ok') => {
    const before = status;
    status = nextStoreHealth(before, seen, clock.now());
    if (status === before) return;
    const log = options.log();
    if (status.state === 'ok') log.warn({ was: before.state }, 'the store is usable again: issuing and changing access resume');
    else if (status.state === 'lost') {
      log.error(
        { store: 'lost', detail: status.detail },
        'THE STORE IS LOST: the database file this server opened was removed or replaced. Nothing is issued, revoked or recorded from now on; ' +
          'restore the data directory from a backup and restart the server (check the targets for access granted since the last backup)',
      );
      for (const listener of lostListeners.splice(0)) listener();
    } else log.error({ store: status.state, detail: status.detail }, `the store is ${status.state}: nothing is issued or changed until it recovers`);
  };

  const check = () =>
    (probing ??= store.health
      .probe()
      .catch((): StoreCondition => ({ fault: 'unwritable', detail: 'the store probe failed unexpectedly' }))
      .then((seen) => {
        move(seen ?? 'probe-ok');
        return status;
      })
      .finally(() => {
        probing = undefined;
      }));

  const observe = (error: unknown) => {
    const seen = store.health.diagnose(error);
    if (seen) move(seen);
  };

  return {
    status: () => status,
    check,
    observe,
    store: guardedStore(store, () => status, observe),
    onLost: (listener) => void lostListeners.push(listener),
    start() {
      timer ??= setInterval(() => void check(), options.intervalMs ?? 1_000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

/**
 * The store behind a fail-closed door: once it is `lost` no transaction starts at all (nothing
 * is written into a file that no longer exists), and every failure is shown to the monitor.
 * While it is only unwritable or unreachable, transactions still run — reads succeed, writes
 * fail on their own; the HTTP edge refuses the requests that would change access up front.
 */
function guardedStore(store: Store, status: () => StoreHealthStatus, observe: (error: unknown) => void): Store {
  return {
    dialect: store.dialect,
    close: () => store.close(),
    async transaction(work) {
      const now = status();
      if (now.state === 'lost') throw storeUnavailable(now);
      try {
        return await store.transaction(work);
      } catch (error) {
        observe(error);
        throw error;
      }
    },
    // issue 13 (store reads): the same door for reads.
    async read(work) {
      const now = status();
      if (now.state === 'lost') throw storeUnavailable(now);
      try {
        return await store.read(work);
      } catch (error) {
        observe(error);
        throw error;
      }
    },
  };
}
