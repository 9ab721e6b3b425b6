import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../errors/index.js';
import { endLiveSessions, SESSION_DRAIN_MS } from './end-sessions.js';

describe('endLiveSessions', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('repeats the kill until the target lists no session', async () => {
    const live = [3, 1, 0];
    const round = vi.fn(() => Promise.resolve(live.shift() ?? 0));
    const done = endLiveSessions({ round, stillAlive: (n) => `${n} left` });
    await vi.runAllTimersAsync();
    await done;
    expect(round).toHaveBeenCalledTimes(3);
  });

  it('gives up retryably once the drain time has passed, saying how many are left', async () => {
    const done = endLiveSessions({ round: () => Promise.resolve(2), stillAlive: (n) => `foo: ${n} session(s) still alive` });
    const settled = done.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(SESSION_DRAIN_MS + 100);
    const error = await settled;
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'target_unavailable', retryable: true, message: 'foo: 2 session(s) still alive' });
  });

  // issue 12 (P2): the evidence counts what the first round saw, and each session once.
  it('reports the sessions live at the first round and every distinct one it ended', async () => {
    const rounds: string[][] = [['11', '12', '13'], ['12'], ['12', '14'], []];
    const done = endLiveSessions({ round: () => Promise.resolve(rounds.shift() ?? []), stillAlive: (n) => `${n} left` });
    await vi.runAllTimersAsync();
    expect(await done).toEqual({ sessionsBefore: 3, sessionsEnded: 4 });
  });

  it('with bare counts, reports the largest count seen as ended (a session still exiting is not counted twice)', async () => {
    const live = [3, 1, 0];
    const done = endLiveSessions({ round: () => Promise.resolve(live.shift() ?? 0), stillAlive: (n) => `${n} left` });
    await vi.runAllTimersAsync();
    expect(await done).toEqual({ sessionsBefore: 3, sessionsEnded: 3 });
  });

  it('reports zeros when there was nothing to end', async () => {
    await expect(endLiveSessions({ round: () => Promise.resolve(0), stillAlive: (n) => `${n} left` })).resolves.toEqual({ sessionsBefore: 0, sessionsEnded: 0 });
  });
});
