import { describe, expect, it } from 'vitest';
import { asUserId } from './ids.js';
import { actions, authorize, permissions, seesEveryCase, type Action, type AuthorizationSubject, type Relation } from './permissions.js';
import { userRoles, type Actor, type UserRole } from './types.js';

const actor = (name: string, roles: UserRole[]): Actor => ({ id: asUserId(`u-${name}`), name, roles });
const requester = actor('alice', ['responder']);
const subject: AuthorizationSubject = {
  grant: { id: 'gr_1', requesterId: requester.id },
  account: { name: 'pg-vault', custodians: ['carol-custodian', 'carol-admin', 'carol-responder', 'carol-incident-owner', 'carol-auditor'] },
  policy: { name: 'p0', invokers: [] },
  user: { id: requester.id, name: requester.name, service: false },
  // issue 11 (H1): a policy naming every role as approver, so only the role decides here (approval-permissions.test.ts has the relation).
  approval: { policy: 'p0', approvers: [...userRoles] },
};
const codeOf = (fn: () => void): string => {
  try {
    fn();
    return 'allowed';
  } catch (error) {
    return (error as { code: string }).code;
  }
};

/** Relations about a case, and about an account: someone who may not see it is told it does not exist. */
const onACase = (relation: Relation | undefined) =>
  relation === 'requester' || relation === 'requester-or-role' || relation === 'not-requester' || relation === 'own-or-role' || relation === 'custodian-of-account';
const onAnAccount = (relation: Relation | undefined) => relation === 'custodian-of-account' || relation === 'custodian-or-role' || relation === 'policy-invokers';

/**
 * Generated from the table: every action as every single role, as a person who is not the
 * requester and not a custodian, so that only the role decides. The relations are tested below.
 */
describe('the permission table, as every role', () => {
  for (const action of actions) {
    for (const role of userRoles) {
      const rule = permissions[action];
      const onCase = onACase(rule.relation);
      const roleAllows = rule.roles === 'authenticated' || rule.roles === 'any-role' || rule.roles.includes(role);
      const other = actor(`bob-${role}`, [role]);
      const seesCases = (permissions['grant.read'].roles as readonly string[]).includes(role);
      const expected: Record<string, string> = { requester: 'forbidden', 'custodian-of-account': 'forbidden', 'self-or-service': 'forbidden' };
      // Someone else's case that one may not see is "not found", whatever the action.
      const byTable = onCase && !seesCases ? 'not_found' : ((rule.relation && expected[rule.relation]) ?? (roleAllows ? 'allowed' : 'forbidden'));
      // issue 11 (H2): a confined role (incident-system) is refused every action whose row does not name it (redeeming its code aside).
      const confined = role === 'incident-system' && action !== 'token.redeem' && !(typeof rule.roles !== 'string' && rule.roles.includes(role));
      const want = confined ? 'forbidden' : byTable;
      it(`${action} as ${role}: ${want}`, () => {
        expect(codeOf(() => authorize(other, action, subject))).toBe(want);
      });
    }
    it(`${action} with no role at all`, () => {
      const rule = permissions[action];
      const none = actor('nobody', []);
      // With no role one sees no case and no account: either is "not found".
      const want = rule.roles === 'authenticated' ? 'allowed' : onACase(rule.relation) || onAnAccount(rule.relation) ? 'not_found' : 'forbidden';
      expect(codeOf(() => authorize(none, action, subject))).toBe(want);
    });
  }
});

describe('relation rules', () => {
  it('only the requester reveals, whatever their other roles', () => {
    expect(codeOf(() => authorize(requester, 'grant.reveal', subject))).toBe('allowed');
    expect(codeOf(() => authorize(actor('root', ['admin']), 'grant.reveal', subject))).toBe('forbidden');
  });
  it('I5 / separation of duties: never the requester certifies, even as incident owner and admin', () => {
    const selfCertifier = { ...requester, roles: ['responder', 'incident-owner', 'admin'] as UserRole[] };
    expect(codeOf(() => authorize(selfCertifier, 'grant.certify', subject))).toBe('separation_of_duties');
  });
  it('the requester may end and cancel their own grant without an overseeing role', () => {
    for (const action of ['grant.end', 'grant.cancel'] as Action[]) expect(codeOf(() => authorize(requester, action, subject))).toBe('allowed');
  });
  it('a responder sees their own grants; someone else\'s does not exist for them', () => {
    expect(codeOf(() => authorize(requester, 'grant.read', subject))).toBe('allowed');
    expect(codeOf(() => authorize(actor('mallory', ['responder']), 'grant.read', subject))).toBe('not_found');
    expect(seesEveryCase(actor('audrey', ['auditor']))).toBe(true);
    expect(seesEveryCase(requester)).toBe(false);
  });
  it('a custodian presents shares only for accounts that name them', () => {
    expect(codeOf(() => authorize(actor('carol-custodian', ['custodian']), 'custodian.share', subject))).toBe('allowed');
    expect(codeOf(() => authorize(actor('erin', ['custodian']), 'custodian.share', subject))).toBe('forbidden');
    expect(codeOf(() => authorize(actor('carol-admin', ['admin']), 'custodian.share', subject))).toBe('forbidden');
  });
  it('authorize before you answer: a custodian reads the kit only of accounts that name them; an admin reads every kit', () => {
    expect(codeOf(() => authorize(actor('carol-custodian', ['custodian']), 'custodian.kit', subject))).toBe('allowed');
    expect(codeOf(() => authorize(actor('erin', ['custodian']), 'custodian.kit', subject))).toBe('forbidden');
    expect(codeOf(() => authorize(actor('root', ['admin']), 'custodian.kit', subject))).toBe('allowed');
    expect(codeOf(() => authorize(actor('carol-custodian', []), 'custodian.kit', subject))).toBe('not_found');
  });
  it('authorize before you answer: a share for a case one may not see is "not found", not "forbidden"', () => {
    expect(codeOf(() => authorize(actor('mallory', ['responder']), 'custodian.share', subject))).toBe('not_found');
    expect(codeOf(() => authorize(requester, 'custodian.share', subject))).toBe('forbidden');
  });
  it("a policy's invokers replace the default invoking roles", () => {
    const owners = { ...subject, policy: { name: 'p1', invokers: ['incident-owner'] as UserRole[] } };
    expect(codeOf(() => authorize(actor('ida', ['incident-owner']), 'grant.invoke', owners))).toBe('allowed');
    expect(codeOf(() => authorize(requester, 'grant.invoke', owners))).toBe('forbidden');
    expect(() => authorize(requester, 'grant.invoke', owners)).toThrowError(/policy "p1" lets only incident-owner invoke/);
  });
  // issue 11 (H4)
  it('invokers may name users: the named users (and named roles) invoke, nobody else, and the refusal names invokers', () => {
    const named = { ...subject, policy: { name: 'p1', invokers: ['admin'] as UserRole[], invokerUsers: ['ida'] } };
    expect(codeOf(() => authorize(actor('ida', ['incident-owner']), 'grant.invoke', named))).toBe('allowed');
    expect(codeOf(() => authorize(actor('root', ['admin']), 'grant.invoke', named))).toBe('allowed');
    expect(codeOf(() => authorize(requester, 'grant.invoke', named))).toBe('forbidden');
    expect(() => authorize(requester, 'grant.invoke', named)).toThrowError(expect.objectContaining({ path: 'invokers', message: expect.stringContaining('invokers: admin, ida') }) as Error);
    // A named user stripped of every role is not trusted any more.
    expect(codeOf(() => authorize(actor('ida', []), 'grant.invoke', named))).not.toBe('allowed');
  });
  it('a use case that forgets its subject is refused, not allowed', () => {
    expect(codeOf(() => authorize(requester, 'grant.reveal'))).toBe('internal');
  });
});
