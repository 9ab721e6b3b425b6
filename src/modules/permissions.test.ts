/**
 * The permission table, enforced by the use cases themselves: generated from
 * `domain/permissions.ts`, every use case is called as a user of every role (who is neither the
 * requester of the case nor a custodian named by the account), and must refuse exactly when the
 * table says so, with the table's answer. A use case that forgot to call `authorize` — or asked
 * for the wrong action — fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { actions, authorize, userRoles, type Action, type Actor, type Grant, type UserRole } from '../domain/index.js';
import { isAppError } from '../errors/index.js';
import { acknowledgeAlert } from './alerts/alert-ack.js';
import { acknowledgeDrift, listDriftFindings } from './drift/drift-findings.js';
import { scanDriftNow } from './drift/drift-scan.js';
import { listAlerts, retryAlert, testChannel } from './alerts/alerts-admin.js';
import { exportAudit, verifyAudit } from './audit/audit-access.js';
import { checkTarget } from './catalog/check-target.js';
import { listAccounts } from './catalog/list-accounts.js';
import { sshCaPublicKey } from './catalog/ssh-ca.js';
import { runCeremony } from './custodians/ceremony.js';
import { kitDocument } from './custodians/kit.js';
import { submitShare } from './custodians/submit-share.js';
import { cancelGrant } from './grants/cancel-grant.js';
import { runDrill } from './drills/run-drill.js';
import { certify } from './grants/certify.js';
import { endGrant } from './grants/end-grant.js';
import { invoke } from './grants/invoke.js';
import { createMetrics } from './metrics/metrics-registry.js';
import { readMetrics } from './metrics/read-metrics.js';
import { reveal } from './grants/reveal.js';
import { listGrants, showGrant } from './grants/show-grant.js';
import { inviteUser, redeemInvite } from './identity/enrolment.js';
import { createToken, type IssuedToken } from './identity/identity.js';
import { listTokens, revokeToken, whoami } from './identity/tokens.js';
import { governanceReport } from './report/governance-report.js';
// issue 11 (H1)
import { approveGrant, denyGrant } from './approvals/decide-grant.js';
import { escalateGrant } from './approvals/escalate-grant.js';
// issue 11 (H3)
import { resolveReview } from './grants/resolve-review.js';
// issue 11 (H2)
import { extendGrant } from './grants/extend-grant.js';
import { joinGrant } from './grants/join-grant.js';
import { closeIncident } from './incidents/close-incident.js';

const roleUsers = userRoles.map((role) => ({ name: `as-${role}`, roles: [role] }));
// issue 11 (H1): an approvers policy (named by role) and an ephemeral account under it.
const approvalsPolicy = `  - name: p-approve
    conditions: [outage]
    approval: { mode: approvers, threshold: 2, approvers: [approver] }
    escalate: { after: 1m }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - { name: db-approve, target: db, mode: ephemeral, policy: p-approve }
`;
const catalog = `${bedCatalog.replace('accounts:\n', approvalsPolicy)}
${bedVaultAccount}users:
${[...roleUsers, { name: 'as-nobody', roles: [] as UserRole[] }].map((u) => `  - { name: ${u.name}, roles: [${u.roles.join(', ')}] }`).join('\n')}
  - { name: alice, roles: [responder] }
  - { name: admin, roles: [admin] }
  - { name: bob, roles: [incident-owner] }
  - { name: carol, roles: [custodian] }
  - { name: dave, roles: [custodian] }
  - { name: erin, roles: [custodian] }
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
`;

/**
 * Codes that mean "refused by the permission table"; anything else means the guard let it
 * through. `not_found` is the table's answer for a case one may not see, and for an account one
 * may not see (no role); elsewhere it is the use case's own (no SSH target here, no kit before
 * staging).
 */
const refusalsOf = (action: Action, want: string) =>
  new Set(['forbidden', 'separation_of_duties', ...((action.startsWith('grant.') && action !== 'grant.invoke') || want === 'not_found' ? ['not_found'] : [])]);

describe('every use case, as every role, refuses exactly as the permission table says', () => {
  let bed: TestBed;
  let active: Grant;
  let waiting: Grant;
  let aliceToken: IssuedToken;
  // issue 11 (H1): grants awaiting approval, one per decision (a deny ends its grant).
  const awaiting = new Map<Action, Grant>();
  const actors = new Map<string, Actor>();

  beforeAll(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    await runCeremony(bed.ctx, bed.actors.admin, 'db-vault');
    bed.clock.advance(2_000);
    await bed.runDue();
    const ask = { condition: 'outage', reason: 'r', incident: 'INC-1', ttl: '15m' };
    active = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-ephemeral' });
    waiting = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-vault' });
    aliceToken = await createToken(bed.ctx, bed.actors.alice, 'alice');
    for (const action of ['grant.approve', 'grant.deny', 'grant.escalate'] as const) awaiting.set(action, await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-approve' }));
    for (const name of [...roleUsers.map((u) => u.name), 'as-nobody']) {
      const user = (await bed.store.transaction((tx) => tx.users.findByName(name)))!;
      actors.set(name, { id: user.id, name: user.name, roles: user.roles });
    }
  });
  afterAll(async () => {
    await bed.close();
  });

  /** One call of the use case behind each action; the compiler keeps this complete. */
  const calls: Record<Action, (actor: Actor) => Promise<unknown>> = {
    'catalog.apply': (actor) => bed.apply(catalog, actor),
    'catalog.read': (actor) => listAccounts(bed.ctx, actor),
    'ssh-ca.read': (actor) => sshCaPublicKey(bed.ctx, actor, undefined),
    'token.create': (actor) => createToken(bed.ctx, actor, 'alice'),
    'target.check': (actor) => checkTarget(bed.ctx, actor, 'db'),
    'token.list': (actor) => listTokens(bed.ctx, actor, { user: 'alice' }),
    'token.revoke': (actor) => revokeToken(bed.ctx, actor, aliceToken.id),
    // The code is the credential: whoever redeems it becomes the invited user.
    'token.redeem': async (actor) => redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, actor.name)).code),
    'user.invite': (actor) => inviteUser(bed.ctx, actor, 'alice'),
    whoami: async (actor) => whoami(actor),
    'grant.invoke': (actor) => invoke(bed.ctx, actor, { account: 'db-ephemeral', condition: 'outage', reason: 'r', incident: 'INC-2', ttl: '5m' }),
    'grant.reveal': (actor) => reveal(bed.ctx, actor, active.id),
    'grant.end': (actor) => endGrant(bed.ctx, actor, active.id),
    'grant.cancel': (actor) => cancelGrant(bed.ctx, actor, waiting.id),
    'grant.certify': (actor) => certify(bed.ctx, actor, active.id, { necessary: true, scoped: true, removed: true, note: 'n' }),
    'grant.read': (actor) => showGrant(bed.ctx, actor, active.id),
    'grant.list': (actor) => listGrants(bed.ctx, actor, {}),
    'custodian.ceremony': (actor) => runCeremony(bed.ctx, actor, 'db-vault'),
    'custodian.kit': (actor) => kitDocument(bed.ctx, actor, 'db-vault'),
    'custodian.share': (actor) => submitShare(bed.ctx, actor, waiting.id, 'bgshare1.not-a-real-share'),
    'audit.verify': (actor) => verifyAudit(bed.ctx, actor),
    'audit.export': async (actor) => exportAudit(bed.ctx, actor).next(),
    'alert.list': (actor) => listAlerts(bed.ctx, actor),
    // No message is dead here: the admin is told `not_found`, which is the use case's own answer.
    'alert.retry': (actor) => retryAlert(bed.ctx, actor, 'alr_00000000-0000-0000-0000-000000000000'),
    // Admins, incident owners and auditors get past the guard to `not_found` (no such message), the use case's own answer.
    'alert.ack': (actor) => acknowledgeAlert(bed.ctx, actor, 'alr_00000000-0000-0000-0000-000000000000', 'seen'),
    // No sender on the bed: the test is reported as failed, not thrown, once the guard lets it through.
    'channel.test': (actor) => testChannel(bed.ctx, actor, 'secops-hook', {}),
    'drift.scan': (actor) => scanDriftNow(bed.ctx, actor),
    'drift.read': (actor) => listDriftFindings(bed.ctx, actor),
    // No such finding: the admin gets past the guard to `not_found`.
    'drift.ack': (actor) => acknowledgeDrift(bed.ctx, actor, 'drf_none', 'r'),
    'metrics.read': (actor) => readMetrics(bed.ctx, createMetrics(), actor),
    'report.read': (actor) => governanceReport(bed.ctx, actor, { since: new Date(0) }),
    // The dual-control account: an admin gets past the guard to the use case's own `conflict` (no custodians), nothing runs.
    'drill.run': (actor) => runDrill(bed.ctx, actor, 'db-vault'),
    // issue 11 (H1): threshold 2, so one approval leaves the grant waiting for the next role.
    'grant.approve': (actor) => approveGrant(bed.ctx, actor, awaiting.get('grant.approve')!.id, 'n'),
    'grant.deny': (actor) => denyGrant(bed.ctx, actor, awaiting.get('grant.deny')!.id, 'n'),
    // Nobody but the requester (alice, not among the role users) may escalate.
    'grant.escalate': (actor) => escalateGrant(bed.ctx, actor, awaiting.get('grant.escalate')!.id, 'n'),
    // issue 11 (H3): the case is not under review: an admin gets past the guard to `invalid_transition`.
    'grant.resolve': (actor) => resolveReview(bed.ctx, actor, active.id, 'n'),
    // issue 11 (H2). Past the guard: p0 allows no extension (policy_violation); an ephemeral case is not joined (invalid_transition).
    'grant.extend': (actor) => extendGrant(bed.ctx, actor, active.id, { by: '1m', reason: 'r' }),
    'grant.join': (actor) => joinGrant(bed.ctx, actor, active.id, 'r'),
    'incident.close': (actor) => closeIncident(bed.ctx, actor, 'INC-none'),
    'grant.override': (actor) => invoke(bed.ctx, actor, { account: 'db-ephemeral', condition: 'outage', reason: 'r', incident: 'INC-3', ttl: '5m', overrideReason: 'r' }),
  };

  /** What the table says for this actor, with the relations seen from the fixtures above. */
  const expected = (actor: Actor, action: Action): string => {
    try {
      authorize(actor, action, {
        grant: awaiting.get(action) ?? (action === 'grant.cancel' || action === 'custodian.share' ? waiting : active),
        approval: { policy: 'p-approve', approvers: ['approver'] },
        account: { name: 'db-vault', custodians: ['carol', 'dave', 'erin'] },
        policy: { name: 'p0', invokers: [] },
        user: { id: bed.actors.alice.id, name: 'alice', service: false },
      });
      return 'allowed';
    } catch (error) {
      return isAppError(error) ? error.code : 'thrown';
    }
  };

  // Mutating calls (end, cancel, ceremony, apply) run last for each action, so earlier roles see the same fixtures.
  for (const action of actions) {
    for (const name of [...roleUsers.map((u) => u.name), 'as-nobody']) {
      it(`${action} as ${name}`, async () => {
        const actor = actors.get(name)!;
        const want = expected(actor, action);
        const outcome = await calls[action](actor).then(
          () => 'allowed',
          (error: unknown) => (isAppError(error) && refusalsOf(action, want).has(error.code) ? error.code : 'allowed'),
        );
        expect(outcome).toBe(want);
      });
    }
  }
});
