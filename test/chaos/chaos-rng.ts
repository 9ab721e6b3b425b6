/**
 * The chaos suite's one source of randomness: seeded (mulberry32), so a run that found a
 * violation can be replayed with `CHAOS_SEED=<seed>`. Each iteration draws from its own stream
 * (`fork`), so iterations running side by side do not change each other's draws.
 */
import { randomInt } from 'node:crypto';

export interface ChaosRng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  between(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** An independent stream for one iteration, the same for the same seed and label. */
  fork(label: string): ChaosRng;
}

export function createChaosRng(seed: number): ChaosRng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    between: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick(items) {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    fork(label) {
      let h = seed >>> 0;
      for (const c of label) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
      return createChaosRng(h);
    },
  };
}

/** `CHAOS_SEED` when set (to replay a run), otherwise a fresh seed; printed by the runner. */
export function chaosSeed(env: Record<string, string | undefined> = process.env): number {
  const text = env['CHAOS_SEED'];
  if (text === undefined || text === '') return randomInt(1, 2 ** 31);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`CHAOS_SEED must be a non-negative integer, not "${text}"`);
  return seed;
}
