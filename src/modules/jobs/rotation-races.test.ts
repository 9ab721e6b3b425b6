/**
 * Two rotations of one account, on the test bed: within one process they are serialized by the
 * account lock; across two instances (two contexts on one store) the version compare-and-set
 * catches the loser, which rotates once more so the target and the store agree.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Grant } from '../../domain/index.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { showGrant } from '../grants/show-grant.js';
import { createKeyedMutex } from '../lib/keyed-mutex.js';
import { openAccountSecret } from '../targets.js';
import { revokeGrant } from './revoke-grant.js';
import { rotateGrant } from './rotate-grant.js';
import { jobHandlers } from './job-handlers.js';
import { createScheduler } from '../../scheduler/scheduler.js';

describe('rotation races', () => {
  let bed: TestBed;
  let grant: Grant;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'r', incident: 'INC-3', ttl: '15m' });
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    // Revoke by hand so that the rotation is ours to run (and race).
    await revokeGrant(bed.ctx, grant.id);
    expect((await showGrant(bed.ctx, bed.actors.bob, grant.id)).state).toBe('rotating');
  });
  afterEach(async () => {
    await bed.close();
  });

  const account = () => bed.store.transaction(async (tx) => (await tx.catalog.findAccountByName('db-breakglass'))!);
  /** Does the target accept the secret the store holds? */
  const agree = async () => {
    const secret = openAccountSecret(bed.ctx, await account());
    return (await bed.target.connector().prestaged!.verify({ username: 'bg_admin', password: secret })) === 'accepted';
  };

  it('race: two rotations of one account in one process: one rotates, the other finds it done', async () => {
    const before = (await account()).secretVersion;
    let release = () => {};
    const held = bed.target.delay('rotate', new Promise<void>((resolve) => (release = resolve)));
    const first = rotateGrant(bed.ctx, grant.id);
    await held.started;
    const second = rotateGrant(bed.ctx, grant.id);
    release();
    await Promise.all([first, second]);
    expect(bed.target.calls('rotate')).toBe(1);
    expect((await account()).secretVersion).toBe(before + 1);
    expect(await agree()).toBe(true);
    expect((await showGrant(bed.ctx, bed.actors.bob, grant.id)).state).toBe('awaiting-certification');
  });

  it('race: two instances rotate one account: the loser rotates once more, and target and store agree', async () => {
    const before = (await account()).secretVersion;
    // A second instance: same store and target, its own in-memory locks.
    const peer = { ...bed.ctx, accountLocks: createKeyedMutex() };
    let release = () => {};
    const held = bed.target.delay('rotate', new Promise<void>((resolve) => (release = resolve)));
    const slow = rotateGrant(bed.ctx, grant.id);
    await held.started;
    // The peer rotates and records while ours is still on its way to the target.
    await rotateGrant(peer, grant.id);
    expect((await account()).secretVersion).toBe(before + 1);
    release();
    await slow;
    // Ours landed on the target last; it was not recorded, so the account was rotated again.
    expect(bed.target.calls('rotate')).toBe(3);
    expect((await account()).secretVersion).toBe(before + 2);
    expect(await agree()).toBe(true);
    const actions = (await bed.audit()).filter((a) => a === 'grant.rotation-verified' || a === 'account.secret-resynchronised');
    expect(actions).toEqual(['grant.rotation-verified', 'account.secret-resynchronised']);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('fencing: two workers on one rotate job: the one whose lease passed records nothing, and target and store agree', async () => {
    const before = (await account()).secretVersion;
    const peer = { ...bed.ctx, accountLocks: createKeyedMutex() };
    const workerA = createScheduler({ store: bed.store, clock: bed.clock, handlers: jobHandlers(bed.ctx), retry: bed.ctx.retry, log: bed.ctx.log, instanceId: 'inst-a', leaseMs: 4_000, heartbeatMs: 0 });
    const workerB = createScheduler({ store: bed.store, clock: bed.clock, handlers: jobHandlers(peer), retry: bed.ctx.retry, log: bed.ctx.log, instanceId: 'inst-b', leaseMs: 4_000, heartbeatMs: 0 });
    // Only the rotate job is left to claim (the revocation was run by hand above).
    for (const job of await bed.jobs(grant.id)) if (job.kind !== 'rotate') await bed.store.transaction((tx) => tx.jobs.complete(job));
    let release = () => {};
    const held = bed.target.delay('rotate', new Promise<void>((resolve) => (release = resolve)));
    const runningA = workerA.runDue();
    await held.started; // A holds the rotate job and is on its way to the target
    bed.clock.advance(4_000); // …and stalls past its lease
    expect(await workerB.runDue()).toBe(1); // B takes the job over and finishes it
    expect((await account()).secretVersion).toBe(before + 1);
    expect(await bed.jobs(grant.id)).toEqual([]);
    release();
    expect(await runningA).toBe(1);
    // A's secret reached the target after B's; A could not record it, so it set target and store right.
    expect(await agree()).toBe(true);
    expect((await account()).secretVersion).toBe(before + 2);
    const actions = (await bed.audit()).filter((a) => a === 'grant.rotation-verified' || a === 'account.secret-resynchronised');
    expect(actions).toEqual(['grant.rotation-verified', 'account.secret-resynchronised']);
    expect((await showGrant(bed.ctx, bed.actors.bob, grant.id)).state).toBe('awaiting-certification');
    expect(await bed.jobs(grant.id)).toEqual([]);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });
});
