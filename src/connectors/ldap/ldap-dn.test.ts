import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/index.js';
import { isStrictlyUnder, mayAlias, parseDn, sameDn } from './ldap-dn.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'not-an-AppError';
  }
  return undefined;
};

describe('ldap DN parsing', () => {
  it('decodes RFC 4514 escapes and writes one canonical, re-escaped form', () => {
    const dn = parseDn('CN=O\\2C Brien \\+ \\"x\\" \\#1,OU=People,dc=example', 'principal');
    expect(dn.rdns).toEqual([
      { type: 'cn', value: 'O, Brien + "x" #1' },
      { type: 'ou', value: 'People' },
      { type: 'dc', value: 'example' },
    ]);
    expect(dn.text).toBe('cn=O\\, Brien \\+ \\"x\\" \\#1,ou=People,dc=example');
    expect(parseDn(dn.text, 'again')).toEqual(dn);
    expect(parseDn('uid=\\E4\\B8\\AD文,dc=x', 'p').rdns[0]?.value).toBe('中文');
  });

  it('injection: metacharacters stay inside the value they were escaped in', () => {
    const dn = parseDn('cn=a\\,ou=admins\\,dc=evil,dc=x', 'p');
    expect(dn.rdns).toHaveLength(2);
    expect(dn.rdns[0]?.value).toBe('a,ou=admins,dc=evil');
    expect(parseDn('cn=*)(uid=*,dc=x', 'p').rdns[0]?.value).toBe('*)(uid=*');
  });

  it('refuses what the server could read differently or hold ambiguously', () => {
    for (const bad of [
      '', 'cn', '=x', 'cn=', 'cn=x,', 'cn=x, dc=y', 'cn=a+sn=b', 'cn=#0403414243', 'cn=a;b', 'cn=a<b', 'cn="q"',
      'cn=a\\', 'cn=a\\zz', 'cn=\\C3', 'cn=nul\0', 'cn=nul\\00', 'cn=lf\\0A', 'cn=\u202Ertl', 'cn=\uD800',
      'cn=\\ lead', 'cn=trail\\ ', 'cn=two  spaces', 'cn=ａｄｍｉｎ', 'cn=e\u0301', '2.5.4.3=oid', 'ｃｎ=x',
      `cn=${'x'.repeat(1025)}`,
    ]) {
      expect(code(() => parseDn(bad, 'p')), JSON.stringify(bad)).toBe('validation');
    }
  });

  it('compares names the way the server would, and keeps containment conservative', () => {
    const base = parseDn('ou=People,dc=Example', 'b');
    expect(isStrictlyUnder(parseDn('cn=x,OU=people,DC=example', 'p'), base)).toBe(true);
    expect(isStrictlyUnder(parseDn('ou=people,dc=example', 'p'), base)).toBe(false);
    expect(isStrictlyUnder(parseDn('cn=x,ou=people,dc=other', 'p'), base)).toBe(false);
    expect(isStrictlyUnder(parseDn('cn=x,ou=people\\,dc=example', 'p'), base)).toBe(false);
    expect(sameDn(parseDn('UID=a\\2Db,dc=x', 'p'), parseDn('uid=A-B,dc=X', 'q'))).toBe(true);
    expect(mayAlias(parseDn('cn=strasse,dc=x', 'p'), parseDn('cn=STRASSE,dc=x', 'q'))).toBe(true);
    expect(mayAlias(parseDn('cn=straße,dc=x', 'p'), parseDn('cn=STRASSE,dc=x', 'q'))).toBe(true);
    expect(sameDn(parseDn('cn=straße,dc=x', 'p'), parseDn('cn=STRASSE,dc=x', 'q'))).toBe(false);
  });
});
