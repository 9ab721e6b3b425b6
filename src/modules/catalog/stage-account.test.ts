/**
 * issue 13 (pool): apply stages an account inline and also schedules a stage job; the two may run
 * at once in one process. Staging is one at a time per account (`ctx.accountLocks`): the second
 * waits, finds the account staged, and does not touch the target again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { stageAccount } from './stage-account.js';

describe('stageAccount races', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  it('race: the inline stage and the stage job of one account in one process stage it once', async () => {
    // The target is down during apply: the account stays pending, its stage job scheduled.
    bed.target.setDown(true);
    await bed.apply(bedCatalog);
    bed.target.setDown(false);
    const account = await bed.store.transaction(async (tx) => (await tx.catalog.findAccountByName('db-breakglass'))!);
    expect(account.staging).toBe('pending');
    const before = bed.target.calls('stage');

    let release = () => {};
    const held = bed.target.delay('stage', new Promise<void>((resolve) => (release = resolve)));
    const inline = stageAccount(bed.ctx, account.id);
    await held.started;
    const job = stageAccount(bed.ctx, account.id);
    release();
    expect((await Promise.all([inline, job])).sort()).toEqual([false, true]);

    expect(bed.target.calls('stage') - before).toBe(1);
    const staged = await bed.store.transaction(async (tx) => (await tx.catalog.findAccountByName('db-breakglass'))!);
    expect(staged.staging).toBe('staged');
    expect(staged.secretVersion).toBe(account.secretVersion + 1);
  });
});
