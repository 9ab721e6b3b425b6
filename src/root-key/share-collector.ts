import { combineUnsealShares, decodeUnsealShare, unsealShareFingerprint } from '../crypto/root-key-shares.js';
import { AppError } from '../errors/index.js';
import type { ShamirDescriptor } from './descriptor.js';

/**
 * Collects unseal shares for one `shamir` descriptor. Each share is checked on its own before
 * it counts: well-formed (checksum), of the current set (not an older one after a rekey or
 * rotation), one of the current shares (fingerprint), not presented before. A refused share
 * leaves the progress as it was.
 */
export interface ShareCollector {
  readonly threshold: number;
  readonly progress: number;
  /** Share positions (1-based) accepted so far: for the audit event, never the shares. */
  readonly accepted: readonly number[];
  /** Validates and keeps one share; returns the new progress. Throws AppError when refused. */
  add(text: string): number;
  /** Rebuilds and checks the root key once `threshold` shares are in; then forgets the shares. */
  combine(): Promise<Buffer>;
  /** Forgets every share presented so far. */
  reset(): void;
}

export function createShareCollector(descriptor: ShamirDescriptor): ShareCollector {
  const shares = new Map<string, { index: number; share: Buffer }>();
  const reset = () => {
    for (const { share } of shares.values()) share.fill(0);
    shares.clear();
  };
  return {
    threshold: descriptor.threshold,
    get progress() {
      return shares.size;
    },
    get accepted() {
      return [...shares.values()].map((s) => s.index).sort((a, b) => a - b);
    },
    add(text) {
      const decoded = decodeUnsealShare(text);
      const fingerprint = unsealShareFingerprint(decoded.share);
      if (decoded.setId !== descriptor.set) {
        decoded.share.fill(0);
        throw new AppError(
          'validation',
          `this unseal share belongs to another set (${decoded.setId}); the current set is ${descriptor.set}. Shares from before a rekey or rotation no longer work`,
          { path: 'share' },
        );
      }
      if (!descriptor.fingerprints.includes(fingerprint)) {
        decoded.share.fill(0);
        throw new AppError('validation', 'this is not one of the current unseal shares (it was altered, or never issued); it does not count', { path: 'share' });
      }
      // The position comes from the issued fingerprints, not the share's own (relabelable) header.
      const index = descriptor.fingerprints.indexOf(fingerprint) + 1;
      if (shares.has(fingerprint)) {
        decoded.share.fill(0);
        throw new AppError('conflict', `unseal share ${index} was already presented; it counts once (${shares.size} of ${descriptor.threshold} so far)`);
      }
      if (shares.size >= descriptor.threshold) {
        decoded.share.fill(0);
        throw new AppError('conflict', `${descriptor.threshold} shares are in already`);
      }
      shares.set(fingerprint, { index, share: decoded.share });
      return shares.size;
    },
    async combine() {
      if (shares.size < descriptor.threshold) {
        throw new AppError('validation', `${shares.size} of ${descriptor.threshold} unseal shares; ${descriptor.threshold - shares.size} more needed`);
      }
      try {
        return await combineUnsealShares(
          [...shares.values()].map((s) => s.share),
          descriptor.check,
        );
      } finally {
        reset();
      }
    },
    reset,
  };
}
