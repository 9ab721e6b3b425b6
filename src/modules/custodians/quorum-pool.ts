/**
 * Shares presented for a grant, held in memory only until the quorum is reached (or the
 * request expires), then wiped. They are never written to the store: a copy of the database
 * holds no share. A restart forgets them; custodians present them again.
 */
export interface QuorumPool {
  add(grantId: string, holder: string, share: Buffer): number;
  has(grantId: string, holder: string): boolean;
  holders(grantId: string): string[];
  take(grantId: string): Buffer[];
  drop(grantId: string): void;
}

export function createQuorumPool(): QuorumPool {
  const pools = new Map<string, Map<string, Buffer>>();
  const drop = (grantId: string) => {
    for (const share of pools.get(grantId)?.values() ?? []) share.fill(0);
    pools.delete(grantId);
  };
  return {
    add(grantId, holder, share) {
      const pool = pools.get(grantId) ?? new Map<string, Buffer>();
      pools.set(grantId, pool);
      pool.set(holder, Buffer.from(share));
      return pool.size;
    },
    has: (grantId, holder) => pools.get(grantId)?.has(holder) ?? false,
    holders: (grantId) => [...(pools.get(grantId)?.keys() ?? [])],
    take(grantId) {
      const shares = [...(pools.get(grantId)?.values() ?? [])].map((s) => Buffer.from(s));
      drop(grantId);
      return shares;
    },
    drop,
  };
}
