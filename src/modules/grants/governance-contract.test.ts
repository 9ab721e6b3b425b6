/**
 * Issue 11's contract, as written: the policy YAML of the issue applied as it stands (with a
 * target and an account around it), then the whole case on the fake clock — awaiting approval,
 * the requester refused, carol approves, extensions to their limits, the incident closed by the
 * incident system's token, a second invocation refused naming requireCertifiedPrevious, the
 * certification deadline, certification. The real-target version is
 * test/integration/governance-e2e.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Actor, Grant } from '../../domain/index.js';
import { approveGrant, denyGrant } from '../approvals/decide-grant.js';
import { closeIncident } from '../incidents/close-incident.js';
import { certify } from './certify.js';
import { extendGrant } from './extend-grant.js';
import { invoke } from './invoke.js';

const contract = `
policies:
  - name: p1
    conditions: [outage, security-incident]
    incidentPattern: "^INC-[0-9]+$"
    reasonMinLength: 10
    approval: { mode: approvers, threshold: 1, approvers: [carol], timeout: 30m }
    escalate: { after: 1m }
    defaultTtl: 15m
    maxTtl: 1h
    maxExtensions: 2
    maxTotal: 2h
    cooldown: 1m
    requireCertifiedPrevious: true
    certifyWithin: 72h
users:
  - { name: carol, roles: [approver] }
  - { name: pager, roles: [incident-system] }
`;
const catalog = `${contract}targets:
  - { name: db, type: exec, command: /dev/null/memory-target }
accounts:
  - { name: db-gov, target: db, mode: prestaged, user: bg_gov, policy: p1 }
`;

const ask = { account: 'db-gov', condition: 'outage', reason: 'primary down, SSO out', incident: 'INC-7', ttl: '15m' };
const minutes = (n: number) => n * 60_000;

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: { code: string; message: string }) => error,
  );
}

describe('issue 11 contract policy, applied as written', () => {
  let bed: TestBed;
  let carol: Actor;
  let pager: Actor;
  const state = async (grant: Grant) => (await bed.store.transaction((tx) => tx.grants.findById(grant.id)))!;
  const actor = async (name: string): Promise<Actor> => {
    const user = (await bed.store.transaction((tx) => tx.users.findByName(name)))!;
    return { id: user.id, name: user.name, roles: user.roles };
  };

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    bed.clock.advance(2_000);
    await bed.runDue();
    [carol, pager] = [await actor('carol'), await actor('pager')];
  });
  afterEach(async () => {
    await bed.close();
  });

  it('awaiting-approval → carol approves → extend to the limits → incident close → requireCertifiedPrevious → certify', async () => {
    expect((await refusal(invoke(bed.ctx, bed.actors.alice, { ...ask, reason: 'db down' }))).message).toMatch(/reasonMinLength/);
    const grant = await invoke(bed.ctx, bed.actors.alice, ask);
    expect(grant.state).toBe('awaiting-approval');
    expect(bed.target.account('bg_gov')?.canLogin).toBe(false);
    expect((await refusal(approveGrant(bed.ctx, bed.actors.alice, grant.id, 'mine'))).code).toBe('separation_of_duties');

    await approveGrant(bed.ctx, carol, grant.id, 'confirmed with the on-call lead');
    expect((await state(grant)).state).toBe('active');
    expect(bed.target.account('bg_gov')?.canLogin).toBe(true);

    await extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '10m', reason: 'restore still running' });
    await extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '10m', reason: 'restore still running' });
    expect((await refusal(extendGrant(bed.ctx, bed.actors.alice, grant.id, { by: '10m', reason: 'once more' }))).message).toMatch(/^maxExtensions: /);
    expect((await state(grant)).expiresAt.getTime() - (await state(grant)).activatedAt!.getTime()).toBe(minutes(35));

    const closed = await closeIncident(bed.ctx, pager, 'INC-7');
    expect(closed.ended.map((g) => g.id)).toEqual([grant.id]);
    await bed.runDue();
    expect((await state(grant)).state).toBe('awaiting-certification');
    expect(bed.target.account('bg_gov')?.canLogin).toBe(false);

    bed.clock.advance(minutes(5));
    expect((await refusal(invoke(bed.ctx, bed.actors.alice, { ...ask, incident: 'INC-8' }))).message).toMatch(/^requireCertifiedPrevious: /);

    bed.clock.advance(minutes(72 * 60));
    await bed.runDue();
    expect((await state(grant)).certificationOverdueAt).toBeDefined();
    // The approver never certifies (an approver-only user does not even see the case to certify it).
    expect((await refusal(certify(bed.ctx, carol, grant.id, { necessary: true, scoped: true, removed: true, note: 'x' }))).code).toMatch(/not_found|forbidden|separation_of_duties/);
    await certify(bed.ctx, bed.actors.bob, grant.id, { necessary: true, scoped: true, removed: true, note: 'INC-7 postmortem' });
    expect((await state(grant)).state).toBe('closed');
    expect((await invoke(bed.ctx, bed.actors.alice, { ...ask, incident: 'INC-9' })).state).toBe('awaiting-approval');
  });

  it('deny ends it; a request nobody answers expires after the timeout', async () => {
    const denied = await invoke(bed.ctx, bed.actors.alice, ask);
    await denyGrant(bed.ctx, carol, denied.id, 'not an outage');
    expect((await state(denied)).state).toBe('denied');
    const unanswered = await invoke(bed.ctx, bed.actors.alice, { ...ask, incident: 'INC-10' });
    bed.clock.advance(minutes(30));
    await bed.runDue();
    expect((await state(unanswered)).state).toBe('expired');
  });
});
