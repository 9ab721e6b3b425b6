/**
 * Issue 11 (H1): approval by k approvers before activation, the escalation path, and the
 * separation of duties around them, on the test bed (real use cases and store, fake clock).
 * Each separation-of-duties test is named after the rule it proves.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, refusal, type TestBed } from '../../../test/support/test-bed.js';
import { alertOfAuditAction, alertSeverity, type Actor, type Grant } from '../../domain/index.js';
import { runCeremony } from '../custodians/ceremony.js';
import { submitShare } from '../custodians/submit-share.js';
import { cancelGrant } from '../grants/cancel-grant.js';
import { certify } from '../grants/certify.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { approveGrant, denyGrant } from './decide-grant.js';
import { escalateGrant } from './escalate-grant.js';
import { pendingApprovals } from './pending-approvals.js';
import { closeIncident } from '../incidents/close-incident.js';

const catalog = `
targets:
  - { name: db, type: exec, command: /dev/null/memory-target }
policies:
  - name: p1
    conditions: [outage, security-incident]
    incidentPattern: "^INC-[0-9]+$"
    approval: { mode: approvers, threshold: 1, approvers: [carol], timeout: 30m }
    escalate: { after: 1m }
    defaultTtl: 15m
    maxTtl: 1h
  - name: p2
    conditions: [outage]
    approval: { mode: approvers, threshold: 2, approvers: [approver, incident-owner, admin, alice] }
    defaultTtl: 15m
    maxTtl: 1h
  - name: p3
    conditions: [outage]
    approval: { mode: approvers, threshold: 1, approvers: [carol, dave] }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - { name: db-approve, target: db, mode: prestaged, user: bg_admin, policy: p1 }
  - { name: db-two, target: db, mode: ephemeral, policy: p2 }
  - name: db-vault
    target: db
    mode: prestaged
    user: bg_vault
    policy: p3
    approval: { mode: custodians, threshold: 2 }
    custodians: [carol, dave, erin]
users:
  - { name: carol, roles: [custodian, approver] }
  - { name: frank, roles: [approver] }
  - { name: grace, roles: [approver] }
`;

const ask = { condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '15m' };
const minutes = (n: number) => n * 60_000;
const answers = { necessary: true, scoped: true, removed: true, note: 'ok' };


describe('approval mode approvers (issue 11, H1)', () => {
  let bed: TestBed;
  let carol: Actor;
  let frank: Actor;
  let grace: Actor;
  const actor = async (name: string): Promise<Actor> => {
    const user = (await bed.store.transaction((tx) => tx.users.findByName(name)))!;
    return { id: user.id, name: user.name, roles: user.roles };
  };
  const current = (grant: Grant) => bed.store.transaction(async (tx) => (await tx.grants.findById(grant.id))!);
  /** Ends an active grant and runs revocation and rotation, so it awaits certification. */
  const finish = async (grant: Grant) => {
    await endGrant(bed.ctx, bed.actors.admin, grant.id);
    await bed.runDue();
    expect((await current(grant)).state).toBe('awaiting-certification');
  };

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    await runCeremony(bed.ctx, bed.actors.admin, 'db-vault');
    bed.clock.advance(2_000);
    await bed.runDue();
    [carol, frank, grace] = [await actor('carol'), await actor('frank'), await actor('grace')];
  });
  afterEach(async () => {
    await bed.close();
  });

  it('an approver sees what waits for them (named by the policy, not yet decided, never their own); others see nothing', async () => {
    const one = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    bed.clock.advance(1_000); // oldest first is by creation time: two requests in one millisecond have no order
    const two = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-two' });
    // carol is named by p1 and holds the `approver` role p2 names; frank only the role. Oldest first.
    expect((await pendingApprovals(bed.ctx, carol)).map((g) => g.id)).toEqual([one.id, two.id]);
    expect((await pendingApprovals(bed.ctx, frank)).map((g) => g.id)).toEqual([two.id]);
    await approveGrant(bed.ctx, frank, two.id, 'first of two');
    expect(await pendingApprovals(bed.ctx, frank)).toEqual([]);
    expect((await pendingApprovals(bed.ctx, grace)).map((g) => g.id)).toEqual([two.id]);
    // p2 also names alice, the requester: her own request never waits for her.
    expect(await pendingApprovals(bed.ctx, bed.actors.alice)).toEqual([]);
    expect(await pendingApprovals(bed.ctx, bed.actors.dave)).toEqual([]);
  });

  it('closing its incident cancels a request still awaiting approval (nothing was enabled); no approval counts after', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    const closed = await closeIncident(bed.ctx, bed.actors.admin, 'INC-7');
    expect(closed.cancelled.map((g) => g.id)).toEqual([grant.id]);
    expect((await current(grant)).state).toBe('cancelled');
    expect((await refusal(approveGrant(bed.ctx, carol, grant.id, 'late'))).code).toBe('invalid_transition');
  });

  it('a grant waits in awaiting-approval with nothing enabled; the approver named by the policy activates it', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    expect(grant.state).toBe('awaiting-approval');
    expect(bed.target.calls('enable')).toBe(0);
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    // The approval window's expiry job is written with the grant (restart-safe).
    expect((await bed.jobs(grant.id)).map((job) => job.kind)).toContain('expire');
    const active = await approveGrant(bed.ctx, carol, grant.id, 'checked with the on-call lead');
    expect(active).toMatchObject({ state: 'active', approvals: [{ byName: 'carol', decision: 'approved', note: 'checked with the on-call lead' }] });
    expect(bed.target.account('bg_admin')?.canLogin).toBe(true);
    const approved = (await bed.auditEvents()).find((event) => event.action === 'grant.approved');
    expect(approved?.details).toMatchObject({ note: 'checked with the on-call lead', approved: 1, threshold: 1 });
    expect(await bed.audit()).toEqual(expect.arrayContaining(['grant.requested', 'grant.approved', 'grant.activated']));
  });

  it('the TTL counts from the last approval, not from the request', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    bed.clock.advance(minutes(10));
    const active = await approveGrant(bed.ctx, carol, grant.id, 'ok');
    expect(active.expiresAt.getTime()).toBe(bed.clock.now().getTime() + minutes(15));
  });

  it('one deny ends the request: denied, audited with its note, and the account is free again', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    const denied = await denyGrant(bed.ctx, carol, grant.id, 'not an outage');
    expect(denied.state).toBe('denied');
    expect(bed.target.calls('enable')).toBe(0);
    expect((await bed.auditEvents()).find((event) => event.action === 'grant.denied')?.details).toMatchObject({ note: 'not an outage' });
    expect((await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' })).state).toBe('awaiting-approval');
  });

  it('a request nobody decides on expires after the timeout (grant.approval-expired); nothing was enabled', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    bed.clock.advance(minutes(29));
    await bed.runDue();
    expect((await current(grant)).state).toBe('awaiting-approval');
    bed.clock.advance(minutes(1));
    await bed.runDue();
    expect((await current(grant)).state).toBe('expired');
    expect(await bed.audit()).toContain('grant.approval-expired');
    expect(bed.target.calls('enable')).toBe(0);
    expect((await refusal(approveGrant(bed.ctx, carol, grant.id, 'late'))).code).toBe('invalid_transition');
  });

  it('a grant awaiting approval holds its account: no second grant gets in', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    const second = await refusal(invoke(bed.ctx, bed.actors.admin, { ...ask, account: 'db-approve' }));
    expect(second.code).toBe('conflict');
    expect(second.message).toContain(grant.id);
    // The requester may withdraw it, which frees the account.
    expect((await cancelGrant(bed.ctx, bed.actors.alice, grant.id)).state).toBe('cancelled');
  });

  it('k distinct approvers are needed: one approval of two leaves the grant waiting', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-two' });
    expect((await approveGrant(bed.ctx, frank, grant.id, 'one')).state).toBe('awaiting-approval');
    expect((await approveGrant(bed.ctx, bed.actors.bob, grant.id, 'two')).state).toBe('active');
  });

  it('separation of duties: the requester cannot approve their own grant (403 separation_of_duties)', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-two' });
    const error = await refusal(approveGrant(bed.ctx, bed.actors.alice, grant.id, 'me'));
    expect(error.code).toBe('separation_of_duties');
    expect((await refusal(denyGrant(bed.ctx, bed.actors.alice, grant.id, 'me'))).code).toBe('separation_of_duties');
    expect((await current(grant)).approvals).toBeUndefined();
  });

  it('separation of duties: an admin cannot approve their own case', async () => {
    const grant = await invoke(bed.ctx, bed.actors.admin, { ...ask, account: 'db-two' });
    expect((await refusal(approveGrant(bed.ctx, bed.actors.admin, grant.id, 'me'))).code).toBe('separation_of_duties');
  });

  it('separation of duties: a token the requester minted cannot approve their grant', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-two' });
    const viaAliceToken: Actor = { ...frank, tokenCreatorId: bed.actors.alice.id };
    expect((await refusal(approveGrant(bed.ctx, viaAliceToken, grant.id, 'x'))).code).toBe('separation_of_duties');
  });

  it('separation of duties: the same person cannot fill two approval slots', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-two' });
    await approveGrant(bed.ctx, frank, grant.id, 'first');
    const error = await refusal(approveGrant(bed.ctx, frank, grant.id, 'again'));
    expect(error.code).toBe('separation_of_duties');
    expect((await current(grant)).state).toBe('awaiting-approval');
    expect((await current(grant)).approvals).toHaveLength(1);
  });

  it('the approver role alone approves nothing a policy does not name', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    // frank is an approver, but p1 names only carol; he may not see the case either.
    expect((await refusal(approveGrant(bed.ctx, frank, grant.id, 'x'))).code).toBe('not_found');
    // bob sees every case (incident owner) but is not named: forbidden, naming the approvers.
    const error = await refusal(approveGrant(bed.ctx, bed.actors.bob, grant.id, 'x'));
    expect(error.code).toBe('forbidden');
    expect(error.message).toContain('carol');
  });

  it('separation of duties: an approver of a case may not certify it (requester ≠ approver ≠ certifier)', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-two' });
    await approveGrant(bed.ctx, frank, grant.id, 'one');
    const active = await approveGrant(bed.ctx, bed.actors.bob, grant.id, 'two');
    await finish(active);
    expect((await refusal(certify(bed.ctx, bed.actors.bob, grant.id, answers))).code).toBe('separation_of_duties');
    expect((await certify(bed.ctx, bed.actors.admin, grant.id, answers)).state).toBe('closed');
  });

  it('separation of duties: an admin cannot certify their own case', async () => {
    const grant = await invoke(bed.ctx, bed.actors.admin, { ...ask, account: 'db-two' });
    await approveGrant(bed.ctx, frank, grant.id, 'one');
    await finish(await approveGrant(bed.ctx, grace, grant.id, 'two'));
    expect((await refusal(certify(bed.ctx, bed.actors.admin, grant.id, answers))).code).toBe('separation_of_duties');
  });

  it('approval first, then quorum: a dual-control account with an approvers policy needs both', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-vault' });
    expect(grant.state).toBe('awaiting-approval');
    // Custodians cannot present before the approvers decided.
    expect((await refusal(submitShare(bed.ctx, bed.actors.dave, grant.id, 'bgshare1.x'))).code).toBe('invalid_transition');
    const waiting = await approveGrant(bed.ctx, carol, grant.id, 'ok');
    expect(waiting.state).toBe('awaiting-quorum');
    expect(bed.target.account('bg_vault')?.canLogin).toBe(false);
  });

  it('separation of duties: a custodian share and an approval from the same person do not count twice', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-vault' });
    await approveGrant(bed.ctx, carol, grant.id, 'ok');
    const error = await refusal(submitShare(bed.ctx, carol, grant.id, 'bgshare1.x'));
    expect(error.code).toBe('separation_of_duties');
  });
});

describe('escalation when nobody answers (issue 11, H1)', () => {
  let bed: TestBed;
  const current = (grant: Grant) => bed.store.transaction(async (tx) => (await tx.grants.findById(grant.id))!);
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    bed.clock.advance(2_000);
    await bed.runDue();
  });
  afterEach(async () => {
    await bed.close();
  });

  it('before escalate.after the escalation is refused, naming escalate.after and when it is allowed', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    bed.clock.advance(30_000);
    const error = await refusal(escalateGrant(bed.ctx, bed.actors.alice, grant.id, 'nobody answers'));
    expect(error.code).toBe('policy_violation');
    expect(error.message).toContain('escalate.after');
    expect(error.message).toContain(new Date(grant.createdAt.getTime() + minutes(1)).toISOString());
    expect((await current(grant)).state).toBe('awaiting-approval');
  });

  it('after escalate.after the requester escalates: active, escalated, audited with reason2; only an admin certifies', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    bed.clock.advance(minutes(1));
    const escalated = await escalateGrant(bed.ctx, bed.actors.alice, grant.id, 'approvers unreachable, primary down');
    expect(escalated).toMatchObject({ state: 'active', escalated: true, escalationReason: 'approvers unreachable, primary down' });
    const event = (await bed.auditEvents()).find((e) => e.action === 'grant.escalated');
    expect(event?.details).toMatchObject({ reason2: 'approvers unreachable, primary down', approved: 0, threshold: 1 });
    expect(alertOfAuditAction['grant.escalated']).toBe('grant.escalated');
    expect(alertSeverity['grant.escalated']).toBe('critical');
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await bed.runDue();
    // An incident owner may certify ordinary cases, but not one that went past its approvers.
    expect((await refusal(certify(bed.ctx, bed.actors.bob, grant.id, answers))).code).toBe('forbidden');
    expect((await certify(bed.ctx, bed.actors.admin, grant.id, answers)).state).toBe('closed');
  });

  it('an escalation raises the routable alert grant.escalated (critical), in the same transaction', async () => {
    await bed.apply(`${catalog}channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
routes:
  - events: ["grant.escalated"]
    channels: [secops-hook]
`);
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    bed.clock.advance(minutes(1));
    await escalateGrant(bed.ctx, bed.actors.alice, grant.id, 'nobody answers');
    const alerts = await bed.store.transaction((tx) => tx.outbox.list({}));
    expect(alerts.map((a) => a.payload)).toEqual([expect.objectContaining({ event: 'grant.escalated', severity: 'critical', grant: grant.id, requester: 'alice' })]);
  });

  it('only the requester escalates their own grant', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' });
    bed.clock.advance(minutes(1));
    expect((await refusal(escalateGrant(bed.ctx, bed.actors.admin, grant.id, 'x'))).code).toBe('forbidden');
  });

  it('a policy without escalate refuses escalation', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-two' });
    bed.clock.advance(minutes(20));
    const error = await refusal(escalateGrant(bed.ctx, bed.actors.alice, grant.id, 'x'));
    expect(error.code).toBe('policy_violation');
    expect(error.message).toContain('no escalate');
  });
});

describe('the approvers policy in the catalog (issue 11, H1)', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  it('escalate needs approval mode approvers, and must come before the timeout (path-named errors)', async () => {
    const bad = catalog
      .replace('escalate: { after: 1m }', 'escalate: { after: 40m }')
      .replace('    approval: { mode: approvers, threshold: 1, approvers: [carol, dave] }', '    approval: { mode: post-hoc }\n    escalate: { after: 1m }');
    const error = await refusal(bed.apply(bad));
    expect(error.message).toContain('policies[0].escalate.after');
    expect(error.message).toContain('policies[2].escalate');
  });

  it('an approvers policy needs a threshold and at least one approver', async () => {
    const error = await refusal(bed.apply(catalog.replace('threshold: 1, approvers: [carol], ', 'approvers: [], ')));
    expect(error.message).toContain('policies[0].approval.threshold');
    expect(error.message).toContain('policies[0].approval.approvers');
  });
});
