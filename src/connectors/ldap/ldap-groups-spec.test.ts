/** Issue 12 (LDAP group memberships): what the catalog and the connector accept as `groups`. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/index.js';
import { parseDn } from './ldap-dn.js';
import { parseAccountSpec } from './ldap-names.js';
import { ldapSpec, MAX_GROUPS } from './ldap-spec.js';

const schema = ldapSpec.accounts.prestaged!['groups']!;
const dn = parseDn('uid=ops,ou=people,dc=example,dc=test', 'principal');
const group = (n: number) => `cn=g${n},ou=groups,dc=example,dc=test`;
const failure = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
  }
  throw new Error('expected an AppError');
};

describe('ldap spec: groups', () => {
  it('the catalog takes up to 64 group DNs, each named once when compared loosely', () => {
    expect(schema.safeParse(undefined).success).toBe(true);
    expect(schema.safeParse([]).success).toBe(true);
    expect(schema.safeParse(Array.from({ length: MAX_GROUPS }, (_, i) => group(i))).success).toBe(true);
    expect(schema.safeParse(Array.from({ length: MAX_GROUPS + 1 }, (_, i) => group(i))).success).toBe(false);
    expect(schema.safeParse([group(1), 'CN=G1, OU=Groups,DC=Example,DC=Test']).success).toBe(false);
    expect(schema.safeParse(['cn=nul\0,dc=x']).success).toBe(false);
    expect(schema.safeParse(['']).success).toBe(false);
  });

  it('the connector parses each group strictly: absent means unmanaged, [] means none', () => {
    expect(parseAccountSpec({ dn: dn.text }, dn).groups).toBeUndefined();
    expect(parseAccountSpec(undefined, dn).groups).toBeUndefined();
    expect(parseAccountSpec({ groups: [] }, dn).groups).toEqual([]);
    expect(parseAccountSpec({ groups: ['CN=Admins,ou=groups,dc=example,dc=test'], adopt: true }, dn).groups?.map((g) => g.text)).toEqual([
      'cn=Admins,ou=groups,dc=example,dc=test',
    ]);
  });

  it('the connector refuses duplicates (case variants too), the account itself and malformed DNs with their path', () => {
    const cases: [unknown, string][] = [
      [[group(1), group(1).toUpperCase()], 'spec.groups.1'],
      [[dn.text.toUpperCase()], 'spec.groups.0'],
      [[group(1), 'cn=a+cn=b,dc=x'], 'spec.groups.1'],
      [['cn=x;y,dc=x'], 'spec.groups.0'],
      [[7], 'spec.groups.0'],
      [Array.from({ length: MAX_GROUPS + 1 }, (_, i) => group(i)), 'spec.groups'],
    ];
    for (const [groups, path] of cases) {
      const error = failure(() => parseAccountSpec({ groups }, dn));
      expect(error.code, JSON.stringify(groups)).toBe('validation');
      expect(error.path, JSON.stringify(groups)).toBe(path);
    }
  });
});
