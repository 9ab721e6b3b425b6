/** Issue 11 (H2): the `incident-system` role is confined to closing incidents, whatever the other rows say. */
import { describe, expect, it } from 'vitest';
import { asGrantId, asUserId } from './ids.js';
import { actions, authorize, permissions } from './permissions.js';
import type { Actor } from './types.js';

const pager: Actor = { id: asUserId('u-pager'), name: 'pager', roles: ['incident-system'] };
const subject = {
  grant: { id: asGrantId('gr_1'), requesterId: pager.id },
  account: { name: 'db', custodians: ['pager'] },
  policy: { name: 'p', invokers: [] },
  user: { id: pager.id, name: 'pager', service: true },
};

describe('the incident-system role', () => {
  it('incident-system tokens may only call incident close: every other action is forbidden, even on its own things', () => {
    for (const action of actions) {
      if (action === 'incident.close' || action === 'token.redeem') continue;
      expect(() => authorize(pager, action, subject), action).toThrowError(expect.objectContaining({ code: 'forbidden' }) as Error);
    }
    expect(() => authorize(pager, 'incident.close')).not.toThrow();
  });
  it('incident-system does not count as a role for any-role rules (catalog.read, grant.list)', () => {
    expect(() => authorize(pager, 'catalog.read')).toThrowError(/only close incidents/);
    expect(() => authorize(pager, 'grant.list')).toThrowError(/only close incidents/);
  });
  it('a user holding incident-system besides admin is still confined', () => {
    expect(() => authorize({ ...pager, roles: ['incident-system', 'admin'] }, 'catalog.apply')).toThrowError(/only close incidents/);
  });
  it('incident-system appears in no other row of the permission table', () => {
    const rows = actions.filter((action) => {
      const roles = permissions[action].roles;
      return typeof roles !== 'string' && roles.includes('incident-system');
    });
    expect(rows).toEqual(['incident.close']);
  });
  it('admins and incident owners may close incidents; responders may not', () => {
    const as = (role: Actor['roles'][number]): Actor => ({ id: asUserId(`u-${role}`), name: role, roles: [role] });
    expect(() => authorize(as('admin'), 'incident.close')).not.toThrow();
    expect(() => authorize(as('incident-owner'), 'incident.close')).not.toThrow();
    expect(() => authorize(as('responder'), 'incident.close')).toThrowError(expect.objectContaining({ code: 'forbidden' }) as Error);
  });
});
