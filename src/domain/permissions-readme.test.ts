/**
 * The README's "Who may do what" table is a copy of the permission table: this test keeps the
 * two equal, so the documentation cannot drift from the rule (its one home is permissions.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actions, permissions, type Relation } from './permissions.js';

const rules: Record<Relation, string> = {
  'requester': 'only the requester (and, for reveal, each co-responder once)',
  'requester-or-role': 'the requester, or one of these roles',
  'not-requester': 'one of these roles, never the requester (nor an approver of the case; an escalated case: an admin only)',
  'own-or-role': 'these roles see every case; anyone else only their own',
  'custodian-of-account': 'a custodian the account names',
  'custodian-or-role': 'a custodian the account names, or one of these roles',
  'policy-invokers': "the policy's `invokers` (roles or user names), else these roles",
  'policy-approvers': 'an approver the policy names (user name or role), never the requester',
  'self-or-role': 'the user themselves, or one of these roles',
  'self-or-service': 'oneself, or (one of these roles) for a `service` user',
};

describe('README: who may do what', () => {
  it('lists every action of the permission table with its roles and rule, in order', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Who may do what'));
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    const expected = actions.map((action) => {
      const { roles, relation } = permissions[action];
      const who = roles === 'any-role' ? 'any role' : roles === 'authenticated' ? 'anyone signed in' : roles.map((r) => `\`${r}\``).join(', ');
      return `| \`${action}\` | ${who} | ${relation === undefined ? '' : rules[relation]} |`;
    });
    expect(rows.slice(0, expected.length)).toEqual(expected);
  });
});

describe('README: audit event names', () => {
  it('names every audit action of the closed list', async () => {
    const { auditActions } = await import('./audit-actions.js');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Audit event names'), readme.indexOf('### Root key sealing'));
    expect(auditActions.filter((action) => !section.includes(`\`${action}\``))).toEqual([]);
  });
});

describe('README: alert names', () => {
  it('names every routable alert in the Alerts section', async () => {
    const { routableAlertEvents } = await import('./alert-events.js');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Alerts'));
    expect(routableAlertEvents.filter((event) => !section.includes(`\`${event}\``))).toEqual([]);
  });
});
