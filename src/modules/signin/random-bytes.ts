import { randomBytes } from 'node:crypto';

/**
 * Randomness comes in through this port (STYLE.md rule 4): production passes
 * {@link systemRandomBytes}; tests pass a fixed source to make secrets reproducible.
 */
export type RandomBytes = (size: number) => Uint8Array;

/** node:crypto's CSPRNG. */
export const systemRandomBytes: RandomBytes = (size) => randomBytes(size);
