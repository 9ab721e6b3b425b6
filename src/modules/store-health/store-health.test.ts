import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/index.js';
import type { ProbedStore, StoreCondition } from '../../ports/index.js';
import { createStoreHealth, nextStoreHealth, type StoreHealthStatus } from './store-health.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1_000);
const full: StoreCondition = { fault: 'unwritable', detail: 'disk full' };
const gone: StoreCondition = { fault: 'lost', detail: 'breakglass.db was removed from the data directory' };

/** A store whose probe answers what the test says and whose transactions fail on demand. */
function fakeStore() {
  const state: { probe: StoreCondition | undefined; failWith: Error | undefined; ran: number } = { probe: undefined, failWith: undefined, ran: 0 };
  const store: ProbedStore = {
    dialect: 'sqlite',
    close: () => Promise.resolve(),
    transaction: async <T>(work: (tx: never) => Promise<T>) => {
      state.ran++;
      if (state.failWith !== undefined) throw state.failWith;
      return work(undefined as never);
    },
    // issue 13 (store reads)
    read: async <T>(work: (tx: never) => Promise<T>) => {
      state.ran++;
      if (state.failWith !== undefined) throw state.failWith;
      return work(undefined as never);
    },
    health: {
      probe: () => Promise.resolve(state.probe),
      diagnose: (error) => (error instanceof Error && error.message === 'SQLITE_FULL' ? full : undefined),
    },
  };
  return { store, state };
}

function monitor() {
  const fake = fakeStore();
  let now = t0;
  const logged: string[] = [];
  const log = { info: () => undefined, warn: (_f: object, m: string) => void logged.push(m), error: (_f: object, m: string) => void logged.push(m) };
  const health = createStoreHealth({ store: fake.store, clock: { now: () => now }, log: () => log });
  return { health, fake, logged, setNow: (date: Date) => (now = date) };
}

describe('store health state machine', () => {
  it('store-unwritable: a fault is entered once and keeps its start; a successful probe ends it', () => {
    let status: StoreHealthStatus = { state: 'ok' };
    status = nextStoreHealth(status, full, at(1));
    expect(status).toEqual({ state: 'unwritable', detail: 'disk full', since: at(1) });
    const same = nextStoreHealth(status, full, at(2));
    expect(same).toBe(status);
    expect(nextStoreHealth(status, { fault: 'unwritable', detail: 'read-only' }, at(3))).toEqual({ state: 'unwritable', detail: 'read-only', since: at(1) });
    expect(nextStoreHealth(status, 'probe-ok', at(4))).toEqual({ state: 'ok' });
  });

  it('store-lost: lost is terminal, whatever the probe says afterwards', () => {
    const lost = nextStoreHealth({ state: 'ok' }, gone, at(1));
    expect(lost.state).toBe('lost');
    expect(nextStoreHealth(lost, 'probe-ok', at(2))).toBe(lost);
    expect(nextStoreHealth(lost, full, at(3))).toBe(lost);
  });

  it('store-unreachable: a different fault replaces the current one from now', () => {
    const down = nextStoreHealth(nextStoreHealth({ state: 'ok' }, full, at(1)), { fault: 'unreachable', detail: 'ECONNREFUSED' }, at(5));
    expect(down).toEqual({ state: 'unreachable', detail: 'ECONNREFUSED', since: at(5) });
  });
});

describe('store health monitor', () => {
  it('store-unwritable: a failed transaction the store diagnoses moves the state; only a probe brings it back', async () => {
    const { health, fake, logged, setNow } = monitor();
    fake.state.failWith = new Error('SQLITE_FULL');
    setNow(at(7));
    await expect(health.store.transaction(() => Promise.resolve(1))).rejects.toThrow('SQLITE_FULL');
    expect(health.status()).toEqual({ state: 'unwritable', detail: 'disk full', since: at(7) });
    fake.state.failWith = undefined;
    // A successful transaction proves nothing (it may only have read).
    await health.store.transaction(() => Promise.resolve(1));
    expect(health.status().state).toBe('unwritable');
    expect((await health.check()).state).toBe('ok');
    expect(logged).toEqual(['the store is unwritable: nothing is issued or changed until it recovers', 'the store is usable again: issuing and changing access resume']);
  });

  it('store-unwritable: an ordinary failure (a conflict) says nothing about the store', async () => {
    const { health, fake } = monitor();
    fake.state.failWith = new AppError('conflict', 'someone else won');
    await expect(health.store.transaction(() => Promise.resolve(1))).rejects.toThrow('someone else won');
    expect(health.status().state).toBe('ok');
  });

  it('store-lost: once the probe finds the file gone, no transaction starts and listeners hear it once', async () => {
    const { health, fake, logged } = monitor();
    let heard = 0;
    health.onLost(() => heard++);
    fake.state.probe = gone;
    expect((await health.check()).state).toBe('lost');
    fake.state.probe = undefined;
    expect((await health.check()).state).toBe('lost');
    const ran = fake.state.ran;
    const refused = await health.store.transaction(() => Promise.resolve(1)).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'store_unavailable' });
    expect((refused as Error).message).toContain('restore the data directory from a backup and restart');
    expect(fake.state.ran).toBe(ran);
    expect(heard).toBe(1);
    expect(logged.filter((line) => line.startsWith('THE STORE IS LOST'))).toHaveLength(1);
  });

  it('store-unwritable: a probe that throws counts as unwritable instead of escaping', async () => {
    const { health, fake } = monitor();
    fake.store.health.probe = () => Promise.reject(new Error('boom'));
    expect((await health.check()).state).toBe('unwritable');
  });
});
