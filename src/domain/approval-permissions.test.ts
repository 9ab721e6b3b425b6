/** Issue 11 (H1): who may approve, deny, escalate, and the separation of duties around approvals, in the permission table. */
import { describe, expect, it } from 'vitest';
import { asUserId } from './ids.js';
import { authorize, type AuthorizationSubject } from './permissions.js';
import type { Actor, UserRole } from './types.js';

const actor = (name: string, roles: UserRole[]): Actor => ({ id: asUserId(`u-${name}`), name, roles });
const alice = actor('alice', ['responder']);
const carol = actor('carol', ['approver']);
const codeOf = (fn: () => void): string => {
  try {
    fn();
    return 'allowed';
  } catch (error) {
    return (error as { code: string }).code;
  }
};
const grant = { id: 'gr_1', requesterId: alice.id };
const subject = (approvers: string[]): AuthorizationSubject => ({ grant, approval: { policy: 'p1', approvers } });

describe('grant.approve / grant.deny: the policy-approvers relation', () => {
  it('an approver named by user name may approve and deny', () => {
    for (const action of ['grant.approve', 'grant.deny'] as const) expect(codeOf(() => authorize(carol, action, subject(['carol'])))).toBe('allowed');
  });
  it('an approver named by a role they hold may approve', () => {
    expect(codeOf(() => authorize(actor('bob', ['incident-owner']), 'grant.approve', subject(['incident-owner'])))).toBe('allowed');
  });
  it('the approver role alone approves nothing the policy does not name; who may not see the case is told it does not exist', () => {
    expect(codeOf(() => authorize(actor('frank', ['approver']), 'grant.approve', subject(['carol'])))).toBe('not_found');
    expect(codeOf(() => authorize(actor('root', ['admin']), 'grant.approve', subject(['carol'])))).toBe('forbidden');
  });
  it('separation of duties: the requester cannot approve or deny their own grant, even when named', () => {
    const named = { ...alice, roles: ['responder', 'admin'] as UserRole[] };
    expect(codeOf(() => authorize(named, 'grant.approve', subject(['alice', 'admin'])))).toBe('separation_of_duties');
    expect(codeOf(() => authorize(named, 'grant.deny', subject(['alice'])))).toBe('separation_of_duties');
  });
  it('separation of duties: a token minted by the requester cannot approve', () => {
    expect(codeOf(() => authorize({ ...carol, tokenCreatorId: alice.id }, 'grant.approve', subject(['carol'])))).toBe('separation_of_duties');
  });
  it('only the requester escalates', () => {
    expect(codeOf(() => authorize(alice, 'grant.escalate', { grant }))).toBe('allowed');
    expect(codeOf(() => authorize(actor('root', ['admin']), 'grant.escalate', { grant }))).toBe('forbidden');
    expect(codeOf(() => authorize(carol, 'grant.escalate', { grant }))).toBe('not_found');
  });
});

describe('certify and shares after approvals', () => {
  const approved = { ...grant, approvals: [{ by: asUserId('u-bob') }] };
  it('separation of duties: an approver of a case may not certify it', () => {
    expect(codeOf(() => authorize(actor('bob', ['incident-owner']), 'grant.certify', { grant: approved }))).toBe('separation_of_duties');
    expect(codeOf(() => authorize(actor('owen', ['incident-owner']), 'grant.certify', { grant: approved }))).toBe('allowed');
  });
  it('an escalated case is certified only by an admin who is not its requester', () => {
    const escalated = { ...grant, escalated: true };
    expect(codeOf(() => authorize(actor('owen', ['incident-owner']), 'grant.certify', { grant: escalated }))).toBe('forbidden');
    expect(codeOf(() => authorize(actor('root', ['admin']), 'grant.certify', { grant: escalated }))).toBe('allowed');
    expect(codeOf(() => authorize({ ...alice, roles: ['admin'] }, 'grant.certify', { grant: escalated }))).toBe('separation_of_duties');
  });
  it('separation of duties: a custodian who approved the grant may not present a share for it', () => {
    const account = { name: 'db-vault', custodians: ['bob', 'dave'] };
    expect(codeOf(() => authorize(actor('bob', ['custodian']), 'custodian.share', { grant: approved, account }))).toBe('separation_of_duties');
    expect(codeOf(() => authorize(actor('dave', ['custodian']), 'custodian.share', { grant: approved, account }))).toBe('allowed');
  });
});
