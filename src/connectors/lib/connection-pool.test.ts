import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../errors/index.js';
import { createConnectionPool, type PoolOptions } from './connection-pool.js';

/** Stand-in connections: numbered, with a flag the "driver" sets when the server closed one. */
interface Conn {
  readonly id: number;
  dead: boolean;
  closed: boolean;
}

function harness(overrides: Partial<PoolOptions<Conn>> = {}) {
  const made: Conn[] = [];
  const pool = createConnectionPool<Conn>({
    max: 2,
    idleMs: 30_000,
    open: () => {
      const conn = { id: made.length + 1, dead: false, closed: false };
      made.push(conn);
      return Promise.resolve(conn);
    },
    close: (conn) => {
      conn.closed = true;
      return Promise.resolve();
    },
    alive: (conn) => !conn.dead,
    lost: (err, conn) => err instanceof AppError && err.retryable && conn.dead,
    busy: (waited) => new AppError('target_unavailable', `busy for ${waited} ms`, { retryable: true }),
    closed: () => new AppError('target_unavailable', 'closed', { retryable: true }),
    ...overrides,
  });
  return { pool, made };
}

const gone = () => new AppError('target_unavailable', 'connection terminated', { retryable: true });

describe('createConnectionPool', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reuses one connection for operations that follow each other', async () => {
    const { pool, made } = harness();
    for (let i = 0; i < 5; i += 1) await pool.use((conn) => Promise.resolve(conn.id), 1000);
    expect(made).toHaveLength(1);
    expect(pool.stats()).toEqual({ open: 1, idle: 1, waiting: 0 });
  });

  it('opens at most max connections; the others wait their turn, in order', async () => {
    const { pool, made } = harness();
    const order: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const runs = [1, 2, 3, 4, 5].map((n) =>
      pool.use(async (conn) => {
        await gate;
        order.push(n);
        return conn.id;
      }, 10_000),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(pool.stats()).toMatchObject({ open: 2, waiting: 3 });
    release();
    const ids = await Promise.all(runs);
    expect(made).toHaveLength(2);
    expect(new Set(ids)).toEqual(new Set([1, 2]));
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails a caller retryably when no connection frees up within its wait', async () => {
    const { pool } = harness({ max: 1 });
    const held = pool.use(() => new Promise<void>(() => undefined), 60_000);
    void held;
    await vi.advanceTimersByTimeAsync(0);
    const waiting = pool.use(() => Promise.resolve('never'), 500).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(501);
    expect(await waiting).toMatchObject({ code: 'target_unavailable', retryable: true, message: 'busy for 500 ms' });
    expect(pool.stats().waiting).toBe(0);
  });

  it('discards a connection whose work failed: the next operation gets a fresh one', async () => {
    const { pool, made } = harness();
    await pool.use(() => Promise.resolve(), 1000);
    await expect(pool.use(() => Promise.reject(new AppError('target_error', 'permission denied')), 1000)).rejects.toThrow('permission denied');
    expect(made[0]?.closed).toBe(true);
    expect(await pool.use((conn) => Promise.resolve(conn.id), 1000)).toBe(2);
  });

  it('skips an idle connection the server closed, without a round trip', async () => {
    const { pool, made } = harness();
    await pool.use(() => Promise.resolve(), 1000);
    made[0]!.dead = true;
    expect(await pool.use((conn) => Promise.resolve(conn.id), 1000)).toBe(2);
    expect(made[0]?.closed).toBe(true);
  });

  it('runs the work again on a fresh connection when a reused one died under it', async () => {
    const { pool, made } = harness();
    await pool.use(() => Promise.resolve(), 1000);
    const seen: number[] = [];
    const result = await pool.use((conn) => {
      seen.push(conn.id);
      if (conn.id === 1) {
        // Killed on the server while idle; the driver learns it only from this failure.
        conn.dead = true;
        return Promise.reject(gone());
      }
      return Promise.resolve('done');
    }, 1000);
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2]);
    expect(made).toHaveLength(2);
  });

  it('does not run the work again when a fresh connection fails, or when the failure is not a lost connection', async () => {
    const { pool } = harness();
    let calls = 0;
    await expect(
      pool.use((conn) => {
        calls += 1;
        conn.dead = true;
        return Promise.reject(gone());
      }, 1000),
    ).rejects.toThrow('connection terminated');
    expect(calls).toBe(1);
    await pool.use(() => Promise.resolve(), 1000);
    calls = 0;
    await expect(
      pool.use(() => {
        calls += 1;
        return Promise.reject(new AppError('target_error', 'syntax'));
      }, 1000),
    ).rejects.toThrow('syntax');
    expect(calls).toBe(1);
  });

  it('closes a connection left idle for idleMs', async () => {
    const { pool, made } = harness({ idleMs: 1000 });
    await pool.use(() => Promise.resolve(), 1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(made[0]?.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(made[0]?.closed).toBe(true);
    expect(pool.stats()).toEqual({ open: 0, idle: 0, waiting: 0 });
  });

  it('a failed open frees its place for the next caller', async () => {
    let fail = true;
    const { pool } = harness({ max: 1, open: () => (fail ? Promise.reject(new Error('refused')) : Promise.resolve({ id: 9, dead: false, closed: false })) });
    await expect(pool.use(() => Promise.resolve(), 1000)).rejects.toThrow('refused');
    fail = false;
    expect(await pool.use((conn) => Promise.resolve(conn.id), 1000)).toBe(9);
  });

  it('close: idle connections close at once, busy ones when their work ends, waiters and later callers are refused', async () => {
    const { pool, made } = harness({ max: 1 });
    let finish!: () => void;
    const busy = pool.use(() => new Promise<void>((resolve) => (finish = resolve)), 10_000);
    await vi.advanceTimersByTimeAsync(0);
    const waiter = pool.use(() => Promise.resolve(), 10_000).catch((err: unknown) => err);
    await pool.close();
    expect(await waiter).toMatchObject({ message: 'closed' });
    expect(made[0]?.closed).toBe(false);
    finish();
    await busy;
    expect(made[0]?.closed).toBe(true);
    await expect(pool.use(() => Promise.resolve(), 1000)).rejects.toThrow('closed');
  });
});
