import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/index.js';
import type { LdapAccount } from './ldap-admin.js';
import { powersOf, takeOverCheck } from './ldap-adopt.js';
import { parseDn } from './ldap-dn.js';
import { checkAccount } from './ldap-names.js';
import { ldapSpec } from './ldap-spec.js';

const NOW = Date.UTC(2030, 0, 1);
const none = { member: 0, uniqueMember: 0, memberUid: 0, memberOf: 0, authzTo: 0 };
const entry = (over: Partial<LdapAccount> = {}): LdapAccount => ({
  passwords: [Buffer.from('{SSHA}x')],
  locked: false,
  lockedForever: false,
  start: undefined,
  end: undefined,
  powers: none,
  memberOf: [],
  ...over,
});
const bindDn = parseDn('cn=admin,dc=example,dc=test', 'settings.bindDn');
const failure = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
  }
  throw new Error('expected an AppError');
};

describe('ldap adopt: what counts as power', () => {
  it('adopt: a password it can bind with now is power; one barred by Breakglass\'s lock or an ended pwdEndTime is not', () => {
    expect(powersOf(entry(), NOW)).toEqual(['a userPassword it can bind with now']);
    expect(powersOf(entry({ locked: true, lockedForever: true }), NOW)).toEqual([]);
    expect(powersOf(entry({ end: new Date(NOW - 1000) }), NOW)).toEqual([]);
    expect(powersOf(entry({ passwords: [] }), NOW)).toEqual([]);
    // A lockout that ends by itself, or a start still ahead, leaves a login someone will use.
    expect(powersOf(entry({ locked: true }), NOW)).toHaveLength(1);
    expect(powersOf(entry({ start: new Date(NOW + 1000) }), NOW)).toEqual([]);
  });

  it('adopt: members, group memberships and authzTo are power even on an entry that cannot bind', () => {
    const inert = { passwords: [], powers: { ...none, member: 2, uniqueMember: 1, memberOf: 1, authzTo: 1 }, memberOf: ['cn=admins,ou=groups,dc=example,dc=test'] };
    expect(powersOf(entry(inert), NOW)).toEqual([
      '3 members (member/uniqueMember/memberUid)',
      'membership of 1 group (memberOf)',
      'authzTo (it may act as other identities)',
    ]);
  });

  it('adopt: the refusal is a conflict that names the powers and adopt: true; adopting passes', () => {
    const dn = parseDn('uid=ops,ou=people,dc=example,dc=test', 'principal');
    const error = failure(() => takeOverCheck(dn, false, () => NOW)(entry()));
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('uid=ops,ou=people,dc=example,dc=test');
    expect(error.message).toContain('a userPassword it can bind with now');
    expect(error.message).toContain('adopt: true');
    expect(() => takeOverCheck(dn, true, () => NOW)(entry())).not.toThrow();
    expect(() => takeOverCheck(dn, false, () => NOW)(entry({ locked: true, lockedForever: true }))).not.toThrow();
  });
});

// issue 12 (LDAP group memberships)
describe('ldap adopt: declared group memberships', () => {
  const dn = parseDn('uid=ops,ou=people,dc=example,dc=test', 'principal');
  const admins = parseDn('cn=admins,ou=groups,dc=example,dc=test', 'spec.groups.0');
  const barred = { locked: true, lockedForever: true };

  it('adopt: memberships of exactly the declared groups are not power; an undeclared one still is', () => {
    const declaredOnly = entry({ ...barred, memberOf: ['CN=Admins,ou=Groups,dc=example,dc=test'] });
    expect(powersOf(declaredOnly, NOW, [admins])).toEqual([]);
    expect(() => takeOverCheck(dn, false, () => NOW, [admins])(declaredOnly)).not.toThrow();
    // Without the declaration the same membership is someone's power.
    expect(powersOf(declaredOnly, NOW)).toEqual(['membership of 1 group (memberOf)']);
    const more = entry({ ...barred, memberOf: ['cn=admins,ou=groups,dc=example,dc=test', 'cn=dba,ou=groups,dc=example,dc=test'] });
    const error = failure(() => takeOverCheck(dn, false, () => NOW, [admins])(more));
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('membership of 1 group (memberOf)');
  });

  it('adopt: groups a search found listing the entry are power unless declared, counted once with memberOf', () => {
    const dba = 'cn=dba,ou=groups,dc=example,dc=test';
    const listed = ['cn=admins,ou=groups,dc=example,dc=test', dba];
    expect(powersOf(entry(barred), NOW, [], listed)).toEqual(['membership of 2 groups (its DN in their member/uniqueMember)']);
    expect(powersOf(entry(barred), NOW, [admins], listed)).toEqual(['membership of 1 group (its DN in their member/uniqueMember)']);
    expect(powersOf(entry({ ...barred, memberOf: ['CN=DBA,ou=groups,dc=example,dc=test'] }), NOW, [admins], listed)).toEqual([
      'membership of 1 group (memberOf)',
    ]);
    expect(() => takeOverCheck(dn, false, () => NOW, [admins], [listed[0]!])(entry(barred))).not.toThrow();
  });

  it('adopt: a memberOf value the strict parser refuses never passes for a declared group', () => {
    const odd = entry({ ...barred, memberOf: ['cn=admins+uid=x,ou=groups,dc=example,dc=test'] });
    expect(powersOf(odd, NOW, [admins])).toEqual(['membership of 1 group (memberOf)']);
  });
});

describe('ldap reserved entries', () => {
  it('reserved: the catalog refuses the bind DN (any case or spacing) and the server\'s own trees', () => {
    const reserved = ldapSpec.reservedPrincipal!;
    const settings = { bindDn: 'cn=admin,dc=example,dc=test' };
    for (const dn of ['cn=admin,dc=example,dc=test', 'CN=Admin, DC=Example,DC=Test', 'cn=config', 'cn=x,cn=config', 'cn=Monitor', 'olcDatabase={1}mdb,cn=config']) {
      expect(reserved(dn, settings), dn).toBeDefined();
    }
    for (const dn of ['uid=oncall,ou=people,dc=example,dc=test', 'cn=config-admin,ou=people,dc=x', 'cn=admin,dc=other']) {
      expect(reserved(dn, settings), dn).toBeUndefined();
    }
  });

  it('reserved: the connector refuses them again at staging with validation, before the baseDn check', () => {
    const baseDn = parseDn('ou=people,dc=example,dc=test', 'settings.baseDn');
    for (const dn of ['cn=admin,dc=example,dc=test', 'CN=ADMIN,DC=example,DC=test', 'cn=config', 'cn=x,cn=Monitor']) {
      const error = failure(() => checkAccount(dn, true, bindDn, baseDn));
      expect(error.code, dn).toBe('validation');
      expect(error.message, dn).toContain('is reserved');
    }
    // Reading is not staging: inspect may look at the bind DN.
    expect(checkAccount('cn=admin,dc=example,dc=test', false, bindDn, undefined).text).toBe('cn=admin,dc=example,dc=test');
  });
});
