import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/create-store.js';
import { newGrant } from '../../src/modules/grants/grant-store.js';

/**
 * Adds `count` active ephemeral grants (and the expire job each one has) to the store of a
 * **running** server, through the product's own repositories on a second connection to the
 * SQLite file (WAL lets the two processes share it; each batch is one `BEGIN IMMEDIATE`), 2,000
 * per transaction. Why not through the API: 100,000 invokes take longer than the bench may, and
 * what the scale experiment needs is the size of the tables the expiry path reads (grants, jobs),
 * not the invokes. What it leaves out: the grants' audit events and their credentials on the
 * target. They expire hours later, after the bench, so nothing ever acts on either.
 *
 * @example await seedActiveGrants(dataDir, 90_000, ['bench-0', 'bench-1'], 'alice', 4 * 3_600_000)
 */
export async function seedActiveGrants(dataDir: string, count: number, accountNames: readonly string[], requester: string, ttlMs: number): Promise<number> {
  const store = await createSqliteStore(join(dataDir, 'breakglass.db'));
  try {
    const { accounts, user } = await store.read(async (tx) => ({
      accounts: await Promise.all(accountNames.map((name) => tx.catalog.findAccountByName(name))),
      user: await tx.users.findByName(requester),
    }));
    if (user === undefined || accounts.some((account) => account === undefined)) throw new Error('seed-grants: apply the catalog (accounts and requester) first');
    let made = 0;
    while (made < count) {
      const n = Math.min(2_000, count - made);
      await store.transaction(async (tx) => {
        const now = new Date();
        for (let i = 0; i < n; i++) {
          const account = accounts[(made + i) % accounts.length]!;
          const grant = newGrant({
            accountId: account.id,
            requesterId: user.id,
            requesterName: user.name,
            condition: 'outage',
            reason: 'bench: seeded background grant',
            incident: `INC-seed-${made + i}`,
            state: 'active',
            mode: 'ephemeral',
            createdAt: now,
            expiresAt: new Date(now.getTime() + ttlMs),
            ttlMs,
            drill: false,
            overrideReason: undefined,
          });
          await tx.grants.insert({ ...grant, activatedAt: now });
          await tx.jobs.schedule({ kind: 'expire', grantId: grant.id, dueAt: grant.expiresAt });
        }
      });
      made += n;
    }
    return made;
  } finally {
    await store.close();
  }
}
