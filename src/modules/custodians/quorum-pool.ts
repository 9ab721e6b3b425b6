import { AppError } from '../../errors/index.js';

/**
 * Shares presented for a grant, held in memory only until the quorum is reached (or the
 * request expires), then wiped. They are never written to the store: a copy of the database
 * holds no share. A restart forgets them; custodians present them again.
 *
 * A share counts only once its audit event is written: `add` holds it pending, `confirm`
 * counts it (after the audit commit), `remove` forgets it (the audit failed). Each call is one
 * synchronous step, so two custodians presenting at once get distinct counts and exactly one
 * of them sees the threshold reached.
 */
export interface QuorumPool {
  /** Holds a share pending; throws `conflict` when this holder already presented one. Returns how many are held. */
  add(grantId: string, holder: string, share: Buffer): number;
  /** Counts a pending share; returns how many shares of the grant count now. */
  confirm(grantId: string, holder: string): number;
  /** Forgets one holder's share (its audit event could not be written). */
  remove(grantId: string, holder: string): void;
  has(grantId: string, holder: string): boolean;
  /** Holders whose shares count. */
  holders(grantId: string): string[];
  /** Hands over the counted shares and forgets the grant's pool. */
  take(grantId: string): Buffer[];
  drop(grantId: string): void;
}

interface Held {
  readonly share: Buffer;
  counted: boolean;
}

export function createQuorumPool(): QuorumPool {
  const pools = new Map<string, Map<string, Held>>();
  const wipe = (held: Held | undefined) => held?.share.fill(0);
  const drop = (grantId: string) => {
    for (const held of pools.get(grantId)?.values() ?? []) wipe(held);
    pools.delete(grantId);
  };
  const counted = (grantId: string) => [...(pools.get(grantId)?.entries() ?? [])].filter(([, held]) => held.counted);
  return {
    add(grantId, holder, share) {
      const pool = pools.get(grantId) ?? new Map<string, Held>();
      if (pool.has(holder)) throw new AppError('conflict', `${holder} already presented a share for grant ${grantId}`);
      pools.set(grantId, pool);
      pool.set(holder, { share: Buffer.from(share), counted: false });
      return pool.size;
    },
    confirm(grantId, holder) {
      const held = pools.get(grantId)?.get(holder);
      if (held) held.counted = true;
      return counted(grantId).length;
    },
    remove(grantId, holder) {
      const pool = pools.get(grantId);
      wipe(pool?.get(holder));
      pool?.delete(holder);
    },
    has: (grantId, holder) => pools.get(grantId)?.has(holder) ?? false,
    holders: (grantId) => counted(grantId).map(([holder]) => holder),
    take(grantId) {
      const shares = counted(grantId).map(([, held]) => Buffer.from(held.share));
      drop(grantId);
      return shares;
    },
    drop,
  };
}
