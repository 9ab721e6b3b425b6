/**
 * Issue 12 (evidence): a retried revocation keeps what the earlier attempts ended. The first
 * attempt's disable (or revoke) ends the live sessions, then its verification fails; the retry
 * finds none left, yet the grant records the sessions the first attempt ended.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, refusal, type TestBed } from '../../../test/support/test-bed.js';
import { addSessionsEnded, type Grant, type GrantId } from '../../domain/index.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { reveal } from '../grants/reveal.js';
import { revokeGrant } from './revoke-grant.js';

describe('revocation evidence over retried attempts', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
  });
  afterEach(async () => {
    await bed.close();
  });

  const invokeAs = (account: string) => invoke(bed.ctx, bed.actors.alice, { account, condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '15m' });
  const stored = (id: GrantId) => bed.store.transaction(async (tx) => (await tx.grants.findById(id))!);
  const sessionEvents = async (grant: Grant) => (await bed.auditEvents()).filter((e) => e.subject === grant.id && e.action === 'grant.sessions-ended');

  it('pre-staged: disable ends 2 sessions, verification fails; the retry finds 0 and the grant still records 2 before, 2 ended', async () => {
    const grant = await invokeAs('db-breakglass');
    const { password } = await reveal(bed.ctx, bed.actors.alice, grant.id);
    const sessions = [bed.target.login('bg_admin', password!), bed.target.login('bg_admin', password!)];
    expect(bed.target.account('bg_admin')).toMatchObject({ sessions: 2 });
    await endGrant(bed.ctx, bed.actors.alice, grant.id);

    bed.target.failNext('inspect', 1);
    expect((await refusal(revokeGrant(bed.ctx, grant.id))).code).toBe('target_unavailable');
    // The sessions are gone and the counts kept, though the revocation is not verified yet.
    expect(sessions.map((s) => s !== 'rejected' && s.alive())).toEqual([false, false]);
    expect(await stored(grant.id)).toMatchObject({ state: 'revoking', revocation: { sessionsBefore: 2, sessionsEnded: 2 } });

    await revokeGrant(bed.ctx, grant.id);
    expect(bed.target.calls('disable')).toBe(2);
    const after = await stored(grant.id);
    expect(after.state).toBe('rotating');
    expect(after.revocation).toEqual({ sessionsBefore: 2, sessionsEnded: 2, sessionsAfter: 0 });
    const verified = (await bed.auditEvents()).find((e) => e.subject === grant.id && e.action === 'grant.revocation-verified');
    expect(verified?.details).toMatchObject({ sessionsBefore: 2, sessionsEnded: 2, sessionsAfter: 0 });
    // One audit event for the attempt that ended sessions; the retry that found none adds none.
    expect((await sessionEvents(grant)).map((e) => e.details)).toEqual([expect.objectContaining({ target: 'db', sessionsBefore: 2, sessionsEnded: 2 })]);
    expect((await bed.verify()).ok).toBe(true);
  });

  it('ephemeral: revoke ends the session, inspectIssued fails; the retry records 1 before, 1 ended', async () => {
    const grant = await invokeAs('db-ephemeral');
    const credential = await reveal(bed.ctx, bed.actors.alice, grant.id);
    const session = bed.target.login(credential.username, credential['password']!);
    expect(session).not.toBe('rejected');
    await endGrant(bed.ctx, bed.actors.alice, grant.id);

    bed.target.failNext('inspectIssued', 1);
    expect((await refusal(revokeGrant(bed.ctx, grant.id))).code).toBe('target_unavailable');
    expect(session !== 'rejected' && session.alive()).toBe(false);

    await revokeGrant(bed.ctx, grant.id);
    expect(bed.target.calls('revoke')).toBe(2);
    expect((await stored(grant.id)).revocation).toEqual({ sessionsBefore: 1, sessionsEnded: 1, sessionsAfter: 0 });
  });

  it('a revocation without a failure records its counts once, as before', async () => {
    const grant = await invokeAs('db-breakglass');
    const { password } = await reveal(bed.ctx, bed.actors.alice, grant.id);
    bed.target.login('bg_admin', password!);
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await revokeGrant(bed.ctx, grant.id);
    expect((await stored(grant.id)).revocation).toEqual({ sessionsBefore: 1, sessionsEnded: 1, sessionsAfter: 0 });
    expect(await sessionEvents(grant)).toHaveLength(1);
  });

  it('attempts add up: ended counts add, sessions seen never fall below what was ended', () => {
    // Saw 2, ended 1 (the other survived); the next attempt sees that 1 again and ends it.
    const first = addSessionsEnded(undefined, { sessionsBefore: 2, sessionsEnded: 1 });
    expect(first).toEqual({ sessionsBefore: 2, sessionsEnded: 1, sessionsAfter: 1 });
    expect(addSessionsEnded(first, { sessionsBefore: 1, sessionsEnded: 1 })).toEqual({ sessionsBefore: 2, sessionsEnded: 2, sessionsAfter: 0 });
    // A new login between attempts is one more session seen.
    expect(addSessionsEnded({ sessionsBefore: 2, sessionsEnded: 2, sessionsAfter: 0 }, { sessionsBefore: 1, sessionsEnded: 1 })).toEqual({ sessionsBefore: 3, sessionsEnded: 3, sessionsAfter: 0 });
    expect(addSessionsEnded({ sessionsBefore: 2, sessionsEnded: 2, sessionsAfter: 0 }, { sessionsBefore: 0, sessionsEnded: 0 })).toEqual({ sessionsBefore: 2, sessionsEnded: 2, sessionsAfter: 0 });
  });
});
