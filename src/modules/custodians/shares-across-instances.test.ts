/**
 * Dual control with several instances on one store: the shares live in the store, sealed, so a
 * share presented to one instance counts wherever the last one arrives, and exactly one
 * presentation releases. Each "instance" is a module context of its own (its own store
 * connection on PostgreSQL, its own account locks) over the same database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStoreDatabase } from '../../../test/support/harness.js';
import { probeTcp, requireService } from '../../../test/support/integration.js';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { decodeShare } from '../../crypto/index.js';
import type { Grant } from '../../domain/index.js';
import type { Store } from '../../ports/index.js';
import { createPostgresStore, createSqliteStore } from '../../store/create-store.js';
import type { ModuleContext } from '../context.js';
import { cancelGrant } from '../grants/cancel-grant.js';
import { invoke } from '../grants/invoke.js';
import { showGrant } from '../grants/show-grant.js';
import { createKeyedMutex } from '../lib/keyed-mutex.js';
import { runCeremony } from './ceremony.js';
import { submitShare } from './submit-share.js';

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));
type Custodian = 'carol' | 'dave' | 'erin';

/**
 * Two stores over one database on PostgreSQL (two pools: what two instances have). SQLite has
 * one writer per file, and one server per data directory: both contexts share its one store.
 */
async function sharedStores(dialect: Store['dialect']): Promise<{ a: Store; b: Store; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const store = await createSqliteStore(':memory:');
    return { a: store, b: store, drop: () => Promise.resolve() };
  }
  const database = await createStoreDatabase();
  return { a: await createPostgresStore(database.url, { poolSize: 4 }), b: await createPostgresStore(database.url, { poolSize: 4 }), drop: database.drop };
}

describe.each([
  { dialect: 'sqlite' as const, skip: false },
  { dialect: 'postgres' as const, skip: postgres.skip },
])('custodian shares across instances ($dialect)', ({ dialect, skip }) => {
  let bed: TestBed;
  let instanceB: ModuleContext;
  let stores: Awaited<ReturnType<typeof sharedStores>>;
  let shares: Record<string, string>;
  beforeEach(async ({ skip: skipTest }) => {
    if (skip) skipTest();
    stores = await sharedStores(dialect);
    bed = await createTestBed({ store: stores.a });
    // Another instance: same database and root key, its own connections and locks, nothing else shared.
    instanceB = { ...bed.ctx, store: stores.b, accountLocks: createKeyedMutex() };
    await bed.apply(`${bedCatalog}\n${bedVaultAccount}`);
    shares = { ...(await runCeremony(bed.ctx, bed.actors.admin, 'db-vault')).shares };
    bed.clock.advance(2_000);
    await bed.runDue();
  });
  afterEach(async () => {
    if (skip) return;
    if (stores.b !== stores.a) await stores.b.close();
    await bed.close();
    await stores.drop();
  });

  const request = () => invoke(bed.ctx, bed.actors.alice, { account: 'db-vault', condition: 'outage', reason: 'vault down', incident: 'INC-9', ttl: '15m' });
  const present = (ctx: ModuleContext, grant: Grant, who: Custodian) => submitShare(ctx, bed.actors[who], grant.id, shares[who]!);
  const heldFor = (grant: Grant) => stores.b.transaction((tx) => tx.pendingShares.list(grant.id));
  const actionsOf = async (grant: Grant) => (await bed.auditEvents()).filter((e) => e.subject === grant.id).map((e) => e.action);

  it('two instances: the last two shares, presented to different instances at once, release exactly once', async () => {
    for (let round = 0; round < 3; round++) {
      const grant = await request();
      const receipts = await Promise.all([present(bed.ctx, grant, 'carol'), present(instanceB, grant, 'dave')]);
      expect(receipts.map((r) => r.presented).sort()).toEqual([1, 2]);
      expect(receipts.filter((r) => r.grant.state === 'active')).toHaveLength(1);
      const actions = await actionsOf(grant);
      expect(actions.filter((a) => a === 'grant.share-presented')).toHaveLength(2);
      expect(actions.filter((a) => a === 'grant.quorum-reached')).toHaveLength(1);
      expect(await heldFor(grant)).toEqual([]);
      // Done with this case: let it expire so the account is free for the next round.
      bed.clock.advance(16 * 60_000);
      await bed.runDue();
    }
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('a share presented to one instance counts at the other, and is never stored in clear', async () => {
    const grant = await request();
    expect((await present(bed.ctx, grant, 'carol')).presented).toBe(1);
    const [row, ...others] = await heldFor(grant);
    expect(others).toEqual([]);
    expect(row?.holder).toBe('carol');
    const raw = decodeShare(shares['carol']!).share;
    for (const encoding of ['base64', 'base64url', 'hex'] as const) expect(row?.sealed).not.toContain(raw.toString(encoding));
    expect(JSON.parse(row?.sealed ?? '')).toMatchObject({ alg: 'A256GCM' });
    // The same custodian again, at the other instance: refused, still one share.
    expect(await present(instanceB, grant, 'carol').then(() => 'allowed', (e: { code: string }) => e.code)).toBe('conflict');
    const released = await present(instanceB, grant, 'erin');
    expect(released).toMatchObject({ presented: 2, grant: { state: 'active' } });
    expect(bed.target.account('bg_vault')?.canLogin).toBe(true);
    expect(await heldFor(grant)).toEqual([]);
  });

  it('a cancel at one instance, or the end of the window, wipes the shares held at the other', async () => {
    const cancelled = await request();
    await present(instanceB, cancelled, 'carol');
    expect(await heldFor(cancelled)).toHaveLength(1);
    await cancelGrant(bed.ctx, bed.actors.alice, cancelled.id);
    expect(await heldFor(cancelled)).toEqual([]);
    expect((await bed.auditEvents()).find((e) => e.subject === cancelled.id && e.action === 'grant.cancelled')?.details).toMatchObject({ presented: ['carol'] });

    const expired = await request();
    await present(instanceB, expired, 'dave');
    expect(await heldFor(expired)).toHaveLength(1);
    bed.clock.advance(24 * 60 * 60_000);
    await bed.runDue();
    expect((await showGrant(bed.ctx, bed.actors.bob, expired.id)).state).toBe('expired');
    expect(await heldFor(expired)).toEqual([]);
  });
});
