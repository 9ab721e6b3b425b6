import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { asGrantId, type Actor, type Grant } from '../../domain/index.js';
import { listGrants } from './show-grant.js';

describe('listGrants', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
  });
  afterEach(async () => {
    await bed.close();
  });

  /** `count` closed cases of `requester`, one second apart from `start`, written as rows. */
  const insertGrants = async (requester: Actor, count: number, start: number) => {
    await bed.store.transaction(async (tx) => {
      const account = (await tx.catalog.findAccountByName('db-ephemeral'))!;
      for (let i = 0; i < count; i++) {
        const at = new Date(bed.clock.now().getTime() + (start + i) * 1_000);
        const grant: Grant = {
          id: asGrantId(`gr_${requester.name}${String(i).padStart(4, '0')}`),
          accountId: account.id,
          requesterId: requester.id,
          requesterName: requester.name,
          condition: 'outage',
          reason: 'r',
          incident: 'INC-1',
          state: 'closed',
          mode: 'ephemeral',
          createdAt: at,
          activatedAt: at,
          expiresAt: at,
          ttlMs: 60_000,
          endedAt: at,
          endReason: 'expired',
          revokedAt: at,
          rotatedAt: undefined,
          revealedAt: undefined,
          closedAt: at,
          certification: undefined,
          failure: undefined,
        };
        await tx.grants.insert(grant);
      }
    });
  };

  it('a responder sees all their own grants however many others exist', async () => {
    await insertGrants(bed.actors.alice, 3, 0);
    await insertGrants(bed.actors.bob, 600, 10);
    const mine = await listGrants(bed.ctx, bed.actors.alice, {});
    expect(mine.map((g) => g.id).sort()).toEqual(['gr_alice0000', 'gr_alice0001', 'gr_alice0002']);
    expect(await listGrants(bed.ctx, bed.actors.alice, { state: 'closed' })).toHaveLength(3);
    // An overseer sees everyone's, newest first.
    expect((await listGrants(bed.ctx, bed.actors.bob, {}))[0]?.id).toBe('gr_bob0599');
  });
});
