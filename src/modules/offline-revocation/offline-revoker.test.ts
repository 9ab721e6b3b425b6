/**
 * Revocation does not wait for bookkeeping (issue 8, point 4), on the test bed: while the store
 * "cannot be written" (the revoker is told so), an expired credential is disabled on its target
 * and journaled; when the store is back, the journal goes onto the chain first, then the normal
 * path verifies and records the revocation.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { openRevocationJournal, type FileJournal } from '../../journal/revocation-journal.js';
import type { ModuleContext } from '../context.js';
import { invoke } from '../grants/invoke.js';
import { reveal } from '../grants/reveal.js';
import { showGrant } from '../grants/show-grant.js';
import { createExpiryWatch, type ExpiryWatch } from './expiry-watch.js';
import { createOfflineRevoker, type OfflineRevoker } from './offline-revoker.js';

describe('offline revocation', () => {
  let bed: TestBed;
  let ctx: ModuleContext;
  let watch: ExpiryWatch;
  let journal: FileJournal;
  let revoker: OfflineRevoker;
  let usable: boolean;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    watch = createExpiryWatch();
    ctx = { ...bed.ctx, grantObservers: [watch.observer] };
    journal = openRevocationJournal(join(mkdtempSync(join(tmpdir(), 'bg-offline-')), 'revocation-journal'), 64 * 1024);
    usable = true;
    revoker = createOfflineRevoker({ ctx, watch, journal, storeUsable: () => usable });
  });
  afterEach(async () => {
    journal.close();
    await bed.close();
  });

  const open = (account: string) => invoke(ctx, bed.actors.alice, { account, condition: 'outage', reason: 'r', incident: 'INC-4', ttl: '15m' });

  it('offline-revocation: with the store unwritable, an expired credential is disabled on time and its session ended, with the evidence journaled', async () => {
    const grant = await open('db-breakglass');
    const { password } = await reveal(ctx, bed.actors.alice, grant.id);
    const session = bed.target.login('bg_admin', password!);
    expect(session).not.toBe('rejected');
    expect(watch.size).toBe(1);

    usable = false; // the disk fills up: no job can be claimed, nothing recorded
    bed.clock.advance(15 * 60_000 - 1);
    await revoker.tick();
    expect(bed.target.account('bg_admin')?.canLogin).toBe(true); // not yet due
    bed.clock.advance(1);
    await revoker.tick();
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    expect(session !== 'rejected' && session.alive()).toBe(false);
    expect(journal.records()).toEqual([{ grantId: grant.id, at: bed.clock.now().toISOString(), target: 'db', principal: 'bg_admin', mode: 'prestaged' }]);
    await revoker.tick(); // done once per outage
    expect(bed.target.calls('disable')).toBe(1);
    expect(await bed.audit()).not.toContain('grant.offline-disabled');

    usable = true; // room again: the journal goes onto the chain, in order, then the normal path
    await revoker.tick();
    expect(journal.records()).toEqual([]);
    await bed.runDue();
    const actions = (await bed.auditEvents()).filter((e) => e.subject === grant.id).map((e) => e.action);
    expect(actions.indexOf('grant.offline-disabled')).toBeGreaterThan(-1);
    expect(actions.indexOf('grant.offline-disabled')).toBeLessThan(actions.indexOf('grant.revocation-verified'));
    expect((await showGrant(ctx, bed.actors.bob, grant.id)).state).toBe('awaiting-certification');
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('offline-revocation: an ephemeral credential is destroyed; a target that is down is tried again next round', async () => {
    const grant = await open('db-ephemeral');
    usable = false;
    bed.clock.advance(15 * 60_000);
    bed.target.setDown(true);
    await revoker.tick();
    expect(bed.target.issued(grant.id)).toBeDefined();
    expect(journal.records()).toEqual([]);
    expect(bed.logs.some((l) => l.message.includes('could not disable an expired credential without the store'))).toBe(true);
    bed.target.setDown(false);
    await revoker.tick();
    expect(bed.target.issued(grant.id)).toBeUndefined();
    expect(journal.records().map((r) => r.mode)).toEqual(['ephemeral']);
  });

  it('offline-revocation: while the store is usable it leaves revocation to the scheduler', async () => {
    await open('db-breakglass');
    bed.clock.advance(16 * 60_000);
    await revoker.tick();
    expect(bed.target.calls('disable')).toBe(0);
    expect(journal.records()).toEqual([]);
  });

  it('offline-revocation: evidence journaled before a restart reaches the chain once the next run finds the store usable', async () => {
    journal.append({ grantId: 'gr_before_restart', at: '2030-01-01T00:00:00.000Z', target: 'db', principal: 'bg_admin', mode: 'prestaged' });
    await revoker.tick();
    const events = (await bed.auditEvents()).filter((e) => e.action === 'grant.offline-disabled');
    expect(events.map((e) => [e.subject, e.details['at']])).toEqual([['gr_before_restart', '2030-01-01T00:00:00.000Z']]);
    expect(journal.records()).toEqual([]);
  });

  it('offline-revocation: the revocation job and the timer flushing at once write each journaled record onto the chain once, in order', async () => {
    journal.append({ grantId: 'gr_one', at: '2030-01-01T00:00:00.000Z', target: 'db', principal: 'bg_admin', mode: 'prestaged' });
    journal.append({ grantId: 'gr_two', at: '2030-01-01T00:00:01.000Z', target: 'db', principal: 'bg_other', mode: 'prestaged' });
    await Promise.all([revoker.flushJournal(), revoker.tick(), revoker.flushJournal()]);
    const events = (await bed.auditEvents()).filter((e) => e.action === 'grant.offline-disabled');
    expect(events.map((e) => e.subject)).toEqual(['gr_one', 'gr_two']);
    expect(journal.records()).toEqual([]);
  });
});
