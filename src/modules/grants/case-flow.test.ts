/**
 * Whole break-glass cases on the test bed: the real use cases, store, audit chain, scheduler
 * and job handlers, an in-memory target and a fake clock. What the integration suite proves on
 * a real PostgreSQL with real sleeps, proved here in milliseconds, including what a real target
 * makes hard to stage: a target down at expiry, an enable that completes after expiry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, refusal, type TestBed } from '../../../test/support/test-bed.js';
import { holdsAccount, type Grant } from '../../domain/index.js';
import { certify } from './certify.js';
import { endGrant } from './end-grant.js';
import { reveal } from './reveal.js';
import { showGrant } from './show-grant.js';
import { invoke } from './invoke.js';
import { revokeBackstopMs } from '../jobs/expire-grant.js';

/** Audit action names as written today; renamed in one place when they change. */
const A = {
  catalogApplied: 'catalog.applied',
  staged: 'account.staged',
  requested: 'grant.requested',
  activated: 'grant.activated',
  activationFailed: 'grant.activation-failed',
  revealed: 'grant.revealed',
  revealRefused: 'grant.reveal-refused',
  expired: 'grant.expired',
  ended: 'grant.ended',
  revocationVerified: 'grant.revocation-verified',
  // issue 12 (evidence): the disable's session counts, kept before verification.
  sessionsEnded: 'grant.sessions-ended',
  cleanupVerified: 'grant.cleanup-verified',
  rotationStarted: 'grant.rotation-started',
  rotationVerified: 'grant.rotation-verified',
  certificationRequested: 'grant.certification-requested',
  certified: 'grant.certified',
} as const;

const minutes = (n: number) => n * 60_000;
const answers = { necessary: true, scoped: true, removed: true, note: 'restored the primary' };


describe('a break-glass case on the test bed', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    const applied = await bed.apply(bedCatalog);
    expect(applied.staging).toEqual([{ account: 'db-breakglass', staging: 'staged' }]);
    // Apply also leaves a background staging job (in case it had crashed); staged already, it does nothing.
    bed.clock.advance(2_000);
    expect(await bed.runDue()).toBe(1);
  });
  afterEach(async () => {
    await bed.close();
  });

  const invokeAs = (account: string, ttl = '15m') =>
    invoke(bed.ctx, bed.actors.alice, { account, condition: 'outage', reason: 'primary down', incident: 'INC-42', ttl });
  const stateOf = async (grant: Grant) => (await showGrant(bed.ctx, bed.actors.bob, grant.id)).state;
  const actionsOf = async (grant: Grant) => (await bed.auditEvents()).filter((e) => e.subject === grant.id).map((e) => e.action);

  it('pre-staged: invoke → usable until expiresAt → one reveal → expiry → revoked, rotated → certified → closed', async () => {
    const staged = bed.target.account('bg_admin')!;
    expect(staged).toMatchObject({ canLogin: false, sessions: 0 });

    const grant = await invokeAs('db-breakglass');
    expect(grant.state).toBe('active');
    expect(grant.expiresAt.getTime() - bed.clock.now().getTime()).toBe(minutes(15));
    expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: true, validUntil: grant.expiresAt });

    const credential = await reveal(bed.ctx, bed.actors.alice, grant.id);
    expect(credential).toEqual({ username: 'bg_admin', password: staged.secret });
    const again = await refusal(reveal(bed.ctx, bed.actors.alice, grant.id));
    expect(again.code).toBe('already_revealed');
    expect(again.message).not.toContain(staged.secret);

    const session = bed.target.login('bg_admin', staged.secret);
    expect(session).not.toBe('rejected');
    bed.clock.set(new Date(grant.expiresAt.getTime() - 1));
    expect(bed.target.login('bg_admin', staged.secret)).not.toBe('rejected');
    expect(await bed.runDue()).toBe(0);
    expect(await stateOf(grant)).toBe('active');

    bed.clock.advance(1);
    // The credential dies natively at expiresAt, before Breakglass even runs its jobs.
    expect(bed.target.login('bg_admin', staged.secret)).toBe('rejected');
    // issue 13: expire (revokes in its own step and withdraws its backstop revoke job) → rotate
    expect(await bed.runDue()).toBe(2);
    expect(await stateOf(grant)).toBe('awaiting-certification');
    expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: false, sessions: 0 });
    expect(session !== 'rejected' && session.alive()).toBe(false);

    // Rotated and verified on the target: the old secret is rejected, the new one accepted.
    const rotated = bed.target.account('bg_admin')!;
    expect(rotated.secret).not.toBe(staged.secret);
    const ops = bed.target.connector().prestaged!;
    expect(await ops.verify({ username: 'bg_admin', password: staged.secret })).toBe('rejected');
    expect(await ops.verify({ username: 'bg_admin', password: rotated.secret })).toBe('accepted');

    // I5: the requester cannot certify her own case.
    expect((await refusal(certify(bed.ctx, bed.actors.alice, grant.id, answers))).code).toBe('separation_of_duties');
    const closed = await certify(bed.ctx, bed.actors.bob, grant.id, answers);
    expect(closed.state).toBe('closed');
    expect(closed.certification).toMatchObject({ byName: 'bob', necessary: true });

    expect(await actionsOf(grant)).toEqual([
      A.requested,
      A.activated,
      A.revealed,
      A.revealRefused,
      A.expired,
      A.sessionsEnded,
      A.revocationVerified,
      A.rotationStarted,
      A.rotationVerified,
      A.certified,
    ]);
    const chain = await bed.audit();
    expect(chain.indexOf(A.catalogApplied)).toBeGreaterThan(-1);
    expect(chain.indexOf(A.catalogApplied)).toBeLessThan(chain.indexOf(A.staged));
    const text = JSON.stringify(await bed.auditEvents());
    expect(text).not.toContain(staged.secret);
    expect(text).not.toContain(rotated.secret);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('ephemeral: a per-grant credential, usable once revealed, destroyed at expiry, then certified', async () => {
    const grant = await invokeAs('db-ephemeral', '5m');
    expect(grant.state).toBe('active');
    const issued = bed.target.issued(grant.id)!;
    expect(issued).toMatchObject({ canLogin: true, validUntil: grant.expiresAt });

    const credential = await reveal(bed.ctx, bed.actors.alice, grant.id);
    expect(credential).toEqual({ username: issued.principal, password: issued.secret });
    const session = bed.target.login(credential.username, credential['password']!);
    expect(session).not.toBe('rejected');

    bed.clock.advance(minutes(5));
    expect(await bed.runDue()).toBe(1); // expire, which destroys it in its own step (issue 13)
    expect(bed.target.issued(grant.id)).toBeUndefined();
    expect(session !== 'rejected' && session.alive()).toBe(false);
    expect(await stateOf(grant)).toBe('awaiting-certification');

    expect((await certify(bed.ctx, bed.actors.bob, grant.id, answers)).state).toBe('closed');
    expect(await actionsOf(grant)).toEqual([A.requested, A.activated, A.revealed, A.expired, A.sessionsEnded, A.revocationVerified, A.certificationRequested, A.certified]);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('I1: a target down at expiry is retried with backoff; revoked only once the target is back and confirms it', async () => {
    const staged = bed.target.account('bg_admin')!.secret;
    const grant = await invokeAs('db-breakglass');
    bed.target.setDown(true);
    bed.clock.set(grant.expiresAt);

    // The expiry's own revocation fails; its backstop revoke job is due a little later (issue 13).
    expect(await bed.runDue()).toBe(1);
    expect(await bed.jobs(grant.id)).toMatchObject([{ kind: 'revoke', attempts: 0 }]);
    bed.clock.advance(revokeBackstopMs);
    expect(await bed.runDue()).toBe(1); // the backstop fails too
    expect(await stateOf(grant)).toBe('revoking');
    let [job] = await bed.jobs(grant.id);
    expect(job).toMatchObject({ kind: 'revoke', attempts: 1 });
    expect(job!.lastError).toContain('unreachable');

    // Three more failures, each only once its backoff has elapsed on the fake clock.
    for (const attempts of [2, 3, 4]) {
      bed.clock.set(new Date(job!.dueAt.getTime() - 1));
      expect(await bed.runDue()).toBe(0);
      bed.clock.advance(1);
      expect(await bed.runDue()).toBe(1);
      [job] = await bed.jobs(grant.id);
      expect(job).toMatchObject({ kind: 'revoke', attempts });
    }
    // Never marked revoked without the target's word; the account is still enabled there.
    const meanwhile = await showGrant(bed.ctx, bed.actors.bob, grant.id);
    expect(meanwhile).toMatchObject({ state: 'revoking', revokedAt: undefined });
    expect(bed.target.account('bg_admin')?.canLogin).toBe(true);
    expect(await actionsOf(grant)).not.toContain(A.revocationVerified);

    bed.target.setDown(false);
    bed.clock.set(job!.dueAt);
    expect(await bed.runDue()).toBe(2); // revoke, rotate
    expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: false, sessions: 0 });
    const revoked = await showGrant(bed.ctx, bed.actors.bob, grant.id);
    expect(revoked.state).toBe('awaiting-certification');
    const verified = (await bed.auditEvents()).find((e) => e.subject === grant.id && e.action === A.revocationVerified);
    expect(verified?.details['overdueMs']).toBe(job!.dueAt.getTime() - grant.expiresAt.getTime());
    // Each failure was logged for operators, and no log line carries a secret (I3).
    expect(bed.logs.filter((line) => line.message === 'job failed; will retry')).toHaveLength(4);
    const logged = JSON.stringify(bed.logs);
    for (const secret of [bed.target.account('bg_admin')!.secret, staged]) expect(logged).not.toContain(secret);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('early end: revocation starts at once, without waiting for the TTL', async () => {
    const grant = await invokeAs('db-breakglass', '1h');
    bed.clock.advance(minutes(3));
    const ended = await endGrant(bed.ctx, bed.actors.alice, grant.id);
    expect(ended).toMatchObject({ state: 'revoking', endReason: 'ended' });
    expect(await bed.runDue()).toBe(2); // revoke, rotate
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    expect(await stateOf(grant)).toBe('awaiting-certification');
    // The expiry job still fires at the TTL and finds nothing to do.
    bed.clock.advance(minutes(57));
    expect(await bed.runDue()).toBe(1);
    expect(await actionsOf(grant)).toEqual([A.requested, A.activated, A.ended, A.revocationVerified, A.rotationStarted, A.rotationVerified]);
  });

  it('I1 / race: a late enable after expiry is undone, on a target without native expiry, and frees the account', async () => {
    await bed.close();
    bed = await createTestBed({ capabilities: { supportsNativeExpiry: false } });
    await bed.apply(bedCatalog);
    let release = () => {};
    const held = bed.target.delay('enable', new Promise<void>((resolve) => (release = resolve)));
    const invoking = refusal(invokeAs('db-breakglass', '5m'));
    await held.started;

    // The TTL passes while the target is still enabling: the expiry job fails the activation.
    bed.clock.advance(minutes(5));
    await bed.runDue();
    const [grant] = await bed.ctx.store.transaction((tx) => tx.grants.list({ limit: 1 }));
    expect(grant).toMatchObject({ state: 'failed' });

    release();
    expect((await invoking).code).toBe('invalid_transition');
    // The late enable happened on the target; the cleanup job it left undoes it.
    expect(bed.target.account('bg_admin')?.canLogin).toBe(true);
    expect(await bed.runDue()).toBeGreaterThan(0);
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    expect(await actionsOf(grant!)).toEqual([A.requested, A.activationFailed, A.cleanupVerified, A.cleanupVerified]);
    // Cleanup verified: the failed grant no longer holds the account, so the next responder gets it.
    expect(holdsAccount((await showGrant(bed.ctx, bed.actors.bob, grant!.id)))).toBe(false);
    expect((await invokeAs('db-breakglass', '5m')).state).toBe('active');
  });
});
