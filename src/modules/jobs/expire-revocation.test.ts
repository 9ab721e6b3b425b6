/**
 * Issue 13: an expired grant's credential is disabled in the expiry's own step, not after a
 * queue of expire jobs; the revoke job stays as the durable backstop, due a moment later, and is
 * withdrawn once the step's revocation is verified (claimed meanwhile, it costs one read and
 * touches no target).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Grant } from '../../domain/index.js';
import { createScheduler } from '../../scheduler/scheduler.js';
import { invoke } from '../grants/invoke.js';
import { showGrant } from '../grants/show-grant.js';
import { createKeyedMutex } from '../lib/keyed-mutex.js';
import { jobHandlers } from './job-handlers.js';
import { revokeBackstopMs } from './expire-grant.js';

describe('revocation in the expiry step', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed({ capabilities: { supportsNativeExpiry: false } });
    await bed.apply(bedCatalog);
    // Whatever apply left to do (a staging job a second later) runs first: the next job is the expiry.
    bed.clock.advance(60_000);
    await bed.runDue();
  });
  afterEach(async () => {
    await bed.close();
  });

  const invokeAs = (account: string): Promise<Grant> => invoke(bed.ctx, bed.actors.alice, { account, condition: 'outage', reason: 'r', incident: 'INC-7', ttl: '15m' });
  const stateOf = async (grant: Grant) => (await showGrant(bed.ctx, bed.actors.bob, grant.id)).state;
  const kinds = async (grant: Grant) => (await bed.jobs(grant.id)).map((job) => job.kind).sort();
  const count = async (action: string) => (await bed.audit()).filter((a) => a === action).length;

  it('I1: one run of the expire job alone disables the account; the revoke job after it is a no-op on the target', async () => {
    const grant = await invokeAs('db-breakglass');
    bed.clock.set(grant.expiresAt);
    expect(bed.target.account('bg_admin')?.canLogin).toBe(true);

    expect(await bed.scheduler.runDue()).toBe(1); // the expire job, and nothing else
    expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: false, sessions: 0 });
    expect(await stateOf(grant)).toBe('rotating');
    expect(await count('grant.revocation-verified')).toBe(1);
    expect(await kinds(grant)).toEqual(['rotate']); // the backstop was withdrawn with the verification

    // The rotation runs now; no revoke job is left to claim, even once its due time has passed.
    bed.clock.advance(revokeBackstopMs);
    await bed.runDue();
    expect(await stateOf(grant)).toBe('awaiting-certification');
    expect(bed.target.calls('disable')).toBe(1);
    expect(await count('grant.revocation-verified')).toBe(1);
    expect(await bed.jobs(grant.id)).toEqual([]);
    expect(bed.target.calls('rotate')).toBe(1);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('I1: an ephemeral credential is destroyed in the expiry step too', async () => {
    const grant = await invokeAs('db-ephemeral');
    expect(bed.target.issued(grant.id)).toBeDefined();
    bed.clock.set(grant.expiresAt);
    expect(await bed.scheduler.runDue()).toBe(1);
    expect(bed.target.issued(grant.id)).toBeUndefined();
    expect(await stateOf(grant)).toBe('awaiting-certification');
  });

  it('I1: when the in-step revocation fails, the expiry stands and the revoke job retries it with backoff, as before', async () => {
    const grant = await invokeAs('db-breakglass');
    bed.clock.set(grant.expiresAt);
    bed.target.setDown(true);

    expect(await bed.scheduler.runDue()).toBe(1);
    expect(await stateOf(grant)).toBe('revoking');
    expect(bed.logs.some((line) => line.message === 'revocation at expiry did not complete; the revoke job retries it')).toBe(true);
    const [backstop] = await bed.jobs(grant.id);
    expect(backstop).toMatchObject({ kind: 'revoke', attempts: 0 });
    // Due one short step after the expiry: what a first retry would wait.
    expect(backstop!.dueAt.getTime()).toBe(grant.expiresAt.getTime() + revokeBackstopMs);
    expect(await bed.runDue()).toBe(0);

    bed.clock.advance(revokeBackstopMs);
    expect(await bed.runDue()).toBe(1); // the backstop fails too and is rescheduled
    expect(await bed.jobs(grant.id)).toMatchObject([{ kind: 'revoke', attempts: 1 }]);
    expect(bed.target.account('bg_admin')?.canLogin).toBe(true);
    expect(await count('grant.revocation-verified')).toBe(0); // never recorded without the target's word

    bed.target.setDown(false);
    bed.clock.set((await bed.jobs(grant.id))[0]!.dueAt);
    await bed.runDue();
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    expect(await stateOf(grant)).toBe('awaiting-certification');
  });

  it('race: a peer runs the revoke job while the expiry step is still revoking: one records, one rotation', async () => {
    const grant = await invokeAs('db-breakglass');
    bed.clock.set(grant.expiresAt);
    const peer = createScheduler({
      store: bed.store,
      clock: bed.clock,
      handlers: jobHandlers({ ...bed.ctx, accountLocks: createKeyedMutex() }),
      retry: bed.ctx.retry,
      log: bed.ctx.log,
      instanceId: 'inst-peer',
      heartbeatMs: 0,
    });
    let release = () => {};
    const held = bed.target.delay('disable', new Promise<void>((resolve) => (release = resolve)));
    const expiring = bed.scheduler.runDue();
    await held.started; // the expiry step is on its way to the target
    bed.clock.advance(revokeBackstopMs); // the target is slow: the backstop falls due meanwhile
    expect(await peer.runDue()).toBe(1); // the peer claims the backstop and revokes in full
    expect(await stateOf(grant)).toBe('rotating');
    release();
    expect(await expiring).toBe(1); // ours disables again (harmless) and finds the revocation recorded
    expect(bed.target.calls('disable')).toBe(2);
    expect(await count('grant.revocation-verified')).toBe(1);
    expect(await kinds(grant)).toEqual(['rotate']);

    await bed.runDue();
    await peer.runAllDue();
    expect(bed.target.calls('rotate')).toBe(1);
    expect(await count('grant.rotation-verified')).toBe(1);
    expect(await stateOf(grant)).toBe('awaiting-certification');
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });
});
