/**
 * Issue 11 (H2), on the test bed (fake clock, in-memory target): bounds while active
 * (extensions within maxExtensions/maxTotal, the native expiry moved and verified; incident-bound
 * grants) and repeated use (cooldown, requireCertifiedPrevious with the admin override, co-responders).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, refusal, type TestBed } from '../../../test/support/test-bed.js';
import type { Actor, Grant } from '../../domain/index.js';
import { runCeremony } from '../custodians/ceremony.js';
import { closeIncident } from '../incidents/close-incident.js';
import { certify } from './certify.js';
import { endGrant } from './end-grant.js';
import { extendGrant } from './extend-grant.js';
import { invoke } from './invoke.js';
import { joinGrant } from './join-grant.js';
import { reveal } from './reveal.js';
import { listGrants, showGrant } from './show-grant.js';

const minutes = (n: number) => n * 60_000;
const answers = { necessary: true, scoped: true, removed: true, note: 'ok' };

const catalog = `
targets:
  - name: db
    type: exec
    command: /dev/null/memory-target
policies:
  - name: p1
    conditions: [outage, security-incident]
    incidentPattern: '^INC-[0-9]+$'
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 30m
    maxExtensions: 2
    maxTotal: 40m
  - name: p2
    conditions: [outage]
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 1h
    cooldown: 1m
    requireCertifiedPrevious: true
accounts:
  - { name: db-breakglass, target: db, mode: prestaged, user: bg_admin, policy: p1 }
  - { name: db-ephemeral, target: db, mode: ephemeral, policy: p1 }
  - { name: db-strict, target: db, mode: prestaged, user: bg_strict, policy: p2 }
  - name: db-vault
    target: db
    mode: prestaged
    user: bg_vault
    policy: p1
    approval: { mode: custodians, threshold: 2 }
    custodians: [carol, dave, erin]
users:
  - { name: frank, roles: [responder] }
  - { name: pager, roles: [incident-system] }
`;


describe('bounds while active and repeated use (issue 11)', () => {
  let bed: TestBed;
  let frank: Actor;
  let pager: Actor;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    bed.clock.advance(2_000);
    await bed.runDue();
    const actor = async (name: string): Promise<Actor> => {
      const user = (await bed.store.transaction((tx) => tx.users.findByName(name)))!;
      return { id: user.id, name: user.name, roles: user.roles };
    };
    frank = await actor('frank');
    pager = await actor('pager');
  });
  afterEach(async () => {
    await bed.close();
  });

  const invokeAs = (account: string, who?: Actor, extra: { incident?: string; overrideReason?: string } = {}) =>
    invoke(bed.ctx, who ?? bed.actors.alice, { account, condition: 'outage', reason: 'primary down', incident: extra.incident ?? 'INC-42', ttl: '15m', ...(extra.overrideReason ? { overrideReason: extra.overrideReason } : {}) });
  const stateOf = async (grant: Grant) => (await showGrant(bed.ctx, bed.actors.admin, grant.id)).state;
  const eventsOf = async (grant: Grant) => (await bed.auditEvents()).filter((e) => e.subject === grant.id);

  describe('extend', () => {
    it('moves the expiry, the native expiry on the target (verified) and the expiry job; audited with by, reason, expiresAt and count', async () => {
      const grant = await invokeAs('db-breakglass');
      bed.clock.advance(minutes(5));
      const extended = await extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '10m', reason: 'migration still running' });
      expect(extended.expiresAt.getTime()).toBe(grant.expiresAt.getTime() + minutes(10));
      expect(extended.extensions).toBe(1);
      expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: true, validUntil: extended.expiresAt });
      const event = (await eventsOf(grant)).find((e) => e.action === 'grant.extended');
      expect(event?.details).toMatchObject({ by: '10m', reason: 'migration still running', expiresAt: extended.expiresAt.toISOString(), count: 1 });
      // The old expiry job comes due and must not end the grant early.
      bed.clock.advance(minutes(10) + 1_000);
      await bed.runDue();
      expect(await stateOf(grant)).toBe('active');
      bed.clock.advance(minutes(10));
      await bed.runDue();
      expect(await stateOf(grant)).toBe('awaiting-certification');
      expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: false });
    });

    it('beyond maxExtensions it fails naming maxExtensions; beyond maxTotal naming maxTotal', async () => {
      const grant = await invokeAs('db-breakglass');
      const tooLong = await refusal(extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '30m', reason: 'r' }));
      expect(tooLong.code).toBe('policy_violation');
      expect(tooLong.message).toMatch(/^maxTotal: .*40m/);
      await extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '5m', reason: 'r' });
      await extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '5m', reason: 'r' });
      const third = await refusal(extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '1m', reason: 'r' }));
      expect(third.message).toMatch(/^maxExtensions: policy "p1" allows 2/);
      expect((await showGrant(bed.ctx, bed.actors.admin, grant.id)).extensions).toBe(2);
    });

    it('an ephemeral credential gets its native expiry moved too', async () => {
      const grant = await invokeAs('db-ephemeral');
      const extended = await extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '10m', reason: 'r' });
      expect(bed.target.issued(grant.id)).toMatchObject({ validUntil: extended.expiresAt });
    });

    it('a target that cannot move the expiry leaves the grant as it was', async () => {
      const grant = await invokeAs('db-breakglass');
      bed.target.failNext('enable');
      expect((await refusal(extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '10m', reason: 'r' }))).code).toBe('target_unavailable');
      const after = await showGrant(bed.ctx, bed.actors.admin, grant.id);
      expect(after.expiresAt).toEqual(grant.expiresAt);
      expect(after.extensions).toBeUndefined();
    });

    it('only the requester, an incident owner or an admin extends', async () => {
      const grant = await invokeAs('db-breakglass');
      expect((await refusal(extendGrant(bed.ctx, frank, grant.id, { by: '1m', reason: 'r' }))).code).toBe('not_found');
      await extendGrant(bed.ctx, bed.actors.bob, grant.id, { by: '1m', reason: 'r' });
    });
  });

  describe('incident close', () => {
    it('the incident-system token ends every live grant of the incident (revocation as usual) and cancels its waiting requests', async () => {
      await runCeremony(bed.ctx, bed.actors.admin, 'db-vault');
      bed.clock.advance(2_000);
      await bed.runDue();
      const prestaged = await invokeAs('db-breakglass', undefined, { incident: 'INC-7' });
      const ephemeral = await invokeAs('db-ephemeral', undefined, { incident: 'INC-7' });
      const other = await invokeAs('db-ephemeral', undefined, { incident: 'INC-8' });
      const waiting = await invokeAs('db-vault', undefined, { incident: 'INC-7' });
      expect(waiting.state).toBe('awaiting-quorum');
      const closed = await closeIncident(bed.ctx, pager, 'INC-7');
      expect(closed.ended.map((g) => g.id).sort()).toEqual([prestaged.id, ephemeral.id].sort());
      expect(closed.ended.every((g) => g.endReason === 'incident-closed')).toBe(true);
      expect(closed.cancelled.map((g) => g.id)).toEqual([waiting.id]);
      await bed.runDue();
      expect(await stateOf(prestaged)).toBe('awaiting-certification');
      expect(await stateOf(ephemeral)).toBe('awaiting-certification');
      expect(await stateOf(other)).toBe('active');
      expect(await stateOf(waiting)).toBe('cancelled');
      expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: false });
      const audit = (await bed.auditEvents()).find((e) => e.action === 'incident.closed');
      expect(audit).toMatchObject({ actor: 'pager', subject: 'INC-7' });
      expect((await eventsOf(prestaged)).map((e) => e.action)).toContain('grant.incident-closed');
    });

    it('incident-system tokens may only call incident close', async () => {
      const grant = await invokeAs('db-breakglass', undefined, { incident: 'INC-7' });
      expect((await refusal(listGrants(bed.ctx, pager, {}))).code).toBe('forbidden');
      expect((await refusal(showGrant(bed.ctx, pager, grant.id))).code).toBe('forbidden');
      expect((await refusal(endGrant(bed.ctx, pager, grant.id))).code).toBe('forbidden');
      expect((await refusal(invokeAs('db-ephemeral', pager))).code).toBe('forbidden');
      expect((await refusal(closeIncident(bed.ctx, frank, 'INC-7'))).code).toBe('forbidden');
      expect((await closeIncident(bed.ctx, bed.actors.bob, 'INC-7')).ended).toHaveLength(1);
    });
  });

  describe('repeated use', () => {
    const endAndSettle = async (grant: Grant) => {
      await endGrant(bed.ctx, bed.actors.alice, grant.id);
      await bed.runDue();
      expect(await stateOf(grant)).toBe('awaiting-certification');
    };

    it('cooldown: after a case ends, a new invocation is refused until the cooldown has passed, naming cooldown and when it ends', async () => {
      const first = await invokeAs('db-strict');
      await endAndSettle(first);
      await certify(bed.ctx, bed.actors.bob, first.id, answers);
      const refused = await refusal(invokeAs('db-strict'));
      expect(refused.code).toBe('policy_violation');
      const endsAt = new Date(bed.clock.now().getTime() + minutes(1)).toISOString();
      expect(refused.message).toMatch(/^cooldown: /);
      expect(refused.message).toContain(endsAt);
      bed.clock.advance(minutes(1));
      expect((await invokeAs('db-strict')).state).toBe('active');
    });

    it('requireCertifiedPrevious: refused while the last case is uncertified; an admin overrides with a reason, audited and marked', async () => {
      const first = await invokeAs('db-strict');
      await endAndSettle(first);
      bed.clock.advance(minutes(2));
      const refused = await refusal(invokeAs('db-strict'));
      expect(refused.message).toMatch(/^requireCertifiedPrevious: .*grant .* is not certified/);
      expect((await refusal(invokeAs('db-strict', undefined, { overrideReason: 'still burning' }))).code).toBe('forbidden');
      const overridden = await invokeAs('db-strict', bed.actors.admin, { overrideReason: 'still burning' });
      expect(overridden.overrideReason).toBe('still burning');
      expect((await showGrant(bed.ctx, bed.actors.admin, overridden.id)).overrideReason).toBe('still burning');
      const requested = (await eventsOf(overridden)).find((e) => e.action === 'grant.requested');
      expect(requested?.details).toMatchObject({ override: { rule: 'requireCertifiedPrevious', reason: 'still burning', previousGrant: first.id } });
    });

    it('requireCertifiedPrevious and cooldown failing together: the refusal names requireCertifiedPrevious first and the cooldown after it; an override still waits out the cooldown', async () => {
      const first = await invokeAs('db-strict');
      await endAndSettle(first);
      const refused = await refusal(invokeAs('db-strict'));
      expect(refused.message).toMatch(/^requireCertifiedPrevious: .*\. Also cooldown: /);
      const cooling = await refusal(invokeAs('db-strict', bed.actors.admin, { overrideReason: 'still burning' }));
      expect(cooling.message).toMatch(/^cooldown: /);
      bed.clock.advance(minutes(1));
      expect((await invokeAs('db-strict', bed.actors.admin, { overrideReason: 'still burning' })).overrideReason).toBe('still burning');
    });

    it('requireCertifiedPrevious: a second invoke while the first case is still live names the rule, and points to join', async () => {
      const first = await invokeAs('db-strict');
      const refused = await refusal(invokeAs('db-strict', frank));
      expect(refused.message).toMatch(/^requireCertifiedPrevious: /);
      expect(refused.message).toContain(`breakglass join ${first.id}`);
    });

    it('requireCertifiedPrevious: once the last case is certified, invoking is allowed again', async () => {
      const first = await invokeAs('db-strict');
      await endAndSettle(first);
      bed.clock.advance(minutes(2));
      await certify(bed.ctx, bed.actors.bob, first.id, answers);
      expect((await invokeAs('db-strict')).overrideReason).toBeUndefined();
    });
  });

  describe('co-responders', () => {
    it('a second responder is pointed to join; joining gives them their own audit trail and their own one reveal; ending ends it for all', async () => {
      const grant = await invokeAs('db-breakglass');
      const busy = await refusal(invokeAs('db-breakglass', frank));
      expect(busy.message).toContain(`breakglass join ${grant.id}`);
      const joined = await joinGrant(bed.ctx, frank, grant.id, 'helping with the restore');
      expect(joined.coResponders.map((c) => c.userName)).toEqual(['frank']);
      // The co-responder sees the case they joined.
      expect((await showGrant(bed.ctx, frank, grant.id)).id).toBe(grant.id);
      expect((await eventsOf(grant)).find((e) => e.action === 'grant.joined')).toMatchObject({ actor: 'frank', details: { reason: 'helping with the restore' } });
      const secret = bed.target.account('bg_admin')!.secret;
      expect(await reveal(bed.ctx, frank, grant.id)).toEqual({ username: 'bg_admin', password: secret });
      expect((await refusal(reveal(bed.ctx, frank, grant.id))).code).toBe('already_revealed');
      // The requester's one reveal is their own.
      expect(await reveal(bed.ctx, bed.actors.alice, grant.id)).toEqual({ username: 'bg_admin', password: secret });
      expect((await refusal(joinGrant(bed.ctx, frank, grant.id, 'again'))).code).toBe('conflict');
      await endGrant(bed.ctx, bed.actors.alice, grant.id);
      await bed.runDue();
      expect(bed.target.login('bg_admin', secret)).toBe('rejected');
      expect((await refusal(reveal(bed.ctx, frank, grant.id))).code).toBe('invalid_transition');
    });

    it('someone who did not join does not reveal; an ephemeral grant is not joined (invoke your own)', async () => {
      const grant = await invokeAs('db-breakglass');
      expect((await refusal(reveal(bed.ctx, frank, grant.id))).code).toBe('not_found');
      expect((await refusal(showGrant(bed.ctx, frank, grant.id))).code).toBe('not_found');
      const ephemeral = await invokeAs('db-ephemeral');
      const refused = await refusal(joinGrant(bed.ctx, frank, ephemeral.id, 'r'));
      expect(refused.message).toContain('breakglass invoke db-ephemeral');
      expect((await refusal(joinGrant(bed.ctx, bed.actors.bob, grant.id, 'r'))).code).toBe('forbidden');
    });
  });
});
