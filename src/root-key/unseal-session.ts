import { AppError, isAppError } from '../errors/index.js';
import type { Logger } from '../modules/context.js';
import type { SealGate, SealStatus } from '../ports/index.js';
import type { ShamirDescriptor } from './descriptor.js';
import { createShareCollector } from './share-collector.js';

/** What the audit event of a share unseal records: positions and counts, never a share. */
export interface UnsealSummary {
  readonly mode: 'shamir';
  readonly threshold: number;
  readonly shares: number;
  /** Positions (1-based) of the shares that unsealed. */
  readonly presented: readonly number[];
  /** Shares refused while sealed (malformed, foreign, repeated). */
  readonly refused: number;
  readonly sealedSince: string;
}

export interface UnsealSession extends SealGate {
  readonly sealed: boolean;
}

/**
 * The seal of a server started with a `shamir` root key: shares arrive one request at a time
 * (`POST /v1/sys/unseal`); the threshold-th valid one rebuilds the root key and `onUnsealed`
 * wires the full server with it. Submissions are serialized, so two shares arriving together
 * cannot both be "the last one". If wiring fails, the server stays sealed and the shares must
 * be presented again.
 */
export function createUnsealSession(options: {
  descriptor: ShamirDescriptor;
  now: () => Date;
  log: Logger;
  onUnsealed: (rootKey: Buffer, summary: UnsealSummary) => Promise<void>;
}): UnsealSession {
  const { descriptor, log } = options;
  const collector = createShareCollector(descriptor);
  const sealedSince = options.now().toISOString();
  let sealed = true;
  let refused = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const status = (): SealStatus => ({ sealed, mode: 'shamir', threshold: descriptor.threshold, shares: descriptor.shares, progress: sealed ? collector.progress : 0 });

  async function present(share: string): Promise<SealStatus> {
    if (!sealed) return status();
    let progress: number;
    try {
      progress = collector.add(share);
    } catch (error) {
      refused += 1;
      log.warn({ code: isAppError(error) ? error.code : 'internal', progress: collector.progress, threshold: descriptor.threshold }, 'unseal share refused');
      throw error;
    }
    log.info({ progress, threshold: descriptor.threshold }, 'unseal share accepted');
    if (progress < descriptor.threshold) return status();
    const presented = collector.accepted;
    const rootKey = await collector.combine().catch((error: unknown) => {
      throw new AppError('integrity', 'the unseal shares matched their fingerprints but did not rebuild the root key (root-key.json altered?); progress was reset', {
        cause: error,
      });
    });
    try {
      await options.onUnsealed(rootKey, { mode: 'shamir', threshold: descriptor.threshold, shares: descriptor.shares, presented, refused, sealedSince });
    } catch (error) {
      rootKey.fill(0);
      log.error({ code: isAppError(error) ? error.code : 'internal', err: error instanceof Error ? error.message : 'unknown' }, 'unsealed, but the server could not start; still sealed');
      throw error;
    }
    sealed = false;
    return status();
  }

  return {
    get sealed() {
      return sealed;
    },
    status,
    unseal(share) {
      const next = queue.then(() => present(share));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
